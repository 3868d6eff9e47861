"""TPDU fields of 3GPP TS 23.040: addresses, time stamps, validity, data coding scheme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import IntEnum
import re

from gsmgw.errors import EncodingError, PduError
from gsmgw.sms.alphabet import DEFAULT, Encoding, pack_septets, unpack_septets

_DIGITS = "0123456789*#abc"
_NUMBER = re.compile(r"\+?[0-9*#]{1,20}")
_SEPARATORS = str.maketrans("", "", " -./()")
TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TOA_ALPHANUMERIC = 0xD0


class Reader:
    """A cursor over PDU octets that raises PduError instead of IndexError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self, what: str) -> int:
        """Read one octet."""
        return self.take(1, what)[0]

    def take(self, count: int, what: str) -> bytes:
        """Read count octets, or raise PduError naming what was cut short."""
        if self.pos + count > len(self.data):
            raise PduError(f"PDU ends inside {what} (offset {self.pos}, {count} octets wanted)")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk


class NumberType(IntEnum):
    """Type of number, bits 6..4 of the type-of-address octet (TS 23.040 §9.1.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6
    RESERVED = 7


def _bcd_digits(data: bytes, count: int) -> str:
    """Decode count semi-octet digits, low nibble first."""
    nibbles = [n for octet in data for n in (octet & 0x0F, octet >> 4)][:count]
    if nibbles and nibbles[-1] == 0x0F:
        # Some phones count the filler in the length (python-gsmmodem's test vectors do).
        nibbles.pop()
    if 0x0F in nibbles:
        raise PduError("filler 0xF inside an address")
    return "".join(_DIGITS[nibble] for nibble in nibbles)


def _address_text(toa: int, body: bytes, semi_octets: int) -> str:
    """Turn an address body into "+4917...", "0170..." or an alphanumeric name."""
    kind = NumberType((toa >> 4) & 0x07)
    if kind is NumberType.ALPHANUMERIC:
        septets = semi_octets * 4 // 7
        return DEFAULT.decode(unpack_septets(body, septets))
    digits = _bcd_digits(body, semi_octets)
    return f"+{digits}" if kind is NumberType.INTERNATIONAL and digits else digits


def read_address(reader: Reader, what: str) -> tuple[str, int]:
    """Read TP-OA/TP-DA/TP-RA (length in semi-octets); return (text, type-of-address)."""
    semi_octets = reader.byte(what)
    if semi_octets > 20:
        raise PduError(f"{what} of {semi_octets} digits is longer than 20")
    toa = reader.byte(what)
    body = reader.take((semi_octets + 1) // 2, what)
    return _address_text(toa, body, semi_octets), toa


def read_smsc(reader: Reader) -> str | None:
    """Read the SMSC field of a +CMGR/+CMT PDU (length in octets; 0 means none)."""
    octets = reader.byte("SMSC length")
    if octets == 0:
        return None
    if octets > 11:
        raise PduError(f"SMSC field of {octets} octets is longer than 11")
    toa = reader.byte("SMSC address")
    body = reader.take(octets - 1, "SMSC address")
    semi = 2 * len(body) - (1 if body and body[-1] >> 4 == 0x0F else 0)
    if (toa >> 4) & 0x07 == NumberType.ALPHANUMERIC:
        semi = len(body) * 2
    return _address_text(toa, body, semi)


def _bcd(digits: str) -> bytes:
    """Pack digits as semi-octets, low nibble first, padded with 0xF."""
    nibbles = [_DIGITS.index(d) for d in digits] + ([0x0F] if len(digits) % 2 else [])
    return bytes(nibbles[i] | nibbles[i + 1] << 4 for i in range(0, len(nibbles), 2))


def parse_number(number: str) -> tuple[str, int]:
    """Validate a phone number; return (digits, type-of-address) or raise invalid_number."""
    cleaned = number.translate(_SEPARATORS)
    if not _NUMBER.fullmatch(cleaned):
        raise EncodingError(f"not a phone number: {number!r}", code="invalid_number")
    if cleaned.startswith("+"):
        return cleaned[1:], TOA_INTERNATIONAL
    return cleaned, TOA_UNKNOWN


def encode_address(number: str, *, alphanumeric: bool = False) -> bytes:
    """Encode TP-DA/TP-OA; with alphanumeric, a name that is not a number becomes TOA 0xD0."""
    try:
        digits, toa = parse_number(number)
    except EncodingError:
        if not alphanumeric:
            raise
        return _alphanumeric_address(number)
    return bytes([len(digits), toa]) + _bcd(digits)


def _alphanumeric_address(name: str) -> bytes:
    """Encode an alphanumeric originator of up to 11 GSM-7 characters (TS 23.040 §9.1.2.5)."""
    codes = DEFAULT.encode(name)
    septets = [septet for code in codes or () for septet in code]
    if not name or codes is None or len(septets) > 11:
        raise EncodingError(f"not a sender name: {name!r}", code="invalid_number")
    body = pack_septets(septets)
    return bytes([(len(septets) * 7 + 3) // 4, TOA_ALPHANUMERIC]) + body


def encode_smsc(smsc: str | None) -> bytes:
    """Encode the SMSC field; None gives "00" (the modem uses its stored SMSC, AT+CSCA)."""
    if smsc is None:
        return b"\x00"
    digits, toa = parse_number(smsc)
    body = _bcd(digits)
    return bytes([len(body) + 1, toa]) + body


def _swap(octet: int) -> int:
    return ((octet & 0x0F) * 10) + (octet >> 4)


def read_timestamp(reader: Reader, what: str) -> datetime:
    """Read a TP-SCTS/TP-DT: 7 swapped-BCD octets with the zone in quarter hours (§9.2.3.11)."""
    raw = reader.take(7, what)
    if any((octet & 0x0F) > 9 or (octet >> 4) > 9 for octet in raw[:6]):
        raise PduError(f"{what} is not BCD: {raw.hex().upper()}")
    zone = raw[6]
    # Some service centres put a units digit over 9 in the zone (ofono's sr_pdu3 has A0 for
    # +02:30, python-gsmmodem issue 15 has C2 for +08:00): read it by value, as decoders do.
    quarters = (zone & 0x07) * 10 + (zone >> 4)
    offset = timedelta(minutes=15 * quarters) * (-1 if zone & 0x08 else 1)
    year, month, day, hour, minute, second = (_swap(octet) for octet in raw[:6])
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError as exc:
        raise PduError(f"{what} is not a valid time: {raw.hex().upper()} ({exc})") from exc


def encode_timestamp(moment: datetime) -> bytes:
    """Encode an aware datetime as TP-SCTS in its own zone (years 2000-2099)."""
    offset = moment.utcoffset()
    if offset is None:
        raise EncodingError("a time stamp needs a time zone", code="invalid_request")
    quarters = int(abs(offset.total_seconds()) // 900)
    fields = [moment.year % 100, moment.month, moment.day, moment.hour, moment.minute]
    octets = [(value % 10) << 4 | value // 10 for value in [*fields, moment.second]]
    zone = (quarters % 10) << 4 | quarters // 10 | (0x08 if offset.total_seconds() < 0 else 0)
    return bytes([*octets, zone])


def relative_validity(seconds: int) -> int:
    """Return the TP-VP octet for a validity of at least seconds (TS 23.040 §9.2.3.12.1).

    The value is rounded up to the next representable period, so a short validity never
    raises: anything up to 5 minutes is 5 minutes; beyond 63 weeks is 63 weeks.
    """
    minutes = max(0, -(-seconds // 60))
    if minutes <= 12 * 60:
        return max(0, -(-minutes // 5) - 1)
    if minutes <= 24 * 60:
        return 143 + -(-(minutes - 12 * 60) // 30)
    days = -(-minutes // (24 * 60))
    if days <= 30:
        return 166 + days
    return min(255, 192 + -(-days // 7))


def validity_seconds(value: int) -> int:
    """Return the period a relative TP-VP octet stands for, in seconds."""
    if value <= 143:
        return (value + 1) * 5 * 60
    if value <= 167:
        return (12 * 60 + (value - 143) * 30) * 60
    if value <= 196:
        return (value - 166) * 86400
    return (value - 192) * 7 * 86400


@dataclass(frozen=True, slots=True)
class DataCoding:
    """A decoded TP-DCS octet (TS 23.038 §4)."""

    encoding: Encoding
    message_class: int | None = None
    compressed: bool = False
    #: Message waiting indication (group 1100..1110): (active, type 0 voicemail .. 3 other).
    waiting: tuple[bool, int] | None = None


_ALPHABETS = (Encoding.GSM7, Encoding.EIGHT_BIT, Encoding.UCS2, Encoding.GSM7)


def parse_dcs(dcs: int) -> DataCoding:
    """Decode TP-DCS; reserved groups are read as the GSM 7-bit alphabet, as §4 asks."""
    group = dcs >> 4
    if group <= 0x07:
        # General data coding (00xx) and automatic deletion (01xx): same layout.
        klass = dcs & 0x03 if dcs & 0x10 else None
        return DataCoding(_ALPHABETS[(dcs >> 2) & 0x03], klass, bool(dcs & 0x20))
    if group in (0x0C, 0x0D, 0x0E):
        encoding = Encoding.UCS2 if group == 0x0E else Encoding.GSM7
        return DataCoding(encoding, None, False, (bool(dcs & 0x08), dcs & 0x03))
    if group == 0x0F:
        # Data coding / message class: bit 2 chooses 8-bit data, bit 3 is reserved.
        return DataCoding(Encoding.EIGHT_BIT if dcs & 0x04 else Encoding.GSM7, dcs & 0x03)
    return DataCoding(Encoding.GSM7)


def build_dcs(encoding: Encoding, *, flash: bool = False) -> int:
    """Return TP-DCS for an alphabet; flash sets message class 0 (general group, bit 4)."""
    alphabet = {Encoding.GSM7: 0x00, Encoding.EIGHT_BIT: 0x04, Encoding.UCS2: 0x08}[encoding]
    return alphabet | (0x10 if flash else 0x00)
