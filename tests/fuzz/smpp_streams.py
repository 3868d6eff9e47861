"""Structure-aware SMPP inputs (valid PDUs, mutated streams, chunkings) and their properties.

Mutations follow the ways SMPP streams break: a command_length that lies (the one field
that frames the stream, SMPP 3.4 §3.2), an sm_length or TLV length that lies (§5.2.22,
§3.2.4.1), a C-octet string whose NUL is gone, flipped bits, cuts, inserts and random bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct
from typing import Any

from gsmgw.errors import SmppError
from gsmgw.smpp import (
    NEED_DATA,
    SAFETY_NET_PREFIX,
    Bind,
    BindKind,
    BindResp,
    DataSm,
    DeliverSm,
    Pdu,
    QuerySmResp,
    ReaderState,
    SmppConnection,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
    UnknownPdu,
    decode,
    encode,
)
from tests.fuzz.budget import CHECKED
from tests.fuzz.choice import Chooser, chance, pick
from tests.smpp.samples import ALL_PDUS

#: Values a lying 32-bit command_length takes: below the header, the cap's edges, huge.
LENGTH_LIES = (0, 1, 15, 16, 17, 0x1_1000, 0x1_1001, 0x7FFF_FFFF, 0xFFFF_FFFF)
_ADDRESS_CHARS = "0123456789+abcXYZ "
_TAGS = (0x0424, 0x020C, 0x020E, 0x020F, 0x001E, 0x0427, 0x0210, 0x1401, 0x0005)
_UNKNOWN_IDS = (0x0000_0007, 0x0000_0021, 0x8000_0021, 0x0000_0102, 0x0000_0200, 0x1234_5678)


@dataclass(frozen=True, slots=True)
class Stream:
    """Octets fed to an SmppConnection in chunks of the given sizes (cycled), and their origin."""

    data: bytes
    chunks: tuple[int, ...]
    origin: str


def _text(c: Chooser, size: int) -> str:
    return c.text(_ADDRESS_CHARS, size - 1)


def _tlvs(c: Chooser) -> Tlvs:
    items: list[Tlv] = []
    for _ in range(c.integer(0, 3)):
        tag = pick(c, _TAGS)
        if tag in (0x020E, 0x020F, 0x0427, 0x0210):
            value = bytes([c.integer(0, 255)])
        elif tag == 0x020C:
            value = c.integer(0, 0xFFFF).to_bytes(2, "big")
        elif tag == 0x001E:
            value = _text(c, 65).encode() + b"\x00"
        else:
            value = c.binary(300) if chance(c, 2) else b""
        items.append(Tlv(tag, value))
    return Tlvs(tuple(items))


def _short_message_pdu(c: Chooser, sequence: int) -> Pdu:
    fields: dict[str, Any] = dict(
        sequence=sequence,
        service_type=_text(c, 6),
        source_addr_ton=c.integer(0, 6),
        source_addr=_text(c, 21),
        dest_addr_ton=c.integer(0, 6),
        destination_addr=_text(c, 21),
        esm_class=c.integer(0, 255),
        priority_flag=c.integer(0, 3),
        schedule_delivery_time=pick(c, ("", "240102030405600+", "000001000000000R")),
        registered_delivery=c.integer(0, 3),
        data_coding=pick(c, (0, 1, 3, 8, 4)),
        short_message=c.binary(254) if chance(c, 4) else b"",
        tlvs=_tlvs(c),
    )
    return SubmitSm(**fields) if chance(c, 2) else DeliverSm(**fields)


def pdu_value(c: Chooser) -> Pdu:
    """A valid PDU: a sample, or a generated message, bind, response or unknown command."""
    sequence = c.integer(0, 0xFFFF_FFFF)
    roll = c.integer(1, 7)
    if roll == 1:
        return pick(c, ALL_PDUS)
    if roll == 2:
        return Bind(
            kind=pick(c, tuple(BindKind)),
            sequence=sequence,
            system_id=_text(c, 16),
            password=_text(c, 9),
            system_type=_text(c, 13),
            address_range=_text(c, 41),
        )
    if roll == 3:
        kind = pick(c, tuple(BindKind))
        return BindResp(kind=kind, sequence=sequence, system_id=_text(c, 16), tlvs=_tlvs(c))
    if roll == 4:
        return SubmitSmResp(sequence=sequence, status=c.integer(0, 0xFF), message_id=_text(c, 65))
    if roll == 5:
        return pick(c, (_data_sm, _query_sm_resp, _unknown))(c, sequence)
    return _short_message_pdu(c, sequence)


def _data_sm(c: Chooser, sequence: int) -> Pdu:
    return DataSm(
        sequence=sequence,
        source_addr=_text(c, 65),
        destination_addr=_text(c, 65),
        data_coding=c.integer(0, 255),
        tlvs=_tlvs(c),
    )


def _query_sm_resp(c: Chooser, sequence: int) -> Pdu:
    return QuerySmResp(
        sequence=sequence,
        message_id=_text(c, 65),
        final_date=pick(c, ("", "240102030405600+")),
        message_state=c.integer(0, 8),
        error_code=c.integer(0, 255),
    )


def _unknown(c: Chooser, sequence: int) -> Pdu:
    body = c.binary(100) if chance(c, 2) else b""
    return UnknownPdu(command_id=pick(c, _UNKNOWN_IDS), sequence=sequence, body=body)


def _mutate(c: Chooser, data: bytearray, starts: list[int]) -> str:
    """Apply one mutation; starts are the offsets where PDUs begin."""
    at = c.integer(0, max(0, len(data) - 1))
    kind = c.integer(1, 7)
    if kind == 1 and starts:
        start = pick(c, starts)
        data[start : start + 4] = struct.pack(">I", pick(c, LENGTH_LIES))
        return f"command_length lie at {start}"
    if kind == 2 and data:
        nul = data.find(b"\x00", at)
        if nul >= 0:
            data[nul] = c.integer(1, 255)
        return f"NUL gone after {at}"
    if kind == 3 and data:
        data[at] = pick(c, (0x00, 0x01, 0xFE, 0xFF, c.integer(0, 255)))
        return f"octet {at} (length lie)"
    if kind == 4 and data:
        bit = c.integer(0, 7)
        data[at] ^= 1 << bit
        return f"flip bit {bit} of {at}"
    if kind == 5:
        del data[at:]
        return f"cut at {at}"
    if kind == 6:
        data[at:at] = c.binary(20)
        return f"insert at {at}"
    del data[at : at + c.integer(1, 20)]
    return f"delete at {at}"


def stream(c: Chooser) -> Stream:
    """A few valid PDUs, often mutated, sometimes plain random bytes, cut into chunks."""
    chunks = tuple(c.integer(1, pick(c, (1, 7, 64, 4096))) for _ in range(c.integer(1, 4)))
    if chance(c, 10):
        return Stream(c.binary(400), chunks, "random")
    pdus = [pdu_value(c) for _ in range(c.integer(1, 4))]
    data = bytearray()
    starts = []
    for pdu in pdus:
        starts.append(len(data))
        data += encode(pdu)
    steps = [_mutate(c, data, starts) for _ in range(c.integer(0, 3))]
    origin = f"{[type(p).__name__ for p in pdus]}: {'; '.join(steps) or 'unmutated'}"
    return Stream(bytes(data), chunks, origin)


Outcome = Pdu | tuple[int, int | None]


def _documented(error: SmppError) -> tuple[int, int | None]:
    """An SmppError from a check that names the problem, not from the catch-all."""
    assert not str(error).startswith(SAFETY_NET_PREFIX), f"escaped every check: {error}"
    assert 0 <= error.status <= 0xFFFF_FFFF
    return error.status, error.sequence


def _broken(connection: SmppConnection) -> bool:
    # A function, so that mypy does not keep the state it narrowed before next_pdu().
    return connection.state is ReaderState.BROKEN


def run_stream(data: bytes, chunks: tuple[int, ...]) -> list[Outcome]:
    """Feed data in chunks, draining after each; return PDUs and (status, sequence) errors."""
    connection = SmppConnection()
    out: list[Outcome] = []
    pos, index = 0, 0
    while pos < len(data) and not _broken(connection):
        size = chunks[index % len(chunks)]
        connection.receive_data(data[pos : pos + size])
        pos, index = pos + size, index + 1
        # Each PDU or error consumes at least 16 octets, or breaks the reader: bounded.
        for _ in range(len(data) // 16 + 2):
            try:
                pdu = connection.next_pdu()
            except SmppError as exc:
                out.append(_documented(exc))
                if _broken(connection):
                    break
                continue
            if pdu is NEED_DATA:
                break
            out.append(pdu)
        else:
            raise AssertionError("next_pdu never asked for more data")
    return out


def check_stream(s: Stream) -> None:
    """Only SmppError comes out, from a documented check, and the chunking changes nothing."""
    CHECKED["smpp"] += 1
    chunked = run_stream(s.data, s.chunks)
    assert chunked == run_stream(s.data, (len(s.data) or 1,))
    for outcome in chunked:
        if not isinstance(outcome, tuple):
            assert decode(encode(outcome)) == outcome


def check_round_trip(pdu: Pdu) -> None:
    """A valid PDU decodes to itself, alone and inside a stream cut into pieces."""
    CHECKED["smpp-round"] += 1
    data = encode(pdu)
    assert decode(data) == pdu
    assert run_stream(data * 2, (1, 5, 16)) == [pdu, pdu]
