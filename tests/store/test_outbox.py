"""The outbox: enqueue, claim order, scheduling, expiry, retries, part progress, recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path

import pytest

from gsmgw.config import RuleConfig
from gsmgw.errors import EncodingError, LocalProtocolError
from gsmgw.models import MessageState, OutgoingMessage, PartState, SendRequest, StatusReport
from gsmgw.store import EnqueuePolicy, Store, progress

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
NUMBER = "+491701234567"


def request(text: str = "hello", **fields: object) -> SendRequest:
    """Return a one-recipient request."""
    to = fields.pop("to", (NUMBER,))
    assert isinstance(to, tuple)
    return SendRequest(to=to, text=text, **fields)  # type: ignore[arg-type]


async def states(store: Store) -> list[tuple[str, str]]:
    """Return (id, state) of every queued state event, in order."""
    publications = await store.next_publications(1000)
    payloads = [json.loads(p.payload) for p in publications if p.topic.endswith("/sms/state")]
    return [(p["id"], p["state"]) for p in payloads]


async def save_parts(
    store: Store, message_id: str, parts: list[tuple[str, int]]
) -> OutgoingMessage:
    """Store a claimed message's encoding, as ``claim_next(encode=...)`` does in its commit."""
    return await store._run(lambda tx: progress.save_parts(tx, message_id, parts))


async def send_all_parts(store: Store, message_id: str, modem: str = "sim1", ref: int = 10) -> None:
    """Save two parts and record both as sent."""
    message = await save_parts(store, message_id, [("00AA", 10), ("00BB", 11)])
    for part in message.parts:
        await store.begin_part(message_id, part.part_no, modem)
        await store.record_part_sent(message_id, part.part_no, ref + part.part_no, modem)


async def test_enqueue_is_idempotent_on_the_id(store: Store) -> None:
    first = await store.enqueue([request(id="otp-1")], now=T0)
    again = await store.enqueue([request("other text", id="otp-1")], now=T0)
    assert [(r.id, r.state, r.created) for r in first] == [("otp-1", MessageState.QUEUED, True)]
    assert [(r.id, r.state, r.created) for r in again] == [("otp-1", MessageState.QUEUED, False)]
    claimed = await store.claim_next("sim1", now=T0)
    assert claimed is not None
    assert claimed.text == "hello"
    assert await store.claim_next("sim1", now=T0) is None
    repeat = await store.enqueue([request(id="otp-1")], now=T0)
    assert repeat[0].state is MessageState.SENDING


async def test_enqueue_assigns_ids_and_suffixes_lists(store: Store) -> None:
    results = await store.enqueue([request()], now=T0)
    assert len(results[0].id) == 32
    listed = SendRequest(to=("+491701", "+491702", "+491703"), text="x", id="camp", to_list=True)
    results = await store.enqueue([listed], now=T0)
    assert [r.id for r in results] == ["camp:1", "camp:2", "camp:3"]
    assert store.pending == 4


async def test_claim_takes_highest_priority_then_oldest(store: Store) -> None:
    for name, priority in [("low", 0), ("high-old", 5), ("high-new", 5), ("top", 9)]:
        await store.enqueue([request(id=name, priority=priority)], now=T0)
    order = []
    while (message := await store.claim_next("sim1", now=T0)) is not None:
        order.append(message.id)
    assert order == ["top", "high-old", "high-new", "low"]


async def test_send_at_holds_a_message_back_until_due(store: Store) -> None:
    await store.enqueue([request(id="later", send_at=T0 + timedelta(minutes=5))], now=T0)
    assert await store.claim_next("sim1", now=T0) is None
    assert await store.next_due_at() == T0 + timedelta(minutes=5)
    message = await store.claim_next("sim1", now=T0 + timedelta(minutes=5))
    assert message is not None
    assert message.id == "later"


async def test_valid_for_expires_a_waiting_message(store: Store) -> None:
    await store.enqueue([request(id="otp", valid_for=60)], now=T0)
    assert await store.claim_next("sim1", now=T0 + timedelta(seconds=61)) is None
    message = await store.get_message("otp")
    assert message is not None
    assert message.state is MessageState.EXPIRED
    assert ("otp", "expired") in await states(store)
    assert store.pending == 0


async def test_expire_due_without_a_claim(store: Store) -> None:
    await store.enqueue([request(id="a", valid_for=10), request(id="b")], now=T0)
    events = await store.expire_due(now=T0 + timedelta(seconds=11))
    assert [(e.id, e.state) for e in events] == [("a", MessageState.EXPIRED)]


async def test_retry_waits_for_next_attempt(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    await store.claim_next("sim1", now=T0)
    later = T0 + timedelta(seconds=30)
    event = await store.mark_retrying("m", next_attempt_at=later, error="CMS 42", now=T0)
    assert event.state is MessageState.RETRYING
    assert event.to_json()["next_attempt_at"] == later.isoformat()
    assert await store.claim_next("sim1", now=T0 + timedelta(seconds=29)) is None
    again = await store.claim_next("sim1", now=later)
    assert again is not None
    assert (again.id, again.attempts) == ("m", 2)


async def test_retry_past_valid_for_expires(store: Store) -> None:
    await store.enqueue([request(id="m", valid_for=20)], now=T0)
    await store.claim_next("sim1", now=T0)
    later = T0 + timedelta(seconds=30)
    event = await store.mark_retrying("m", next_attempt_at=later, error="no network", now=T0)
    assert event.state is MessageState.EXPIRED


async def test_parts_keep_their_concat_ref_and_sent_needs_all(store: Store) -> None:
    await store.enqueue([request(id="long", report=True)], now=T0)
    message = await store.claim_next("sim1", now=T0)
    assert message is not None
    message = await save_parts(store, "long", [("00AA", 10), ("00BB", 11)])
    assert [p.state for p in message.parts] == [PartState.PENDING, PartState.PENDING]
    await store.begin_part("long", 1, "sim1")
    assert await store.record_part_sent("long", 1, 41, "sim1") is None
    await store.begin_part("long", 2, "sim1")
    event = await store.record_part_sent("long", 2, 42, "sim1")
    assert event is not None
    assert event.to_json()["references"] == [41, 42]
    assert event.parts == 2
    with pytest.raises(LocalProtocolError):
        await store.record_part_sent("long", 2, 43, "sim1")


async def test_permanent_failure(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    await store.claim_next("sim1", now=T0)
    event = await store.mark_failed("m", error="CMS 38", now=T0)
    assert event.to_json()["error"] == "CMS 38"
    assert store.pending == 0


async def test_illegal_transition_raises(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    with pytest.raises(LocalProtocolError):
        await store.mark_retrying("m", next_attempt_at=T0, error="x")  # queued -> retrying


async def test_requeue_after_crash_resends_only_unsent_parts(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    async with Store(path, state_topic="s") as store:
        await store.enqueue([request(id="m")], now=T0)
        claimed = await store.claim_next("sim1", now=T0)
        assert claimed is not None
        await save_parts(store, "m", [("00AA", 10), ("00BB", 11), ("00CC", 12)])
        await store.begin_part("m", 1, "sim1")
        await store.record_part_sent("m", 1, 7, "sim1")
        await store.begin_part("m", 2, "sim1")
        # the process dies here: part 2's PDU may have been written, part 3 never started
    async with Store(path, state_topic="s") as store:
        events = await store.requeue_in_flight(now=T0)
        assert [(e.id, e.state, e.earlier_outcome_unknown) for e in events] == [
            ("m", MessageState.QUEUED, True)
        ]
        again = await store.claim_next("sim2", now=T0)
        assert again is not None
        assert again.concat_ref == claimed.concat_ref
        assert [p.part_no for p in again.unsent_parts()] == [2, 3]
        assert [p.outcome_unknown for p in again.parts] == [False, True, False]
        assert again.parts[0].reference == 7


async def test_requeue_on_failover(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    await store.claim_next("sim1", now=T0)
    await save_parts(store, "m", [("00AA", 10)])
    await store.begin_part("m", 1, "sim1")
    event = await store.requeue("m", error="modem gone", outcome_unknown=True, now=T0)
    assert event.earlier_outcome_unknown
    message = await store.claim_next("sim2", now=T0)
    assert message is not None
    assert (message.modem, message.parts[0].state) == ("sim2", PartState.PENDING)


async def test_a_deferred_message_waits_is_no_attempt_and_expires_on_time(store: Store) -> None:
    await store.enqueue([request(id="m", valid_for=600)], now=T0)
    claimed = await store.claim_next("sim1", now=T0)
    assert claimed is not None
    assert claimed.attempts == 1
    event = await store.defer("m", T0 + timedelta(hours=1), now=T0)
    assert event.state is MessageState.QUEUED

    assert await store.claim_next("sim1", now=T0 + timedelta(minutes=5)) is None  # not due
    assert await store.next_due_at() == T0 + timedelta(hours=1)
    message = await store.get_message("m")
    assert message is not None
    assert message.attempts == 0
    expired = await store.expire_due(now=T0 + timedelta(minutes=11))
    assert [e.id for e in expired] == ["m"]


async def test_only_a_claimed_message_is_deferred(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    with pytest.raises(LocalProtocolError, match="deferred while queued"):
        await store.defer("m", T0 + timedelta(hours=1), now=T0)


async def test_status_reports_deliver_when_every_part_is_delivered(store: Store) -> None:
    await store.enqueue([request(id="m", report=True)], now=T0)
    await store.claim_next("sim1", now=T0)
    await send_all_parts(store, "m", ref=10)
    first = await store.match_status_report(StatusReport(modem="sim1", reference=11, status=0))
    assert first is not None
    assert (first.message_id, first.part_no, first.event) == ("m", 1, None)
    pending = await store.match_status_report(StatusReport(modem="sim1", reference=12, status=0x30))
    assert pending is not None
    assert pending.event is None
    last = await store.match_status_report(StatusReport(modem="sim1", reference=12, status=0))
    assert last is not None
    assert last.event is not None
    assert last.event.state is MessageState.DELIVERED
    assert (
        await store.match_status_report(StatusReport(modem="sim1", reference=12, status=0)) is None
    )
    assert (
        await store.match_status_report(StatusReport(modem="sim9", reference=11, status=0)) is None
    )


async def test_failed_status_report_fails_the_message(store: Store) -> None:
    await store.enqueue([request(id="m", report=True)], now=T0)
    await store.claim_next("sim1", now=T0)
    await send_all_parts(store, "m", ref=20)
    match = await store.match_status_report(StatusReport(modem="sim1", reference=21, status=0x41))
    assert match is not None
    assert match.event is not None
    assert match.event.state is MessageState.FAILED
    assert match.event.error == "status report TP-ST 0x41"


@pytest.mark.parametrize(("status", "final"), [(0x41, MessageState.FAILED), (0, None)])
async def test_a_report_before_the_last_tp_mr_settles_the_message_when_that_comes(
    store: Store, status: int, final: MessageState | None
) -> None:
    await store.enqueue([request(id="m", report=True)], now=T0)
    await store.claim_next("sim1", now=T0)
    await save_parts(store, "m", [("00AA", 10), ("00BB", 11)])
    await store.begin_part("m", 1, "sim1")
    await store.record_part_sent("m", 1, 31, "sim1")
    early = await store.match_status_report(StatusReport(modem="sim1", reference=31, status=status))
    assert early is not None
    assert early.event is None

    await store.begin_part("m", 2, "sim1")
    event = await store.record_part_sent("m", 2, 32, "sim1")

    assert event is not None
    if final is None:  # part 1 delivered, part 2 just sent: the message is sent, no more
        assert event.state is MessageState.SENT
        assert event.references == (31, 32)
    else:
        assert event.state is final
        assert event.error == f"status report TP-ST {status:#04x}"
    message = await store.get_message("m")
    assert message is not None
    assert message.state is event.state


async def test_report_matches_the_latest_part_with_a_reused_reference(store: Store) -> None:
    await store.enqueue([request(id="old"), request(id="new")], now=T0)
    for name, moment in (("old", T0), ("new", T0 + timedelta(hours=1))):
        await store.claim_next("sim1", now=moment)
        await save_parts(store, name, [("00AA", 10)])
        await store.begin_part(name, 1, "sim1", now=moment)
        await store.record_part_sent(name, 1, 5, "sim1", now=moment)
    report = StatusReport(modem="sim1", reference=5, status=0)
    match = await store.match_status_report(report, now=T0 + timedelta(hours=2))
    assert match is not None
    assert match.message_id == "new"


async def test_cancel_and_retry(store: Store) -> None:
    await store.enqueue([request(id="m"), request(id="busy")], now=T0)
    assert await store.cancel("m", now=T0) is MessageState.CANCELLED
    assert await store.cancel("nope") is None
    assert await store.claim_next("sim1", now=T0) is not None  # "busy"
    assert await store.cancel("busy") is MessageState.SENDING  # too late to cancel
    assert await store.retry("m", now=T0) is MessageState.QUEUED
    message = await store.claim_next("sim1", now=T0)
    assert message is not None
    assert message.id == "m"
    assert await store.retry("nope") is None


async def test_retry_resends_failed_parts_only(store: Store) -> None:
    await store.enqueue([request(id="m", report=True)], now=T0)
    await store.claim_next("sim1", now=T0)
    await send_all_parts(store, "m", ref=30)
    await store.match_status_report(StatusReport(modem="sim1", reference=31, status=0))
    await store.match_status_report(StatusReport(modem="sim1", reference=32, status=0x45))
    assert await store.retry("m", now=T0) is MessageState.QUEUED
    message = await store.claim_next("sim1", now=T0)
    assert message is not None
    assert [p.part_no for p in message.unsent_parts()] == [2]


async def test_rules_set_priority_and_route(store: Store) -> None:
    otp = RuleConfig(text=__import__("re").compile(r"\b\d{6}\b"), priority=10, modems=("otp",))
    policy = EnqueuePolicy(rules=(otp,))
    await store.enqueue([request("news", id="news")], policy=policy, now=T0)
    await store.enqueue([request("code 123456", id="code")], policy=policy, now=T0)
    message = await store.claim_next("sim1", serves=lambda names: not names, now=T0)
    assert message is not None
    assert message.id == "news"
    message = await store.claim_next("sim2", serves=lambda names: "otp" in names or not names)
    assert message is not None
    assert (message.id, message.priority, message.route) == ("code", 10, ("otp",))


async def test_request_modem_pins_the_route(store: Store) -> None:
    await store.enqueue([request(id="pinned", modem="sim2")], now=T0)
    assert await store.claim_next("sim1", serves=lambda n: not n or "sim1" in n, now=T0) is None
    message = await store.claim_next("sim2", serves=lambda n: not n or "sim2" in n, now=T0)
    assert message is not None


async def test_policy_refusals(store: Store) -> None:
    policy = EnqueuePolicy(allow_prefixes=("+49",), per_destination_per_hour=2, max_queue=4)
    await store.opt_out_add("+491709999999")
    results = await store.enqueue(
        [
            request(id="abroad", to=("+4366412345678",)),
            request(id="optout", to=("+491709999999",), marketing=True),
            request(id="transactional", to=("+491709999999",)),
            request(id="one"),
            request(id="two"),
            request(id="three"),
        ],
        policy=policy,
        now=T0,
    )
    codes = {r.id: r.error.code if r.error else None for r in results}
    assert codes == {
        "abroad": "destination_blocked",
        "optout": "destination_blocked",
        "transactional": None,
        "one": None,
        "two": None,
        "three": "destination_blocked",
    }
    full = await store.enqueue(
        [request(id=f"f{n}", to=(f"+4917{n}00000",)) for n in range(3)], policy=policy, now=T0
    )
    assert [r.error.code if r.error else None for r in full] == [None, "queue_full", "queue_full"]


async def test_work_added_is_set_after_commit(store: Store) -> None:
    store.work_added.clear()
    await store.enqueue([request(id="later", send_at=T0 + timedelta(hours=1))], now=T0)
    assert not store.work_added.is_set()
    await store.enqueue([request(id="now")], now=T0)
    assert store.work_added.is_set()


async def test_sent_parts_are_counted_per_modem(store: Store) -> None:
    await store.enqueue([request(id="a"), request(id="b")], now=T0)
    for name, modem in (("a", "sim1"), ("b", "sim2")):
        await store.claim_next(modem, now=T0)
        await send_all_parts(store, name, modem=modem)
    assert await store.sent_parts_since("sim1", T0 - timedelta(minutes=1)) == 2
    assert await store.sent_parts_since("sim1", datetime.now(UTC) + timedelta(minutes=1)) == 0
    counts = await store.state_counts()
    assert counts == {MessageState.SENT: 2}


async def test_manual_retry_of_a_retrying_message_makes_it_due_now(store: Store) -> None:
    assert await store.next_due_at() is None
    await store.enqueue([request(id="m")], now=T0)
    await store.claim_next("sim1", now=T0)
    await store.mark_retrying("m", next_attempt_at=T0 + timedelta(hours=1), error="x", now=T0)
    assert await store.next_due_at() == T0 + timedelta(hours=1)
    assert await store.retry("m", now=T0) is MessageState.RETRYING
    message = await store.claim_next("sim1", now=T0)
    assert message is not None
    assert message.attempts == 2


async def test_save_parts_needs_a_sending_message(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    with pytest.raises(LocalProtocolError):
        await save_parts(store, "m", [("00AA", 10)])
    with pytest.raises(LocalProtocolError):
        await save_parts(store, "unknown", [("00AA", 10)])


def two_parts(message: OutgoingMessage) -> list[tuple[str, int]]:
    """Encode every message as two parts; refuse the text "too long"."""
    if message.text == "too long":
        raise EncodingError("over max_parts", code="text_too_long")
    return [(f"00{message.concat_ref:02X}", 10), ("00BB", 11)]


async def test_claim_with_an_encoder_stores_the_parts_in_the_same_commit(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    commits = store.commits
    claimed = await store.claim_next("sim1", encode=two_parts, now=T0)
    assert store.commits == commits + 1
    assert claimed is not None
    assert [(p.part_no, p.pdu_hex) for p in claimed.parts] == [
        (1, f"00{claimed.concat_ref:02X}"),
        (2, "00BB"),
    ]
    assert claimed.state is MessageState.SENDING
    # Built without reading it back: the same as the stored message, parts included.
    assert claimed == await store.get_message("m")


async def test_claim_with_an_encoder_keeps_the_parts_of_an_earlier_claim(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    first = await store.claim_next("sim1", encode=two_parts, now=T0)
    assert first is not None
    await store.requeue("m", error="modem gone")

    def refuse(message: OutgoingMessage) -> list[tuple[str, int]]:
        raise AssertionError("a message with parts is not encoded again")

    again = await store.claim_next("sim2", encode=refuse, now=T0)
    assert again is not None
    assert again.parts == first.parts


async def test_a_repeated_claim_returns_the_message_as_stored(store: Store) -> None:
    await store.enqueue([request(id="m")], now=T0)
    first = await store.claim_next("sim1", encode=two_parts, now=T0)
    assert first is not None
    await store.begin_part("m", 1, "sim1", now=T0)
    await store.record_part_sent("m", 1, 42, "sim1", now=T0)
    await store.begin_part("m", 2, "sim1", now=T0)
    await store.mark_retrying("m", next_attempt_at=T0, error="no answer", outcome_unknown=True)

    again = await store.claim_next("sim2", now=T0 + timedelta(seconds=1))

    assert again is not None
    assert (again.state, again.modem, again.attempts) == (MessageState.SENDING, "sim2", 2)
    assert again.earlier_outcome_unknown
    assert again.next_attempt_at is None
    assert again.concat_ref == first.concat_ref
    assert [p.reference for p in again.parts] == [42, None]
    assert again == await store.get_message("m")


async def test_claim_with_an_encoder_fails_what_it_cannot_encode(store: Store) -> None:
    await store.enqueue([request("too long", id="bad", priority=1), request(id="ok")], now=T0)
    claimed = await store.claim_next("sim1", encode=two_parts, now=T0)
    assert claimed is not None
    assert claimed.id == "ok"
    bad = await store.get_message("bad")
    assert bad is not None
    assert (bad.state, bad.error) == (MessageState.FAILED, "text_too_long: over max_parts")
    assert ("bad", "failed") in await states(store)


async def test_a_claim_fails_a_bounded_number_of_messages(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue of unencodable messages is failed over several commits, waking the senders."""
    import gsmgw.store.progress

    monkeypatch.setattr(gsmgw.store.progress, "MAX_ENCODING_FAILURES", 2)
    await store.enqueue([request("too long", id=f"bad{n}") for n in range(3)], now=T0)
    store.work_added.clear()
    assert await store.claim_next("sim1", encode=two_parts, now=T0) is None
    assert store.work_added.is_set()
    assert await store.state_counts() == {MessageState.FAILED: 2, MessageState.QUEUED: 1}
    assert await store.claim_next("sim1", encode=two_parts, now=T0) is None
    assert await store.state_counts() == {MessageState.FAILED: 3}
