"""The AT codec: bytes from a modem in, events out; commands in, bytes to write out.

Theory of operation
-------------------
Like h11's ``Connection``, :class:`AtCodec` does no I/O. ``receive_data`` only appends
to a buffer; ``next_event`` cuts one line at a time off the buffer and decides what it
is; ``send`` returns the bytes of a command and remembers it as *in flight*.

A modem's output is lines ended by CR, LF or both (V.250 §5.7.1; some Gammu dumps use a
bare CR), with one exception: the ``> `` prompt of AT+CMGS has no line end
(TS 27.005 §3.5.1), so it is recognised at the start of a line while a prompt is due.

What a line means depends on the command in flight, and that decision lives in one
table, ``_TABLE``, keyed by (state, kind of line):

* IDLE: nothing in flight; every line is unsolicited (a URC or an unknown line).
* RUNNING: a command runs; lines with its own prefix (``+CREG:`` for ``AT+CREG?``) or
  no known URC prefix are its information lines; known URC prefixes stay URCs; its echo
  is dropped; a final result ends it.
* AWAIT_PROMPT / AWAIT_DATA: AT+CMGS was sent; the prompt moves to AWAIT_DATA, where the
  host sends the PDU and Ctrl-Z (``send_data``) or ESC (``abort``).

Headers whose PDU follows on the next line (``+CMGR:``, ``+CMGL:`` of the running
command; ``+CMT:``, ``+CDS:`` at any time) wait for that line; URCs that come between
them pass through. A header whose PDU never comes is reported (information line
without data, or Garbage) and the line after it is read as usual.

Noise never raises: undecodable lines and URCs that do not parse become
:class:`Garbage`. A line longer than ``max_line`` is dropped up to its end.
"""

from __future__ import annotations

from collections import deque
from enum import Enum, auto
import re

from gsmgw.at.codes import ErrorKind, code_for_text, lookup
from gsmgw.at.events import (
    NEED_DATA,
    Event,
    FinalResult,
    Garbage,
    InfoLine,
    NeedData,
    Prompt,
    ResultKind,
)
from gsmgw.at.urc import (
    INFO_HEADERS,
    URC_HEADERS,
    URC_PREFIXES,
    is_decimal,
    line_prefix,
    parse_pdu_urc,
    parse_urc,
)
from gsmgw.errors import LocalProtocolError, RemoteProtocolError

#: Longest line kept while waiting for its end (a PDU line is at most ~360 characters).
DEFAULT_MAX_LINE = 4096

CTRL_Z = b"\x1a"
ESC = b"\x1b"
_EOL = re.compile(rb"[\r\n]")
_COMMAND_PREFIX = re.compile(r"AT([+^$%#*][A-Z0-9]+)", re.IGNORECASE)
_PROMPT_COMMANDS = re.compile(r"AT\+CMG[SWC]=", re.IGNORECASE)
_HEX_LINE = re.compile(r"[0-9A-Fa-f]{2,}")
# "+CMGR: 1,,147 0791..." -- header and PDU on one line, as an old ModemManager test has it.
_HEADER_AND_PDU = re.compile(r"(\+(?:CMGR|CMGL|CMT|CDS):.*\d)\s+([0-9A-Fa-f]{16,})")
_PLAIN_FINALS = {
    "OK": ResultKind.OK,
    "ERROR": ResultKind.ERROR,
    "NO CARRIER": ResultKind.NO_CARRIER,
    "BUSY": ResultKind.BUSY,
    "NO ANSWER": ResultKind.NO_ANSWER,
    "NO DIALTONE": ResultKind.NO_DIALTONE,
    # Vendor words for ERROR: Huawei E1752 and ZTE MF622 (python-gsmmodem test/fakemodems.py,
    # Gammu's AT reply table) say "COMMAND NOT SUPPORT"; some Qualcomm-based sticks
    # "TOO MANY PARAMETERS"; a few phones spell the first one out.
    "COMMAND NOT SUPPORT": ResultKind.ERROR,
    "COMMAND NOT SUPPORTED": ResultKind.ERROR,
    "TOO MANY PARAMETERS": ResultKind.ERROR,
}


class CodecState(Enum):
    """Where the codec is in the command cycle."""

    IDLE = auto()
    RUNNING = auto()
    AWAIT_PROMPT = auto()
    AWAIT_DATA = auto()


class LineKind(Enum):
    """What a complete line looks like, before the state decides what it means."""

    FINAL = auto()
    ECHO = auto()
    OWN = auto()  # the running command's own prefix
    OWN_HEADER = auto()  # +CMGR:/+CMGL: of the running command: a PDU line follows
    URC_HEADER = auto()  # +CMT:/+CDS:: a PDU line follows
    URC = auto()
    OTHER = auto()


class Action(Enum):
    """What the codec does with a line."""

    FINAL = auto()
    INFO = auto()
    HEADER = auto()
    URC = auto()
    DROP = auto()
    STRAY = auto()  # Garbage: this line makes no sense in this state


_S, _K, _A = CodecState, LineKind, Action
_TABLE: dict[tuple[CodecState, LineKind], Action] = {
    (_S.IDLE, _K.FINAL): _A.STRAY,  # a late answer to a command we gave up on
    (_S.IDLE, _K.URC_HEADER): _A.HEADER,
    (_S.IDLE, _K.URC): _A.URC,
    (_S.IDLE, _K.OTHER): _A.URC,  # boot messages ("RDY", "SMS Ready"): UnknownUrc
    (_S.RUNNING, _K.FINAL): _A.FINAL,
    (_S.RUNNING, _K.ECHO): _A.DROP,
    (_S.RUNNING, _K.OWN): _A.INFO,
    (_S.RUNNING, _K.OWN_HEADER): _A.HEADER,
    (_S.RUNNING, _K.URC_HEADER): _A.HEADER,
    (_S.RUNNING, _K.URC): _A.URC,
    (_S.RUNNING, _K.OTHER): _A.INFO,  # answers without a prefix: AT+CGMM, AT+CIMI
    (_S.AWAIT_PROMPT, _K.FINAL): _A.FINAL,  # e.g. +CMS ERROR: 304 instead of a prompt
    (_S.AWAIT_PROMPT, _K.ECHO): _A.DROP,
    (_S.AWAIT_PROMPT, _K.OWN): _A.STRAY,
    (_S.AWAIT_PROMPT, _K.URC_HEADER): _A.HEADER,
    (_S.AWAIT_PROMPT, _K.URC): _A.URC,
    (_S.AWAIT_PROMPT, _K.OTHER): _A.STRAY,
    (_S.AWAIT_DATA, _K.FINAL): _A.FINAL,  # the modem gave up waiting for the PDU
    (_S.AWAIT_DATA, _K.ECHO): _A.DROP,
    (_S.AWAIT_DATA, _K.OWN): _A.STRAY,
    (_S.AWAIT_DATA, _K.URC_HEADER): _A.HEADER,
    (_S.AWAIT_DATA, _K.URC): _A.URC,
    (_S.AWAIT_DATA, _K.OTHER): _A.STRAY,
}


def parse_final(text: str) -> FinalResult | None:
    """Return the final result this line is, or None."""
    plain = _PLAIN_FINALS.get(text)
    if plain is not None:
        return FinalResult(plain)
    if text == "CONNECT" or text.startswith("CONNECT "):
        return FinalResult(ResultKind.CONNECT)
    for kind, result in (
        (ErrorKind.CME, ResultKind.CME_ERROR),
        (ErrorKind.CMS, ResultKind.CMS_ERROR),
    ):
        head = f"+{kind} ERROR:"
        if text.startswith(head):
            detail = text[len(head) :].strip()
            if is_decimal(detail):
                return FinalResult(result, int(detail), lookup(kind, int(detail)).name)
            return FinalResult(result, code_for_text(kind, detail), detail)
    return None


def command_prefix(command: str) -> str | None:
    """Return the prefix of a command's information lines (``AT+CSQ`` -> ``+CSQ``)."""
    match = _COMMAND_PREFIX.match(command.strip())
    return match.group(1).upper() if match else None


class AtCodec:
    """An AT command codec from the host's side: ``send`` / ``receive_data`` / ``next_event``."""

    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._buffer = bytearray()
        self._events: deque[Event] = deque()
        self._max_line = max_line
        self._state = CodecState.IDLE
        self._command: str | None = None
        self._prefix: str | None = None
        self._echo: str | None = None
        self._header: str | None = None  # a header waiting for its PDU line
        self._header_is_info = False
        self._skip_space = False  # the space of "> " may come in the next chunk
        self._discarding = False  # dropping the rest of an over-long line
        self._eof = False

    @property
    def state(self) -> CodecState:
        """Where the codec is in the command cycle."""
        return self._state

    @property
    def command(self) -> str | None:
        """The command in flight, or None."""
        return self._command

    def send(self, command: str) -> bytes:
        """Return the bytes for ``command`` (without CR) and mark it in flight."""
        if self._state is not CodecState.IDLE:
            raise LocalProtocolError(f"{command!r} sent while {self._command!r} is in flight")
        if not command or any(c in command for c in "\r\n\x1a\x1b"):
            raise LocalProtocolError(f"not a single command line: {command!r}")
        self._command = self._echo = command.strip()
        self._prefix = command_prefix(command)
        prompt = _PROMPT_COMMANDS.match(self._command) is not None
        self._state = CodecState.AWAIT_PROMPT if prompt else CodecState.RUNNING
        return command.encode("ascii", "replace") + b"\r"

    def send_data(self, data: str) -> bytes:
        """After a Prompt: return the PDU hex and Ctrl-Z that end the command's input."""
        if self._state not in (CodecState.AWAIT_DATA, CodecState.AWAIT_PROMPT):
            raise LocalProtocolError("send_data without a prompt")
        self._state, self._echo = CodecState.RUNNING, data
        return data.encode("ascii") + CTRL_Z

    def abort(self) -> bytes:
        """Return ESC, which cancels a pending AT+CMGS input (TS 27.005 §3.5.1)."""
        if self._state not in (CodecState.AWAIT_DATA, CodecState.AWAIT_PROMPT):
            raise LocalProtocolError("abort without a prompt")
        self._state = CodecState.RUNNING
        return ESC

    def cancel(self) -> None:
        """Forget the command in flight (after a timeout): its late lines become unsolicited."""
        self._state, self._command, self._prefix, self._echo = CodecState.IDLE, None, None, None
        if self._header is not None and self._header_is_info:
            self._header = None

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the modem; ``b""`` means the port is closed (flushes the last line)."""
        if self._eof:
            raise LocalProtocolError("receive_data after end of stream")
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> Event | NeedData:
        """Return the next event, or NEED_DATA when the buffer holds no complete one."""
        while not self._events:
            line = self._next_line()
            if line is None:
                if self._events:
                    break
                if self._eof and self._header is not None:
                    self._orphan_header()
                    continue
                return NEED_DATA
            self._line_received(line)
        return self._events.popleft()

    # -- cutting lines -------------------------------------------------------------------

    def _next_line(self) -> bytes | None:
        buf = self._buffer
        while True:
            start = 0
            while start < len(buf) and buf[start] in b"\r\n":
                start += 1
                self._discarding = False
            if start:
                del buf[:start]
            if self._skip_space and buf:
                self._skip_space = False
                if buf[0] == 0x20:
                    del buf[:1]
                    continue
            if buf[:1] == b">" and self._state is CodecState.AWAIT_PROMPT:
                del buf[:1]
                self._state, self._skip_space = CodecState.AWAIT_DATA, True
                self._events.append(Prompt())
                # Stop here: the host must answer the prompt (send_data or abort) before the
                # lines after it are read, or they would be judged in the wrong state.
                return None
            match = _EOL.search(buf)
            if match is None:
                return self._partial_line()
            line = bytes(buf[: match.start()])
            del buf[: match.start()]
            if self._discarding:
                continue
            return line

    def _partial_line(self) -> bytes | None:
        buf = self._buffer
        if self._eof and buf:
            line = bytes(buf)
            buf.clear()
            return None if self._discarding else line
        if len(buf) > self._max_line:
            self._events.append(Garbage(bytes(buf), "line too long"))
            buf.clear()
            self._discarding = True
        return None

    # -- understanding lines -------------------------------------------------------------

    def _line_received(self, raw: bytes) -> None:
        text = _decode(raw)
        if text is None:
            # Resync after noise (a brown-out, baud-rate junk): drop everything up to the
            # last control byte and read what follows as the line.
            cut = max(i for i, b in enumerate(raw) if b < 0x20 or b >= 0x7F) + 1
            self._events.append(Garbage(raw[:cut], "not a text line"))
            text = _decode(raw[cut:])
            if text is None:
                return
        text = text.strip(" \t\x1a")
        if not text:
            return
        if self._header is not None and self._pdu_received(text):
            return
        split = _HEADER_AND_PDU.fullmatch(text)
        kind = self._classify(split.group(1) if split else text)
        action = _TABLE.get((self._state, kind), Action.STRAY)
        if action is Action.HEADER and split:
            self._header, self._header_is_info = split.group(1), kind is LineKind.OWN_HEADER
            self._pdu_received(split.group(2))
            return
        self._act(action, kind, text, raw)

    def _classify(self, text: str) -> LineKind:
        if self._command is not None and text.upper() == (self._echo or "").upper():
            return LineKind.ECHO
        if parse_final(text) is not None:
            return LineKind.FINAL
        prefix = line_prefix(text) if text[0] in "+^" or text == "RING" else ""
        if self._command is not None and prefix == self._prefix:
            return LineKind.OWN_HEADER if prefix in INFO_HEADERS else LineKind.OWN
        if prefix in URC_HEADERS:
            return LineKind.URC_HEADER
        return LineKind.URC if prefix in URC_PREFIXES else LineKind.OTHER

    def _act(self, action: Action, kind: LineKind, text: str, raw: bytes) -> None:
        if action is Action.FINAL:
            final = parse_final(text)
            assert final is not None
            self.cancel()
            self._events.append(final)
        elif action is Action.INFO:
            self._events.append(InfoLine(text))
        elif action is Action.HEADER:
            self._header, self._header_is_info = text, kind is LineKind.OWN_HEADER
        elif action is Action.URC:
            self._urc_received(text, raw)
        elif action is Action.STRAY:
            self._events.append(Garbage(raw, f"unexpected in state {self._state.name}"))

    def _urc_received(self, text: str, raw: bytes) -> None:
        try:
            self._events.append(parse_urc(text))
        except (RemoteProtocolError, ValueError) as exc:
            self._events.append(Garbage(raw, str(exc)))

    def _pdu_received(self, text: str) -> bool:
        """Complete the pending header with this line if it is a PDU; False otherwise."""
        if not _HEX_LINE.fullmatch(text):
            kind = self._classify(text)
            if kind is LineKind.URC:
                self._urc_received(text, text.encode())
                return True
            self._orphan_header()
            return False
        header, self._header = self._header, None
        assert header is not None
        if self._header_is_info:
            self._events.append(InfoLine(header, text.upper()))
            return True
        try:
            self._events.append(parse_pdu_urc(header, text))
        except (RemoteProtocolError, ValueError) as exc:
            self._events.append(Garbage(f"{header}\r\n{text}".encode(), str(exc)))
        return True

    def _orphan_header(self) -> None:
        header, self._header = self._header, None
        assert header is not None
        if self._header_is_info:
            self._events.append(InfoLine(header))
        else:
            self._events.append(Garbage(header.encode(), "header without its PDU"))


def _decode(raw: bytes) -> str | None:
    """Return the line as text, or None if it holds control bytes or is not UTF-8 (noise)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any((ord(c) < 0x20 and c not in "\t\x1a") or ord(c) == 0x7F for c in text):
        return None
    return text
