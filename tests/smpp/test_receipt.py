"""Delivery receipt text: SPEC.md's format, and parsing other SMSCs' variants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gsmgw.errors import SmppError
from gsmgw.smpp import RECEIPT_STAT, MessageState, Receipt, Status, format_receipt, parse_receipt

SUBMITTED = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
DONE = datetime(2024, 5, 6, 7, 9, tzinfo=UTC)


def receipt(**changes: object) -> Receipt:
    fields: dict[str, object] = {
        "message_id": "m-42",
        "delivered": 1,
        "submit_date": SUBMITTED,
        "done_date": DONE,
        "stat": RECEIPT_STAT[MessageState.DELIVERED],
        "text": "Hello there",
    }
    fields.update(changes)
    return Receipt(**fields)  # type: ignore[arg-type]


def test_format_matches_spec() -> None:
    assert format_receipt(receipt()) == (
        "id:m-42 sub:001 dlvrd:001 submit date:2405060708 done date:2405060709"
        " stat:DELIVRD err:000 text:Hello there"
    )


@pytest.mark.parametrize(
    "value",
    [
        receipt(),
        receipt(delivered=0, stat="UNDELIV", err=34, text=""),
        receipt(stat="REJECTD", text="  spaces, a colon: "),
        receipt(text="äöü€ text:again"),
    ],
)
def test_round_trip(value: Receipt) -> None:
    assert parse_receipt(format_receipt(value)) == value


def test_text_is_cut_to_twenty_characters() -> None:
    parsed = parse_receipt(format_receipt(receipt(text="x" * 30)))
    assert parsed.text == "x" * 20


def test_dates_are_written_in_the_chosen_zone() -> None:
    berlin = timezone(timedelta(hours=2))
    text = format_receipt(receipt(), tz=berlin)
    assert "submit date:2405060908" in text
    assert parse_receipt(text, tz=berlin).submit_date == SUBMITTED


@pytest.mark.parametrize(
    "text",
    [
        # SMPP 3.4 Appendix B's own spelling, "Text:".
        "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731"
        " stat:DELIVRD err:000 Text:@$#!%&/:",
        # No text at all (Nexmo/Vonage documents "text:none"; some leave it out).
        "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731"
        " stat:DELIVRD err:000",
        # Dates with seconds (smppcenter.com's example).
        "id:0059113978 sub:001 dlvrd:001 submit date:100210173000 done date:100210173100"
        " stat:DELIVRD err:000 text:",
    ],
)
def test_other_smscs_variants(text: str) -> None:
    parsed = parse_receipt(text)
    assert (parsed.message_id, parsed.stat, parsed.delivered) == ("0059113978", "DELIVRD", 1)
    assert parsed.done_date == datetime(2010, 2, 10, 17, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "id:1 sub:001 dlvrd:001 submit date:2413060708 done date:2405060709 stat:X err:000",
        "id:1 sub:001 dlvrd:001 submit date:24050607 done date:2405060709 stat:X err:000",
        "id:1 sub:001 dlvrd:001 submit date:2405060708 done date:2405060709 stat:X err:abc",
    ],
)
def test_not_a_receipt(text: str) -> None:
    with pytest.raises(SmppError) as info:
        parse_receipt(text)
    assert info.value.status == Status.ESME_RX_P_APPN


def test_receipt_checks_itself() -> None:
    with pytest.raises(ValueError, match="0-999"):
        receipt(err=1000)
    with pytest.raises(ValueError, match="spaces"):
        receipt(message_id="a b")


def test_every_state_has_a_stat_word() -> None:
    assert set(RECEIPT_STAT) == set(MessageState)
    assert all(len(word) == 7 for word in RECEIPT_STAT.values())
