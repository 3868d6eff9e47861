"""Building SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT PDUs (3GPP TS 23.040 §9.2.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gsmgw.errors import EncodingError
from gsmgw.sms.alphabet import Encoding, encode_ucs2, pack_septets
from gsmgw.sms.concat import EncodingMode, Plan, checked_plan
from gsmgw.sms.fields import (
    build_dcs,
    encode_address,
    encode_smsc,
    encode_timestamp,
    relative_validity,
)
from gsmgw.sms.udh import Concat, UserDataHeader

DEFAULT_SMSC = "+491710760000"
_SUBMIT = 0x01
_DELIVER_NO_MORE = 0x04  # TP-MTI 00 with TP-MMS set: no more messages waiting (§9.2.3.2)
_STATUS_REPORT_NO_MORE = 0x06
_VPF_RELATIVE = 0x10
_SRR = 0x20
_UDHI = 0x40


@dataclass(frozen=True, slots=True)
class SubmitPart:
    """One SMS-SUBMIT: ``pdu`` is exactly what follows ``AT+CMGS=<tpdu_length>`` (as hex)."""

    pdu: bytes
    tpdu_length: int

    def __post_init__(self) -> None:
        if not 0 < self.tpdu_length <= len(self.pdu):
            raise ValueError(f"TPDU length {self.tpdu_length} does not fit the PDU")

    @property
    def hex(self) -> str:
        """The PDU as upper-case hex, ready for the modem."""
        return self.pdu.hex().upper()


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    """A text encoded for sending: its alphabet, its parts and the national language used."""

    encoding: Encoding
    parts: tuple[SubmitPart, ...]
    language: str | None = None


def _check_range(name: str, value: int, top: int) -> None:
    if not 0 <= value <= top:
        raise EncodingError(f"{name} must be 0..{top}, not {value}", code="invalid_request")


def user_data(chosen: Plan, index: int, concat: Concat | None) -> tuple[int, bytes]:
    """Return (TP-UDL, TP-UD) of part index of a plan, with its header and fill bits."""
    table = chosen.charset
    header = UserDataHeader(
        concat=concat,
        single_shift=table.single if table else 0,
        locking_shift=table.locking if table else 0,
    ).encode()
    chunk = chosen.chunks[index]
    if isinstance(chunk, str):
        payload = encode_ucs2(chunk)
        return len(header) + len(payload), header + payload
    # GSM-7 after a header starts on a septet boundary: fill bits pad it (§9.2.3.24).
    header_septets = (len(header) * 8 + 6) // 7
    fill_bits = header_septets * 7 - len(header) * 8
    return header_septets + len(chunk), header + pack_septets(chunk, fill_bits)


def _concat_for(chosen: Plan, index: int, ref: int, ref16: bool) -> Concat | None:
    if chosen.parts == 1:
        return None
    return Concat(ref, index + 1, chosen.parts, 16 if ref16 else 8)


def encode_submit(
    to: str,
    text: str,
    *,
    mode: EncodingMode = EncodingMode.AUTO,
    languages: Sequence[str] = (),
    report: bool = False,
    flash: bool = False,
    valid_for: int | None = None,
    smsc: str | None = None,
    concat_ref: int = 0,
    ref16: bool = False,
    max_parts: int = 255,
    message_reference: int = 0,
) -> EncodedMessage:
    """Encode text to one number as SMS-SUBMIT PDUs, with the fewest parts.

    Args:
        to: "+491701234567" (international), national digits or a short code.
        text: the message; any Unicode.
        mode: auto (GSM-7 or UCS-2), smart (map look-alikes to stay GSM-7) or ucs2.
        languages: national languages ("tr", "pt", "hi", ...) whose shift tables may be used.
        report: request a status report (TP-SRR).
        flash: send as message class 0, shown at once and not stored.
        valid_for: relative validity in seconds, rounded up to what TP-VP can say.
        smsc: the service centre; None uses the one stored in the modem.
        concat_ref: the concatenation reference (0..255, or 0..65535 with ref16).
        ref16: use a 16-bit concatenation reference (one septet less per part).
        max_parts: refuse texts that need more parts than this.
        message_reference: TP-MR (most modems replace it with their own).

    Raises:
        EncodingError: code ``invalid_number``, ``text_too_long`` or ``invalid_request``.
    """
    destination = encode_address(to)
    smsc_field = encode_smsc(smsc)
    _check_range("concat_ref", concat_ref, 0xFFFF if ref16 else 0xFF)
    _check_range("message_reference", message_reference, 0xFF)
    if valid_for is not None and valid_for < 0:
        raise EncodingError("valid_for must not be negative", code="invalid_request")
    chosen = checked_plan(text, mode=mode, languages=languages, ref16=ref16, max_parts=max_parts)
    dcs = build_dcs(chosen.encoding, flash=flash)
    validity = b"" if valid_for is None else bytes([relative_validity(valid_for)])
    first = _SUBMIT | (_VPF_RELATIVE if validity else 0) | (_SRR if report else 0)
    parts = []
    for index in range(chosen.parts):
        udl, ud = user_data(chosen, index, _concat_for(chosen, index, concat_ref, ref16))
        udhi = _UDHI if _has_header(chosen) else 0
        tpdu = bytes([first | udhi, message_reference]) + destination + bytes([0, dcs])
        tpdu += validity + bytes([udl]) + ud
        parts.append(SubmitPart(smsc_field + tpdu, len(tpdu)))
    return EncodedMessage(chosen.encoding, tuple(parts), chosen.language)


def _has_header(chosen: Plan) -> bool:
    table = chosen.charset
    return chosen.parts > 1 or bool(table and (table.single or table.locking))


def encode_deliver(
    sender: str,
    text: str,
    *,
    timestamp: datetime,
    smsc: str = DEFAULT_SMSC,
    mode: EncodingMode = EncodingMode.AUTO,
    concat_ref: int = 0,
    flash: bool = False,
) -> list[bytes]:
    """Encode text from sender as SMS-DELIVER PDUs with the SMSC field, one per part.

    This is what a network gives a phone; the simulated modem uses it. A sender that is not
    a number becomes an alphanumeric originator (TOA 0xD0, at most 11 GSM-7 characters).
    """
    originator = encode_address(sender, alphanumeric=True)
    smsc_field = encode_smsc(smsc)
    _check_range("concat_ref", concat_ref, 0xFF)
    chosen = checked_plan(text, mode=mode, languages=(), ref16=False, max_parts=255)
    dcs = build_dcs(chosen.encoding, flash=flash)
    stamp = encode_timestamp(timestamp)
    pdus = []
    for index in range(chosen.parts):
        udl, ud = user_data(chosen, index, _concat_for(chosen, index, concat_ref, False))
        first = _DELIVER_NO_MORE | (_UDHI if _has_header(chosen) else 0)
        tpdu = bytes([first]) + originator + bytes([0, dcs]) + stamp + bytes([udl]) + ud
        pdus.append(smsc_field + tpdu)
    return pdus


def encode_status_report(
    reference: int,
    recipient: str,
    *,
    status: int,
    timestamp: datetime,
    discharge_time: datetime,
    smsc: str = DEFAULT_SMSC,
) -> bytes:
    """Encode an SMS-STATUS-REPORT with the SMSC field (TS 23.040 §9.2.2.3)."""
    _check_range("reference", reference, 0xFF)
    _check_range("status", status, 0xFF)
    tpdu = bytes([_STATUS_REPORT_NO_MORE, reference]) + encode_address(recipient)
    tpdu += encode_timestamp(timestamp) + encode_timestamp(discharge_time) + bytes([status])
    return encode_smsc(smsc) + tpdu
