"""SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT TPDUs (3GPP TS 23.040 §9.2.2): values, decoder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from gsmgw.errors import PduError
from gsmgw.sms.alphabet import Encoding, charset, decode_ucs2, unpack_septets
from gsmgw.sms.fields import (
    DataCoding,
    Reader,
    parse_dcs,
    read_address,
    read_smsc,
    read_timestamp,
    validity_seconds,
)
from gsmgw.sms.udh import Concat, Ports, UserDataHeader, parse_udh

# TP-MTI values in bits 1..0 of the first octet, as a modem stores messages (§9.2.3.1).
MTI_DELIVER = 0
MTI_SUBMIT = 1
MTI_STATUS_REPORT = 2
_UDHI = 0x40
MAX_SEPTETS = 160
MAX_OCTETS = 140


@dataclass(frozen=True, slots=True)
class UserData:
    """Decoded TP-UD: the header, and text or (8-bit or compressed) data."""

    encoding: Encoding
    text: str | None = None
    data: bytes | None = None
    udh: UserDataHeader | None = None


@dataclass(frozen=True, slots=True)
class _Message:
    """Fields a DELIVER and a SUBMIT share."""

    smsc: str | None
    encoding: Encoding
    text: str | None
    data: bytes | None
    udh: UserDataHeader | None
    pid: int
    dcs: int
    message_class: int | None
    reply_path: bool

    @property
    def concat(self) -> Concat | None:
        """The concatenation element, or None for a single-part message."""
        return self.udh.concat if self.udh else None

    @property
    def ports(self) -> Ports | None:
        """The application port element, if any."""
        return self.udh.ports if self.udh else None

    @property
    def language(self) -> tuple[int, int]:
        """The (locking, single) shift tables the UDH names; (0, 0) is the default alphabet."""
        return (self.udh.locking_shift, self.udh.single_shift) if self.udh else (0, 0)


@dataclass(frozen=True, slots=True)
class Deliver(_Message):
    """An SMS-DELIVER: a message a phone or service sent us."""

    TYPE: ClassVar[str] = "deliver"
    sender: str
    sender_toa: int
    timestamp: datetime
    more_messages: bool = False
    status_report_indication: bool = False


@dataclass(frozen=True, slots=True)
class Submit(_Message):
    """An SMS-SUBMIT: a message on its way from us to the service centre."""

    TYPE: ClassVar[str] = "submit"
    recipient: str
    recipient_toa: int
    message_reference: int
    #: Relative validity in seconds (TP-VPF 10); None when absent or not relative.
    validity: int | None = None
    status_report_request: bool = False
    reject_duplicates: bool = False


@dataclass(frozen=True, slots=True)
class StatusReport:
    """An SMS-STATUS-REPORT: what became of a message we sent (§9.2.2.3)."""

    TYPE: ClassVar[str] = "status-report"
    smsc: str | None
    reference: int
    recipient: str
    recipient_toa: int
    timestamp: datetime
    discharge_time: datetime
    status: int

    @property
    def delivered(self) -> bool:
        """Transaction completed: 0x00..0x1F (TS 23.040 §9.2.3.15)."""
        return self.status < 0x20

    @property
    def pending(self) -> bool:
        """Temporary error, the service centre still trying: 0x20..0x3F."""
        return 0x20 <= self.status < 0x40

    @property
    def failed(self) -> bool:
        """Permanent error, or a temporary one the service centre gave up on: 0x40 and up."""
        return self.status >= 0x40


def decode_pdu(data: bytes, *, has_smsc: bool = True) -> Deliver | Submit | StatusReport:
    """Decode one PDU as a modem gives it in PDU mode (+CMGR, +CMGL, +CMT, +CDS).

    Args:
        data: the PDU octets.
        has_smsc: whether data starts with the SMSC field (``AT+CMGR`` always gives one;
            some modems send ``+CDS`` without).

    Raises:
        PduError: the PDU is malformed; the message says where and why.
    """
    reader = Reader(bytes(data))
    try:
        smsc = read_smsc(reader) if has_smsc else None
        first = reader.byte("first octet")
        mti = first & 0x03
        if mti == MTI_DELIVER:
            return _decode_deliver(reader, smsc, first)
        if mti == MTI_SUBMIT:
            return _decode_submit(reader, smsc, first)
        if mti == MTI_STATUS_REPORT:
            return _decode_status_report(reader, smsc)
        raise PduError(f"reserved message type (TP-MTI 3) in first octet {first:02X}")
    except (ValueError, IndexError, UnicodeError) as exc:  # pragma: no cover - safety net
        raise PduError(f"malformed PDU: {exc}") from exc


def decode_pdu_hex(text: str, *, has_smsc: bool = True) -> Deliver | Submit | StatusReport:
    """Decode a PDU given as hex (as +CMGR prints it); bad hex is a PduError too."""
    try:
        data = bytes.fromhex(text.strip())
    except ValueError:
        raise PduError(f"not a hex string: {text[:40]!r}") from None
    return decode_pdu(data, has_smsc=has_smsc)


def _decode_deliver(reader: Reader, smsc: str | None, first: int) -> Deliver:
    sender, sender_toa = read_address(reader, "originating address")
    pid = reader.byte("TP-PID")
    dcs = reader.byte("TP-DCS")
    timestamp = read_timestamp(reader, "TP-SCTS")
    coding = parse_dcs(dcs)
    user_data = read_user_data(reader, coding, udhi=bool(first & _UDHI))
    return Deliver(
        smsc=smsc,
        encoding=user_data.encoding,
        text=user_data.text,
        data=user_data.data,
        udh=user_data.udh,
        pid=pid,
        dcs=dcs,
        message_class=coding.message_class,
        reply_path=bool(first & 0x80),
        sender=sender,
        sender_toa=sender_toa,
        timestamp=timestamp,
        more_messages=not first & 0x04,
        status_report_indication=bool(first & 0x20),
    )


def _decode_submit(reader: Reader, smsc: str | None, first: int) -> Submit:
    reference = reader.byte("TP-MR")
    recipient, recipient_toa = read_address(reader, "destination address")
    pid = reader.byte("TP-PID")
    dcs = reader.byte("TP-DCS")
    validity: int | None = None
    vpf = (first >> 3) & 0x03
    if vpf == 0x02:
        validity = validity_seconds(reader.byte("TP-VP"))
    elif vpf:
        reader.take(7, "TP-VP")  # enhanced (01) or absolute (11): kept out of the value
    coding = parse_dcs(dcs)
    user_data = read_user_data(reader, coding, udhi=bool(first & _UDHI))
    return Submit(
        smsc=smsc,
        encoding=user_data.encoding,
        text=user_data.text,
        data=user_data.data,
        udh=user_data.udh,
        pid=pid,
        dcs=dcs,
        message_class=coding.message_class,
        reply_path=bool(first & 0x80),
        recipient=recipient,
        recipient_toa=recipient_toa,
        message_reference=reference,
        validity=validity,
        status_report_request=bool(first & 0x20),
        reject_duplicates=bool(first & 0x04),
    )


def _decode_status_report(reader: Reader, smsc: str | None) -> StatusReport:
    reference = reader.byte("TP-MR")
    recipient, recipient_toa = read_address(reader, "recipient address")
    timestamp = read_timestamp(reader, "TP-SCTS")
    discharge_time = read_timestamp(reader, "TP-DT")
    status = reader.byte("TP-ST")
    # Optional TP-PI, TP-PID, TP-DCS, TP-UD follow (§9.2.2.3); nothing we use is in them.
    return StatusReport(
        smsc=smsc,
        reference=reference,
        recipient=recipient,
        recipient_toa=recipient_toa,
        timestamp=timestamp,
        discharge_time=discharge_time,
        status=status,
    )


def read_user_data(reader: Reader, coding: DataCoding, *, udhi: bool) -> UserData:
    """Read TP-UDL and TP-UD and decode them by the data coding scheme."""
    length = reader.byte("TP-UDL")
    if coding.encoding is Encoding.GSM7 and not coding.compressed:
        if length > MAX_SEPTETS:
            raise PduError(f"TP-UDL of {length} septets is over {MAX_SEPTETS}")
        octets = reader.take((length * 7 + 7) // 8, "user data")
        return _gsm7_user_data(octets, length, udhi)
    if length > MAX_OCTETS:
        raise PduError(f"TP-UDL of {length} octets is over {MAX_OCTETS}")
    octets = reader.take(length, "user data")
    udh, body = _split_header(octets, udhi)
    if coding.encoding is Encoding.UCS2 and not coding.compressed:
        if len(body) % 2:
            raise PduError(f"UCS-2 user data of odd length {len(body)}")
        return UserData(Encoding.UCS2, text=decode_ucs2(body), udh=udh)
    return UserData(coding.encoding, data=body, udh=udh)


def _split_header(octets: bytes, udhi: bool) -> tuple[UserDataHeader | None, bytes]:
    if not udhi:
        return None, octets
    # TP-UDHI with TP-UDL 0 is refused too: ModemManager's test asserts it is malformed.
    if not octets or octets[0] + 1 > len(octets):
        raise PduError("user data header is longer than the user data")
    return parse_udh(octets[1 : octets[0] + 1]), octets[octets[0] + 1 :]


def _gsm7_user_data(octets: bytes, septets: int, udhi: bool) -> UserData:
    udh, _ = _split_header(octets, udhi)
    header_septets = 0
    fill_bits = 0
    if udh is not None:
        header_bits = (octets[0] + 1) * 8
        header_septets = (header_bits + 6) // 7
        fill_bits = header_septets * 7 - header_bits
        if header_septets > septets:
            raise PduError("user data header is longer than TP-UDL")
    body = octets[(header_septets * 7) // 8 :] if udh else octets
    codes = unpack_septets(body, septets - header_septets, fill_bits if udh else 0)
    locking, single = (udh.locking_shift, udh.single_shift) if udh else (0, 0)
    return UserData(Encoding.GSM7, text=charset(locking, single).decode(codes), udh=udh)
