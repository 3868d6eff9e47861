"""Inbox SQL: store every received part first, reassemble long messages, recognise duplicates.

Parts of a concatenated SMS (TS 23.040 §9.2.3.24.1) wait in ``inbox_part`` until the set keyed by
(modem, sender, reference, total) is complete, so a restart loses none; a set still incomplete
after ``incomplete_after`` is delivered as what arrived, marked incomplete. A part whose raw PDU was
stored before (the network repeating it, or the CMGL sweep re-reading a slot) is a duplicate.
The part that completes a message is checked against the opt-out keywords in the same
transaction, so a STOP is applied exactly when its message is stored, whatever crashes after.
A PDU the decoder refuses is kept raw in ``inbox_undecodable`` with its ``errors`` event.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
import hashlib
import json
import sqlite3
import uuid

from gsmgw.models import InboundPart, IncomingMessage
from gsmgw.store import deliveries
from gsmgw.store.common import Context, from_ms, queue_publication, to_ms
from gsmgw.store.writer import Transaction


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What storing a part did: ``duplicate`` (seen before) and the message it completed, if any.

    Either way the part is safe in the store, so it may be deleted from the SIM. ``opted_out``:
    the completed message was an opt-out keyword and put its sender on the list.
    """

    duplicate: bool
    message: IncomingMessage | None
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class UndecodableResult:
    """What storing an undecodable PDU did: its id, and whether it was stored before."""

    id: str
    duplicate: bool


#: The ``error.code`` of the errors event of a PDU kept raw.
UNDECODABLE_CODE = "undecodable_pdu"


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A received PDU the decoder refused, kept raw (``gsmgw inbox``, the ``errors`` topic)."""

    id: str
    modem: str
    raw: bytes
    error: str
    stored_at: datetime

    def to_json(self) -> dict[str, object]:
        """Return the ``{prefix}/{node}/errors`` event (README "MQTT")."""
        return {
            "error": {"code": UNDECODABLE_CODE, "message": f"undecodable PDU: {self.error}"},
            "id": self.id,
            "modem": self.modem,
            "pdu_hex": self.raw.hex().upper(),
            "received_at": self.stored_at.isoformat(timespec="seconds"),
        }


def to_undecodable(row: sqlite3.Row) -> Undecodable:
    """Return an ``inbox_undecodable`` row as an ``Undecodable``."""
    return Undecodable(
        row["id"], row["modem"], bytes(row["raw"]), row["error"], from_ms(row["stored_at"])
    )


def store_part(
    tx: Transaction,
    ctx: Context,
    modem: str,
    part: InboundPart,
    now: datetime,
    opt_out_keywords: Collection[str] = (),
) -> InboundResult:
    """Store one received part; return the message it completes, opted out if a keyword."""
    result = _store_part(tx, ctx, modem, part, now)
    message = result.message
    if message is None or message.text is None or not opt_out_keywords:
        return result
    if message.text.strip().casefold() not in {k.casefold() for k in opt_out_keywords}:
        return result
    tx.conn.execute(
        "INSERT OR IGNORE INTO opt_out (number, added_at, source) VALUES (?, ?, 'keyword')",
        (message.sender, to_ms(now)),
    )
    return replace(result, opted_out=True)


def store_undecodable(
    tx: Transaction, ctx: Context, modem: str, raw: bytes, error: str, now: datetime
) -> UndecodableResult:
    """Keep a PDU the decoder refused, raw, and queue its ``errors`` event; once per PDU."""
    digest = hashlib.sha256(raw).digest()
    found = tx.conn.execute(
        "SELECT id FROM inbox_undecodable WHERE modem = ? AND digest = ?", (modem, digest)
    ).fetchone()
    if found is not None:
        return UndecodableResult(found[0], duplicate=True)
    entry = Undecodable(uuid.uuid4().hex, modem, raw, error, now)
    tx.conn.execute(
        "INSERT INTO inbox_undecodable (id, modem, digest, raw, error, stored_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (entry.id, modem, digest, raw, error, to_ms(now)),
    )
    if ctx.errors_topic is not None:
        payload = json.dumps(entry.to_json(), separators=(",", ":")).encode()
        queue_publication(tx, ctx, topic=ctx.errors_topic, payload=payload, now_ms=to_ms(now))
    return UndecodableResult(entry.id, duplicate=False)


def _store_part(
    tx: Transaction, ctx: Context, modem: str, part: InboundPart, now: datetime
) -> InboundResult:
    concat = part.concat if part.concat is not None and part.concat[2] > 1 else None
    ref, number, total = concat if concat is not None else (None, None, None)
    cursor = tx.conn.execute(
        "INSERT OR IGNORE INTO inbox_part (modem, digest, sender, concat_ref, part_no, total,"
        " text, data, encoding, smsc, received_at, stored_at, raw)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *(modem, hashlib.sha256(part.raw).digest(), part.sender, ref, number, total),
            *(part.text, part.data, part.encoding, part.smsc, part.timestamp.isoformat()),
            *(to_ms(now), part.raw),
        ),
    )
    if cursor.rowcount == 0:
        return InboundResult(duplicate=True, message=None)
    if concat is None:
        assert cursor.lastrowid is not None
        return InboundResult(False, _assemble(tx, ctx, [cursor.lastrowid], 1, False, now))
    key = (modem, part.sender, ref, total)
    pks = _pending_set(tx.conn, key)
    if len(pks) < (total or 0):
        return InboundResult(duplicate=False, message=None)
    return InboundResult(False, _assemble(tx, ctx, pks, total or 1, False, now))


def _pending_set(conn: sqlite3.Connection, key: tuple[object, ...]) -> list[int]:
    rows = conn.execute(
        "SELECT pk FROM inbox_part WHERE message IS NULL AND modem = ? AND sender = ?"
        " AND concat_ref = ? AND total = ? ORDER BY part_no",
        key,
    )
    return [pk for (pk,) in rows]


#: After a wall-clock jump: parts of an incomplete set age from when they were stored, by the jump.
SHIFT_WAITING_SQL = "UPDATE inbox_part SET stored_at = stored_at + ? WHERE message IS NULL"


def shift_waiting(conn: sqlite3.Connection, by_ms: int) -> int:
    """Move the stored time of parts waiting for their set by ``by_ms``; count them."""
    return conn.execute(SHIFT_WAITING_SQL, (by_ms,)).rowcount


def flush_incomplete(
    tx: Transaction, ctx: Context, stored_before: datetime, now: datetime
) -> list[IncomingMessage]:
    """Deliver every set whose first part was stored before ``stored_before``, marked incomplete."""
    keys = tx.conn.execute(
        "SELECT DISTINCT modem, sender, concat_ref, total FROM inbox_part"
        " WHERE message IS NULL AND stored_at <= ?",
        (to_ms(stored_before),),
    ).fetchall()
    messages = []
    for key in keys:
        pks = _pending_set(tx.conn, tuple(key))
        messages.append(_assemble(tx, ctx, pks, key[3], True, now))
    return messages


def _assemble(
    tx: Transaction, ctx: Context, pks: list[int], total: int, incomplete: bool, now: datetime
) -> IncomingMessage:
    marks = ",".join("?" * len(pks))
    rows = tx.conn.execute(
        f"SELECT * FROM inbox_part WHERE pk IN ({marks}) ORDER BY part_no",
        pks,
    ).fetchall()
    first = rows[0]
    is_data = first["data"] is not None
    message = IncomingMessage(
        id=uuid.uuid4().hex,
        sender=first["sender"],
        text=None if is_data else "".join(row["text"] or "" for row in rows),
        data=b"".join(row["data"] or b"" for row in rows) if is_data else None,
        modem=first["modem"],
        received_at=datetime.fromisoformat(first["received_at"]),
        smsc=first["smsc"],
        parts=total,
        encoding=first["encoding"],
        incomplete=incomplete,
        stored_at=now,
    )
    cursor = tx.conn.execute(
        "INSERT INTO inbox (id, modem, sender, text, data, encoding, smsc, received_at, stored_at,"
        " parts, incomplete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *(message.id, message.modem, message.sender, message.text, message.data),
            *(message.encoding, message.smsc, first["received_at"], to_ms(now), total, incomplete),
        ),
    )
    sql = f"UPDATE inbox_part SET message = ? WHERE pk IN ({marks})"
    tx.conn.execute(sql, [cursor.lastrowid, *pks])
    if ctx.inbox_topic is not None:
        payload = json.dumps(message.to_json(), separators=(",", ":"), ensure_ascii=False).encode()
        queue_publication(tx, ctx, topic=ctx.inbox_topic, payload=payload, now_ms=to_ms(now))
    if ctx.on_inbound is not None:
        ctx.on_inbound(tx, message, to_ms(now))
    deliveries.on_inbox(tx, ctx, message, to_ms(now))
    assert cursor.lastrowid is not None
    return replace(message, seq=cursor.lastrowid)


def to_incoming(row: sqlite3.Row) -> IncomingMessage:
    """Return an inbox row as an ``IncomingMessage``."""
    return IncomingMessage(
        seq=row["pk"],
        id=row["id"],
        sender=row["sender"],
        text=row["text"],
        data=row["data"],
        modem=row["modem"],
        received_at=datetime.fromisoformat(row["received_at"]),
        smsc=row["smsc"],
        parts=row["parts"],
        encoding=row["encoding"],
        incomplete=bool(row["incomplete"]),
        stored_at=from_ms(row["stored_at"]),
    )
