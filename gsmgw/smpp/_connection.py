"""The byte-fed SMPP reader: bytes from a peer in, one PDU at a time out.

Theory of operation
-------------------
Like h11's ``Connection``, :class:`SmppConnection` does no I/O. ``receive_data`` only
appends to a buffer; ``next_pdu`` looks at the buffer and returns one PDU, or ``NEED_DATA``
when the next PDU is not complete yet.

SMPP frames itself: every PDU starts with its command_length (SMPP 3.4 §3.2). A PDU is
judged only once its whole 16-octet header is buffered, so every chunking of the same bytes
gives the same PDUs and the same errors, sequence numbers included. Then:

* A command_length below 16 or above ``max_command_length`` means the framing is lost: the
  reader raises SmppError(ESME_RINVCMDLEN), becomes BROKEN, drops whatever it holds and
  raises the same error again on every later call; the server answers generic_nack and
  closes the connection (SPEC.md "SMPP server").
* Otherwise the PDU is cut off the buffer before its body is decoded, so a body that does
  not parse raises SmppError with that PDU's sequence number while the reader stays OPEN:
  the next call decodes the next PDU.
* An unknown command_id is not an error: it comes out as ``UnknownPdu``.

The buffer never holds more than one partial PDU of at most ``max_command_length`` octets
beyond what the caller fed since its last ``next_pdu`` call returned ``NEED_DATA``.
"""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal

from gsmgw.errors import SmppError
from gsmgw.smpp._codec import HEADER, HEADER_SIZE, MAX_COMMAND_LENGTH, check_length, decode
from gsmgw.smpp._pdus import Pdu

#: Consumed octets are dropped from the front of the buffer once they exceed this.
_COMPACT_AT = 16 * 1024


class Sentinel(Enum):
    """h11-style marker: the reader needs more bytes before it can produce a PDU."""

    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = Sentinel.NEED_DATA
NeedData = Literal[Sentinel.NEED_DATA]


class ReaderState(Enum):
    """OPEN while the framing holds; BROKEN after a bad command_length (close the socket)."""

    OPEN = "open"
    BROKEN = "broken"


class SmppConnection:
    """Sans-I/O SMPP reader: ``receive_data`` buffers, ``next_pdu`` decodes."""

    def __init__(self, *, max_command_length: int = MAX_COMMAND_LENGTH) -> None:
        self.max_command_length = max_command_length
        self._buffer = bytearray()
        self._start = 0
        self._error: SmppError | None = None

    @property
    def state(self) -> ReaderState:
        """BROKEN once the framing is lost; every next_pdu then raises."""
        return ReaderState.OPEN if self._error is None else ReaderState.BROKEN

    @property
    def buffered(self) -> int:
        """Octets received and not yet decoded."""
        return len(self._buffer) - self._start

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer (once BROKEN they are dropped)."""
        if self._error is None:
            self._buffer += data

    def next_pdu(self) -> Pdu | NeedData:
        """Return the next PDU, or NEED_DATA when it is not complete yet.

        Raises:
            SmppError: a bad command_length (the reader is BROKEN from then on) or a body
                that does not parse (the reader stays OPEN; ``sequence`` names the PDU).
        """
        if self._error is not None:
            raise self._error
        if self.buffered < HEADER_SIZE:
            return NEED_DATA
        length, _, _, sequence = HEADER.unpack_from(self._buffer, self._start)
        try:
            check_length(length, sequence, self.max_command_length)
        except SmppError as exc:
            self._error = exc
            self._buffer = bytearray()
            self._start = 0
            raise
        if self.buffered < length:
            return NEED_DATA
        frame = bytes(self._buffer[self._start : self._start + length])
        self._start += length
        if self._start >= _COMPACT_AT:
            del self._buffer[: self._start]
            self._start = 0
        return decode(frame)
