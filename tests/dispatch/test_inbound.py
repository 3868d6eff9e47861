"""Receiving: PDUs to stored messages, multipart across a restart, reports, opt-out keywords."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path

import pytest

from gsmgw.config import OptOutConfig
from gsmgw.dispatch import Inbound, InboundOutcome
from gsmgw.errors import StoreError
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


async def test_malformed_pdu_is_kept_raw_and_published(tmp_path: Path) -> None:
    """Issue 14 defect 3: an undecodable PDU was only logged (then deleted from the SIM)."""
    raw = bytes.fromhex("0791FFFF")
    async with Store(tmp_path / "gsmgw.db", errors_topic="gsmgw/t/errors") as store:
        receiver = Inbound(store, OptOutConfig())

        assert await receiver.pdu_received("sim1", raw) is InboundOutcome.KEPT_RAW
        # Read again (by a sweep, say) it is kept and published once only.
        assert await receiver.pdu_received("sim1", raw) is InboundOutcome.DUPLICATE
        (publication,) = await store.next_publications()
    assert receiver.kept_raw == 1
    assert publication.topic == "gsmgw/t/errors"
    event = json.loads(publication.payload)
    assert event["error"]["code"] == "undecodable_pdu"
    assert (event["modem"], event["pdu_hex"]) == ("sim1", "0791FFFF")
    with StoreReader(tmp_path / "gsmgw.db") as reader:
        (kept,) = reader.list_undecodable()
        assert reader.show_undecodable(kept.id) == kept
    assert (kept.id, kept.raw, kept.modem) == (event["id"], raw, "sim1")


async def test_opt_out_is_applied_in_the_transaction_that_stores_the_message(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14 defect 4: a failed second transaction lost the STOP for good."""

    async def disk_full(*args: object, **kwargs: object) -> bool:
        raise StoreError("disk full")

    # The separate opt-out write of old fails, as on a full disk after the part's commit.
    monkeypatch.setattr(store, "opt_out_add", disk_full)
    receiver = Inbound(store, OptOutConfig(keywords=("STOP",)))
    (pdu,) = encode_deliver(SENDER, "Stop", timestamp=WHEN)

    with contextlib.suppress(StoreError):
        await receiver.pdu_received("sim1", pdu)
    # The SIM copy stayed; the sweep reads it again.
    await receiver.pdu_received("sim1", pdu)

    assert await store.opt_out_contains(SENDER)


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
