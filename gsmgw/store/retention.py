"""Retention: finished messages and inbound SMS older than ``keep_days`` go, and their space too.

A Raspberry Pi's SD card should hold a year of traffic without the file growing for ever. Each
job deletes at most ``PURGE_BATCH`` messages (with their parts) in one transaction, so the
writer, which commits everybody's sends too, is never held up for long; the caller repeats it
until less than a batch comes back. Finished means sent, delivered, failed, expired or
cancelled, aged by ``updated_at`` (when it became so); an inbound SMS ages from when it was
stored, and so does a raw PDU nobody could decode; an SMPP submitter's record of a message goes
with it. Parts of an inbound set that never completed are flushed as incomplete messages long
before (``incomplete_after``). The opt-out list is kept.

The file is in ``auto_vacuum = INCREMENTAL`` mode (``schema.use_incremental_vacuum``): after
deleting, ``release_free_pages`` gives the freed pages back to the file system, at most
``VACUUM_BATCH`` per job. So the file stays at about ``keep_days`` worth of traffic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
import sqlite3

from gsmgw.models import MessageState
from gsmgw.store.common import Context, count_states
from gsmgw.store.writer import Transaction

#: Messages deleted per transaction at most.
PURGE_BATCH = 500
#: Free pages given back per transaction at most (4 MiB of 4 KiB pages).
VACUUM_BATCH = 1000

#: The oldest finished messages: a range on ``outbox_finished`` (checked by a test). Named,
#: because the planner, without statistics, would take ``outbox_state`` and sort every row.
OUTBOX_SQL = (
    "SELECT pk, state, id FROM outbox INDEXED BY outbox_finished"
    " WHERE state IN ('sent', 'delivered', 'failed', 'expired', 'cancelled') AND updated_at < ?"
    " ORDER BY updated_at LIMIT ?"
)
#: The oldest inbound messages: a range on ``inbox_stored``.
INBOX_SQL = "SELECT pk FROM inbox WHERE stored_at < ? ORDER BY stored_at LIMIT ?"
#: Raw PDUs nobody could decode (few: a scan of their small table is cheap).
UNDECODABLE_SQL = (
    "DELETE FROM inbox_undecodable WHERE pk IN"
    " (SELECT pk FROM inbox_undecodable WHERE stored_at < ? ORDER BY stored_at LIMIT ?)"
)


@dataclass(frozen=True, slots=True)
class Purged:
    """What one retention pass deleted, and the file's pages it gave back."""

    outbound: int = 0
    inbound: int = 0
    released_pages: int = 0


@dataclass(frozen=True, slots=True)
class DatabaseSize:
    """The database's size (``gsmgw status``): the file, its WAL and the free pages inside."""

    bytes: int
    wal_bytes: int
    free_bytes: int

    def to_json(self) -> dict[str, int]:
        """Return the ``database`` object of ``gsmgw status``."""
        return {"bytes": self.bytes, "wal_bytes": self.wal_bytes, "free_bytes": self.free_bytes}


def purge_outbox(tx: Transaction, ctx: Context, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` messages that finished before ``before_ms``; count them."""
    rows = tx.conn.execute(OUTBOX_SQL, (before_ms, limit)).fetchall()
    pks = [(pk,) for pk, _, _ in rows]
    tx.conn.executemany("DELETE FROM outbox_part WHERE message = ?", pks)
    tx.conn.executemany("DELETE FROM outbox WHERE pk = ?", pks)
    # An SMPP submitter's record of the message (query_sm, receipts) goes with it.
    tx.conn.executemany("DELETE FROM smpp_message WHERE message_id = ?", [(i,) for _, _, i in rows])
    gone = Counter(MessageState(state) for _, state, _ in rows)
    count_states(tx, ctx, {state: -n for state, n in gone.items()})
    return len(rows)


def purge_inbox(tx: Transaction, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` inbound messages stored before ``before_ms``; count them."""
    pks = tx.conn.execute(INBOX_SQL, (before_ms, limit)).fetchall()
    tx.conn.executemany("DELETE FROM inbox_part WHERE message = ?", pks)
    tx.conn.executemany("DELETE FROM inbox WHERE pk = ?", pks)
    raw = tx.conn.execute(UNDECODABLE_SQL, (before_ms, limit - len(pks))).rowcount
    return len(pks) + raw


def release_free_pages(conn: sqlite3.Connection, limit: int) -> int:
    """Give up to ``limit`` free pages back to the file system; count them."""
    free = min(_pragma(conn, "freelist_count"), limit)
    # Python's sqlite3 steps a statement that returns no columns once, and one step of
    # incremental_vacuum frees one page: so one statement per page.
    for _ in range(free):
        conn.execute("PRAGMA incremental_vacuum(1)")
    return free


def free_pages(conn: sqlite3.Connection) -> int:
    """Return how many pages of the file are free."""
    return _pragma(conn, "freelist_count")


def page_size(conn: sqlite3.Connection) -> int:
    """Return the file's page size in bytes."""
    return _pragma(conn, "page_size")


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])
