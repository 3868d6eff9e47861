"""A small AT session for the diagnostic commands: one command at a time, answers kept raw.

``gsmgw at`` prints answers as the modem sent them; ``probe`` and ``scan`` ask typed
questions with the declarations of :mod:`gsmgw.at.commands`. Neither configures the modem
the way the daemon's driver does (no CNMI, no storage choice): looking must not change it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from gsmgw.at import AtCodec, Event, FinalResult, InfoLine, Prompt
    from gsmgw.at.commands import Command
    from gsmgw.modem.port import Port

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
    """One port, one command at a time; bytes kept raw so answers print as sent."""

    def __init__(
        self, port: Port, *, command_timeout: float, on_unsolicited: Callable[[str], None]
    ) -> None:
        from gsmgw.at import AtCodec

        self._port = port
        self._command_timeout = command_timeout
        self._codec: AtCodec = AtCodec()
        self._raw = bytearray()
        self._waiter: asyncio.Future[FinalResult | Prompt | None] | None = None
        self._info: list[InfoLine] = []
        self._on_unsolicited = on_unsolicited
        self.closed = False

    async def read_loop(self) -> None:
        """Feed the codec until the port ends; finish a waiting command as failed then."""
        from gsmgw.at import NEED_DATA
        from gsmgw.errors import ModemUnavailable

        try:
            while data := await self._port.read():
                self._raw += data
                self._codec.receive_data(data)
                while (event := self._codec.next_event()) is not NEED_DATA:
                    self._event_received(event)
        except ModemUnavailable as exc:
            self._on_unsolicited(f"(port lost: {exc})")
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _event_received(self, event: Event) -> None:
        from gsmgw.at import FinalResult, InfoLine, Prompt

        if self._waiter is None:
            for line in self.take_lines():
                self._on_unsolicited(line)
        elif isinstance(event, InfoLine):
            self._info.append(event)
        elif isinstance(event, FinalResult | Prompt) and not self._waiter.done():
            self._waiter.set_result(event)

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

        ``limit`` overrides the session's seconds to wait for the final result.
        """
        from gsmgw.at import FinalResult, Prompt
        from gsmgw.errors import LocalProtocolError

        if self.closed:
            return Answer(command, ("(port closed)",), ok=False)
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._info = []
        self.take_lines()  # anything before our command is not its answer
        try:
            if data:
                raw = self._codec.abort() if not command else self._codec.send_data(command)
            else:
                raw = self._codec.send(command)
        except LocalProtocolError as exc:
            self._waiter = None
            return Answer(command, (str(exc),), ok=False)
        await self._port.write(raw)
        try:
            async with asyncio.timeout(limit or self._command_timeout):
                result = await self._waiter
        except TimeoutError:
            self._codec.cancel()
            lines = (*self._answer_lines(command), "(no answer)")
            return Answer(command, lines, ok=False, timed_out=True)
        finally:
            self._waiter = None
        lines, info = self._answer_lines(command), tuple(self._info)
        if isinstance(result, Prompt):
            return Answer(command, lines, ok=True, prompt=True, info=info)
        if isinstance(result, FinalResult):
            return Answer(command, lines, ok=result.ok, final=result, info=info)
        return Answer(command, (*lines, "(port closed)"), ok=False)

    async def query(self, command: Command[T]) -> T:
        """Run a declared command and parse its answer.

        Raises:
            CommandError: ERROR, +CME ERROR or +CMS ERROR. ModemTimeout: no answer in time.
            ModemUnavailable: the port went away. RemoteProtocolError: an answer we cannot parse.
        """
        from gsmgw.errors import CommandError, ModemTimeout, ModemUnavailable

        answer = await self.execute(command.text, limit=command.timeout)
        if answer.prompt and command.data is not None:
            answer = await self.execute(command.data, data=True, limit=command.timeout)
        if answer.timed_out:
            raise ModemTimeout(command.text, command.timeout)
        if answer.final is None:
            raise ModemUnavailable(f"{command.text}: the port closed")
        if not answer.final.ok:
            final = answer.final
            raise CommandError(
                command.text, kind=final.error_kind.value, code=final.code, text=final.text
            )
        return command.parse(answer.info)

    def _answer_lines(self, command: str) -> tuple[str, ...]:
        return tuple(line for line in self.take_lines() if line.strip() != command.strip())


@contextlib.asynccontextmanager
async def open_session(
    spec: str, *, command_timeout: float, on_unsolicited: Callable[[str], None] = lambda _: None
) -> AsyncIterator[AtSession]:
    """Open a port (device path or ``sim:NAME``) and run a session on it until the exit."""
    from gsmgw.cli.ports import opened_port

    async with opened_port(spec) as port:
        session = AtSession(port, command_timeout=command_timeout, on_unsolicited=on_unsolicited)
        reader = asyncio.create_task(session.read_loop())
        try:
            yield session
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def wake(session: AtSession, *, limit: float) -> None:
    """Get the modem's attention and turn echo off; ModemTimeout when nothing answers AT."""
    from gsmgw.errors import ModemTimeout

    # Twice: the first AT may meet boot noise or a half-typed line.
    if not any([(await session.execute("AT", limit=limit)).ok for _ in range(2)]):
        raise ModemTimeout("AT", limit)
    await session.execute("ATE0", limit=limit)
