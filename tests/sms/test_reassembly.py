"""The pure Reassembler: keyed by sender, reference and total; any order; duplicates ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gsmgw.sms import Deliver, Encoding, Reassembler, decode_pdu, encode_deliver
from gsmgw.sms.reassembly import join

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _parts(sender: str, text: str, ref: int) -> list[Deliver]:
    parts = [decode_pdu(pdu) for pdu in encode_deliver(sender, text, timestamp=T0, concat_ref=ref)]
    assert all(isinstance(part, Deliver) for part in parts)
    return parts  # type: ignore[return-value]


def test_single_part_passes_straight_through() -> None:
    """A message without a concatenation element is complete at once."""
    (part,) = _parts("+4930123", "hi", 1)
    whole = Reassembler().add(part)
    assert whole is not None
    assert (whole.text, whole.sender, whole.encoding, whole.parts) == (
        "hi", "+4930123", Encoding.GSM7, (part,),
    )  # fmt: skip


def test_any_order_and_duplicates() -> None:
    """Parts in reverse order with a repeat: the message completes once, in order."""
    parts = _parts("+4930123", "x" * 400, 5)
    reassembler = Reassembler()
    assert reassembler.add(parts[2]) is None
    assert reassembler.add(parts[2]) is None
    assert reassembler.add(parts[0]) is None
    assert len(reassembler) == 1
    whole = reassembler.add(parts[1])
    assert whole is not None
    assert whole.text == "x" * 400
    assert [p.concat.part for p in whole.parts if p.concat] == [1, 2, 3]
    assert len(reassembler) == 0


def test_interleaved_messages_stay_apart() -> None:
    """Different senders or references with the same numbers never mix."""
    a = _parts("+4930111", "a" * 200, 9)
    b = _parts("+4930222", "b" * 200, 9)
    c = _parts("+4930111", "c" * 200, 10)
    reassembler = Reassembler()
    for part in (a[0], b[0], c[1]):
        assert reassembler.add(part) is None
    assert len(reassembler) == 3
    done = [reassembler.add(part) for part in (b[1], c[0], a[1])]
    assert [m.text[0] for m in done if m and m.text] == ["b", "c", "a"]


def test_expire_returns_incomplete_sets() -> None:
    """The caller decides the fate of a set that never completes."""
    old = _parts("+4930111", "o" * 400, 1)
    new = _parts("+4930222", "n" * 400, 2)
    reassembler = Reassembler()
    reassembler.add(old[0], received_at=T0)
    reassembler.add(old[2], received_at=T0 + timedelta(minutes=1))
    reassembler.add(new[1], received_at=T0 + timedelta(hours=1))
    expired = reassembler.expire(before=T0 + timedelta(minutes=30))
    assert expired == [(old[0], old[2])]
    assert len(reassembler) == 1
    assert reassembler.expire(before=T0) == []


def test_data_parts_join_their_bytes() -> None:
    """8-bit parts join their data; emoji halves split by a sender join again."""
    pdu = "00440B915121436587F900046211021015304009050003070201" + "C0FF"
    second = "00440B915121436587F900046211021015304009050003070202" + "EE01"
    parts = [decode_pdu(bytes.fromhex(pdu + "0000")), decode_pdu(bytes.fromhex(second + "0000"))]
    assert all(isinstance(p, Deliver) for p in parts)
    whole = join(tuple(p for p in parts if isinstance(p, Deliver)))
    assert whole.text is None
    assert whole.data == bytes.fromhex("C0FF00EE0100")
    halves = [
        "00440B915121436587F90008621102101530400805000308020" + "1D83D",
        "00440B915121436587F90008621102101530400805000308020" + "2DE00",
    ]
    reassembler = Reassembler()
    results = [reassembler.add(decode_pdu(bytes.fromhex(h))) for h in halves]  # type: ignore[arg-type]
    assert results[1] is not None
    assert results[1].text == "😀"
