"""Retention (``[gateway] keep_days``): old finished messages and inbound SMS go; the file stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
import sqlite3

import pytest

from gsmgw.models import InboundPart, MessageState, SendRequest
from gsmgw.store import (
    SCHEMA_VERSION,
    SmppOrigin,
    Store,
    StoreReader,
    progress,
    retention,
    schema,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "gsmgw.db") as opened:
        yield opened


def request(message_id: str, text: str = "hi", **fields: object) -> SendRequest:
    return SendRequest(to=("+491701234567",), text=text, id=message_id, **fields)  # type: ignore[arg-type]


def inbound(raw: bytes, at: datetime, concat: tuple[int, int, int] | None = None) -> InboundPart:
    return InboundPart(
        sender="+4917099",
        text=f"text {raw!r}",
        data=None,
        encoding="gsm7",
        smsc=None,
        timestamp=at,
        raw=raw,
        concat=concat,
    )


async def finish(store: Store, message_id: str, state: MessageState, at: datetime) -> None:
    """Take a queued message to a final state at ``at``, with one part where it has one."""
    if state is MessageState.CANCELLED:
        await store.cancel(message_id, now=at)
        return
    claimed = await store.claim_next("sim1", now=at)
    assert claimed is not None
    assert claimed.id == message_id
    await store._run(lambda tx: progress.save_parts(tx, message_id, [("00AA" * 40, 80)]))
    if state is MessageState.FAILED:
        await store.mark_failed(message_id, error="permanent", now=at)
        return
    await store.begin_part(message_id, 1, "sim1", now=at)
    await store.record_part_sent(message_id, 1, 1, "sim1", now=at)


async def ids(store: Store) -> set[str]:
    with StoreReader(store.path) as reader:
        return {message.id for message in reader.list_outbox(limit=10_000)}


async def test_old_finished_messages_and_inbound_sms_go(store: Store) -> None:
    old, recent = T0, T0 + 20 * DAY
    for name, state in (
        ("old-sent", MessageState.SENT),
        ("old-failed", MessageState.FAILED),
        ("old-cancelled", MessageState.CANCELLED),
    ):
        await store.enqueue([request(name)], now=old)
        await finish(store, name, state, old)
    await store.enqueue([request("recent")], now=recent)
    await finish(store, "recent", MessageState.SENT, recent)
    waiting = [request("old-queued"), request("old-scheduled", send_at=T0 + 60 * DAY)]
    await store.enqueue(waiting, now=old)
    await store.store_incoming_part("sim1", inbound(b"old", old), now=old)
    await store.store_incoming_part("sim1", inbound(b"new", recent), now=recent)
    # Half a long message, never completed: not an inbound SMS yet (incomplete_after flushes it).
    await store.store_incoming_part("sim1", inbound(b"half", old, (1, 1, 2)), now=old)

    purged = await store.purge(before=T0 + 10 * DAY)

    assert (purged.outbound, purged.inbound) == (3, 1)
    assert await ids(store) == {"old-queued", "old-scheduled", "recent"}
    with StoreReader(store.path) as reader:
        assert [m.sender for m in reader.list_inbox()] == ["+4917099"]
        assert reader.state_counts() == await store.state_counts()
    with sqlite3.connect(store.path) as conn:
        parts = conn.execute("SELECT count(*) FROM outbox_part").fetchone()[0]
        raw = {bytes(r) for (r,) in conn.execute("SELECT raw FROM inbox_part")}
    assert parts == 1  # the recent message's
    assert raw == {b"new", b"half"}
    assert (await store.purge(before=T0 + 10 * DAY)).outbound == 0


async def test_what_other_tables_keep_of_old_messages_goes_with_them(store: Store) -> None:
    """An SMPP submitter's record of its message and a raw undecodable PDU age out too."""
    await store.enqueue([request("smpp-old")], now=T0, origin=SmppOrigin(system_id="esme"))
    await finish(store, "smpp-old", MessageState.SENT, T0)
    await store.store_undecodable("sim1", b"\x00\x04garbage", error="bad UDH", now=T0)
    await store.store_undecodable("sim1", b"\x00\x04fresh", error="bad UDH", now=T0 + 99 * DAY)

    await store.purge(before=T0 + 90 * DAY)

    with sqlite3.connect(store.path) as conn:
        owners = conn.execute("SELECT message_id FROM smpp_message").fetchall()
        kept = conn.execute("SELECT raw FROM inbox_undecodable").fetchall()
    assert owners == []
    assert kept == [(b"\x00\x04fresh",)]


async def test_messages_go_in_small_transactions(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_BATCH", 4)
    await store.enqueue([request(f"m{n}") for n in range(10)], now=T0)
    for n in range(10):
        await store.cancel(f"m{n}", now=T0)
    commits = store.commits
    purged = await store.purge(before=T0 + DAY)
    assert purged.outbound == 10
    assert store.commits - commits >= 3 + 1 + 1  # 4 + 4 + 2 messages, the inbox, the pages
    assert await store.state_counts() == {}


async def test_a_new_file_uses_incremental_vacuum(store: Store) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2


async def test_a_version_1_file_is_migrated_and_vacuumed_once(tmp_path: Path) -> None:
    path = tmp_path / "gsmgw.db"
    with sqlite3.connect(path, isolation_level=None) as conn:  # as gsmgw made it before
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(schema.MIGRATIONS[1])
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO opt_out VALUES ('+4917011', 0, 'cli')")
    conn.close()
    async with Store(path) as store:
        assert await store.opt_out_contains("+4917011")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
    conn.close()
    assert {"outbox_finished", "inbox_stored"} <= indexes


@pytest.mark.parametrize(
    ("sql", "index"),
    [(retention.OUTBOX_SQL, "outbox_finished"), (retention.INBOX_SQL, "inbox_stored")],
)
async def test_retention_queries_use_their_index(store: Store, sql: str, index: str) -> None:
    with sqlite3.connect(store.path) as conn:
        plan = " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (0, 10)))
    assert f"INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan


async def test_the_file_stops_growing_once_messages_expire(store: Store) -> None:
    # 30 days of 40 messages a day, 5 days kept: after the first expiry the file is flat.
    text = "x" * 400
    sizes = []
    for day in range(30):
        at = T0 + day * DAY
        names = [f"d{day}-{n}" for n in range(40)]
        await store.enqueue([request(name, text) for name in names], now=at)
        for name in names:
            await finish(store, name, MessageState.SENT, at)
        await store.store_incoming_part("sim1", inbound(f"in{day}".encode(), at), now=at)
        await store.purge(before=at - 5 * DAY)
        sizes.append((await store.database_size()).bytes)
    with sqlite3.connect(store.path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 6 * 40
    conn.close()
    settled = sizes[10:]
    assert max(settled) <= min(settled) * 1.25, sizes
    assert max(settled) < 2 * sizes[6], sizes


async def test_free_pages_are_given_back(store: Store) -> None:
    text = "y" * 1000
    await store.enqueue([request(f"m{n}", text) for n in range(2000)], now=T0)
    for n in range(2000):
        await store.cancel(f"m{n}", now=T0)
    before = await store.database_size()
    purged = await store.purge(before=T0 + DAY)
    after = await store.database_size()
    assert purged.released_pages > 100
    assert after.free_bytes == 0
    assert before.free_bytes == 0
    with sqlite3.connect(store.path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert pages < 100  # 2000 messages of 1000 characters took over 500 pages
