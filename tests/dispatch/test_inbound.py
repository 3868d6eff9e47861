"""Receiving: PDUs to stored messages, multipart across a restart, reports, opt-out keywords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gsmgw.config import OptOutConfig
from gsmgw.dispatch import Inbound, InboundOutcome
from gsmgw.models import MessageState, SendRequest
from gsmgw.sms import encode_deliver, encode_status_report
from gsmgw.store import Store, StoreReader

SENDER = "+491701234567"
WHEN = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
LONG = "This message is long enough to travel in several parts. " * 7


async def test_single_sms_is_stored(store: Store) -> None:
    receiver = Inbound(store, OptOutConfig())
    (pdu,) = encode_deliver(SENDER, "hello there", timestamp=WHEN)

    assert await receiver.pdu_received("sim1", pdu) is InboundOutcome.STORED
    # The same PDU again (a sweep re-reading the slot) is recognised.
    assert await receiver.pdu_received("sim1", pdu) is InboundOutcome.DUPLICATE

    with StoreReader(store.path) as reader:
        (message,) = reader.list_inbox()
    assert (message.sender, message.text, message.modem) == (SENDER, "hello there", "sim1")
    assert message.received_at == WHEN
    assert receiver.received == 1


async def test_multipart_inbound_survives_a_restart(tmp_path: Path) -> None:
    pdus = encode_deliver(SENDER, LONG, timestamp=WHEN, concat_ref=42)
    assert len(pdus) >= 3
    path = tmp_path / "gsmgw.db"
    async with Store(path) as store:
        receiver = Inbound(store, OptOutConfig())
        # Parts arrive out of order; the daemon stops before the set is complete.
        for pdu in reversed(pdus[1:]):
            assert await receiver.pdu_received("sim1", pdu) is InboundOutcome.STORED
        with StoreReader(path) as reader:
            assert reader.list_inbox() == []
    async with Store(path) as store:
        receiver = Inbound(store, OptOutConfig())
        assert await receiver.pdu_received("sim1", pdus[0]) is InboundOutcome.STORED
    with StoreReader(path) as reader:
        (message,) = reader.list_inbox()
    assert message.text == LONG
    assert message.parts == len(pdus)
    assert not message.incomplete


async def test_incomplete_set_is_flushed_as_what_arrived(store: Store) -> None:
    receiver = Inbound(store, OptOutConfig())
    pdus = encode_deliver(SENDER, LONG, timestamp=WHEN, concat_ref=7)
    await receiver.pdu_received("sim1", pdus[0])

    later = datetime.now(UTC) + timedelta(hours=2)
    (message,) = await store.flush_incomplete(older_than=3600, now=later)

    assert message.incomplete
    assert LONG.startswith(message.text or "")


async def test_malformed_pdu_is_skipped(store: Store) -> None:
    receiver = Inbound(store, OptOutConfig())

    assert await receiver.pdu_received("sim1", bytes.fromhex("0791FFFF")) is InboundOutcome.SKIPPED
    assert receiver.skipped == 1


async def test_status_reports_deliver_and_fail(store: Store) -> None:
    receiver = Inbound(store, OptOutConfig())
    await store.enqueue([SendRequest(to=("+491709999999",), text="a", id="a", report=True)])
    await store.enqueue([SendRequest(to=("+491709999999",), text="b", id="b", report=True)])
    for reference, message_id in ((5, "a"), (6, "b")):
        message = await store.claim_next("sim1", encode=lambda _: [("00", 1)])
        assert message is not None
        assert message.id == message_id
        await store.begin_part(message.id, 1, "sim1")
        await store.record_part_sent(message.id, 1, reference, "sim1")

    # TP-DT after the sends: a report done before its part went out is not its report.
    done = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    delivered = encode_status_report(
        5, "+491709999999", status=0, timestamp=done, discharge_time=done
    )
    failed = encode_status_report(
        6, "+491709999999", status=0x41, timestamp=done, discharge_time=done
    )
    assert await receiver.pdu_received("sim1", delivered) is InboundOutcome.REPORT
    assert await receiver.pdu_received("sim1", failed) is InboundOutcome.REPORT

    a, b = await store.get_message("a"), await store.get_message("b")
    assert a is not None
    assert b is not None
    assert a.state is MessageState.DELIVERED
    assert b.state is MessageState.FAILED
    assert receiver.reports == 2


async def test_opt_out_keyword_blocks_marketing(store: Store) -> None:
    receiver = Inbound(store, OptOutConfig(keywords=("STOP",)))
    (pdu,) = encode_deliver(SENDER, "  stop ", timestamp=WHEN)

    await receiver.pdu_received("sim1", pdu)

    assert await store.opt_out_contains(SENDER)
    (marketing,) = await store.enqueue([SendRequest(to=(SENDER,), text="Sale!", marketing=True)])
    (plain,) = await store.enqueue([SendRequest(to=(SENDER,), text="Your code is 1234")])
    assert marketing.error is not None
    assert marketing.error.code == "destination_blocked"
    assert plain.state is MessageState.QUEUED
