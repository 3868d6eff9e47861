"""Delivery SQL: webhook events and Kannel ``dlr-url`` callbacks. Runs in the writer thread.

An event is stored for each consumer that wants it (a webhook, by its URL, or ``dlr`` for every
``dlr-url`` callback) in the transaction that produces it: the state change in ``common.emit``,
the completed inbound message in ``inbox._assemble``. A consumer's worker delivers its rows in
``pk`` order and deletes each once delivered or given up, so a receiver down for hours, or a
restart, loses nothing and reorders nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
import json
import sqlite3
from typing import TYPE_CHECKING
from urllib.parse import quote
import uuid

from gsmgw.models import IncomingMessage, MessageState, SendRequest, StateEvent
from gsmgw.store.writer import Transaction

if TYPE_CHECKING:
    from gsmgw.store.common import Context

#: The consumer of every ``dlr-url`` callback.
DLR_CONSUMER = "dlr"
#: Kannel's dlr-mask bit for each state (SPEC.md: 1 delivered, 2 failed or expired, 4 queued,
#: 8 sent, 16 refused). gsmgw cannot always tell a refusal from a failure: a failed message
#: calls back with 2 when the mask asks for it, else with 16.
DLR_BITS: Mapping[MessageState, tuple[int, ...]] = {
    MessageState.DELIVERED: (1,),
    MessageState.FAILED: (2, 16),
    MessageState.EXPIRED: (2,),
    MessageState.QUEUED: (4,),
    MessageState.SENT: (8,),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One stored event for one consumer."""

    pk: int
    consumer: str
    #: ``X-Gsmgw-Delivery``: unique per event and consumer, the same on every attempt.
    id: str
    event: str
    #: A ``dlr-url`` callback's expanded URL (webhooks: None, the config names it).
    url: str | None
    body: bytes | None
    created_at: datetime
    attempts: int
    due_at: datetime
    last_error: str | None


def save_dlr(tx: Transaction, message_id: str, request: SendRequest) -> None:
    """Store the request's ``dlr-mask`` and ``dlr-url`` with its new message, if it has them."""
    if request.dlr_mask is None and request.dlr_url is None:
        return
    tx.conn.execute(
        "UPDATE outbox SET dlr_mask = ?, dlr_url = ? WHERE id = ?",
        (request.dlr_mask, request.dlr_url, message_id),
    )


def dlr_of(conn: sqlite3.Connection, message_id: str) -> tuple[int | None, str | None]:
    """Return a message's stored ``(dlr_mask, dlr_url)``; ``(None, None)`` without them."""
    row = conn.execute(
        "SELECT dlr_mask, dlr_url FROM outbox WHERE id = ?", (message_id,)
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def on_state(tx: Transaction, ctx: Context, event: StateEvent, now_ms: int) -> None:
    """Store a state event for the webhooks that want it, and its ``dlr-url`` callback."""
    if any("state" in events for _, events in ctx.webhooks):
        body = {**event.to_json(), "event": "state"}
        _for_webhooks(tx, ctx, "state", body, now_ms)
    bits = DLR_BITS.get(event.state)
    if not ctx.dlr_callbacks or bits is None:
        return
    row = tx.conn.execute(
        "SELECT dlr_mask, dlr_url, destination FROM outbox WHERE id = ?", (event.id,)
    ).fetchone()
    if row is None or not row[0] or not row[1]:
        return
    bit = next((b for b in bits if row[0] & b), None)
    if bit is not None:
        url = expand_dlr_url(row[1], bit=bit, event=event, recipient=row[2])
        _insert(tx, ctx, DLR_CONSUMER, "dlr", url, None, now_ms)


def on_inbox(tx: Transaction, ctx: Context, message: IncomingMessage, now_ms: int) -> None:
    """Store a completed inbound message for the webhooks that want it."""
    if any("inbox" in events for _, events in ctx.webhooks):
        _for_webhooks(tx, ctx, "inbox", {**message.to_json(), "event": "inbox"}, now_ms)


def expand_dlr_url(url: str, *, bit: int, event: StateEvent, recipient: str) -> str:
    """Return Kannel's ``dlr-url`` with ``%d %p %A %T %F`` expanded (values URL-encoded)."""
    values = {
        "d": str(bit),
        "p": recipient,
        "A": str(event.state),
        "T": str(int(event.at.timestamp())),
        "F": event.id,
    }
    out: list[str] = []
    index = 0
    while index < len(url):
        char = url[index]
        code = url[index + 1] if index + 1 < len(url) else ""
        if char == "%" and code in values:
            out.append(quote(values[code], safe=""))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _for_webhooks(
    tx: Transaction, ctx: Context, event: str, body: Mapping[str, object], now_ms: int
) -> None:
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    for consumer, events in ctx.webhooks:
        if event in events:
            _insert(tx, ctx, consumer, event, None, payload, now_ms)


def _insert(
    tx: Transaction,
    ctx: Context,
    consumer: str,
    event: str,
    url: str | None,
    body: bytes | None,
    now_ms: int,
) -> None:
    tx.conn.execute(
        "INSERT INTO delivery (consumer, id, event, url, body, created_at, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (consumer, uuid.uuid4().hex, event, url, body, now_ms, now_ms),
    )
    tx.notify.append(ctx.wake_deliveries)


def next_deliveries(conn: sqlite3.Connection, consumer: str, limit: int) -> list[Delivery]:
    """Return a consumer's oldest ``limit`` deliveries, in order."""
    rows = conn.execute(
        "SELECT * FROM delivery WHERE consumer = ? ORDER BY pk LIMIT ?", (consumer, limit)
    ).fetchall()
    return [_to_delivery(row) for row in rows]


def finish(tx: Transaction, pk: int) -> None:
    """Delete a delivery: delivered, or given up."""
    tx.conn.execute("DELETE FROM delivery WHERE pk = ?", (pk,))


def postpone(tx: Transaction, pk: int, due_ms: int, error: str) -> None:
    """Count a failed attempt and set when the next one is due."""
    tx.conn.execute(
        "UPDATE delivery SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE pk = ?",
        (due_ms, error, pk),
    )


def drop_orphans(tx: Transaction, consumers: Collection[str], before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` deliveries stored before ``before_ms`` for none of ``consumers``.

    A webhook taken out of the config (or given another URL), or ``dlr-url`` callbacks with the
    HTTP API turned off, leave events that no worker delivers; they go once they are as old as
    the default ``retry_for``, as an undelivered event would. Return how many went.
    """
    marks = ", ".join("?" * len(consumers))
    return int(
        tx.conn.execute(
            "DELETE FROM delivery WHERE pk IN (SELECT pk FROM delivery"
            f" WHERE consumer NOT IN ({marks}) AND created_at < ? LIMIT ?)",
            (*consumers, before_ms, limit),
        ).rowcount
    )


def backlog(conn: sqlite3.Connection) -> dict[str, tuple[int, str | None]]:
    """Return each consumer's count of waiting deliveries and its oldest one's last error."""
    rows = conn.execute(
        "SELECT consumer, count(*), (SELECT last_error FROM delivery d2"
        " WHERE d2.consumer = d.consumer ORDER BY pk LIMIT 1) FROM delivery d GROUP BY consumer"
    ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def _to_delivery(row: sqlite3.Row) -> Delivery:
    from gsmgw.store.common import from_ms

    return Delivery(
        pk=row["pk"],
        consumer=row["consumer"],
        id=row["id"],
        event=row["event"],
        url=row["url"],
        body=row["body"],
        created_at=from_ms(row["created_at"]),
        attempts=row["attempts"],
        due_at=from_ms(row["due_at"]),
        last_error=row["last_error"],
    )
