"""Addresses, time stamps, validity, DCS and the user data header (TS 23.040 / 23.038)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gsmgw.errors import EncodingError, PduError
from gsmgw.sms import Deliver, Encoding, decode_pdu
from gsmgw.sms.fields import (
    DataCoding,
    Reader,
    build_dcs,
    encode_address,
    encode_smsc,
    encode_timestamp,
    parse_dcs,
    read_address,
    read_smsc,
    read_timestamp,
    relative_validity,
    validity_seconds,
)
from gsmgw.sms.udh import Concat, Ports, UserDataHeader, parse_udh


@pytest.mark.parametrize(
    ("seconds", "value"),
    [(0, 0), (300, 0), (301, 1), (12 * 3600, 143), (12 * 3600 + 1, 144), (24 * 3600, 167),
     (24 * 3600 + 1, 168), (2 * 86400, 168), (30 * 86400, 196), (30 * 86400 + 1, 197),
     (63 * 7 * 86400, 255), (10**9, 255)],
)  # fmt: skip
def test_relative_validity_rounds_up(seconds: int, value: int) -> None:
    """TS 23.040 §9.2.3.12.1: the next representable period, never less than asked."""
    assert relative_validity(seconds) == value
    assert validity_seconds(value) >= min(seconds, 63 * 7 * 86400)


def test_validity_values_increase() -> None:
    """Every TP-VP value stands for a longer period than the one before."""
    periods = [validity_seconds(value) for value in range(256)]
    assert periods == sorted(set(periods))
    assert all(relative_validity(period) == value for value, period in enumerate(periods))


@pytest.mark.parametrize(
    ("dcs", "coding"),
    [
        (0x00, DataCoding(Encoding.GSM7)),
        (0x04, DataCoding(Encoding.EIGHT_BIT)),
        (0x08, DataCoding(Encoding.UCS2)),
        (0x0C, DataCoding(Encoding.GSM7)),  # reserved alphabet: GSM-7
        (0x10, DataCoding(Encoding.GSM7, 0)),
        (0x19, DataCoding(Encoding.UCS2, 1)),
        (0x22, DataCoding(Encoding.GSM7, None, True)),
        (0x4B, DataCoding(Encoding.UCS2)),  # automatic deletion group, bit 4 clear: no class
        (0x5B, DataCoding(Encoding.UCS2, 3)),
        (0x80, DataCoding(Encoding.GSM7)),  # reserved group
        (0xC8, DataCoding(Encoding.GSM7, None, False, (True, 0))),
        (0xD1, DataCoding(Encoding.GSM7, None, False, (False, 1))),
        (0xE8, DataCoding(Encoding.UCS2, None, False, (True, 0))),
        (0xF0, DataCoding(Encoding.GSM7, 0)),
        (0xF4, DataCoding(Encoding.EIGHT_BIT, 0)),
        (0xFB, DataCoding(Encoding.GSM7, 3)),
    ],
)
def test_dcs_groups(dcs: int, coding: DataCoding) -> None:
    """Every DCS group of TS 23.038 §4."""
    assert parse_dcs(dcs) == coding


def test_build_dcs() -> None:
    """Class 0 (flash) uses the general group with bit 4."""
    assert build_dcs(Encoding.GSM7) == 0x00
    assert build_dcs(Encoding.UCS2, flash=True) == 0x18
    assert build_dcs(Encoding.EIGHT_BIT) == 0x04


def test_addresses() -> None:
    """Numbers and names as TP-OA/TP-DA, and the SMSC field."""
    assert encode_address("+4917").hex().upper() == "04919471"
    assert encode_address("123").hex().upper() == "038121F3"
    assert encode_address("Bank", alphanumeric=True).hex().upper() == "07D0C2B07B0D"
    assert encode_smsc(None) == b"\x00"
    assert read_address(Reader(bytes.fromhex("07D0C2B07B0D")), "a") == ("Bank", 0xD0)
    assert read_address(Reader(bytes.fromhex("0591A1B2F3")), "a") == ("+1*2#3", 0x91)
    assert read_address(Reader(bytes.fromhex("04D1CE31")), "a") == ("Nc", 0xD1)
    with pytest.raises(EncodingError):
        encode_address("Bank")


@pytest.mark.parametrize(
    ("hex_address", "what"),
    [("15910000", "longer than 20"), ("0491", "ends inside"), ("0491F111", "filler")],
)
def test_bad_addresses(hex_address: str, what: str) -> None:
    """Too long, cut short or with a filler in the middle: PduError."""
    with pytest.raises(PduError, match=what):
        read_address(Reader(bytes.fromhex(hex_address)), "address")


def test_smsc_field() -> None:
    """SMSC: none, international, odd digits, alphanumeric-typed, too long."""
    assert read_smsc(Reader(b"\x00")) is None
    assert read_smsc(Reader(bytes.fromhex("0491214365"))) == "+123456"
    assert read_smsc(Reader(bytes.fromhex("0481214365F7"))) == "123456"
    assert read_smsc(Reader(bytes.fromhex("03D0C161"))) == "AC"
    with pytest.raises(PduError):
        read_smsc(Reader(bytes.fromhex("0C91")))


def test_timestamps() -> None:
    """Zones east and west, quarter hours, and bad values."""
    west = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(-timedelta(hours=4, minutes=45)))
    encoded = encode_timestamp(west)
    assert encoded.hex().upper() == "62304050607099"
    assert read_timestamp(Reader(encoded), "t") == west
    with pytest.raises(PduError, match="not BCD"):
        read_timestamp(Reader(bytes.fromhex("6230405060A000")), "t")
    with pytest.raises(PduError, match="not a valid time"):
        read_timestamp(Reader(bytes.fromhex("62314050607000")), "t")


def test_udh_round_trip() -> None:
    """Concatenation (8 and 16 bit), ports, national shifts and unknown elements."""
    header = UserDataHeader(
        concat=Concat(0x1234, 2, 3, 16), ports=Ports(2948, 9200), single_shift=1,
        locking_shift=3, other=((0x70, b"\x01"),),
    )  # fmt: skip
    encoded = header.encode()
    assert encoded[0] == len(encoded) - 1
    assert parse_udh(encoded[1:]) == header
    assert UserDataHeader().encode() == b""
    eight = parse_udh(bytes.fromhex("000312020104020B84"))
    assert eight.concat == Concat(0x12, 1, 2, 8)
    assert eight.ports == Ports(0x0B, 0x84, 8)


@pytest.mark.parametrize("body", ["0003120203", "000312", "0801", "25010E"])
def test_udh_odd_elements_kept_raw(body: str) -> None:
    """Bad part numbers or lengths are not trusted; truncation is a PduError."""
    data = bytes.fromhex(body)
    if len(data) < 2 + data[1]:
        with pytest.raises(PduError):
            parse_udh(data)
    else:
        assert parse_udh(data).concat is None
        assert parse_udh(data).other == ((data[0], data[2:]),)


def test_concat_checks_itself() -> None:
    """Out-of-range references or parts are programming errors."""
    with pytest.raises(ValueError, match="reference"):
        Concat(256, 1, 2)
    with pytest.raises(ValueError, match="part"):
        Concat(1, 3, 2)


@pytest.mark.parametrize(
    ("hex_pdu", "what"),
    [
        ("00", "first octet"),
        ("00 04", "originating address"),
        ("00 04 038121 43", "TP-PID"),
        ("00 04 03812143 00", "TP-DCS"),
        ("00 04 03812143 00 00 62", "TP-SCTS"),
        ("00 04 03812143 00 00 62110210153040 A1", "over 160"),
        ("00 04 03812143 00 08 62110210153040 A1", "over 140"),
        ("00 04 03812143 00 08 62110210153040 03 004100", "odd length"),
        ("00 44 03812143 00 00 62110210153040 01 05", "header is longer"),
        ("00 44 03812143 00 00 62110210153040 06 050003010201", "longer than TP-UDL"),
        ("00 03", "TP-MTI 3"),
        ("00 11 00 03812143 00 00", "TP-VP"),
    ],
)
def test_malformed_pdus(hex_pdu: str, what: str) -> None:
    """Each way a PDU can be malformed gives a PduError naming the problem."""
    with pytest.raises(PduError, match=what):
        decode_pdu(bytes.fromhex(hex_pdu.replace(" ", "")))


def test_deliver_flags_and_submit_validity_formats() -> None:
    """TP-RP, TP-SRI, compressed data, enhanced and absolute validity."""
    deliver = decode_pdu(
        bytes.fromhex("00 A4 03812143 00 20 62110210153040 02ABCD".replace(" ", ""))
    )
    assert isinstance(deliver, Deliver)
    assert deliver.reply_path
    assert deliver.status_report_indication
    assert (deliver.text, deliver.data, deliver.language) == (None, b"\xab\xcd", (0, 0))
    for vpf in ("09", "19"):
        pdu = f"00 {vpf} 00 03812143 00 00 00000000000000 01 41"
        submit = decode_pdu(bytes.fromhex(pdu.replace(" ", "")))
        assert getattr(submit, "validity", 1) is None
        assert getattr(submit, "text", None) == "A"
