"""A small AT session for the diagnostic commands, as a thin layer over the modem driver.

``gsmgw at`` prints answers as the modem sent them (the driver's raw tap); ``probe`` and
``scan`` ask typed questions with the declarations of :mod:`gsmgw.at.commands` through
``Modem.execute``. Neither configures the modem the way the daemon does (no CNMI, no storage
choice) and the driver reads no message on its own here: looking must not change it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pathlib import Path

    from gsmgw.at import FinalResult, InfoLine
    from gsmgw.at.commands import Command
    from gsmgw.modem import Modem

T = TypeVar("T")
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Answer:
    """What a modem said to one command."""

    command: str
    lines: tuple[str, ...]
    ok: bool
    prompt: bool = False
    #: The final result (None after a prompt, a timeout or a lost port) and information lines.
    final: FinalResult | None = None
    info: tuple[InfoLine, ...] = ()
    timed_out: bool = False


class AtSession:
    """One modem driver, one command at a time; the bytes it reads kept raw to print as sent."""

    def __init__(
        self, modem: Modem, *, command_timeout: float, on_unsolicited: Callable[[str], None]
    ) -> None:
        self.modem = modem
        self._command_timeout = command_timeout
        self._on_unsolicited = on_unsolicited
        self._raw = bytearray()
        self._running = False
        modem.add_tap(self._tapped)

    @property
    def closed(self) -> bool:
        """True once the port is gone."""
        return self.modem.closed

    def _tapped(self, incoming: bool, data: bytes) -> None:
        if not incoming:
            return
        self._raw += data
        if not self._running:
            for line in self.take_lines():
                self._on_unsolicited(line)

    def take_lines(self) -> list[str]:
        """Complete lines received so far (and a trailing ``> `` prompt), as text."""
        text = bytes(self._raw)
        last = max(text.rfind(b"\r"), text.rfind(b"\n"))
        keep = b""
        if text.endswith(b"> ") or text.endswith(b">"):
            last = len(text)
        elif last >= 0:
            keep, text = text[last + 1 :], text[: last + 1]
        else:
            keep, text = text, b""
        self._raw = bytearray(keep)
        parts = _LINE_END.split(text)
        return [p.decode("latin-1") for p in parts if p.strip()]

    async def execute(
        self, command: str, *, data: bool = False, limit: float | None = None
    ) -> Answer:
        """Send a command line (or, after a prompt, the PDU with Ctrl-Z); wait for its answer.

        An empty ``command`` with ``data`` sends ESC. ``limit`` overrides the session's
        seconds to wait for the final result.
        """
        from gsmgw.errors import LocalProtocolError

        if self.closed:
            return Answer(command, ("(port closed)",), ok=False)
        seconds = limit or self._command_timeout
        self._running = True
        self.take_lines()  # anything before our command is not its answer
        try:
            if data:
                said = await self.modem.converse_data(command or None, limit=seconds)
            else:
                said = await self.modem.converse(command, limit=seconds)
        except LocalProtocolError as exc:
            return Answer(command, (str(exc),), ok=False)
        finally:
            self._running = False
        lines = tuple(line for line in self.take_lines() if line.strip() != command.strip())
        if said.timed_out:
            return Answer(command, (*lines, "(no answer)"), ok=False, timed_out=True)
        if said.prompt:
            return Answer(command, lines, ok=True, prompt=True, info=said.lines)
        if said.final is None:
            return Answer(command, (*lines, "(port closed)"), ok=False)
        return Answer(command, lines, ok=said.final.ok, final=said.final, info=said.lines)

    async def query(self, command: Command[T]) -> T:
        """Run a declared command and parse its answer (``Modem.execute``).

        Raises:
            CommandError: ERROR, +CME ERROR or +CMS ERROR. ModemTimeout: no answer in time.
            ModemUnavailable: the port went away. RemoteProtocolError: an answer we cannot parse.
        """
        self._running = True
        try:
            return await self.modem.execute(command)
        finally:
            self._running = False
            self.take_lines()


@contextlib.asynccontextmanager
async def open_session(
    spec: str,
    *,
    command_timeout: float,
    on_unsolicited: Callable[[str], None] = lambda _: None,
    trace: Path | None = None,
) -> AsyncIterator[AtSession]:
    """Open a port (device path or ``sim:NAME``) and run a session on it until the exit.

    ``trace`` names a file that gets every byte in and out (see :mod:`gsmgw.modem.trace`).
    """
    from gsmgw.cli.ports import opened_modem

    async with opened_modem(spec, trace=trace) as modem:
        session = AtSession(modem, command_timeout=command_timeout, on_unsolicited=on_unsolicited)
        # Nobody here wants the driver's typed events: drain them so the queue never fills.
        drain = asyncio.create_task(_drain(modem))
        try:
            yield session
        finally:
            drain.cancel()
            await asyncio.gather(drain, return_exceptions=True)


async def _drain(modem: Modem) -> None:
    async for _ in modem.events():
        pass


async def wake(session: AtSession, *, limit: float) -> None:
    """Get the modem's attention and turn echo off; ModemTimeout when nothing answers AT."""
    from gsmgw.errors import ModemTimeout

    # Twice: the first AT may meet boot noise or a half-typed line.
    if not any([(await session.execute("AT", limit=limit)).ok for _ in range(2)]):
        raise ModemTimeout("AT", limit)
    await session.execute("ATE0", limit=limit)
