"""The async driver of one modem: a port, a codec, a lock, a reader task, typed events.

Theory of operation
-------------------
A reader task reads the port, feeds the pure :class:`~gsmgw.at.codec.AtCodec` and routes
what comes out: information lines, the prompt and the final result go to the one command
in flight; URCs update the cached registration and signal and become :mod:`events
<gsmgw.modem.events>`. Received messages become events too (receive.py); the driver never
reads, deletes or acknowledges one on its own: its consumer calls ``read``, ``delete`` and
``acknowledge`` once the message is stored.

``execute`` holds the lock (one command in flight, as a modem can only take one), registers
its waiter *before* writing, waits under the command's deadline and removes the waiter on
every exit path. AT+CMGS has two phases (TS 27.005 §3.5.1): until the ``> `` prompt it can
be undone, so a cancelled or timed-out caller aborts with ESC; once the PDU and Ctrl-Z are
being written it cannot, so that phase runs in a task of its own that keeps the lock until
the modem answers or the deadline passes, while the caller's cancellation goes through.

A command declared ``final_optional`` (AT+CPIN?) is complete once its own information line
has come and no final result followed within ``FINAL_GRACE``: an old Wavecom never sends
that OK. A raw tap (``add_tap``) sees every byte in and out, for ``gsmgw at`` and traces;
``converse`` runs free text for ``gsmgw at`` and returns the final result instead of raising,
stopping at a ``> `` prompt until ``converse_data`` gives the PDU (or ESC).

When the port dies (EOF, EIO, a write error) every waiter fails with ModemUnavailable and
the event stream ends with ModemClosed; the supervisor reopens. A command that times out
triggers a short AT probe: a modem that does not answer that either is treated as gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
import logging
from typing import Any, TypeVar

from gsmgw.at import commands as at
from gsmgw.at.codec import AtCodec, CodecState
from gsmgw.at.events import (
    NEED_DATA,
    Event,
    FinalResult,
    InfoLine,
    MessageDelivered,
    NewMessageIndication,
    Prompt,
    ResultKind,
    StatusReportDelivered,
    StatusReportIndication,
    Urc,
    UssdReceived,
)
from gsmgw.at.values import Registration, SignalQuality, UssdResponse
from gsmgw.errors import CommandError, LocalProtocolError, ModemTimeout, ModemUnavailable
from gsmgw.modem import setup, urcs
from gsmgw.modem.events import (
    Capabilities,
    ModemClosed,
    ModemEvent,
    ModemInfo,
    StoredMessage,
)
from gsmgw.modem.port import Port
from gsmgw.modem.profiles import GENERIC, Profile
from gsmgw.modem.receive import Receiver
from gsmgw.modem.ussd import decode_ussd

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# All of these are in seconds.
ABORT_TIMEOUT = 2.0  # for the OK after ESC
STALE_PROMPT_SETTLE = 0.2  # for the OK after the ESC of end_stale_prompt, before our first AT
ESC_LINE = b"\x1b\r"
PROBE_TIMEOUT = 3.0  # the AT sent after a command timed out
#: After the information line of a ``final_optional`` command: how long an OK may still take.
FINAL_GRACE = 0.5
EVENT_QUEUE_SIZE = 256

#: A raw tap: called with (incoming, data) for every chunk read from or written to the port.
Tap = Callable[[bool, bytes], None]


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a modem said to one free-text command (``converse``): nothing raised."""

    command: str
    lines: tuple[InfoLine, ...]
    #: None after a prompt, a timeout or a lost port.
    final: FinalResult | None
    prompt: bool = False
    timed_out: bool = False


@dataclass(eq=False)
class _Pending:
    """The waiter of the command in flight."""

    command: str
    prompt: asyncio.Future[bool]
    done: asyncio.Future[FinalResult]
    lines: list[InfoLine] = field(default_factory=list)
    final_optional: bool = False
    grace: asyncio.TimerHandle | None = None


class Modem:
    """One modem on one port: commands, operations and a stream of typed events."""

    def __init__(
        self,
        port: Port,
        *,
        name: str,
        profile: Profile = GENERIC,
        event_queue_size: int = EVENT_QUEUE_SIZE,
    ) -> None:
        if event_queue_size < 2:
            raise ValueError("the event queue needs room for at least two events")
        self.name = name
        self.profile = profile
        self._port = port
        self._codec = AtCodec()
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._events: asyncio.Queue[ModemEvent | None] = asyncio.Queue(event_queue_size)
        self._receiver = Receiver(self)
        self._ussd_waiters: list[asyncio.Future[UssdResponse]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._taps: list[Tap] = []
        self._at_prompt: _Pending | None = None  # converse() left the modem at "> "
        self._error: ModemUnavailable | None = None
        self._closed = asyncio.Event()
        #: Set by initialize(); None before.
        self.info: ModemInfo | None = None
        self.registrations: dict[str, Registration] = {}
        self.signal: SignalQuality | None = None
        self.operator: str | None = None
        self.storage: str | None = None
        #: What this modem can do, found by initialize(); None before.
        self.capabilities: Capabilities | None = None
        #: Counters for the health topic.
        self.dropped_events = 0
        self.garbage = 0
        #: True once initialized: a boot marker then means the modem restarted.
        self.ready = False

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reader task; the driver reads no message on its own (its inbox does)."""
        self._spawn(self._read_loop(), "reader")

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap(incoming, data)`` with every chunk read or written, as it is."""
        self._taps.append(tap)

    async def close(self) -> None:
        """Fail pending commands, stop the tasks and close the port."""
        self._fail(ModemUnavailable("closed"))
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._port.close()

    async def wait_closed(self) -> ModemUnavailable:
        """Wait until the port died or was closed, and return why."""
        await self._closed.wait()
        assert self._error is not None
        return self._error

    @property
    def closed(self) -> bool:
        """True once the port died or was closed."""
        return self._error is not None

    @property
    def busy(self) -> bool:
        """True while a command is in flight (it proves the modem answers, or times out)."""
        return self._lock.locked()

    @property
    def registered(self) -> bool:
        """True when any domain (CS, PS, EPS) reports a registration that carries SMS."""
        return any(r.registered for r in self.registrations.values())

    async def events(self) -> AsyncIterator[ModemEvent]:
        """Yield events until the port closes (the last one is ModemClosed). One consumer."""
        while (event := await self._events.get()) is not None:
            yield event

    # -- commands --------------------------------------------------------------------------

    async def execute(self, command: at.Command[T]) -> T:
        """Run one command and return its parsed answer.

        Raises:
            CommandError: ERROR, +CME ERROR or +CMS ERROR.
            ModemTimeout: no final result within the command's timeout.
            ModemUnavailable: the port is gone.
            RemoteProtocolError: an answer that does not parse.
        """
        final, lines = await self._run(command)
        if not final.ok:
            raise CommandError(
                command.text, kind=final.error_kind.value, code=final.code, text=final.text
            )
        return command.parse(lines)

    async def _run(self, command: at.Command[Any]) -> tuple[FinalResult, list[InfoLine]]:
        loop = asyncio.get_running_loop()
        # Waiting for the lock is bounded by the commands before us, each by its timeout.
        await self._lock.acquire()
        deadline = loop.time() + command.timeout
        pending = _Pending(
            command.text,
            loop.create_future(),
            loop.create_future(),
            final_optional=command.final_optional,
        )
        handed_off = False
        try:
            self._check_open()
            self._pending = pending  # registered before the first byte is written
            async with asyncio.timeout_at(deadline):
                await self._write(self._codec.send(command.text))
                if command.data is None or not await self._prompted(pending):
                    return await pending.done, pending.lines
            task = self._spawn(self._finish_data(pending, command, deadline), "send")
            handed_off = True
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                task.add_done_callback(self._log_abandoned_send)
                raise
        except TimeoutError:
            self._after_timeout(command.text)
            raise ModemTimeout(command.text, command.timeout) from None
        finally:
            if not handed_off:
                self._release(pending)

    async def _prompted(self, pending: _Pending) -> bool:
        """Wait for the prompt (True) or a final result instead (False); ESC if abandoned."""
        try:
            return await pending.prompt
        except BaseException:
            await asyncio.shield(self._abort(pending))
            raise

    async def _abort(self, pending: _Pending) -> None:
        """ESC cancels the input of AT+CMGS (TS 27.005 §3.5.1); wait briefly for its OK."""
        if self._error is not None or self._codec.state not in (
            CodecState.AWAIT_PROMPT,
            CodecState.AWAIT_DATA,
        ):
            return
        LOGGER.info("%s: aborting %s with ESC", self.name, pending.command)
        try:
            await self._write(self._codec.abort())
            async with asyncio.timeout(ABORT_TIMEOUT):
                await pending.done
        except (TimeoutError, ModemUnavailable):
            pass

    async def _finish_data(
        self, pending: _Pending, command: at.Command[Any], deadline: float
    ) -> tuple[FinalResult, list[InfoLine]]:
        """Write the PDU and Ctrl-Z and wait for the answer; cannot be undone, so not cancelled."""
        assert command.data is not None
        try:
            async with asyncio.timeout_at(deadline):
                if not pending.done.done():  # a final result may have beaten us to it
                    await self._write(self._codec.send_data(command.data))
                final = await pending.done
        except TimeoutError:
            self._after_timeout(command.text)
            raise ModemTimeout(command.text, command.timeout) from None
        finally:
            self._release(pending)
        return final, pending.lines

    def _log_abandoned_send(self, task: asyncio.Task[tuple[FinalResult, list[InfoLine]]]) -> None:
        """Log what became of a send whose caller left after Ctrl-Z."""
        if task.cancelled() or task.exception() is not None:
            LOGGER.warning("%s: abandoned send: outcome unknown", self.name)
        else:
            final, lines = task.result()
            LOGGER.warning("%s: abandoned send finished: %s %s", self.name, final, lines)

    async def end_stale_prompt(self) -> None:
        """Write ESC and CR in case another process left the modem at a ``> `` prompt.

        A daemon killed between ``AT+CMGS=<n>`` and Ctrl-Z leaves the modem taking every later
        byte as PDU text, so our first ``AT`` would never be answered. ESC ends that input
        without sending (TS 27.005 §3.5.1); in command mode ESC and CR make a line without
        ``AT``, which modems ignore (V.250 §5.2.1). The OK an ESC may earn arrives while
        nothing is in flight and is dropped as a stray answer.
        """
        async with self._lock:
            self._check_open()
            await self._write(ESC_LINE)
            await asyncio.sleep(STALE_PROMPT_SETTLE)

    async def converse(self, text: str, *, limit: float) -> Conversation:
        """Run one free-text command line and return what the modem said; never raises on ERROR.

        At a ``> `` prompt (AT+CMGS=<n>) the modem stays held, its lock taken, until
        :meth:`converse_data` answers the prompt.

        Raises:
            LocalProtocolError: not one command line, or the modem still waits for a PDU.
        """
        if self._at_prompt is not None:
            raise LocalProtocolError("the modem waits for the PDU after its prompt")
        loop = asyncio.get_running_loop()
        await self._lock.acquire()
        pending = _Pending(text, loop.create_future(), loop.create_future())
        held = False
        try:
            if self._error is not None:
                return Conversation(text, (), None)
            raw = self._codec.send(text)
            self._pending = pending
            await self._write(raw)
            async with asyncio.timeout(limit):
                await asyncio.wait((pending.prompt, pending.done), return_when="FIRST_COMPLETED")
            if _result(pending.prompt) is True:
                self._at_prompt, held = pending, True
                return Conversation(text, tuple(pending.lines), None, prompt=True)
            return Conversation(text, tuple(pending.lines), _result(pending.done))
        except TimeoutError:
            await asyncio.shield(self._abort(pending))
            return Conversation(text, tuple(pending.lines), None, timed_out=True)
        except ModemUnavailable:
            return Conversation(text, tuple(pending.lines), None)
        finally:
            if not held:
                self._release(pending)

    async def converse_data(self, data: str | None, *, limit: float) -> Conversation:
        """Answer the prompt :meth:`converse` stopped at: the PDU and Ctrl-Z, or ESC for None."""
        pending, self._at_prompt = self._at_prompt, None
        if pending is None:
            raise LocalProtocolError("no prompt to answer")
        command = data or ""
        try:
            if self._error is not None:
                return Conversation(command, (), None)
            await self._write(self._codec.send_data(data) if data else self._codec.abort())
            async with asyncio.timeout(limit):
                await asyncio.wait((pending.done,))
            return Conversation(command, tuple(pending.lines), _result(pending.done))
        except TimeoutError:
            return Conversation(command, tuple(pending.lines), None, timed_out=True)
        except ModemUnavailable:
            return Conversation(command, tuple(pending.lines), None)
        finally:
            self._release(pending)

    def _release(self, pending: _Pending) -> None:
        if pending.grace is not None:
            pending.grace.cancel()
        if self._pending is pending:
            self._pending = None
            if self._codec.state is not CodecState.IDLE:
                self._codec.cancel()  # late lines of an abandoned command become unsolicited
        for future in (pending.prompt, pending.done):
            if not future.done():
                future.cancel()
        self._lock.release()

    def _after_timeout(self, command: str) -> None:
        if command != at.AT.text and self._error is None:
            self._spawn(self._probe(command), "probe")

    async def _probe(self, after: str) -> None:
        """After a timeout: a modem that does not even answer AT is hung; treat it as gone."""
        try:
            await self.execute(at.Command("AT", at.parse_none, timeout=PROBE_TIMEOUT))
        except ModemTimeout:
            self._fail(ModemUnavailable(f"{self.name}: no answer after {after} timed out: hung"))
        except (CommandError, ModemUnavailable):
            pass

    async def _write(self, data: bytes) -> None:
        LOGGER.debug("%s -> %r", self.name, data)
        for tap in self._taps:
            tap(False, data)
        try:
            await self._port.write(data)
        except ModemUnavailable as exc:
            self._fail(exc)
            raise

    def _check_open(self) -> None:
        if self._error is not None:
            raise ModemUnavailable(str(self._error)) from self._error

    # -- operations ------------------------------------------------------------------------

    async def initialize(self, *, pin: str | None = None) -> ModemInfo:
        """Set the modem up for PDU-mode SMS and return what it is (see modem/setup.py).

        Raises:
            SimError: no SIM, PUK needed, PIN needed but none given, or the PIN was wrong.
        """
        self.ready = False
        self.info = await setup.initialize(self, pin=pin)
        self.ready = True
        return self.info

    async def send_pdu(self, pdu_hex: str, tpdu_length: int) -> int:
        """Send one SMS part (SMSC field + TPDU, hex) and return its TP-MR.

        Raises:
            CommandError: ``.kind == "CMS"``; ``gsmgw.at.codes.is_temporary`` says retry or not.
        """
        return await self.execute(at.cmgs(pdu_hex.upper(), tpdu_length))

    async def read_stored(self) -> list[StoredMessage]:
        """List every stored message (AT+CMGL=4); entries without a usable PDU are skipped."""
        result = []
        for entry in await self.execute(at.CMGL_ALL):
            pdu = self._receiver.pdu_bytes(entry.pdu, f"+CMGL index {entry.index}")
            if pdu is not None and entry.index is not None:
                result.append(StoredMessage(entry.index, entry.stat, pdu, self.storage))
        return result

    async def read(self, index: int) -> bytes | None:
        """Read one stored message (AT+CMGR); None when the location is empty or not a PDU."""
        stored = await self.execute(at.cmgr(index))
        return self._receiver.pdu_bytes(stored.pdu if stored else None, f"+CMGR index {index}")

    async def delete(self, index: int) -> None:
        """Delete a stored message: call only once it is stored safely elsewhere."""
        await self.execute(at.cmgd(index))

    async def acknowledge(self, *, positive: bool = True) -> None:
        """Acknowledge the last +CMT/+CDS (AT+CNMA), or refuse it (AT+CNMA=2, RP-ERROR).

        Call only once it is stored (positive) or could not be (negative): the network
        delivers a refused or unacknowledged message again (TS 27.005 §3.4.4). Nothing to do
        unless the modem runs phase 2+ (AT+CSMS=1), where the modem acknowledges by itself.
        """
        if self.profile.ack_direct:
            await self.execute(at.cnma(positive=positive))

    async def ussd(self, code: str) -> str:
        """Run a USSD request ("*100#") and return the network's answer as text."""
        waiter: asyncio.Future[UssdResponse] = asyncio.get_running_loop().create_future()
        self._ussd_waiters.append(waiter)  # before the request: the answer may come at once
        try:
            response = await self.execute(at.cusd(code))
            if response is None:
                async with asyncio.timeout(at.USSD_TIMEOUT):
                    response = await waiter
        except TimeoutError:
            raise ModemTimeout(f"+CUSD answer to {code}", at.USSD_TIMEOUT) from None
        finally:
            if waiter in self._ussd_waiters:
                self._ussd_waiters.remove(waiter)
            waiter.cancel()
        if response.text is None:
            raise CommandError(f"AT+CUSD {code}", kind="CUSD", code=response.status)
        return decode_ussd(response)

    async def signal_quality(self) -> SignalQuality:
        """Ask AT+CSQ and cache the answer."""
        self.signal = await self.execute(at.CSQ)
        return self.signal

    async def registration(self) -> Registration:
        """Ask AT+CREG? and cache the answer."""
        reg = await self.execute(at.CREG_QUERY)
        self.registrations[reg.kind.value] = reg
        return reg

    async def operator_name(self) -> str | None:
        """Ask AT+COPS? for the operator's name and cache it."""
        self.operator = (await self.execute(at.COPS_QUERY)).name
        return self.operator

    # -- the reader and the worker ---------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            try:
                data = await self._port.read()
            except ModemUnavailable as exc:
                self._fail(exc)
                return
            if not data:
                self._fail(ModemUnavailable(f"{self._port.name}: end of stream (unplugged?)"))
                return
            LOGGER.debug("%s <- %r", self.name, data)
            for tap in self._taps:
                tap(True, data)
            self._codec.receive_data(data)
            while (event := self._codec.next_event()) is not NEED_DATA:
                self._event_received(event)

    def _event_received(self, event: Event) -> None:
        pending = self._pending
        if isinstance(event, Urc):
            self._urc_received(event)
        elif pending is None:
            self.garbage += 1
            LOGGER.debug("%s: ignored %r", self.name, event)
        elif isinstance(event, InfoLine):
            pending.lines.append(event)
            if pending.final_optional and pending.grace is None:
                loop = asyncio.get_running_loop()
                pending.grace = loop.call_later(FINAL_GRACE, self._final_missing, pending)
        elif isinstance(event, Prompt) and not pending.prompt.done():
            pending.prompt.set_result(True)
        elif isinstance(event, FinalResult):
            if not pending.prompt.done():
                pending.prompt.set_result(False)
            if not pending.done.done():
                pending.done.set_result(event)
        else:
            self.garbage += 1
            LOGGER.debug("%s: garbage %r", self.name, event)

    def _final_missing(self, pending: _Pending) -> None:
        """Take a final_optional command as OK: its line came, no final result after it."""
        if self._pending is pending and not pending.done.done():
            LOGGER.debug(
                "%s: %s: no final result after its answer, taken as OK", self.name, pending.command
            )
            self._codec.cancel()  # a very late OK is then a stray line, not the next answer's
            pending.done.set_result(FinalResult(ResultKind.OK))

    def _urc_received(self, urc: Urc) -> None:
        if isinstance(urc, UssdReceived):
            waiters = [w for w in self._ussd_waiters if not w.done()]
            if waiters:
                waiters[0].set_result(urc.response)
                return
        if isinstance(urc, MessageDelivered | StatusReportDelivered):
            self._receiver.delivered(urc)
        elif isinstance(urc, NewMessageIndication | StatusReportIndication):
            self._receiver.indicated(urc)
        else:
            event = urcs.translate(self, urc)
            if event is not None:
                self.emit(event)

    # -- plumbing --------------------------------------------------------------------------

    def emit(self, event: ModemEvent) -> None:
        """Put an event on the stream (for the driver's helpers); a full queue drops it."""
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped_events += 1
            LOGGER.warning("%s: event queue full, %r dropped", self.name, event)

    def _spawn(self, coro: Coroutine[Any, Any, T], what: str) -> asyncio.Task[T]:
        task = asyncio.create_task(coro, name=f"{self.name} {what}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, ModemTimeout | ModemUnavailable | CommandError):
            LOGGER.error("%s: task %s failed", self.name, task.get_name(), exc_info=exc)
            self._fail(ModemUnavailable(f"{self.name}: internal error: {exc!r}"))

    def _fail(self, error: ModemUnavailable) -> None:
        if self._error is not None:
            return
        self._error = error
        self.ready = False
        LOGGER.log(
            logging.INFO if str(error) == "closed" else logging.WARNING, "%s: %s", self.name, error
        )
        pending = self._pending
        if pending is not None:
            for future in (pending.prompt, pending.done):
                if not future.done():
                    future.set_exception(ModemUnavailable(str(error)))
                    future.exception()  # mark retrieved: the caller may be gone already
        for waiter in self._ussd_waiters:
            if not waiter.done():
                waiter.set_exception(ModemUnavailable(str(error)))
                waiter.exception()
        # Room for the last event and the end marker, even in a full queue.
        while self._events.maxsize and self._events.qsize() > self._events.maxsize - 2:
            self._events.get_nowait()
            self.dropped_events += 1
        self._events.put_nowait(ModemClosed(self.name, str(error)))
        self._events.put_nowait(None)
        self._closed.set()


def _result(future: asyncio.Future[T]) -> T | None:
    """Return a settled future's result, or None if it is pending, cancelled or failed."""
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    return future.result()
