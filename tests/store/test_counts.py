"""Outbox counts per state, kept as states change rather than counted by a scan (issue 14, 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsmgw.models import PENDING_STATES, MessageState, SendRequest, StatusReport
from gsmgw.store import Store, StoreReader, progress

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def request(message_id: str, **fields: object) -> SendRequest:
    return SendRequest(to=("+491701234567",), text="hi", id=message_id, **fields)  # type: ignore[arg-type]


async def scanned(store: Store) -> dict[MessageState, int]:
    """Count the states with a full scan of the committed file."""
    with StoreReader(store.path) as reader:
        return reader.state_counts()


async def send(store: Store, message_id: str, reference: int, at: datetime) -> None:
    await store._run(lambda tx: progress.save_parts(tx, message_id, [("00AA", 10)]))
    await store.begin_part(message_id, 1, "sim1", now=at)
    await store.record_part_sent(message_id, 1, reference, "sim1", now=at)


async def mixed_workload(store: Store) -> None:
    """Every kind of state change the store makes, some of them refused or rolled back."""
    ids = [f"m{n}" for n in range(12)]
    await store.enqueue([request(i, report=True) for i in ids], now=T0)
    await store.enqueue([request("m0")], now=T0)  # idempotent: no new message
    await store.enqueue([request("later", send_at=T0 + timedelta(hours=1))], now=T0)
    await store.enqueue([request("short", valid_for=60)], now=T0)
    claimed = [await store.claim_next("sim1", now=T0) for _ in range(6)]
    assert all(message is not None for message in claimed)
    await send(store, "m0", 1, T0)  # sent
    await send(store, "m1", 2, T0)
    await store.match_status_report(
        StatusReport(modem="sim1", reference=2, status=0), now=T0
    )  # delivered
    await send(store, "m2", 3, T0)
    await store.match_status_report(
        StatusReport(modem="sim1", reference=3, status=0x41), now=T0
    )  # failed by report
    await store.mark_retrying("m3", next_attempt_at=T0 + timedelta(minutes=1), error="busy")
    await store.mark_failed("m4", error="permanent")
    await store.requeue("m5", error="modem gone")
    await store.cancel("m6", now=T0)
    await store.cancel("m0", now=T0)  # too late: no change
    assert await store.retry("m4", now=T0) is MessageState.QUEUED
    await store.expire_due(now=T0 + timedelta(minutes=2))  # "short" expires
    await store.requeue_in_flight(now=T0)  # nothing is sending by now


async def test_counts_equal_a_full_scan_after_a_mixed_workload(store: Store) -> None:
    await mixed_workload(store)
    counts = await store.state_counts()
    assert counts == await scanned(store)
    assert counts[MessageState.DELIVERED] == 1
    assert counts[MessageState.EXPIRED] == 1
    assert store.pending == sum(counts.get(state, 0) for state in PENDING_STATES)


async def test_counts_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "gsmgw.db"
    async with Store(path) as store:
        await mixed_workload(store)
        before = await store.state_counts()
    async with Store(path) as store:
        assert await store.state_counts() == before == await scanned(store)


async def test_a_rolled_back_job_changes_no_count(store: Store) -> None:
    await store.enqueue([request("m")], now=T0)

    def fails(tx: object) -> None:
        progress.cancel(tx, store._ctx, "m", T0)  # type: ignore[arg-type]
        raise RuntimeError("after the change, before the commit")

    with pytest.raises(RuntimeError):
        await store._run(fails)
    assert await store.state_counts() == {MessageState.QUEUED: 1} == await scanned(store)


async def test_counting_costs_the_writer_nothing(store: Store) -> None:
    # ``gsmgw status`` and every Prometheus scrape ask: no job, no scan in the writer thread.
    await store.enqueue([request(f"m{n}") for n in range(50)], now=T0)
    commits = store.commits
    for _ in range(10):
        assert await store.state_counts() == {MessageState.QUEUED: 50}
    assert store.commits == commits


async def test_has_waiting_counts_queued_and_retrying_messages(store: Store) -> None:
    # The dispatcher's idle modems stop taking turns when nothing waits: a message waiting for
    # its retry must count, or the modem that alone may send it could miss it.
    seen = [store.has_waiting]
    await store.enqueue([request("m")], now=T0)
    seen.append(store.has_waiting)
    await store.enqueue([request("n", send_at=T0 + timedelta(hours=1))], now=T0)
    assert store.waiting == 2  # due or not
    assert await store.cancel("n") is MessageState.CANCELLED
    assert store.waiting == 1
    assert await store.claim_next("sim1", now=T0) is not None
    seen.append(store.has_waiting)  # sending
    later = T0 + timedelta(seconds=30)
    await store.mark_retrying("m", next_attempt_at=later, error="CMS 42", now=T0)
    seen.append(store.has_waiting)
    assert await store.claim_next("sim1", now=later) is not None
    seen.append(store.has_waiting)
    assert seen == [False, True, False, True, False]
