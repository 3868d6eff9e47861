"""Group commit, job isolation, cancellation; the publication queue and the opt-out list."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
from pathlib import Path
import sqlite3
import threading

import pytest

from gsmgw.errors import LocalProtocolError, StoreError
from gsmgw.models import MessageState, SendRequest
from gsmgw.store import Store, StoreReader
from gsmgw.store.writer import Transaction


def request(message_id: str) -> SendRequest:
    """Return a request with id ``message_id``."""
    return SendRequest(to=("+491701234567",), text="hi", id=message_id)


async def test_concurrent_enqueues_share_one_commit(store: Store) -> None:
    started, release = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        started.set()
        release.wait(30)

    # Hold the writer thread in a job of its own while 300 enqueues queue up behind it.
    blocker = asyncio.ensure_future(store._writer.submit(hold))
    assert await asyncio.to_thread(started.wait, 30)
    before = store.commits
    enqueues = [asyncio.ensure_future(store.enqueue([request(f"m{n}")])) for n in range(300)]
    await asyncio.sleep(0)
    release.set()
    await blocker
    results = await asyncio.gather(*enqueues)
    assert all(r[0].created for r in results)
    assert store.commits - before == 2  # the blocker's batch, then all 300 in one
    with StoreReader(store.path) as reader:
        assert reader.state_counts() == {MessageState.QUEUED: 300}


def synchronous(tx: Transaction) -> int:
    """Return the connection's ``PRAGMA synchronous`` inside a job (1 NORMAL, 2 FULL)."""
    value: int = tx.conn.execute("PRAGMA synchronous").fetchone()[0]
    return value


async def test_a_batch_skips_its_fsync_only_when_every_job_allows_it(store: Store) -> None:
    writer = store._writer
    assert await writer.submit(synchronous, durable=False) == 1
    assert await writer.submit(synchronous) == 2
    started, release = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        started.set()
        release.wait(30)

    # One batch of a durable and a non-durable job: it fsyncs.
    blocker = asyncio.ensure_future(writer.submit(hold, durable=False))
    assert await asyncio.to_thread(started.wait, 30)
    lenient = writer.put(synchronous, durable=False)
    strict = writer.put(synchronous)
    release.set()
    await blocker
    assert (await lenient, await strict) == (2, 2)


async def test_only_a_claim_and_an_acknowledged_publication_skip_their_fsync(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut may undo a claim (nothing left yet) or an ack (published again), no more."""
    seen: list[int] = []
    real = store._writer.submit

    async def spy(run: object, *, durable: bool = True) -> object:
        seen.append(durable)
        return await real(run, durable=durable)  # type: ignore[arg-type]

    monkeypatch.setattr(store._writer, "submit", spy)
    await store.enqueue([request("m")])
    assert await store.claim_next("sim1", encode=lambda m: [("00AA", 10)]) is not None
    await store.begin_part("m", 1, "sim1")
    await store.record_part_sent("m", 1, 7, "sim1")
    publications = await store.next_publications(10)
    assert publications
    await store.ack_publication(publications[0].id)
    assert seen == [True, False, True, True, True, False]


async def test_a_failing_job_does_not_spoil_its_batch(store: Store) -> None:
    good = store.enqueue([request("good")])
    bad = store.begin_part("nope", 1, "sim1")
    also_good = store.enqueue([request("also")])
    results = await asyncio.gather(good, bad, also_good, return_exceptions=True)
    assert isinstance(results[1], LocalProtocolError)
    assert await store.get_message("good") is not None
    assert await store.get_message("also") is not None


async def test_a_cancelled_caller_still_gets_its_write(store: Store) -> None:
    task = asyncio.create_task(store.enqueue([request("m")]))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.opt_out_contains("+49")  # a later job: the earlier one is committed by now
    assert await store.get_message("m") is not None


async def test_close_finishes_queued_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "gsmgw.db")
    await store.open()
    pending = [asyncio.ensure_future(store.enqueue([request(f"m{n}")])) for n in range(20)]
    await asyncio.sleep(0)
    await store.close()
    await asyncio.gather(*pending)
    with StoreReader(store.path) as reader:
        assert len(reader.list_outbox(limit=100)) == 20


async def test_publications_come_in_order_until_acknowledged(store: Store) -> None:
    store.publications_added.clear()
    first = await store.enqueue_publication("a/b", b"1")
    second = await store.enqueue_publication("a/c", b"2", retain=True)
    assert store.publications_added.is_set()
    queued = await store.next_publications(10)
    assert [(p.id, p.topic, p.payload, p.retain) for p in queued] == [
        (first, "a/b", b"1", False),
        (second, "a/c", b"2", True),
    ]
    assert [p.id for p in await store.next_publications(10, after=first)] == [second]
    assert await store.ack_publication(first)
    assert not await store.ack_publication(first)
    assert [p.id for p in await store.next_publications(10)] == [second]


async def test_state_changes_queue_their_event_in_the_same_transaction(store: Store) -> None:
    await store.enqueue([request("m")])
    await store.cancel("m")
    payloads = [json.loads(p.payload) for p in await store.next_publications(10)]
    assert [(p["id"], p["state"]) for p in payloads] == [("m", "queued"), ("m", "cancelled")]


async def test_no_topics_means_no_publications(tmp_path: Path) -> None:
    async with Store(tmp_path / "gsmgw.db") as store:
        await store.enqueue([request("m")])
        assert await store.next_publications() == []


async def test_opt_out_list(store: Store) -> None:
    assert await store.opt_out_add("+4917022", source="keyword")
    assert not await store.opt_out_add("+4917022")
    assert await store.opt_out_add("+4917011")
    entries = await store.opt_out_list(10)
    assert [(e.number, e.source) for e in entries] == [("+4917011", "cli"), ("+4917022", "keyword")]
    assert [e.number for e in await store.opt_out_list(10, after="+4917011")] == ["+4917022"]
    assert await store.opt_out_remove("+4917011")
    assert not await store.opt_out_remove("+4917011")
    assert not await store.opt_out_contains("+4917011")


async def test_outbox_listing_filters_and_pages(store: Store) -> None:
    for n in range(6):
        await store.enqueue([SendRequest(to=(f"+49170{n % 2}",), text="x", id=f"m{n}")])
    await store.cancel("m5")
    with StoreReader(store.path) as reader:
        page = reader.list_outbox(limit=3)
        assert [m.id for m in page] == ["m5", "m4", "m3"]
        assert [m.id for m in reader.list_outbox(before=page[-1].seq)] == ["m2", "m1", "m0"]
        assert [m.id for m in reader.list_outbox(to="+491700")] == ["m4", "m2", "m0"]
        assert [m.id for m in reader.list_outbox(state=MessageState.CANCELLED)] == ["m5"]
        shown = reader.show_outbox("m5")
        assert shown is not None
        assert shown.state is MessageState.CANCELLED
        assert reader.show_outbox("none") is None


async def test_sqlite_errors_become_store_errors(store: Store) -> None:
    with pytest.raises(StoreError, match="no such table") as caught:
        await store._writer.submit(lambda tx: tx.conn.execute("SELECT * FROM missing"))
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert await store.opt_out_add("+4917011")  # the writer carries on


async def test_a_publication_id_is_never_handed_out_twice(tmp_path: Path) -> None:
    """Deleting the newest rows must not make their ids come back (SQLite's rowid would)."""
    async with Store(tmp_path / "gsmgw.db", state_topic="s") as store:
        first = await store.enqueue_publication("a/b", b"1")
        assert await store.ack_publication(first)
        second = await store.enqueue_publication("a/b", b"2")
        assert second > first
    async with Store(tmp_path / "gsmgw.db", state_topic="s") as reopened:
        third = await reopened.enqueue_publication("a/b", b"3")
        assert third > first  # after a restart, at least past what the file holds


async def test_one_batch_wakes_the_event_loop_once(store: Store) -> None:
    loop = asyncio.get_running_loop()
    wakeups = 0
    original = loop.call_soon_threadsafe

    def counted(*args: object, **kwargs: object) -> asyncio.Handle:
        nonlocal wakeups
        wakeups += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    started, release = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        started.set()
        release.wait(30)

    woken: list[int] = []

    def job(n: int) -> Callable[[Transaction], int]:
        def run(tx: Transaction) -> int:
            tx.notify.append(lambda: woken.append(n))
            return n

        return run

    blocker = asyncio.ensure_future(store._writer.submit(hold))
    assert await asyncio.to_thread(started.wait, 30)
    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    try:
        jobs = [asyncio.ensure_future(store._writer.submit(job(n))) for n in range(50)]
        await asyncio.sleep(0)
        release.set()
        await blocker
        assert await asyncio.gather(*jobs) == list(range(50))
    finally:
        del loop.call_soon_threadsafe
    # The blocker's batch, then the 50 jobs' batch: one self-pipe write each, not 100.
    assert wakeups == 2
    assert woken == list(range(50))


async def test_a_failing_wake_up_neither_stops_the_others_nor_the_results(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    woken: list[str] = []

    def broken() -> None:
        raise RuntimeError("a broken wake-up")

    def run(tx: Transaction) -> str:
        tx.notify.extend([broken, lambda: woken.append("after")])
        return "done"

    assert await store._writer.submit(run) == "done"
    assert woken == ["after"]
    assert "a broken wake-up" in caplog.text


async def test_one_delivery_consumer_clearing_its_wake_up_leaves_the_others_theirs(
    store: Store,
) -> None:
    # Webhook workers and the dlr-url worker each clear their wake-up before they look: a
    # shared event let one clear away the wake-up another had not yet seen.
    webhook, dlr = store.deliveries_added.event("hook"), store.deliveries_added.event("dlr-url")
    store.deliveries_added.set()
    webhook.clear()
    assert dlr.is_set()
    assert store.deliveries_added.event("dlr-url") is dlr
