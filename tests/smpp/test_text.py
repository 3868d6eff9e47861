"""data_coding 0/1/3/8 to text and back, and the concatenation UDH of a short_message."""

from __future__ import annotations

import pytest

from gsmgw.errors import SmppError
from gsmgw.smpp import (
    TEXT_ERROR_STATUS,
    UDH_ERROR_STATUS,
    Udh,
    decode_gsm,
    decode_text,
    encode_gsm,
    encode_text,
    split_udh,
)
from gsmgw.smpp._text import GSM_DEFAULT, GSM_EXTENSION
from gsmgw.sms.alphabet import DEFAULT


def test_tables_equal_gsmgw_sms() -> None:
    assert DEFAULT.main == GSM_DEFAULT
    assert {septet: c for septet, c in enumerate(DEFAULT.extension) if c} == GSM_EXTENSION


@pytest.mark.parametrize(
    ("data", "data_coding", "text"),
    [
        (b"Hello @ 0", 0, "Hello ¡ 0"),  # GSM: 0x40 is ¡, 0x00 is @
        (b"\x00\x01\x02\x1b\x65\x1b\x14\x11", 0, "@£$€^_"),
        (b"a\x1b\x41", 0, "aA"),  # escape before a septet without extension: main table
        (b"a\x1b", 0, "a "),  # trailing escape
        (b"plain ASCII ~", 1, "plain ASCII ~"),
        (b"caf\xe9 \xa3", 3, "café £"),
        ("日本".encode("utf-16-be"), 8, "日本"),
        (b"\xd8\x3d\xde\x00", 8, "😀"),  # a surrogate pair
        (b"", 8, ""),
    ],
)
def test_decode_text(data: bytes, data_coding: int, text: str) -> None:
    assert decode_text(data, data_coding) == text


@pytest.mark.parametrize(
    ("data", "data_coding"),
    [
        (b"\x80", 0),  # not a septet
        (b"\xff", 1),  # not ASCII
        (b"\x00a\x00", 8),  # odd length
        (b"\xd8\x3d", 8),  # lone high surrogate
        (b"\xde\x00\x00a", 8),  # lone low surrogate
        (b"abc", 2),  # binary: not text
        (b"abc", 4),
        (b"abc", 0xF0),
    ],
)
def test_bad_text(data: bytes, data_coding: int) -> None:
    with pytest.raises(SmppError) as info:
        decode_text(data, data_coding)
    assert info.value.status == TEXT_ERROR_STATUS


@pytest.mark.parametrize(
    ("text", "data_coding", "data"),
    [
        ("Hi {€}", 0, b"Hi \x1b\x28\x1b\x65\x1b\x29"),
        ("@\n", 0, b"\x00\n"),
        ("", 0, b""),
        ("Zoë 😀", 8, "Zoë 😀".encode("utf-16-be")),
        ("ç", 8, b"\x00\xe7"),  # lower-case ç is not in the default table (only Ç)
    ],
)
def test_encode_text(text: str, data_coding: int, data: bytes) -> None:
    assert encode_text(text) == (data_coding, data)
    assert decode_text(data, data_coding) == text


def test_every_gsm_character_round_trips() -> None:
    text = "".join(c for c in GSM_DEFAULT if c) + "".join(GSM_EXTENSION.values())
    data = encode_gsm(text)
    assert data is not None
    assert decode_gsm(data) == text
    assert encode_gsm("日") is None


def test_lone_surrogate_is_not_text() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        encode_text("\ud83d")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (b"\x05\x00\x03\x2a\x02\x01hello", Udh(0x2A, 2, 1, b"hello")),
        (b"\x06\x08\x04\x12\x34\x03\x03end", Udh(0x1234, 3, 3, b"end")),
        # Port addressing before the concatenation element is skipped.
        (b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x07\x02\x02x", Udh(7, 2, 2, b"x")),
        (b"\x06\x05\x04\x0b\x84\x23\xf0body", Udh(None, 1, 1, b"body")),
        (b"\x00text", Udh(None, 1, 1, b"text")),
        (b"\x05\x00\x03\x2a\x02\x01", Udh(0x2A, 2, 1, b"")),
    ],
)
def test_split_udh(message: bytes, expected: Udh) -> None:
    assert split_udh(message) == expected
    ref, total, seq, text = split_udh(message)
    assert (ref, total, seq, text) == tuple(expected)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x06\x00\x03\x2a\x02\x01",  # UDHL one past the end
        b"\xff",
        b"\x05\x00\x04\x2a\x02\x01",  # element length runs past the UDH
        b"\x01\x00",  # element header cut
        b"\x04\x00\x02\x2a\x02",  # 8-bit concat of 2 octets
        b"\x05\x08\x03\x2a\x02\x01",  # 16-bit concat of 3 octets
        b"\x05\x00\x03\x2a\x02\x03",  # part 3 of 2
        b"\x05\x00\x03\x2a\x00\x00",  # part 0 of 0
    ],
)
def test_bad_udh(message: bytes) -> None:
    with pytest.raises(SmppError) as info:
        split_udh(message)
    assert info.value.status == UDH_ERROR_STATUS
