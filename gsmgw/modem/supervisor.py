"""Keeps one modem working: open, initialize, watch its health, reopen with backoff.

The loop follows aioesphomeapi's reconnect logic: a failure closes the port and waits
``min(backoff_base * 1.8**tries, backoff_max)`` before the next try; a success resets
``tries``. What retrying cannot fix (no SIM, PUK, wrong PIN) waits ``operator_delay``, the
longest, and a rejected PIN is never entered again. A health ping (``AT``) that fails counts
as a disconnect (zigpy's watchdog), and an unplugged port is simply reopened by its path
(a ``/dev/serial/by-id`` link comes back when udev recreates it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import logging

from gsmgw.at import commands as at
from gsmgw.errors import (
    CommandError,
    GsmgwError,
    ModemTimeout,
    ModemUnavailable,
    RemoteProtocolError,
    SimError,
)
from gsmgw.modem.driver import Modem
from gsmgw.modem.events import (
    ModemClosed,
    ModemEvent,
    ModemInfo,
    ModemRestarted,
    ModemState,
    ModemStateChanged,
    RegistrationChanged,
    SignalChanged,
)
from gsmgw.modem.port import open_port
from gsmgw.modem.profiles import GENERIC, Profile
from gsmgw.modem.setup import WrongPin, refresh
from gsmgw.modem.trace import trace_for

LOGGER = logging.getLogger(__name__)

EVENT_QUEUE_SIZE = 512


@dataclass(frozen=True, slots=True)
class Timing:
    """The supervisor's durations, in seconds; tests shorten them."""

    backoff_base: float = 1.0
    backoff_max: float = 60.0
    #: After a SIM problem only a person can fix (wrong PIN, PUK, no SIM).
    operator_delay: float = 600.0
    health_interval: float = 30.0
    ping_timeout: float = 5.0
    #: The slow periodic check of registration, signal and operator.
    refresh_interval: float = 300.0
    #: Consecutive failures after which AT+CFUN=1,1 restarts the modem (0: never).
    reset_after: int = 5

    def __post_init__(self) -> None:
        if min(self.backoff_base, self.backoff_max, self.health_interval, self.ping_timeout) <= 0:
            raise ValueError("durations must be positive")

    def backoff(self, tries: int) -> float:
        """Return the wait before try number ``tries`` + 1."""
        return float(min(self.backoff_base * 1.8**tries, self.backoff_max))


class Supervisor:
    """Runs one modem for as long as ``run()`` runs; ``modem`` is set while it is READY."""

    def __init__(
        self,
        spec: str,
        *,
        name: str,
        pin: str | None = None,
        baudrate: int = 115200,
        profile: Profile = GENERIC,
        timing: Timing | None = None,
    ) -> None:
        self.spec = spec
        self.name = name
        self.timing = timing or Timing()
        self.state = ModemState.STOPPED
        self.last_error: str | None = None
        #: Set while READY; None otherwise.
        self.modem: Modem | None = None
        self.info: ModemInfo | None = None
        self.reconnects = 0
        self.dropped_events = 0
        self._pin = pin
        self._baudrate = baudrate
        self._profile = profile
        self._events: asyncio.Queue[ModemEvent] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._state_changed = asyncio.Condition()

    async def events(self) -> AsyncIterator[ModemEvent]:
        """Yield the modem's events and the supervisor's state changes, for ever."""
        while True:
            yield await self._events.get()

    async def wait_for(self, *states: ModemState) -> ModemState:
        """Wait until the state is one of ``states`` and return it."""
        async with self._state_changed:
            await self._state_changed.wait_for(lambda: self.state in states)
            return self.state

    async def wait_ready(self) -> Modem:
        """Wait until the modem is READY (with a driver that is not closed) and return it."""

        def usable() -> bool:
            return (
                self.state is ModemState.READY and self.modem is not None and not self.modem.closed
            )

        async with self._state_changed:
            await self._state_changed.wait_for(usable)
        assert self.modem is not None
        return self.modem

    async def run(self) -> None:
        """Open, initialize and watch the modem, reopening after failures, until cancelled."""
        tries = 0
        try:
            while True:
                try:
                    delay: float | None = await self._attempt(tries)
                except Exception as exc:  # the task boundary of this modem: log, back off
                    LOGGER.exception("%s: unexpected failure", self.name)
                    await self._set_state(ModemState.FAILED, repr(exc))
                    delay = self.timing.backoff(tries)
                tries = 0 if delay is None else tries + 1
                if delay is not None:
                    LOGGER.info("%s: next try in %.1f s", self.name, delay)
                    await asyncio.sleep(delay)
                self.reconnects += 1
        finally:
            await self._set_state(ModemState.STOPPED)

    async def _attempt(self, tries: int) -> float | None:
        """One life of the modem; return the delay before the next, or None after a good run."""
        await self._set_state(ModemState.OPENING)
        try:
            port = await open_port(self.spec, baudrate=self._baudrate)
        except ModemUnavailable as exc:
            await self._set_state(ModemState.FAILED, str(exc))
            return self.timing.backoff(tries)
        modem = Modem(port, name=self.name, profile=self._profile)
        tracer = trace_for(self.name, self.spec)
        if tracer is not None:
            modem.add_tap(tracer.write)
        try:
            await modem.start()
            await self._set_state(ModemState.INITIALIZING)
            self.info = await modem.initialize(pin=self._pin)
            self.modem = modem
            await self._set_state(ModemState.READY)
            state, error, delay = ModemState.FAILED, await self._watch(modem), None
        except SimError as exc:
            if isinstance(exc, WrongPin):
                self._pin = None  # never again: three wrong PINs lock the SIM
            LOGGER.error("%s", exc)
            state, error, delay = ModemState.NEEDS_OPERATOR, str(exc), self.timing.operator_delay
        except (ModemUnavailable, ModemTimeout, CommandError, RemoteProtocolError) as exc:
            if self.timing.reset_after and tries + 1 >= self.timing.reset_after:
                await self._reset(modem)
            state, error, delay = ModemState.FAILED, str(exc), self.timing.backoff(tries)
        finally:
            self.modem = None
            await asyncio.shield(modem.close())
            if tracer is not None:
                tracer.close()
        await self._set_state(state, error)  # announced once the port is closed
        return delay

    async def _reset(self, modem: Modem) -> None:
        """AT+CFUN=1,1: restart a modem that answers but keeps failing (TS 27.007 §8.2)."""
        if modem.closed:
            return
        LOGGER.warning("%s: restarting the modem with AT+CFUN=1,1", self.name)
        with contextlib.suppress(GsmgwError):
            await modem.execute(at.CFUN_RESET)

    async def _watch(self, modem: Modem) -> str:
        """Forward events and ping until the modem dies or restarts; return why it ended."""
        tasks = [
            asyncio.create_task(self._forward(modem), name=f"{self.name} forward"),
            asyncio.create_task(self._health(modem), name=f"{self.name} health"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return done.pop().result()
        except (ModemTimeout, ModemUnavailable) as exc:
            return f"health check failed: {exc}"
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _forward(self, modem: Modem) -> str:
        async for event in modem.events():
            self._emit(event)
            if isinstance(event, ModemClosed):
                return event.error or "closed"
            if isinstance(event, ModemRestarted):
                return f"the modem restarted ({event.marker})"
        return "closed"

    async def _health(self, modem: Modem) -> str:
        """Ping when idle (a failed ping is a disconnect); refresh the network state slowly."""
        ping = at.Command("AT", at.parse_none, timeout=self.timing.ping_timeout)
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + self.timing.refresh_interval
        while True:
            await asyncio.sleep(self.timing.health_interval)
            if modem.busy:
                continue  # the running command has its own timeout
            with contextlib.suppress(CommandError):
                await modem.execute(ping)
            if loop.time() >= next_refresh:
                next_refresh = loop.time() + self.timing.refresh_interval
                await self._refresh(modem)

    async def _refresh(self, modem: Modem) -> None:
        before = (dict(modem.registrations), modem.signal)
        await refresh(modem)
        for kind, reg in modem.registrations.items():
            if before[0].get(kind) != reg:
                self._emit(RegistrationChanged(self.name, reg))
        if modem.signal is not None and modem.signal != before[1]:
            self._emit(SignalChanged(self.name, modem.signal))

    async def _set_state(self, state: ModemState, error: str | None = None) -> None:
        if state is self.state and error == self.last_error:
            return
        level = logging.WARNING if state is ModemState.FAILED else logging.INFO
        LOGGER.log(level, "%s: %s%s", self.name, state.value, f": {error}" if error else "")
        self.state = state
        self.last_error = error if error is not None else self.last_error
        self._emit(ModemStateChanged(self.name, state, error))
        async with self._state_changed:
            self._state_changed.notify_all()

    def _emit(self, event: ModemEvent) -> None:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped_events += 1
            LOGGER.warning("%s: supervisor event queue full, %r dropped", self.name, event)
