"""Read-only views for the HTTP API: an outbound message with its parts; outbox pages.

Pages are keyset pages on the insertion order (``pk``), newest first: a cursor is the last
``seq`` seen, so a page never shifts when messages are added meanwhile, and every page costs one
index range scan whatever the depth. Inbox pages are ``queries.list_inbox``, as the CLI's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
import sqlite3

from gsmgw.models import MessageState, PartState
from gsmgw.store.common import from_ms, maybe_ms
from gsmgw.store.queries import outbox_page


@dataclass(frozen=True, slots=True, kw_only=True)
class PartView:
    """One part of an outbound message as ``GET /v1/messages/{id}`` shows it."""

    no: int
    #: TP-MR from ``+CMGS`` (TS 27.005 §3.5.1), once the network accepted the part.
    reference: int | None
    state: PartState
    attempts: int
    sent_at: datetime | None

    def to_json(self) -> dict[str, object]:
        """Return SPEC.md's part object."""
        return {
            "no": self.no,
            "reference": self.reference,
            "state": str(self.state),
            "attempts": self.attempts,
            "sent_at": _iso(self.sent_at),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageView:
    """One outbound message with its parts (SPEC.md ``GET /v1/messages/{id}``)."""

    #: The store's insertion order: the cursor of the page it ends.
    seq: int
    id: str
    to: str
    state: MessageState
    modem: str | None
    error: str | None
    created_at: datetime
    #: When the network had accepted every part (set from ``sent`` on).
    sent_at: datetime | None
    #: When the last part's delivery report came (``delivered`` only).
    delivered_at: datetime | None
    parts: tuple[PartView, ...]

    def to_json(self) -> dict[str, object]:
        """Return SPEC.md's message object."""
        return {
            "id": self.id,
            "to": self.to,
            "state": str(self.state),
            "modem": self.modem,
            "error": self.error,
            "created_at": _iso(self.created_at),
            "sent_at": _iso(self.sent_at),
            "delivered_at": _iso(self.delivered_at),
            "parts": [part.to_json() for part in self.parts],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


_DONE = (MessageState.SENT, MessageState.DELIVERED)


def message(conn: sqlite3.Connection, message_id: str) -> MessageView | None:
    """Return one outbound message with its parts, or None."""
    rows = conn.execute("SELECT * FROM outbox WHERE id = ?", (message_id,)).fetchall()
    views = _views(conn, rows)
    return views[0] if views else None


def messages(
    conn: sqlite3.Connection,
    *,
    state: MessageState | None,
    to: str | None,
    limit: int,
    before: int | None,
) -> list[MessageView]:
    """Return up to ``limit`` outbound messages with their parts, newest first, below ``before``."""
    where, args = outbox_page(state=state, to=to, before=before)
    sql = f"SELECT * FROM outbox WHERE {where} ORDER BY pk DESC LIMIT ?"
    return _views(conn, conn.execute(sql, [*args, limit]).fetchall())


def _views(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[MessageView]:
    """Attach each row's parts with one query for the whole page."""
    if not rows:
        return []
    pks = [row["pk"] for row in rows]
    marks = ",".join("?" * len(pks))
    parts: dict[int, list[sqlite3.Row]] = {pk: [] for pk in pks}
    sql = f"SELECT * FROM outbox_part WHERE message IN ({marks}) ORDER BY message, part_no"
    for part in conn.execute(sql, pks):
        parts[part["message"]].append(part)
    return [_view(row, parts[row["pk"]]) for row in rows]


def _view(row: sqlite3.Row, parts: list[sqlite3.Row]) -> MessageView:
    state = MessageState(row["state"])
    sent = [p["sent_at"] for p in parts if p["sent_at"] is not None]
    reported = [p["reported_at"] for p in parts if p["reported_at"] is not None]
    return MessageView(
        seq=row["pk"],
        id=row["id"],
        to=row["destination"],
        state=state,
        modem=row["modem"],
        error=row["error"],
        created_at=from_ms(row["created_at"]),
        sent_at=maybe_ms(max(sent)) if state in _DONE and sent else None,
        delivered_at=(
            maybe_ms(max(reported)) if state is MessageState.DELIVERED and reported else None
        ),
        parts=tuple(
            PartView(
                no=p["part_no"],
                reference=p["reference"],
                state=PartState(p["state"]),
                attempts=p["attempts"],
                sent_at=maybe_ms(p["sent_at"]),
            )
            for p in parts
        ),
    )
