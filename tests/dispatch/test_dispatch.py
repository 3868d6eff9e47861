"""The dispatcher with simulated modems on real ptys and a real SQLite store."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gsmgw.dispatch import SenderState
from gsmgw.models import MessageState, PartState, SendRequest, utc_now
from gsmgw.store import EnqueuePolicy

from .conftest import MakeHarness, eventually

ONE = "[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\n"
TWO = ONE + "[[modem]]\nid = 'sim2'\nport = 'sim:sim2'\n"


def request(text: str, to: str = "+491701234567", **fields: object) -> SendRequest:
    return SendRequest(to=(to,), text=text, **fields)  # type: ignore[arg-type]


async def test_idle_modem_sends_a_new_message(harness: MakeHarness) -> None:
    h = await harness(ONE)
    await h.plug("sim1")

    await h.store.enqueue([request("hello", id="m1")])

    await eventually(lambda: h.sent_texts("sim1") == ["hello"])
    message = await h.store.get_message("m1")
    assert message is not None
    await eventually(lambda: h.dispatcher.senders["sim1"].sent == 1 and h.idle("sim1"))
    message = await h.store.get_message("m1")
    assert message is not None
    assert message.state is MessageState.SENT
    assert message.modem == "sim1"
    (part,) = message.parts
    assert part.reference == h.sims["sim1"].sim.sent[0].reference


async def test_work_queued_after_an_empty_claim_ahead_is_not_missed(harness: MakeHarness) -> None:
    """A fast modem claims ahead while it sends; what is queued after that claim still goes.

    The claim made ahead finds nothing; a message queued next wakes the modem while it sends,
    and the loop clears that wake-up: the modem must not take the old, empty claim for news.
    """
    h = await harness(ONE)
    await h.plug("sim1", send_delay=0.2)  # under CLAIM_AHEAD_MAX_SEND_TIME: it claims ahead
    slot = h.dispatcher.senders["sim1"]
    await h.store.enqueue([request("first", id="m1")])
    await eventually(lambda: h.idle("sim1") and slot.samples == 1)
    # Waits, not due: with it queued, a claim ahead is made (and finds nothing due).
    later = utc_now() + timedelta(hours=1)
    await h.store.enqueue([request("later", id="m0", send_at=later)])

    await h.store.enqueue([request("second", id="m2")])
    await eventually(lambda: slot.claim_ahead is not None and slot.claim_ahead.done())
    assert slot.claim_ahead is not None
    assert slot.claim_ahead.result() is None  # claimed ahead while "second" is being sent
    assert h.sent_texts("sim1") == ["first"]
    await h.store.enqueue([request("third", id="m3")])

    await eventually(lambda: h.sent_texts("sim1") == ["first", "second", "third"], limit=5)


async def test_priority_then_age(harness: MakeHarness) -> None:
    h = await harness(ONE)
    for n, priority in enumerate([0, 5, 0, 10, 5]):
        await h.store.enqueue([request(f"p{priority}-{n}", priority=priority)])

    await h.plug("sim1")

    await eventually(lambda: len(h.sent_texts("sim1")) == 5)
    assert h.sent_texts("sim1") == ["p10-3", "p5-1", "p5-4", "p0-0", "p0-2"]


async def test_rule_pattern_makes_a_one_time_code_jump_the_queue(harness: MakeHarness) -> None:
    h = await harness(ONE + "[[rule]]\ntext = '\\b\\d{6}\\b'\npriority = 10\n")
    policy = EnqueuePolicy.from_config(h.config)
    for n in range(3):
        await h.store.enqueue([request(f"newsletter {n}")], policy=policy)
    await h.store.enqueue([request("Your code is 123456")], policy=policy)

    await h.plug("sim1")

    await eventually(lambda: len(h.sent_texts("sim1")) == 4)
    assert h.sent_texts("sim1")[0] == "Your code is 123456"


async def test_request_modem_and_rule_groups_restrict_the_modems(harness: MakeHarness) -> None:
    toml = (
        "[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\ngroups = ['otp']\n"
        "[[modem]]\nid = 'sim2'\nport = 'sim:sim2'\n"
        "[[rule]]\nprefix = '+43'\nmodems = ['otp']\n"
    )
    h = await harness(toml)
    policy = EnqueuePolicy.from_config(h.config)
    await h.plug("sim1")
    await h.plug("sim2")

    for n in range(4):
        await h.store.enqueue([request(f"to-sim2-{n}", modem="sim2")], policy=policy)
        await h.store.enqueue([request(f"austria-{n}", to="+436641234567")], policy=policy)

    await eventually(lambda: len(h.all_sent()) == 8)
    assert sorted(h.sent_texts("sim2")) == [f"to-sim2-{n}" for n in range(4)]
    assert sorted(h.sent_texts("sim1")) == [f"austria-{n}" for n in range(4)]


async def test_cheapest_modem_for_the_destination_goes_first(harness: MakeHarness) -> None:
    toml = (
        "[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\ncost = { '+49' = 0.09, '+43' = 0.0 }\n"
        "[[modem]]\nid = 'sim2'\nport = 'sim:sim2'\ncost = { '+49' = 0.0, '+43' = 0.09 }\n"
    )
    h = await harness(toml)
    await h.plug("sim1", send_delay=0.02)
    await h.plug("sim2", send_delay=0.02)

    for n in range(5):
        await h.store.enqueue([request(f"de-{n}", to="+491701234567")])
        await h.store.enqueue([request(f"at-{n}", to="+436641234567")])

    await eventually(lambda: len(h.all_sent()) == 10)
    assert sorted(h.sent_texts("sim2")) == [f"de-{n}" for n in range(5)]
    assert sorted(h.sent_texts("sim1")) == [f"at-{n}" for n in range(5)]


async def test_equal_cost_spreads_over_idle_modems(harness: MakeHarness) -> None:
    h = await harness(TWO)
    await h.plug("sim1", send_delay=0.05)
    await h.plug("sim2", send_delay=0.05)

    await h.store.enqueue([request(f"m{n}") for n in range(12)])

    await eventually(lambda: len(h.all_sent()) == 12)
    # Both modems worked: an idle modem takes the next message rather than waiting.
    assert h.sent_texts("sim1")
    assert h.sent_texts("sim2")
    assert sorted(h.all_sent()) == sorted(f"m{n}" for n in range(12))


async def test_send_at_waits_for_its_time(harness: MakeHarness) -> None:
    h = await harness(ONE)
    await h.plug("sim1")
    when = datetime.now(UTC) + timedelta(seconds=0.6)

    await h.store.enqueue([request("later", id="later", send_at=when)])
    h.dispatcher.poke()  # as the gateway does for a new due time
    await h.store.enqueue([request("now")])

    await eventually(lambda: h.sent_texts("sim1") == ["now", "later"])
    (_, later) = h.sims["sim1"].sim.sent
    assert later.at >= when.replace(microsecond=when.microsecond // 1000 * 1000)


async def test_expired_messages_are_not_sent(harness: MakeHarness) -> None:
    h = await harness(ONE)
    past = datetime.now(UTC) - timedelta(seconds=5)
    await h.store.enqueue([request("stale", id="stale", valid_for=1)], now=past)
    await h.store.enqueue([request("fresh", id="fresh")])

    await h.plug("sim1")

    await eventually(lambda: h.sent_texts("sim1") == ["fresh"])
    stale = await h.store.get_message("stale")
    assert stale is not None
    assert stale.state is MessageState.EXPIRED


async def test_the_same_id_is_sent_once(harness: MakeHarness) -> None:
    h = await harness(ONE)
    await h.plug("sim1")

    first = await h.store.enqueue([request("once", id="otp-1")])
    await eventually(lambda: h.dispatcher.senders["sim1"].sent == 1 and h.idle("sim1"))
    again = await h.store.enqueue([request("once", id="otp-1")])

    assert first[0].created
    assert not again[0].created
    assert again[0].state is MessageState.SENT
    await h.store.enqueue([request("marker")])
    await eventually(lambda: len(h.sent_texts("sim1")) == 2)
    assert h.sent_texts("sim1") == ["once", "marker"]


async def test_temporary_error_retries_with_backoff(harness: MakeHarness) -> None:
    h = await harness(ONE)
    sim = await h.plug("sim1")
    sim.sim.fail_next_send(42)  # congestion: temporary (TS 24.011 cause 42)
    sim.sim.fail_next_send(41)  # temporary failure

    await h.store.enqueue([request("persistent", id="r")])

    await eventually(lambda: h.sent_texts("sim1") == ["persistent"])
    await eventually(lambda: h.dispatcher.senders["sim1"].sent == 1 and h.idle("sim1"))
    message = await h.store.get_message("r")
    assert message is not None
    assert message.state is MessageState.SENT
    assert message.attempts == 3
    assert h.dispatcher.senders["sim1"].retried == 2


async def test_backoff_grows_and_is_jittered() -> None:
    import random

    from gsmgw.dispatch import SendPolicy

    policy = SendPolicy(retry_base=1.0, retry_max=30.0)
    rng = random.Random(3)
    delays = [policy.retry_delay(attempt, rng) for attempt in range(1, 8)]
    assert all(
        0.75 * min(2 ** (n - 1), 30) <= d <= 1.25 * min(2 ** (n - 1), 30)
        for n, d in enumerate(delays, 1)
    )
    assert delays[-1] <= 30 * 1.25


async def test_permanent_error_fails_at_once(harness: MakeHarness) -> None:
    h = await harness(ONE)
    sim = await h.plug("sim1")
    sim.sim.fail_next_send(1)  # unassigned number: permanent

    await h.store.enqueue([request("nobody", id="p")])

    await eventually(lambda: h.dispatcher.senders["sim1"].failed == 1 and h.idle("sim1"))
    message = await h.store.get_message("p")
    assert message is not None
    assert message.state is MessageState.FAILED
    assert message.attempts == 1
    assert "CMS 1" in (message.error or "")


async def test_attempts_are_bounded(harness: MakeHarness) -> None:
    h = await harness(ONE, gateway="max_attempts = 2")
    sim = await h.plug("sim1")
    for _ in range(3):
        sim.sim.fail_next_send(42)

    await h.store.enqueue([request("doomed", id="d")])

    await eventually(lambda: h.dispatcher.senders["sim1"].failed == 1 and h.idle("sim1"))
    message = await h.store.get_message("d")
    assert message is not None
    assert message.state is MessageState.FAILED
    assert message.attempts == 2


async def test_failover_when_a_modem_is_unplugged_mid_queue(harness: MakeHarness) -> None:
    h = await harness(TWO)
    sim1 = await h.plug("sim1", send_delay=2.0)
    await h.plug("sim2", send_delay=0.05)
    texts = [f"m{n}" for n in range(8)]

    await h.store.enqueue([request(text, id=text) for text in texts])
    slot = h.dispatcher.senders["sim1"]
    await eventually(lambda: slot.busy_parts > 0)
    sim1.unplug()  # mid-send: the PDU was written, the answer never comes

    await eventually(lambda: sorted(h.sent_texts("sim2")) == texts)
    assert h.sent_texts("sim1") == []
    states = {m: await h.store.get_message(m) for m in texts}
    assert all(m is not None and m.state is MessageState.SENT for m in states.values())
    unknown = [m for m, message in states.items() if message and message.earlier_outcome_unknown]
    assert len(unknown) == 1  # the one in flight; its state events say so
    assert slot.requeued == 1
    assert not h.dispatcher.senders["sim1"].ready(0.0) or h.dispatcher.senders["sim1"].link is None


async def test_per_minute_limit_holds_messages_back(harness: MakeHarness) -> None:
    h = await harness("[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\nper_minute = 2\n")
    await h.plug("sim1")

    await h.store.enqueue([request(f"m{n}", id=f"m{n}") for n in range(4)])

    await eventually(lambda: len(h.sent_texts("sim1")) == 2)
    slot = h.dispatcher.senders["sim1"]
    await eventually(lambda: slot.busy_parts == 0)
    assert slot.limit_delay(1, slot.sent_times[-1]) > 50  # the minute's budget is spent
    counts = await h.store.state_counts()
    assert counts.get(MessageState.QUEUED) == 2
    assert slot.state is not SenderState.HOLDING  # nothing claimed and held over the limit


async def test_a_message_over_the_daily_limit_waits_in_the_queue_and_expires_on_time(
    harness: MakeHarness,
) -> None:
    """A 3-part message two parts short of ``per_day``: back to the queue, not held (#14.6).

    Held, it stayed ``sending``, never expired and blocked the modem: the 1-part message after
    it waited too.
    """
    h = await harness("[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\nper_day = 3\n")
    await h.plug("sim1")
    await h.store.enqueue([request("first", id="first")])
    await eventually(lambda: h.sent_texts("sim1") == ["first"])

    long_code = "Your code is 123456. " * 20  # three parts; only two fit today
    await h.store.enqueue([request(long_code, id="otp", valid_for=2, priority=10)])
    await h.store.enqueue([request("short", id="short")])

    await eventually(lambda: h.sent_texts("sim1") == ["first", "short"])
    otp = await h.store.get_message("otp")
    assert otp is not None
    assert otp.state is MessageState.QUEUED
    assert otp.next_attempt_at is None or otp.next_attempt_at > utc_now()
    assert otp.attempts == 0  # waiting for a SIM's budget is not an attempt
    assert h.dispatcher.senders["sim1"].state is not SenderState.HOLDING

    async def expired() -> bool:
        await h.store.expire_due()
        found = await h.store.get_message("otp")
        return found is not None and found.state is MessageState.EXPIRED

    async with asyncio.timeout(10):
        while not await expired():  # noqa: ASYNC110 - polling the store
            await asyncio.sleep(0.2)


async def test_limits_move_work_to_the_modem_with_budget(harness: MakeHarness) -> None:
    toml = (
        "[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\nper_minute = 2\ncost = { '+' = 0.0 }\n"
        "[[modem]]\nid = 'sim2'\nport = 'sim:sim2'\ncost = { '+' = 0.05 }\n"
    )
    h = await harness(toml)
    await h.plug("sim1")
    await h.plug("sim2")

    await h.store.enqueue([request(f"m{n}") for n in range(6)])

    await eventually(lambda: len(h.all_sent()) == 6)
    assert len(h.sent_texts("sim1")) == 2  # cheaper, but only two a minute
    assert len(h.sent_texts("sim2")) == 4


async def test_allow_list_and_opt_out_refuse_at_enqueue(harness: MakeHarness) -> None:
    h = await harness(ONE, gateway="allow_prefixes = ['+49']")
    policy = EnqueuePolicy.from_config(h.config)
    await h.store.opt_out_add("+491709999999")

    (abroad,) = await h.store.enqueue([request("x", to="+12025550123")], policy=policy)
    (opted,) = await h.store.enqueue(
        [request("sale", to="+491709999999", marketing=True)], policy=policy
    )
    (code,) = await h.store.enqueue([request("code 1234", to="+491709999999")], policy=policy)

    assert abroad.error is not None
    assert abroad.error.code == "destination_blocked"
    assert opted.error is not None
    assert opted.error.code == "destination_blocked"
    assert code.state is MessageState.QUEUED


async def test_status_reports_mark_messages_delivered(harness: MakeHarness) -> None:
    h = await harness(ONE)
    await h.plug("sim1", report_delay=0.05)

    await h.store.enqueue([request("report me", id="rep", report=True)])

    async def delivered() -> bool:
        message = await h.store.get_message("rep")
        return message is not None and message.state is MessageState.DELIVERED

    for _ in range(2000):
        if await delivered():
            break
        await asyncio.sleep(0.01)
    assert await delivered()


async def test_long_message_goes_in_parts_with_one_reference(harness: MakeHarness) -> None:
    h = await harness(ONE)
    sim = await h.plug("sim1")
    text = "A long message. " * 30

    await h.store.enqueue([request(text, id="long")])

    await eventually(lambda: h.dispatcher.senders["sim1"].sent == 1 and h.idle("sim1"))
    submits = [m.submit for m in sim.sim.sent]
    assert len(submits) >= 3
    assert {s.concat.ref for s in submits if s.concat} == {submits[0].concat.ref}  # type: ignore[union-attr]
    assert "".join(s.text or "" for s in submits) == text


async def test_inbound_sms_is_stored_then_deleted_from_the_sim(harness: MakeHarness) -> None:
    from gsmgw.store import StoreReader

    h = await harness(ONE)
    sim = await h.plug("sim1")

    sim.sim.inject_sms("+491701111111", "Hello gateway " * 20)

    await eventually(lambda: h.receiver.received == 1)
    await eventually(lambda: len(sim.sim.storage(2)) == 0)
    with StoreReader(h.store.path) as reader:
        (message,) = reader.list_inbox()
    assert message.text == "Hello gateway " * 20
    assert message.sender == "+491701111111"


async def test_sweep_takes_what_a_missed_indication_left(harness: MakeHarness) -> None:
    h = await harness(ONE)
    sim = await h.make_sim_only("sim1")
    sim.sim.inject_sms("+491702222222", "sent while nobody listened")
    assert len(sim.sim.storage(2)) == 1

    await h.plug("sim1")
    assert await h.receiver.sweep("sim1", h.modems["sim1"]) == 1

    assert h.receiver.received == 1
    assert len(sim.sim.storage(2)) == 0


async def test_the_faster_modem_takes_more_at_equal_cost(harness: MakeHarness) -> None:
    h = await harness(TWO)
    await h.plug("sim1", send_delay=0.3)
    await h.plug("sim2", send_delay=0.0)

    await h.store.enqueue([request(f"m{n}") for n in range(12)])

    await eventually(lambda: len(h.all_sent()) == 12)
    # Soonest finish: its queue times its measured send time (SPEC.md "Routing").
    assert len(h.sent_texts("sim2")) > len(h.sent_texts("sim1"))


async def test_waiting_messages_expire_without_any_modem(
    harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gsmgw.dispatch._schedule

    monkeypatch.setattr(gsmgw.dispatch._schedule, "MAINTENANCE_INTERVAL", 0.05)
    h = await harness(ONE)  # no modem plugged: nothing claims, the periodic expiry must act
    past = datetime.now(UTC) - timedelta(seconds=5)
    await h.store.enqueue([request("too late", id="late", valid_for=1)], now=past)

    async def state() -> MessageState | None:
        message = await h.store.get_message("late")
        return None if message is None else message.state

    async with asyncio.timeout(20):
        while await state() is not MessageState.EXPIRED:  # noqa: ASYNC110 - polls the db
            await asyncio.sleep(0.02)


async def test_a_hung_modem_gives_its_message_to_another(
    harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gsmgw.at.commands

    monkeypatch.setattr(gsmgw.at.commands, "SEND_TIMEOUT", 0.5)
    h = await harness(TWO)
    sim1 = await h.plug("sim1")
    await h.plug("sim2", send_delay=0.3)
    sim1.sim.hang()  # answers nothing from now on, as a SIM800 with a brown-out does

    await h.store.enqueue([request(f"m{n}", id=f"m{n}") for n in range(4)])

    await eventually(lambda: sorted(h.sent_texts("sim2")) == ["m0", "m1", "m2", "m3"])
    assert h.sent_texts("sim1") == []
    await eventually(lambda: h.idle("sim2"))
    for n in range(4):
        message = await h.store.get_message(f"m{n}")
        assert message is not None
        assert message.state is MessageState.SENT


@pytest.mark.parametrize("failing", ["claim_next", "begin_part", "record_part_sent"])
async def test_a_store_write_that_fails_mid_send_strands_nothing(
    harness: MakeHarness, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The disk fills for one write between claim and send: the message still goes out.

    Without help it would stay ``sending`` with no sender until the next start.
    """
    import gsmgw.dispatch._dispatcher
    import gsmgw.dispatch._stranded
    from gsmgw.errors import StoreError

    monkeypatch.setattr(gsmgw.dispatch._stranded, "RETRY_DELAY", 0.05)
    monkeypatch.setattr(
        gsmgw.dispatch._dispatcher, "FAILURE_PAUSE_DELAY", 0.1
    )  # the modem rests after
    h = await harness(ONE)
    await h.plug("sim1")
    real = getattr(h.store, failing)
    failures = [StoreError("cannot write gsmgw.db: database or disk is full")]

    async def once(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await real(*args, **kwargs)

    monkeypatch.setattr(h.store, failing, once)
    await h.store.enqueue([request("through a full disk", id="d1")])

    async def state() -> MessageState | None:
        message = await h.store.get_message("d1")
        return None if message is None else message.state

    async with asyncio.timeout(20):
        while await state() is not MessageState.SENT:  # noqa: ASYNC110 - polling the store
            await asyncio.sleep(0.02)
    assert not failures
    sent = h.sent_texts("sim1")
    message = await h.store.get_message("d1")
    assert message is not None
    if failing == "record_part_sent":
        # The modem took the part but its TP-MR was never written: sent again, and flagged.
        assert sent == ["through a full disk"] * 2
        assert message.earlier_outcome_unknown
    else:
        assert sent == ["through a full disk"]


async def test_a_near_tie_stays_with_the_modem_that_claimed_it(harness: MakeHarness) -> None:
    h = await harness(TWO)
    await h.plug("sim1")
    await h.plug("sim2")
    await h.store.enqueue([request("to route", id="m1")])
    await eventually(lambda: h.all_sent() == ["to route"])
    sent = await h.store.get_message("m1")
    assert sent is not None
    assert sent.parts
    # As it was when claimed: one part to send.
    message = replace(sent, parts=tuple(replace(p, state=PartState.PENDING) for p in sent.parts))
    sim1, sim2 = h.dispatcher.senders["sim1"], h.dispatcher.senders["sim2"]

    # Finish times of 30 ms against 10 ms: the estimates' noise, not a faster modem.
    sim1.send_time, sim2.send_time = 0.03, 0.01
    assert h.dispatcher._route(sim1, message).id == "sim1"  # type: ignore[union-attr]
    # Seconds apart: the faster modem takes it (SPEC.md "Routing": soonest finished).
    sim1.send_time, sim2.send_time = 4.0, 1.5
    assert h.dispatcher._route(sim1, message).id == "sim2"  # type: ignore[union-attr]
