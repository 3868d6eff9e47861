"""submit_sm and data_sm -> a ``SendRequest``, its SMPP origin and its place in a set.

SPEC.md "SMPP server": the destination by TON/NPI, text by data_coding 0, 1, 3 or 8 (from
``short_message`` or ``message_payload``), only the UDHI bit of ``esm_class`` read, concatenation
by UDH or ``sar_*``, ``priority_flag`` 0-3 -> 0, 10, 20, 30, ``schedule_delivery_time`` and
``validity_period`` -> ``send_at`` and ``valid_for``, ``registered_delivery`` bits 0-1 -> a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import math

from gsmgw.core import SmppOrigin, SmppSegment
from gsmgw.errors import RequestError, SmppError
from gsmgw.models import SendRequest
from gsmgw.smpp import (
    REGISTERED_DELIVERY_RECEIPT_MASK,
    DataSm,
    Status,
    SubmitSm,
    decode_text,
    parse_time,
    split_udh,
)
from gsmgw.validate import MAX_VALID_FOR, normalise_number, text_field

#: TON 1 (SMPP 3.4 §5.2.5): an international number, "+" prepended.
TON_INTERNATIONAL = 1
#: priority_flag (§5.2.14) -> SPEC.md's priority.
PRIORITIES = {0: 0, 1: 10, 2: 20, 3: 30}
#: Refusal code (SPEC.md, as on MQTT) -> command_status.
REFUSALS: dict[str, Status] = {
    "invalid_number": Status.ESME_RINVDSTADR,
    "destination_blocked": Status.ESME_RINVDSTADR,
    "text_too_long": Status.ESME_RINVMSGLEN,
    "queue_full": Status.ESME_RTHROTTLED,
    "rate_limited": Status.ESME_RTHROTTLED,
}


@dataclass(frozen=True, slots=True)
class Submission:
    """One submit_sm as gsmgw takes it: the request, who sent it, and its set (if a part)."""

    request: SendRequest
    origin: SmppOrigin
    segment: SmppSegment | None


def status_of(error: RequestError) -> Status:
    """Return the command_status of a refusal (SPEC.md); anything else is a system error."""
    return REFUSALS.get(error.code, Status.ESME_RSYSERR)


def parse_submission(
    pdu: SubmitSm | DataSm, system_id: str, *, now: datetime, default_region: str
) -> Submission:
    """Read a submit_sm or data_sm.

    Raises:
        SmppError: with the command_status to answer (its sequence is the PDU's).
        RequestError: ``invalid_number`` or ``text_too_long`` (map with ``status_of``).
    """
    try:
        return _parse(pdu, system_id, now, default_region)
    except SmppError as exc:
        exc.sequence = pdu.sequence
        raise


def _parse(
    pdu: SubmitSm | DataSm, system_id: str, now: datetime, default_region: str
) -> Submission:
    to = _destination(pdu.dest_addr_ton, pdu.destination_addr, default_region)
    payload = pdu.payload
    segment: SmppSegment | None = None
    key = f"{pdu.source_addr_ton}/{pdu.source_addr}/{to}"
    if pdu.udhi:
        udh = split_udh(payload)
        payload = udh.text
        if udh.ref is not None and udh.total > 1:
            segment = SmppSegment(key=f"{key}/u{udh.ref}/{udh.total}", total=udh.total, seq=udh.seq)
    sar = pdu.tlvs.sar
    if segment is None and sar is not None:
        ref, total, seq = sar
        if not 1 <= seq <= total:
            raise SmppError(f"sar segment {seq} of {total}", status=Status.ESME_RINVOPTPARAMVAL)
        if total > 1:
            segment = SmppSegment(key=f"{key}/s{ref}/{total}", total=total, seq=seq)
    text = text_field(decode_text(payload, pdu.data_coding))
    receipt = pdu.registered_delivery & REGISTERED_DELIVERY_RECEIPT_MASK
    if receipt == REGISTERED_DELIVERY_RECEIPT_MASK:  # 3 is reserved (§5.2.17)
        raise SmppError("registered_delivery 3 is reserved", status=Status.ESME_RINVREGDLVFLG)
    priority, send_at, valid_for = 0, None, None
    if isinstance(pdu, SubmitSm):
        if pdu.priority_flag not in PRIORITIES:
            raise SmppError(f"priority_flag {pdu.priority_flag}", status=Status.ESME_RINVPRTFLG)
        priority = PRIORITIES[pdu.priority_flag]
        send_at = _schedule(pdu.schedule_delivery_time, now)
        valid_for = _validity(pdu.validity_period, now, send_at)
    request = SendRequest(
        to=(to,),
        text=text,
        priority=priority,
        valid_for=valid_for,
        send_at=send_at,
        report=receipt != 0,
    )
    origin = SmppOrigin(
        system_id=system_id,
        receipt=receipt,
        source=(pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr),
        destination=(pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr),
    )
    return Submission(request, origin, segment)


def _destination(ton: int, address: str, default_region: str) -> str:
    """TON 1: international, "+" prepended; other TONs national, normalised (SPEC.md)."""
    if not address:
        raise RequestError("invalid_number", "destination_addr is empty")
    if ton == TON_INTERNATIONAL and not address.startswith("+"):
        address = "+" + address
    return normalise_number(address, default_region)


def _schedule(text: str, now: datetime) -> datetime | None:
    moment = parse_time(text, now, status=Status.ESME_RINVSCHED)
    if isinstance(moment, timedelta):
        return now + moment
    return moment


def _validity(text: str, now: datetime, send_at: datetime | None) -> int | None:
    """Seconds from now (``valid_for`` counts from the submission); past: ESME_RINVEXPIRY."""
    moment = parse_time(text, now, status=Status.ESME_RINVEXPIRY)
    if moment is None:
        return None
    delta = moment if isinstance(moment, timedelta) else moment - now
    seconds = math.ceil(delta.total_seconds())
    if seconds <= 0 or (send_at is not None and now + delta <= send_at):
        raise SmppError(f"validity_period {text!r} is already over", status=Status.ESME_RINVEXPIRY)
    return min(seconds, MAX_VALID_FOR)
