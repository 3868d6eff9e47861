"""One PDU <-> its octets: the 16-octet header (SMPP 3.4 §3.2) and a body per command_id."""

from __future__ import annotations

import struct

from gsmgw.errors import LocalProtocolError, SmppError
from gsmgw.smpp._constants import RESPONSE_BIT, Status
from gsmgw.smpp._fields import decode_fields, encode_fields
from gsmgw.smpp._pdus import BY_COMMAND_ID, Pdu, UnknownPdu

#: command_length, command_id, command_status, sequence_number: four big-endian Integers.
HEADER = struct.Struct(">IIII")
HEADER_SIZE = HEADER.size
#: The longest PDU accepted or produced. SMPP 3.4 sets no limit, but the largest body that
#: makes sense is one message_payload TLV of at most 65,535 octets (its length is 2 octets,
#: §5.3.2.32) beside a few hundred octets of mandatory fields: 64 KiB plus 4 KiB covers it.
#: A larger command_length is garbage or an attack, and the buffer never holds more of a PDU.
MAX_COMMAND_LENGTH = 64 * 1024 + 4 * 1024
#: Message of the catch-all for an exception that escaped every documented check (a bug).
SAFETY_NET_PREFIX = "malformed PDU:"


def encode(pdu: Pdu) -> bytes:
    """Return the octets of a PDU, header included.

    Raises:
        LocalProtocolError: the PDU would exceed MAX_COMMAND_LENGTH.
    """
    if isinstance(pdu, UnknownPdu):
        body = pdu.body
    else:
        body = encode_fields(pdu.BODY, {spec.name: getattr(pdu, spec.name) for spec in pdu.BODY})
    length = HEADER_SIZE + len(body)
    if length > MAX_COMMAND_LENGTH:
        raise LocalProtocolError(f"PDU of {length} octets exceeds {MAX_COMMAND_LENGTH}")
    return HEADER.pack(length, pdu.command_id, pdu.status, pdu.sequence) + body


def check_length(length: int, sequence: int, max_length: int = MAX_COMMAND_LENGTH) -> None:
    """Raise SmppError(ESME_RINVCMDLEN) for a command_length no PDU can have."""
    if length < HEADER_SIZE or length > max_length:
        raise SmppError(
            f"command_length {length} outside {HEADER_SIZE}-{max_length}",
            status=Status.ESME_RINVCMDLEN,
            sequence=sequence,
        )


def decode(frame: bytes) -> Pdu:
    """Decode exactly one PDU; its command_length must match len(frame).

    Returns:
        The typed PDU, or UnknownPdu for a command_id this codec does not decode.

    Raises:
        SmppError: the header or body does not parse; ``status`` is the command_status to
            answer with and ``sequence`` the PDU's sequence_number when it was read.
    """
    if len(frame) < HEADER_SIZE:
        raise SmppError(
            f"{len(frame)} octets are shorter than a header", status=Status.ESME_RINVCMDLEN
        )
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    check_length(length, sequence)
    if length != len(frame):
        raise SmppError(
            f"command_length {length} but {len(frame)} octets",
            status=Status.ESME_RINVCMDLEN,
            sequence=sequence,
        )
    body = bytes(frame[HEADER_SIZE:])
    try:
        return _decode_body(command_id, status, sequence, body)
    except SmppError:
        raise
    except (ValueError, IndexError, struct.error) as exc:  # a bug: the fuzz tests look for it
        raise SmppError(
            f"{SAFETY_NET_PREFIX} {exc}", status=Status.ESME_RSYSERR, sequence=sequence
        ) from exc


def _decode_body(command_id: int, status: int, sequence: int, body: bytes) -> Pdu:
    entry = BY_COMMAND_ID.get(command_id)
    if entry is None:
        return UnknownPdu(command_id=command_id, sequence=sequence, status=status, body=body)
    cls, kind = entry
    # Many peers send a response without a body (SMPP 3.4 §4.4.2 asks for that when
    # command_status is an error; some do it for deliver_sm_resp too): every field defaults.
    if not body and command_id & RESPONSE_BIT:
        values = {}
    else:
        values = decode_fields(cls.BODY, body, sequence)
    if kind is not None:
        values["kind"] = kind
    pdu = cls(sequence=sequence, status=status, **values)
    return pdu  # type: ignore[return-value]  # every class in BY_COMMAND_ID is in Pdu
