"""SmppConnection: any chunking gives the same PDUs; bad framing breaks it, bad bodies do not."""

from __future__ import annotations

from collections.abc import Iterable
import struct

import pytest

from gsmgw.errors import SmppError
from gsmgw.smpp import (
    MAX_COMMAND_LENGTH,
    NEED_DATA,
    CommandId,
    EnquireLink,
    Pdu,
    ReaderState,
    SmppConnection,
    Status,
    UnknownPdu,
    encode,
)
from tests.smpp.samples import ALL_PDUS

Outcome = Pdu | tuple[int, int | None]


def frame(command_id: int, body: bytes = b"", *, sequence: int = 42) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body


def drain(connection: SmppConnection) -> list[Outcome]:
    """Every PDU (or body error, as (status, sequence)) the connection has now."""
    out: list[Outcome] = []
    while True:
        try:
            pdu = connection.next_pdu()
        except SmppError as exc:
            out.append((exc.status, exc.sequence))
            if broken(connection):
                return out
            continue
        if pdu is NEED_DATA:
            return out
        out.append(pdu)


def broken(connection: SmppConnection) -> bool:
    # A function, so that mypy does not keep the state it narrowed before next_pdu().
    return connection.state is ReaderState.BROKEN


def feed(chunks: Iterable[bytes]) -> list[Outcome]:
    connection = SmppConnection()
    out: list[Outcome] = []
    for chunk in chunks:
        connection.receive_data(chunk)
        out += drain(connection)
        if broken(connection):
            break
    return out


STREAM = b"".join(encode(pdu) for pdu in ALL_PDUS)
# A stream with a bad body and an unknown command between good PDUs.
MIXED = (
    encode(EnquireLink(sequence=1))
    + frame(CommandId.SUBMIT_SM, b"\x00\x00", sequence=2)
    + frame(0x0000_0102, b"\x00\x00", sequence=3)
    + encode(EnquireLink(sequence=4))
)


def test_whole_stream_gives_every_pdu() -> None:
    assert feed([STREAM]) == list(ALL_PDUS)


def test_one_byte_at_a_time() -> None:
    assert feed(STREAM[i : i + 1] for i in range(len(STREAM))) == list(ALL_PDUS)


def test_every_split_point_gives_the_same_outcomes() -> None:
    whole = feed([MIXED])
    assert whole == [
        EnquireLink(sequence=1),
        (Status.ESME_RINVCMDLEN, 2),
        UnknownPdu(command_id=0x102, sequence=3, body=b"\x00\x00"),
        EnquireLink(sequence=4),
    ]
    for cut in range(len(MIXED) + 1):
        assert feed([MIXED[:cut], MIXED[cut:]]) == whole, cut
    for cut in range(0, len(STREAM), 7):
        for size in (1, 3, 16, 17, 250):
            chunks = [STREAM[:cut]] + [STREAM[i : i + size] for i in range(cut, len(STREAM), size)]
            assert feed(chunks) == list(ALL_PDUS)


def test_need_data_until_the_pdu_is_complete() -> None:
    connection = SmppConnection()
    data = encode(EnquireLink(sequence=9))
    for octet in data[:-1]:
        connection.receive_data(bytes([octet]))
        assert connection.next_pdu() is NEED_DATA
    connection.receive_data(data[-1:])
    assert connection.next_pdu() == EnquireLink(sequence=9)
    assert connection.next_pdu() is NEED_DATA
    assert connection.buffered == 0


@pytest.mark.parametrize("length", [0, 8, 15, MAX_COMMAND_LENGTH + 1])
def test_bad_command_length_breaks_the_connection(length: int) -> None:
    connection = SmppConnection()
    connection.receive_data(encode(EnquireLink(sequence=1)))
    connection.receive_data(struct.pack(">IIII", length, CommandId.SUBMIT_SM, 0, 5))
    connection.receive_data(encode(EnquireLink(sequence=6)))
    assert connection.next_pdu() == EnquireLink(sequence=1)
    with pytest.raises(SmppError) as info:
        connection.next_pdu()
    assert (info.value.status, info.value.sequence) == (Status.ESME_RINVCMDLEN, 5)
    assert connection.state is ReaderState.BROKEN
    assert connection.buffered == 0
    connection.receive_data(b"x" * 1000)
    assert connection.buffered == 0
    with pytest.raises(SmppError) as again:
        connection.next_pdu()
    assert again.value is info.value


def test_a_length_is_judged_only_with_the_whole_header() -> None:
    # The sequence number is in the error however the header arrives.
    header = struct.pack(">IIII", 3, CommandId.ENQUIRE_LINK, 0, 11)
    connection = SmppConnection()
    connection.receive_data(header[:15])
    assert connection.next_pdu() is NEED_DATA
    connection.receive_data(header[15:])
    with pytest.raises(SmppError) as info:
        connection.next_pdu()
    assert info.value.sequence == 11


def test_buffer_holds_at_most_one_partial_pdu() -> None:
    connection = SmppConnection(max_command_length=1024)
    header = struct.pack(">IIII", 1024, CommandId.SUBMIT_SM, 0, 1)
    connection.receive_data(header + b"\xff" * 500)
    assert connection.next_pdu() is NEED_DATA
    connection.receive_data(b"\xff" * 508 + struct.pack(">IIII", 1025, CommandId.SUBMIT_SM, 0, 2))
    with pytest.raises(SmppError) as bad_body:  # complete, but service_type has no NUL
        connection.next_pdu()
    assert (bad_body.value.status, bad_body.value.sequence) == (Status.ESME_RINVSERTYP, 1)
    assert connection.state is ReaderState.OPEN
    with pytest.raises(SmppError) as too_long:  # the next one claims more than the cap
        connection.next_pdu()
    assert (too_long.value.status, too_long.value.sequence) == (Status.ESME_RINVCMDLEN, 2)
    assert broken(connection)


def test_many_small_pdus_compact_the_buffer() -> None:
    connection = SmppConnection()
    data = encode(EnquireLink(sequence=1)) * 5000
    connection.receive_data(data)
    count = 0
    while connection.next_pdu() is not NEED_DATA:
        count += 1
    assert count == 5000
    assert connection.buffered == 0
