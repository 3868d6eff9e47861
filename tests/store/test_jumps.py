"""Stored deadlines follow a wall-clock jump: once, ahead of later jobs, retried after a failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import sqlite3

import pytest

from gsmgw.clock import ClockWatch
from gsmgw.models import InboundPart, MessageState, SendRequest
from gsmgw.store import Store, jumps, outbox

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class Clocks:
    """The wall and monotonic clocks the store's ``ClockWatch`` reads; a test steps the wall."""

    def __init__(self) -> None:
        self.wall = T0.timestamp()
        self.monotonic = 100.0

    def watch(self) -> ClockWatch:
        return ClockWatch(wall=lambda: self.wall, monotonic=lambda: self.monotonic)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
async def store(tmp_path: Path, clocks: Clocks) -> AsyncIterator[Store]:
    """A store on a real SQLite file whose jump detector reads ``clocks``."""
    async with Store(tmp_path / "gsmgw.db", clock=clocks.watch()) as opened:
        yield opened


def request(message_id: str, **fields: object) -> SendRequest:
    return SendRequest(to=("+491701234567",), text="hi", id=message_id, **fields)  # type: ignore[arg-type]


def waiting_part() -> InboundPart:
    """Part 1 of 2 of a long inbound message: it waits in the store for part 2."""
    return InboundPart(
        sender="+4917099",
        text="first half",
        data=None,
        encoding="gsm7",
        smsc=None,
        timestamp=T0,
        raw=b"part-1",
        concat=(7, 1, 2),  # (reference, part, total)
    )


async def fill(store: Store) -> None:
    """At T0: one message of each kind whose deadlines a jump may or may not move."""
    await store.enqueue(
        [
            request("expiring", valid_for=600),
            request("scheduled", send_at=T0 + HOUR),
            request("retrying", valid_for=3000),
            request("sending", valid_for=600),
            request("sent", valid_for=600),
        ],
        now=T0,
    )
    for _ in range(4):  # oldest first: expiring, retrying, sending, sent ("scheduled" waits)
        assert await store.claim_next("sim1", now=T0, encode=lambda _: [("00AA", 10)]) is not None
    await store.requeue("expiring", now=T0)
    await store.mark_retrying(
        "retrying", next_attempt_at=T0 + timedelta(seconds=5), error="CMS 332", now=T0
    )
    await store.begin_part("sent", 1, "sim1", now=T0)
    await store.record_part_sent("sent", 1, 42, "sim1", now=T0)
    await store.store_incoming_part("sim1", waiting_part(), now=T0)


async def deadlines(store: Store) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Return (next attempt, expiry) of every message."""
    found = {}
    for message_id in ("expiring", "scheduled", "retrying", "sending", "sent"):
        message = await store.get_message(message_id)
        assert message is not None
        found[message_id] = (message.next_attempt_at, message.expires_at)
    return found


async def test_fill_made_what_the_tests_expect(store: Store) -> None:
    await fill(store)
    states = {i: (await store.get_message(i)) for i in ("expiring", "retrying", "sending", "sent")}
    assert {i: m.state for i, m in states.items() if m is not None} == {
        "expiring": MessageState.QUEUED,
        "retrying": MessageState.RETRYING,
        "sending": MessageState.SENDING,
        "sent": MessageState.SENT,
    }


async def test_a_jump_forward_moves_retries_expiries_and_inbound_age_but_not_send_at(
    store: Store, clocks: Clocks
) -> None:
    """NTP jumps a day ahead: what waits keeps its delay; a moment the client named does not."""
    await fill(store)
    before = await deadlines(store)
    clocks.wall += DAY.total_seconds()
    store.check_clock()
    after = await deadlines(store)
    assert store.deadlines_shifted.is_set()
    assert after["expiring"] == (None, T0 + DAY + timedelta(seconds=600))
    retry, expiry = T0 + DAY + timedelta(seconds=5), T0 + DAY + timedelta(seconds=3000)
    assert after["retrying"] == (retry, expiry)
    assert after["sending"] == (None, T0 + DAY + timedelta(seconds=600))
    assert after["sent"] == before["sent"]  # final: nothing waits
    # A second after the jump: nothing expires on the way, the scheduled one is due at its
    # send_at (long past on the new clock), the retry in 4 s.
    now = T0 + DAY + timedelta(seconds=1)
    claimed = [await store.claim_next("sim2", now=now) for _ in range(3)]
    assert [m.id if m else None for m in claimed] == ["expiring", "scheduled", None]
    message = await store.get_message("expiring")
    assert message is not None
    assert message.state is MessageState.SENDING
    assert await store.flush_incomplete(older_than=3600, now=T0 + DAY + timedelta(minutes=59)) == []
    assert await store.flush_incomplete(older_than=3600, now=T0 + DAY + HOUR) != []


async def test_a_jump_back_brings_a_retry_due_in_seconds_back_to_seconds(
    store: Store, clocks: Clocks
) -> None:
    """An admin sets the clock back an hour: a retry due in 5 s is due in 5 s, not 1 h 5 s."""
    await fill(store)
    clocks.wall -= HOUR.total_seconds()
    store.check_clock()
    after = await deadlines(store)
    assert after["retrying"] == (
        T0 - HOUR + timedelta(seconds=5),
        T0 - HOUR + timedelta(seconds=3000),
    )
    assert after["expiring"] == (None, T0 - HOUR + timedelta(seconds=600))
    later = T0 - HOUR + timedelta(seconds=5)
    claimed = [await store.claim_next("sim2", now=later) for _ in range(3)]
    assert [m.id if m else None for m in claimed] == ["expiring", "retrying", None]
    message = await store.get_message("scheduled")
    assert message is not None
    assert message.send_at == T0 + HOUR  # a moment the client named: 2 h away on the new clock


async def test_a_job_queued_right_after_the_jump_is_not_shifted_again(
    store: Store, clocks: Clocks
) -> None:
    """The shift goes ahead of the job whose check saw the jump: that job's new-clock times stay."""
    clocks.wall += DAY.total_seconds()
    await store.enqueue([request("new", valid_for=600)], now=T0 + DAY)
    assert store.deadlines_shifted.is_set()
    message = await store.get_message("new")
    assert message is not None
    assert message.expires_at == T0 + DAY + timedelta(seconds=600)


async def test_each_jump_is_applied_once(store: Store, clocks: Clocks) -> None:
    await fill(store)
    clocks.wall += DAY.total_seconds()
    for _ in range(3):
        store.check_clock()
    await store.get_message("expiring")
    clocks.wall -= HOUR.total_seconds()
    await store.get_message("expiring")
    after = await deadlines(store)
    assert after["expiring"][1] == T0 + DAY - HOUR + timedelta(seconds=600)


async def test_a_failed_shift_is_retried_and_applied_once(
    store: Store, clocks: Clocks, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk is full as the jump is seen: the store goes on; the shift waits, then runs once."""
    await fill(store)
    real = outbox.shift_deadlines
    failures = iter([sqlite3.OperationalError("database or disk is full")])

    def full_disk_once(conn: sqlite3.Connection, by_ms: int) -> int:
        error = next(failures, None)
        if error is not None:
            raise error
        return real(conn, by_ms)

    monkeypatch.setattr(outbox, "shift_deadlines", full_disk_once)
    monkeypatch.setattr(jumps, "SHIFT_RETRY_DELAY", 0.0)
    caplog.set_level(logging.WARNING, logger="gsmgw.store.jumps")
    clocks.wall += DAY.total_seconds()
    message = await store.get_message("expiring")  # the job behind the failed shift still runs
    assert message is not None
    assert message.expires_at == T0 + timedelta(seconds=600)
    assert not store.deadlines_shifted.is_set()
    assert "cannot shift deadlines yet (retrying): database or disk is full" in caplog.text
    store.check_clock()  # the dispatcher's next tick
    after = await deadlines(store)
    assert after["expiring"][1] == T0 + DAY + timedelta(seconds=600)
    assert store.deadlines_shifted.is_set()
    store.check_clock()
    assert (await deadlines(store)) == after
    shifted = [r for r in caplog.records if "deadlines shifted" in r.getMessage()]
    assert [r.getMessage() for r in shifted] == [
        "the wall clock jumped by +86400 s; deadlines shifted (4 outbound, 1 inbound parts)"
    ]


async def test_a_jump_seen_by_a_closed_store_is_logged_not_raised(
    tmp_path: Path, clocks: Clocks, caplog: pytest.LogCaptureFixture
) -> None:
    """The dispatcher's last clock check may come as the daemon closes the store."""
    closed = Store(tmp_path / "closed.db", clock=clocks.watch())
    clocks.wall += DAY.total_seconds()
    caplog.set_level(logging.WARNING, logger="gsmgw.store.jumps")
    closed.check_clock()
    assert "cannot shift deadlines yet (retrying): the store is not open" in caplog.text
