"""Structure-aware AT inputs (corpus transcripts with noise, URCs, cuts and any chunking).

A session is what a driver lives through: the transcript's commands sent in turn, the
modem's bytes arriving in chunks of any size, a prompt answered with a PDU or ESC, now and
then a command given up on (``cancel``, as after a timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
import json
from pathlib import Path
import re
import tracemalloc

from gsmgw.at.codec import AtCodec
from gsmgw.at.events import NEED_DATA, Event, FinalResult, Prompt
from gsmgw.errors import RemoteProtocolError
from tests.fuzz.budget import CHECKED
from tests.fuzz.choice import Chooser, chance, pick

TRANSCRIPTS = Path(__file__).parent.parent / "data" / "at-transcripts"
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\n\r|\r|\n)|[^\r\n]+$")
_PDU = "07919471060040340409D039BA0C0000111080215000040AE8329BFD4697D9EC37"
#: URCs a modem may put between any two lines (valid, vendor, broken, and hostile ones).
URCS = (
    b'+CMTI: "SM",3', b'+CMTI: "ME",65535', b"+CMTI: SM", b'+CMTI: "SM",x', b"+CDSI: \"SR\",1",
    b"+CREG: 1", b'+CREG: 5,"00AB","0001ABCD",7', b"+CEREG: 1,2,3,4,5,6,7", b"+CGREG: x,y",
    b"+C5GREG: ", b"+CREG: 99999999999999999999999", b'+CUSD: 0,"Balance 4.20",15',
    b"+CUSD: 2", b"+CUSD: ", b"^RSSI: 17", b"^RSSI: 99", b"^RSSI: -1", b'+QIND: "csq",20,99',
    b'+QIND: "smsfull","SM"', b'+CIEV: "SMSFULL",1', b'^SMMEMFULL: "SM"', b"RING",
    b"+CRING: VOICE", b"^MODE: 5,4", b"RDY", b"SMS Ready", b"Call Ready", b"+CPIN: READY",
    b"NO CARRIER", b"OK", b"ERROR", b"+CME ERROR: 10", b"+CMS ERROR: SIM busy",
    b"+CMT: ,23", b"+CMT: \"\",23", b"+CDS: 25", b"+CMT: ,9999", b"+CMT: ,x",
    b"+CMT: ,21 " + _PDU.encode(), _PDU.encode(), b"00", b"> ", b">", b'+CMGL: 1,0,,23',
)  # fmt: skip
NOISE = (
    b"\x00", b"\xff\xfe\xfd", b"\xc3", b"\xe2\x82", b"\x1a", b"\x1b", b"\x7f", b"\r", b"\n",
    b"\r\r\n\n", b">", b"> ", b"\t", b" ", b"+", b":", b",", b'"', b"\x80\x81", b"AT\r",
)  # fmt: skip
TERMINATORS = (b"\r\n", b"\r", b"\n", b"\n\r", b"\r\n\r\n")
MAX_LINES = (32, 128, 4096)
_PROMPT_COMMAND = re.compile(r"AT\+CMG[SWC]=", re.IGNORECASE)
HOST_COMMANDS = ("AT", "AT+CSQ", "AT+CREG?", "AT+CMGL=4", "AT+CMGR=1", "AT+CMGS=23", "ATI")
#: Known codec bugs (reproduced by the strict xfail tests in test_at_fuzz.py). While one is
#: open, the generators steer around it so that the fuzzer keeps looking for new ones;
#: whoever fixes one sets its flag to False and removes its xfail.
#: 1. next_event() reads the lines after a prompt before the host has answered it.
PROMPT_BUG_OPEN = False
#: 2. +CMT/+CDS <length> over 4300 digits: int() raises ValueError out of next_event().
HUGE_LENGTH_BUG_OPEN = False
#: A memory example feeds this many chunks, and at least four times the line cap, up to
#: FLOOD_BYTES; MEMORY_SLACK is what the interpreter may allocate beside the codec's buffers.
FLOOD_CHUNKS = 1000
FLOOD_BYTES = 256 * 1024
CHUNK_SIZES = (1, 7, 64, 512, 4096)
MEMORY_SLACK = 32 * 1024
#: Decimal fields longer than Python's int() limit (4300 digits, CVE-2020-10735).
HUGE_NUMBER = b"9" * 4400


@dataclass(frozen=True, slots=True)
class Transcript:
    id: str
    data: bytes
    commands: tuple[str, ...]


def _commands(command: str) -> tuple[str, ...]:
    """The commands in flight for the index's ``command`` description."""
    if "unsolicited" in command:
        return ()
    if command == "AT+CMGR then AT+CMGD":
        return ("AT+CMGR=0", "AT+CMGD=0")
    if command == "AT+CMGR":
        return ("AT+CMGR=1",)
    return (command if command.startswith("AT") else f"AT{command}",)


def _load() -> tuple[Transcript, ...]:
    result = []
    for line in (TRANSCRIPTS / "index.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        data = (TRANSCRIPTS / entry["file"]).read_bytes()
        result.append(Transcript(entry["id"], data, _commands(entry["command"])))
    return tuple(result)


CORPUS = _load()


@dataclass(frozen=True, slots=True)
class Session:
    """Bytes from a modem, the chunks they arrive in, and what the host does meanwhile."""

    data: bytes
    chunk_sizes: tuple[int, ...]
    commands: tuple[str, ...]
    max_line: int
    #: Per prompt: True answers with a PDU and Ctrl-Z, False with ESC.
    answers: tuple[bool, ...]
    #: After this many events the host gives up on the running command (None: never).
    cancel_after: int | None
    origin: str

    def chunks(self) -> Iterator[bytes]:
        """Cut data into chunks, cycling through chunk_sizes."""
        pos, index = 0, 0
        while pos < len(self.data):
            size = self.chunk_sizes[index % len(self.chunk_sizes)]
            yield self.data[pos : pos + size]
            pos, index = pos + size, index + 1


def _inject(c: Chooser, lines: list[bytes], max_line: int) -> str:
    """Change the list of lines once; return what was done."""
    at = c.integer(0, len(lines))
    roll = c.integer(1, 10)
    if roll <= 3:
        urc = pick(c, URCS)
        lines.insert(at, urc + pick(c, TERMINATORS))
        return f"URC {urc!r} at line {at}"
    if roll == 4:
        header = pick(c, (b"+CMT: ,", b"+CDS: ", b'+CMTI: "SM",', b"+CREG: ", b"^RSSI: "))
        if header in (b"+CMT: ,", b"+CDS: ") and HUGE_LENGTH_BUG_OPEN:
            header = b"+CMTI: ,"
        lines.insert(at, header + HUGE_NUMBER + b"\r\n" + _PDU.encode() + b"\r\n")
        return f"{header!r} with a {len(HUGE_NUMBER)}-digit number at line {at}"
    if roll == 5:
        lines.insert(at, b"A" * (max_line + c.integer(-2, 64)) + pick(c, (b"", b"\r\n")))
        return f"long line at {at}"
    if not lines:
        lines.append(c.binary(16))
        return "random line"
    line = min(at, len(lines) - 1)
    if roll == 6:
        del lines[line]
        return f"drop line {line}"
    if roll == 7:
        lines.insert(line, lines[line])
        return f"repeat line {line}"
    if roll == 8:
        lines[line] = lines[line].rstrip(b"\r\n") + pick(c, TERMINATORS)
        return f"terminator of line {line}"
    cut = c.integer(0, len(lines[line]))
    noise = pick(c, NOISE) if roll == 9 else c.binary(12)
    lines[line] = lines[line][:cut] + noise + lines[line][cut:]
    return f"noise {noise!r} in line {line}"


def session(c: Chooser) -> Session:
    """A corpus transcript with up to six injections, maybe cut short, in random chunks."""
    transcript = pick(c, CORPUS)
    max_line = pick(c, MAX_LINES)
    lines = _LINE.findall(transcript.data)
    steps = [_inject(c, lines, max_line) for _ in range(c.integer(0, 6))]
    data = b"".join(lines)
    if chance(c, 5):
        cut = c.integer(0, len(data))
        data, steps = data[:cut], [*steps, f"cut at {cut}"]
    sizes = tuple(c.integer(1, pick(c, (1, 3, 17, 64, 4096))) for _ in range(c.integer(1, 4)))
    extra = tuple(pick(c, HOST_COMMANDS) for _ in range(c.integer(0, 2)))
    return Session(
        data=data,
        chunk_sizes=sizes,
        commands=transcript.commands + extra,
        max_line=max_line,
        answers=tuple(chance(c, 2) for _ in range(4)),
        cancel_after=c.integer(0, 20) if chance(c, 6) else None,
        origin=f"{transcript.id}: {'; '.join(steps)}",
    )


def run_session(s: Session, *, chunks: Iterator[bytes] | None = None) -> list[Event]:
    """Feed a session through a codec as a driver would; return the events.

    Raises:
        RemoteProtocolError: the only error the codec may raise on what a modem sends.
    """
    codec = AtCodec(max_line=s.max_line)
    pending, answers = list(s.commands), list(s.answers)
    events: list[Event] = []
    sent = finals = 0
    if pending:
        codec.send(pending.pop(0))
        sent += 1

    def drain() -> None:
        nonlocal sent, finals
        while (event := codec.next_event()) is not NEED_DATA:
            events.append(event)
            finals += isinstance(event, FinalResult)
            assert finals <= sent, "a final result with no command in flight"
            if isinstance(event, Prompt) and not (PROMPT_BUG_OPEN and codec.command is None):
                if answers.pop(0) if answers else True:
                    codec.send_data(_PDU)
                else:
                    codec.abort()
            if len(events) == s.cancel_after and codec.command is not None:
                codec.cancel()
            if isinstance(event, FinalResult) and pending and codec.command is None:
                codec.send(pending.pop(0))
                sent += 1

    for chunk in s.chunks() if chunks is None else chunks:
        if chunk:  # b"" would mean end of stream
            codec.receive_data(chunk)
            drain()
    codec.receive_data(b"")
    drain()
    return events


def check_session(s: Session) -> None:
    """Any session gives events (Garbage for noise) or at most a RemoteProtocolError."""
    CHECKED["at"] += 1
    try:
        events = run_session(s)
    except RemoteProtocolError:
        return
    assert all(isinstance(event, Event) for event in events)


def check_chunking(s: Session) -> None:
    """With no line over the cap, the chunking never changes the events."""
    CHECKED["at-chunking"] += 1
    # A line over the cap is kept whole in one chunk but dropped in small ones, by design:
    # raise the cap above the longest line.
    longest = max((len(line) for line in _LINE.findall(s.data)), default=0)
    s = replace(s, max_line=max(s.max_line, longest))
    if PROMPT_BUG_OPEN and any(_PROMPT_COMMAND.match(command) for command in s.commands):
        return
    try:
        whole = run_session(s, chunks=iter([s.data]))
    except RemoteProtocolError:
        return
    assert run_session(s) == whole


@dataclass(frozen=True, slots=True)
class Flood:
    """A session's bytes repeated until ``total`` bytes have been fed, ``chunk`` at a time."""

    pattern: bytes
    total: int
    chunk: int
    max_line: int
    command: str | None
    origin: str


def flood(c: Chooser) -> Flood:
    """A noisy transcript (or plain random bytes) fed over and over, maybe during a command."""
    s = session(c)
    pattern = s.data if s.data and not chance(c, 8) else c.binary(256)
    chunk = pick(c, CHUNK_SIZES)
    return Flood(
        pattern=pattern,
        total=min(max(FLOOD_CHUNKS * chunk, 4 * s.max_line + chunk), FLOOD_BYTES),
        chunk=chunk,
        max_line=s.max_line,
        command=pick(c, (None, *HOST_COMMANDS)),
        origin=s.origin,
    )


def memory_bound(f: Flood) -> int:
    """The most the codec may allocate while fed: its cap and one chunk, a few times over."""
    return 8 * (f.max_line + f.chunk) + MEMORY_SLACK


def check_memory(f: Flood) -> None:
    """However much is fed, the codec's peak allocation stays under ``memory_bound``."""
    CHECKED["at-memory"] += 1
    stream = f.pattern * (f.total // len(f.pattern) + 1)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        codec = AtCodec(max_line=f.max_line)
        if f.command is not None:
            codec.send(f.command)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for pos in range(0, f.total, f.chunk):
            codec.receive_data(stream[pos : pos + f.chunk])
            while codec.next_event() is not NEED_DATA:
                pass
        current, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    assert peak - before <= memory_bound(f), f"peak {peak - before} bytes"
    assert current - before <= 2 * f.max_line + MEMORY_SLACK, f"kept {current - before} bytes"
