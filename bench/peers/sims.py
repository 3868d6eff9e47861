"""Simulated modems for the peer benchmark: gsmgw's SimModem on ptys, with a clock on the wire.

Every system under test (gsmgw, gammu-smsd, smstools3) opens the same kind of pseudo-terminal
through a stable symlink (as udev's ``/dev/serial/by-id`` names), so unplug and replug look
the same to all of them. :class:`TimedSimModem` notes the wall-clock time at which each
``AT+CMGS=`` command arrives, which is where every latency figure ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
import time

from gsmgw.sim import Knobs, PtyModem, SentMessage, SimModem
from gsmgw.sms import Encoding

PROFILE = "simcom"  # SIM800: the modem most Raspberry Pi SMS set-ups use
_CMGS = b"AT+CMGS="
#: Silence on the line that means the system has finished initialising the modem.
_QUIET_INTERVAL = 0.5


class TimedSimModem(SimModem):
    """A SimModem that records when each ``AT+CMGS=`` (and any input at all) reaches it."""

    def __init__(self, *, knobs: Knobs) -> None:
        super().__init__(PROFILE, knobs=knobs)
        #: Wall-clock times (time.time()) at which an AT+CMGS command arrived.
        self.cmgs_times: list[float] = []
        #: Wall-clock time of the last byte from the host, and how many arrived.
        self.last_input = 0.0
        self.input_bytes = 0
        self._tail = b""

    def feed(self, data: bytes) -> None:
        """Note the time of every AT+CMGS in ``data`` (even split across reads), then answer."""
        now = time.time()
        window = (self._tail + data).upper()
        start = 0
        while (found := window.find(_CMGS, start)) >= 0:
            if found + len(_CMGS) > len(self._tail):  # not counted with the previous chunk
                self.cmgs_times.append(now)
            start = found + 1
        self._tail = window[-(len(_CMGS) - 1) :]
        self.last_input = now
        self.input_bytes += len(data)
        super().feed(data)

    def cmgs_after(self, moment: float) -> float | None:
        """Return the time of the first AT+CMGS at or after ``moment``, if any."""
        return next((t for t in self.cmgs_times if t >= moment), None)


@dataclass(frozen=True, slots=True)
class Arrived:
    """One message as the simulated network received it: parts joined by their UDH."""

    recipient: str
    text: str
    parts: int
    at: float
    complete: bool = True  # every part of it arrived


def reassemble(sent: Iterable[SentMessage]) -> list[Arrived]:
    """Join SUBMIT parts by (recipient, concatenation reference); TS 23.040 §9.2.3.24.1.

    A part with no text (8-bit data) contributes U+FFFD, so it never matches a text sent.
    """
    groups: dict[tuple[str, int, int], list[SentMessage]] = {}
    singles: list[Arrived] = []
    for message in sent:
        submit = message.submit
        text = submit.text if submit.text is not None else "\ufffd"
        concat = submit.concat
        if concat is None or concat.total == 1:
            singles.append(Arrived(submit.recipient, text, 1, message.at.timestamp()))
            continue
        key = (submit.recipient, concat.ref, concat.total)
        groups.setdefault(key, []).append(message)
    joined: list[Arrived] = []
    for (recipient, _, total), parts in groups.items():
        by_part = {p.submit.concat.part: p for p in parts if p.submit.concat is not None}
        text = "".join(
            (by_part[n].submit.text or "\ufffd") if n in by_part else "\ufffd"
            for n in range(1, total + 1)
        )
        last = max(p.at.timestamp() for p in parts)
        joined.append(Arrived(recipient, text, len(parts), last, len(by_part) == total))
    return sorted(singles + joined, key=lambda a: a.at)


def encodings(sent: Iterable[SentMessage]) -> set[Encoding]:
    """Return the encodings the SUBMITs used."""
    return {m.submit.encoding for m in sent}


class SimBank:
    """Simulated modems on ptys behind stable symlinks ``<directory>/modem<N>``."""

    def __init__(self, directory: Path, count: int, *, send_delay: float = 0.0) -> None:
        self.directory = directory
        knobs = Knobs(send_delay=send_delay, capacity=100)
        self.modems = [
            PtyModem(TimedSimModem(knobs=knobs), link=directory / f"modem{n}", name=f"modem{n}")
            for n in range(count)
        ]

    @property
    def links(self) -> list[str]:
        """The stable paths the systems open."""
        return [str(m.link) for m in self.modems]

    def sim(self, index: int = 0) -> TimedSimModem:
        """Return modem ``index``'s device side."""
        sim = self.modems[index].sim
        assert isinstance(sim, TimedSimModem)
        return sim

    @property
    def sims(self) -> list[TimedSimModem]:
        """Every modem's device side."""
        return [self.sim(n) for n in range(len(self.modems))]

    def sent(self) -> list[SentMessage]:
        """Every SUBMIT accepted by any modem, in time order."""
        return sorted((m for s in self.sims for m in s.sent), key=lambda m: m.at)

    async def start(self) -> None:
        """Power the modems on and drop their boot lines, as a booted modem says nothing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for modem in self.modems:
            await modem.start()
            await modem.settle()

    async def stop(self) -> None:
        """Unplug every modem for good."""
        for modem in self.modems:
            await modem.stop()

    async def wait_quiet(self, *, limit: float) -> bool:
        """Wait until every modem was talked to and then left alone for a moment (initialised)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            now = time.time()
            if all(s.input_bytes and now - s.last_input >= _QUIET_INTERVAL for s in self.sims):
                return True
            await asyncio.sleep(0.1)
        return False
