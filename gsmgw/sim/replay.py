"""A simulated modem that answers from a recorded trace (``gsmgw simulate --replay FILE``).

The trace (:mod:`gsmgw.at.trace`) is cut into units: each command line the host wrote
(up to CR), or PDU (up to Ctrl-Z or ESC), with the bytes the modem sent after it until the
host wrote again. A unit from the host now is answered with the recorded answer of the same
unit -- the next one in recorded order if there is one, else the first one anywhere -- and
an unknown one with ERROR. The modem's bytes before the first command are its boot lines.
So a user's trace of a modem we have never seen becomes a test case.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gsmgw.at.trace import Chunk, parse_trace
from gsmgw.sim.device import SimModem
from gsmgw.sim.profiles import GENERIC

_ENDS = b"\r\x1a\x1b"


class ReplayModem(SimModem):
    """A SimModem whose every answer comes from a trace file."""

    def __init__(self, path: Path) -> None:
        super().__init__(replace(GENERIC, name="replay"))
        with path.open(encoding="utf-8") as file:
            self.boot, self.units = units_of(parse_trace(file, name=str(path)))
        self._cursor = 0
        self._typed = bytearray()

    def power_on(self) -> None:
        """Send the recorded boot bytes."""
        self._cursor = 0
        if self.boot and self.output is not None:
            self.output(self.boot)

    def feed(self, data: bytes) -> None:
        """Bytes from the host: answer each complete unit from the recording."""
        if self.hung:
            return
        self._typed += data
        while (end := next((i for i, b in enumerate(self._typed) if b in _ENDS), -1)) >= 0:
            unit = bytes(self._typed[: end + 1])
            del self._typed[: end + 1]
            answer = self._answer(_key(unit))
            if answer and self.output is not None:
                self.output(answer)

    def _answer(self, key: str) -> bytes:
        if not key:
            return b""
        found = [i for i, (k, _) in enumerate(self.units) if k == key]
        if not found:
            return b"\r\nERROR\r\n"
        later = [i for i in found if i >= self._cursor]
        index = later[0] if later else found[0]
        self._cursor = index + 1
        return self.units[index][1]


def _key(unit: bytes) -> str:
    text = unit.decode("latin-1")
    mark = "^Z" if text.endswith("\x1a") else "^[" if text.endswith("\x1b") else ""
    body = text.strip("\r\n\x1a\x1b \t").upper()
    return body + mark if body or mark else ""


def units_of(chunks: list[Chunk]) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Cut a trace into boot bytes and (host unit, modem answer) pairs."""
    boot = bytearray()
    units: list[tuple[str, bytearray]] = []
    partial = bytearray()
    for chunk in chunks:
        if not chunk.from_host:
            (units[-1][1] if units else boot).extend(chunk.data)
            continue
        partial += chunk.data
        while (end := next((i for i, b in enumerate(partial) if b in _ENDS), -1)) >= 0:
            key = _key(bytes(partial[: end + 1]))
            del partial[: end + 1]
            if key:
                units.append((key, bytearray()))
    return bytes(boot), [(k, bytes(v)) for k, v in units]
