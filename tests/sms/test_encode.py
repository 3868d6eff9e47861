"""encode_submit, count_parts, encode_deliver and encode_status_report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gsmgw.errors import EncodingError
from gsmgw.sms import (
    Deliver,
    Encoding,
    EncodingMode,
    StatusReport,
    Submit,
    count_parts,
    decode_pdu,
    encode_deliver,
    encode_status_report,
    encode_submit,
)
from gsmgw.sms.encoder import SubmitPart

CET = timezone(timedelta(hours=1))


def _decoded(to: str, text: str, **options: object) -> list[Submit]:
    message = encode_submit(to, text, **options)  # type: ignore[arg-type]
    parts = [decode_pdu(part.pdu) for part in message.parts]
    assert all(isinstance(part, Submit) for part in parts)
    return parts  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("", Encoding.GSM7, 1),
        ("a" * 160, Encoding.GSM7, 1),
        ("a" * 161, Encoding.GSM7, 2),
        ("a" * 306, Encoding.GSM7, 2),
        ("a" * 307, Encoding.GSM7, 3),
        ("€" * 80, Encoding.GSM7, 1),  # an escape sequence takes two septets
        ("€" * 81, Encoding.GSM7, 2),
        ("ж" * 70, Encoding.UCS2, 1),
        ("ж" * 71, Encoding.UCS2, 2),
        ("ж" * 134, Encoding.UCS2, 2),
        ("ж" * 135, Encoding.UCS2, 3),
        ("😀" * 35, Encoding.UCS2, 1),  # a surrogate pair takes two UTF-16 units
        ("😀" * 36, Encoding.UCS2, 2),
    ],
)
def test_part_counts_at_the_limits(text: str, encoding: Encoding, parts: int) -> None:
    """160/153 septets, 70/67 UTF-16 units: the limits of TS 23.040 §9.2.3.24.1."""
    assert count_parts(text) == (encoding, parts)
    assert len(encode_submit("+491701234567", text).parts) == parts


def test_ref16_takes_one_septet_and_one_unit_less() -> None:
    """A 16-bit reference header is 7 octets: 152 septets or 66 units per part."""
    assert count_parts("a" * 304, ref16=True) == (Encoding.GSM7, 2)
    assert count_parts("a" * 305, ref16=True) == (Encoding.GSM7, 3)
    assert count_parts("ж" * 132, ref16=True) == (Encoding.UCS2, 2)
    assert count_parts("ж" * 133, ref16=True) == (Encoding.UCS2, 3)


def test_escape_sequence_never_split() -> None:
    """A '€' that would straddle parts moves whole into the next part."""
    parts = _decoded("+491701234567", "a" * 152 + "€" + "b" * 10)
    assert [p.text for p in parts] == ["a" * 152, "€" + "b" * 10]


def test_surrogate_pair_never_split() -> None:
    """An emoji that would straddle parts moves whole into the next part."""
    parts = _decoded("+491701234567", "ж" * 66 + "😀" + "x" * 10)
    assert [p.text for p in parts] == ["ж" * 66, "😀" + "x" * 10]


def test_submit_fields() -> None:
    """Number, TOA, SRR, class 0, validity, reference and SMSC land where TS 23.040 puts them."""
    message = encode_submit(
        "+491701234567", "hi", report=True, flash=True, valid_for=3600,
        smsc="+491710760000", message_reference=7,
    )  # fmt: skip
    (part,) = message.parts
    assert part.hex.startswith("0791947101670000")
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, Submit)
    assert decoded.recipient == "+491701234567"
    assert decoded.recipient_toa == 0x91
    assert decoded.status_report_request
    assert decoded.message_class == 0
    assert decoded.validity == 3600
    assert decoded.message_reference == 7
    assert decoded.smsc == "+491710760000"
    assert part.tpdu_length == len(part.pdu) - 8


@pytest.mark.parametrize(
    ("to", "shown", "toa"),
    [("+491701234567", "+491701234567", 0x91), ("01701234567", "01701234567", 0x81),
     ("22022", "22022", 0x81), ("*100#", "*100#", 0x81),
     ("+49 170 123-4567", "+491701234567", 0x91)],
)  # fmt: skip
def test_destination_forms(to: str, shown: str, toa: int) -> None:
    """International, national and short codes pass as typed (separators dropped)."""
    (part,) = _decoded(to, "x")
    assert (part.recipient, part.recipient_toa) == (shown, toa)


@pytest.mark.parametrize("to", ["", "+", "abc", "+49170x", "1" * 21, "++49"])
def test_invalid_number(to: str) -> None:
    """A destination that is no number raises invalid_number."""
    with pytest.raises(EncodingError) as caught:
        encode_submit(to, "x")
    assert caught.value.code == "invalid_number"


def test_text_too_long() -> None:
    """Past max_parts (or 255) the error is text_too_long."""
    with pytest.raises(EncodingError) as caught:
        encode_submit("+491701234567", "a" * 307, max_parts=2)
    assert caught.value.code == "text_too_long"
    with pytest.raises(EncodingError):
        encode_submit("+491701234567", "a" * (153 * 255 + 1))
    assert len(encode_submit("+491701234567", "a" * 153 * 255).parts) == 255


@pytest.mark.parametrize(
    "options",
    [{"concat_ref": 256}, {"concat_ref": 65536, "ref16": True}, {"message_reference": 256},
     {"valid_for": -1}, {"mode": "bogus"}, {"languages": ["xx"]}],
)  # fmt: skip
def test_invalid_request(options: dict[str, object]) -> None:
    """Out-of-range options raise invalid_request."""
    with pytest.raises(EncodingError) as caught:
        encode_submit("+491701234567", "x", **options)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_request"


def test_lone_surrogate_is_refused() -> None:
    """A str with half a surrogate pair cannot be sent."""
    with pytest.raises(EncodingError):
        encode_submit("+491701234567", "a\ud83d")


def test_submit_part_checks_itself() -> None:
    """A SubmitPart whose TPDU length does not fit is a programming error."""
    with pytest.raises(ValueError, match="TPDU length"):
        SubmitPart(b"\x00\x01", 5)


def test_smart_keeps_gsm7() -> None:
    """Curly quotes, dashes, ellipsis and odd spaces map to GSM-7 in smart mode only."""
    text = "It\u2019s \u201cdone\u201d \u2013 ok\u2026\u00a0" + "x" * 130
    assert count_parts(text) == (Encoding.UCS2, 3)
    assert count_parts(text, mode=EncodingMode.SMART) == (Encoding.GSM7, 1)
    (part,) = _decoded("+491701234567", text, mode=EncodingMode.SMART)
    assert part.text == 'It\'s "done" - ok... ' + "x" * 130


def test_smart_leaves_text_that_needs_ucs2_alone() -> None:
    """With an emoji the text goes UCS-2 anyway, unmapped."""
    parts = _decoded("+491701234567", "\u2019 😀", mode=EncodingMode.SMART)
    assert [p.text for p in parts] == ["\u2019 😀"]


def test_ucs2_mode_forces_ucs2() -> None:
    """mode=ucs2 sends even plain ASCII as UCS-2."""
    assert count_parts("hello", mode=EncodingMode.UCS2) == (Encoding.UCS2, 1)


@pytest.mark.parametrize(
    ("text", "language", "number"),
    [
        ("Günaydın, nasılsın? Çok güzel ğ ş ı " * 4, "tr", 1),
        ("¿Qué tal? Está aquí, señor " * 6, "es", 2),
        ("Olá, não há ação â ê ô " * 7, "pt", 3),
        ("नमस्ते दुनिया " * 12, "hi", 6),
        ("வணக்கம் உலகம் " * 12, "ta", 11),
    ],
)
def test_national_tables_save_parts(text: str, language: str, number: int) -> None:
    """An enabled national language beats UCS-2 and is signalled in the UDH (0x24/0x25)."""
    plain = count_parts(text)
    national = count_parts(text, languages=[language])
    assert plain[0] is Encoding.UCS2
    assert national[0] is Encoding.GSM7
    assert national[1] < plain[1]
    message = encode_submit("+491701234567", text, languages=[language])
    assert message.language == language
    parts = [decode_pdu(p.pdu) for p in message.parts]
    assert all(isinstance(p, Submit) and p.udh is not None for p in parts)
    first = parts[0]
    assert isinstance(first, Submit)
    assert first.udh is not None
    shifts = {first.udh.locking_shift, first.udh.single_shift}
    assert number in shifts
    assert shifts <= {0, number}
    assert "".join(p.text or "" for p in parts if isinstance(p, Submit)) == text


def test_language_only_when_enabled() -> None:
    """Turkish letters without "tr" enabled stay UCS-2; names work as well as codes."""
    assert count_parts("ş")[0] is Encoding.UCS2
    assert count_parts("ş", languages=["turkish"])[0] is Encoding.GSM7


def test_encode_deliver_round_trip() -> None:
    """encode_deliver gives DELIVER PDUs with an alphanumeric or numeric sender."""
    when = datetime(2026, 11, 24, 18, 0, 5, tzinfo=CET)
    pdus = encode_deliver("Bank", "x" * 200, timestamp=when, concat_ref=9, flash=True)
    parts = [decode_pdu(pdu) for pdu in pdus]
    assert all(isinstance(p, Deliver) for p in parts)
    first = parts[0]
    assert isinstance(first, Deliver)
    assert (first.sender, first.sender_toa, first.timestamp) == ("Bank", 0xD0, when)
    assert first.concat is not None
    assert (first.concat.ref, first.concat.total) == (9, 2)
    assert first.message_class == 0
    assert first.smsc == "+491710760000"
    (single,) = encode_deliver("+4930123456", "hi", timestamp=when)
    decoded = decode_pdu(single)
    assert isinstance(decoded, Deliver)
    assert decoded.sender == "+4930123456"
    assert not decoded.more_messages


@pytest.mark.parametrize("sender", ["", "TwelveCharsX", "Bank😀"])
def test_encode_deliver_bad_sender(sender: str) -> None:
    """An alphanumeric sender has 1 to 11 GSM-7 characters."""
    with pytest.raises(EncodingError):
        encode_deliver(sender, "x", timestamp=datetime(2026, 1, 1, tzinfo=UTC))


def test_encode_deliver_needs_aware_time() -> None:
    """A naive time stamp has no zone to put in the PDU."""
    with pytest.raises(EncodingError):
        encode_deliver("+4930123456", "x", timestamp=datetime(2026, 1, 1))


def test_status_report_round_trip() -> None:
    """encode_status_report and decode_pdu agree, zones kept, states by TP-ST range."""
    sent = datetime(2026, 11, 24, 18, 0, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
    done = datetime(2026, 11, 24, 18, 0, 9, tzinfo=CET)
    for status, state in ((0x00, "delivered"), (0x30, "pending"), (0x41, "failed")):
        pdu = encode_status_report(42, "+491701234567", status=status, timestamp=sent,
                                   discharge_time=done)  # fmt: skip
        report = decode_pdu(pdu)
        assert isinstance(report, StatusReport)
        assert (report.reference, report.recipient, report.status) == (42, "+491701234567", status)
        assert (report.timestamp, report.discharge_time) == (sent, done)
        assert [report.delivered, report.pending, report.failed].count(True) == 1
        assert getattr(report, state)
    with pytest.raises(EncodingError):
        encode_status_report(300, "+49", status=0, timestamp=sent, discharge_time=done)


def test_count_parts_refuses_unknown_mode() -> None:
    """count_parts validates like encode_submit: an unknown mode is invalid_request."""
    with pytest.raises(EncodingError) as caught:
        count_parts("x", mode="latin1")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_request"
