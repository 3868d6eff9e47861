"""The smaller tables and the read side: publications, opt-out list, counters, CLI listings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import sqlite3

from gsmgw.models import IncomingMessage, MessageState, OutgoingMessage
from gsmgw.store.common import from_ms, to_ms
from gsmgw.store.inbox import Undecodable, to_incoming, to_undecodable
from gsmgw.store.outbox import find, to_message

_OUTBOX = "SELECT o.*, r.names AS route_names FROM outbox o JOIN route r ON r.pk = o.route"


@dataclass(frozen=True, slots=True)
class Publication:
    """One MQTT publication waiting for the broker's acknowledgement."""

    #: Its place in the queue (oldest first); given back to ``ack_publication``.
    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class OptOutEntry:
    """A number on the opt-out list."""

    number: str
    added_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class InboundRawPart:
    """One stored part of an inbound message, raw PDU included (for ``gsmgw inbox show``)."""

    part_no: int | None
    total: int | None
    raw: bytes
    stored_at: datetime


def publication_count(conn: sqlite3.Connection) -> int:
    """Return how many publications wait for the broker's acknowledgement."""
    count: int = conn.execute("SELECT count(*) FROM publication").fetchone()[0]
    return count


def next_publications(conn: sqlite3.Connection, limit: int, after: int) -> list[Publication]:
    """Return up to ``limit`` publications after sequence number ``after``, oldest first."""
    rows = conn.execute(
        "SELECT pk, topic, payload, qos, retain FROM publication WHERE pk > ? ORDER BY pk LIMIT ?",
        (after, limit),
    )
    return [
        Publication(pk, topic, bytes(payload), qos, bool(retain))
        for pk, topic, payload, qos, retain in rows
    ]


def ack_publication(conn: sqlite3.Connection, seq: int) -> bool:
    """Forget a publication the broker acknowledged; False if it was gone already."""
    return conn.execute("DELETE FROM publication WHERE pk = ?", (seq,)).rowcount == 1


def opt_out_add(conn: sqlite3.Connection, number: str, source: str, now: datetime) -> bool:
    """Put a number on the opt-out list; False if it was there already."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO opt_out (number, added_at, source) VALUES (?, ?, ?)",
        (number, to_ms(now), source),
    )
    return cursor.rowcount == 1


def opt_out_remove(conn: sqlite3.Connection, number: str) -> bool:
    """Take a number off the opt-out list; False if it was not on it."""
    return conn.execute("DELETE FROM opt_out WHERE number = ?", (number,)).rowcount == 1


def opt_out_contains(conn: sqlite3.Connection, number: str) -> bool:
    """Return True when ``number`` is on the opt-out list."""
    return conn.execute("SELECT 1 FROM opt_out WHERE number = ?", (number,)).fetchone() is not None


def opt_out_list(conn: sqlite3.Connection, limit: int, after: str = "") -> list[OptOutEntry]:
    """Return up to ``limit`` numbers sorted, starting after ``after`` (keyset pagination)."""
    rows = conn.execute(
        "SELECT number, added_at, source FROM opt_out WHERE number > ? ORDER BY number LIMIT ?",
        (after, limit),
    )
    return [OptOutEntry(number, from_ms(added), source) for number, added, source in rows]


def sent_parts_since(conn: sqlite3.Connection, modem: str, since: datetime) -> int:
    """Count the parts a modem's SIM sent since ``since`` (for ``per_minute`` / ``per_day``)."""
    row = conn.execute(
        "SELECT count(*) FROM outbox_part WHERE modem = ? AND sent_at IS NOT NULL AND sent_at >= ?",
        (modem, to_ms(since)),
    ).fetchone()
    return int(row[0])


def state_counts(conn: sqlite3.Connection) -> dict[MessageState, int]:
    """Count outbound messages per state (an index scan; for ``gsmgw status``)."""
    rows = conn.execute("SELECT state, count(*) FROM outbox GROUP BY state")
    return {MessageState(state): count for state, count in rows}


def list_outbox(
    conn: sqlite3.Connection,
    *,
    state: MessageState | None = None,
    to: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[OutgoingMessage]:
    """Return outbound messages newest first, without parts; page on with ``before=last.seq``."""
    where, args = outbox_page(state=state, to=to, before=before, table="o.")
    sql = f"{_OUTBOX} WHERE {where} ORDER BY o.pk DESC LIMIT ?"
    return [to_message(row) for row in conn.execute(sql, [*args, limit])]


def outbox_page(
    *, state: MessageState | None, to: str | None, before: int | None, table: str = ""
) -> tuple[str, list[object]]:
    """Return the WHERE clause and its arguments of one page of the outbox, below ``before``.

    ``table`` prefixes the columns (``"o."`` when the outbox is joined under that name).
    """
    clauses, args = [f"{table}pk < ?"], list[object]([2**63 - 1 if before is None else before])
    if state is not None:
        clauses.append(f"{table}state = ?")
        args.append(str(state))
    if to is not None:
        clauses.append(f"{table}destination = ?")
        args.append(to)
    return " AND ".join(clauses), args


def show_outbox(conn: sqlite3.Connection, message_id: str) -> OutgoingMessage | None:
    """Return one outbound message with its parts, or None."""
    return find(conn, message_id)


def list_inbox(
    conn: sqlite3.Connection,
    *,
    since: datetime | None = None,
    sender: str | None = None,
    modem: str | None = None,
    limit: int = 50,
    before: int | None = None,
    after: int | None = None,
) -> list[IncomingMessage]:
    """Return inbound messages newest first (``before``), or oldest first after ``after``.

    ``since``: only those stored from then on.
    """
    clauses: list[str] = []
    args: list[object] = []
    if since is not None:
        clauses.append("stored_at >= ?")
        args.append(to_ms(since))
    if sender is not None:
        clauses.append("sender = ?")
        args.append(sender)
    if modem is not None:
        clauses.append("modem = ?")
        args.append(modem)
    if after is not None:
        clauses.append("pk > ?")
        args.append(after)
        order = "ASC"
    else:
        clauses.append("pk < ?")
        args.append(before if before is not None else 2**63 - 1)
        order = "DESC"
    sql = f"SELECT * FROM inbox WHERE {' AND '.join(clauses)} ORDER BY pk {order} LIMIT ?"
    return [to_incoming(row) for row in conn.execute(sql, [*args, limit])]


def show_inbox(
    conn: sqlite3.Connection, message_id: str
) -> tuple[IncomingMessage, list[InboundRawPart]] | None:
    """Return one inbound message and its raw parts, or None."""
    row = conn.execute("SELECT * FROM inbox WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    parts = conn.execute(
        "SELECT part_no, total, raw, stored_at FROM inbox_part WHERE message = ? ORDER BY part_no",
        (row["pk"],),
    )
    raw = [InboundRawPart(no, total, bytes(data), from_ms(at)) for no, total, data, at in parts]
    return to_incoming(row), raw


def list_undecodable(
    conn: sqlite3.Connection, *, modem: str | None = None, limit: int = 50
) -> list[Undecodable]:
    """Return PDUs kept raw because they could not be decoded, newest first."""
    sql = "SELECT * FROM inbox_undecodable WHERE ? IS NULL OR modem = ? ORDER BY pk DESC LIMIT ?"
    return [to_undecodable(row) for row in conn.execute(sql, (modem, modem, limit))]


def show_undecodable(conn: sqlite3.Connection, entry_id: str) -> Undecodable | None:
    """Return one PDU kept raw, or None."""
    row = conn.execute("SELECT * FROM inbox_undecodable WHERE id = ?", (entry_id,)).fetchone()
    return None if row is None else to_undecodable(row)
