"""Every configured modem under its supervisor, wired to the dispatcher, receiver and health.

One task per modem runs its ``Supervisor`` and consumes its events: READY attaches the driver to
the dispatcher and asks for a sweep of the SIM (STYLE.md "Receive" 5); any other state detaches
it, so its message in flight goes back to the queue; SMS, status reports, indications and
storage-full go to the modem's ``ModemInbox``, the one consumer that reads and deletes its SIM
locations (a periodic sweep is only a request to it); registration and signal go to routing and
the modem's health. An error in handling one event is logged and the modem goes on; a modem's
failure stays in its own task, which logs it and starts the modem again.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import Any, NoReturn

from gsmgw.config import Config, ModemConfig
from gsmgw.daemon._gateway import Gateway
from gsmgw.dispatch import Dispatcher, Inbound, ModemInbox
from gsmgw.errors import GsmgwError
from gsmgw.modem.events import (
    IncomingSms,
    ModemEvent,
    ModemState,
    ModemStateChanged,
    ReceiveMode,
    RegistrationChanged,
    SignalChanged,
    SmsIndicated,
    StatusReportReceived,
    StorageFull,
)
from gsmgw.modem.supervisor import Supervisor, Timing

LOGGER = logging.getLogger(__package__)

# All of these are in seconds.
#: How often the SIM is swept with AT+CMGL for what a lost +CMTI left behind.
SWEEP_INTERVAL = 300.0
#: The same for a modem without new-message indications (``receive: poll``): its storage is
#: the only way in, so a message waits at most this long; an old modem on 9600 baud lists it
#: in well under a second.
POLL_INTERVAL = 30.0
#: Pause before a modem task that crashed starts again.
RESTART_DELAY = 5.0
#: States after which a modem's first open attempt is over (for sd_notify READY).
_SETTLED = (ModemState.READY, ModemState.FAILED, ModemState.NEEDS_OPERATOR)


class ModemRunner:
    """Runs a supervisor per ``[[modem]]``; ``reload`` adds, removes or restarts them."""

    def __init__(
        self,
        config: Config,
        dispatcher: Dispatcher,
        receiver: Inbound,
        gateway: Gateway,
        *,
        timing: Timing | None = None,
    ) -> None:
        self._config = config
        self._dispatcher = dispatcher
        self._receiver = receiver
        self._gateway = gateway
        self._timing = timing
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, ModemConfig] = {}
        self._settled: set[str] = set()
        self._group: asyncio.TaskGroup | None = None
        self.supervisors: dict[str, Supervisor] = {}
        #: Each running modem's one consumer of received work.
        self.inboxes: dict[str, ModemInbox] = {}
        #: Set once every modem had its first open attempt (or none is configured).
        self.first_attempts = asyncio.Event()

    async def run(self) -> NoReturn:
        """Run every modem until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for modem in self._config.modems:
                self._start(modem)
            self._check_settled()
            await asyncio.Future()  # until cancelled
        raise AssertionError("unreachable")  # pragma: no cover

    def reload(self, config: Config) -> None:
        """Start new modems, stop removed ones, restart those whose port or PIN changed."""
        self._config = config
        wanted = {modem.id: modem for modem in config.modems}
        for modem_id, running in list(self._running.items()):
            new = wanted.get(modem_id)
            if new is None or _reopen_needed(running, new):
                self._stop(modem_id)
        for modem in config.modems:
            if modem.id not in self._running:
                self._start(modem)

    def _start(self, modem: ModemConfig) -> None:
        if self._group is None:
            return
        self._running[modem.id] = modem
        task = self._group.create_task(self._keep(modem), name=f"modem-{modem.id}")
        self._tasks[modem.id] = task

    def _stop(self, modem_id: str) -> None:
        self._running.pop(modem_id, None)
        self.supervisors.pop(modem_id, None)
        self.inboxes.pop(modem_id, None)
        task = self._tasks.pop(modem_id, None)
        if task is not None:
            task.cancel()
        self._dispatcher.detach(modem_id, "removed from the config")
        self._gateway.ussd_links.pop(modem_id, None)

    def _check_settled(self) -> None:
        if self._settled >= set(self._running):
            self.first_attempts.set()

    async def _keep(self, modem: ModemConfig) -> None:
        """Run one modem; if its task fails, log it and start again (never raise)."""
        while True:
            try:
                await self._run_one(modem)
            except asyncio.CancelledError:
                raise
            except Exception:
                LOGGER.exception("%s: modem task failed; starting it again", modem.id)
                if _cancelling():
                    # Python 3.11's TaskGroup raises its children's errors instead of the
                    # CancelledError it was given: restarting here would swallow the shutdown.
                    raise asyncio.CancelledError from None
            self._dispatcher.detach(modem.id, "modem task failed")
            self._settled.add(modem.id)
            self._check_settled()
            await asyncio.sleep(RESTART_DELAY)

    async def _run_one(self, modem: ModemConfig) -> None:
        timing = self._timing or Timing()
        if not modem.reset_on_failure:
            timing = replace(timing, reset_after=0)  # AT+CFUN=1,1 only where the config asks
        supervisor = Supervisor(
            modem.port,
            name=modem.id,
            pin=modem.pin,
            baudrate=modem.baudrate,
            timing=timing,
        )
        self.supervisors[modem.id] = supervisor
        inbox = ModemInbox(self._receiver, modem.id, lambda: supervisor.modem)
        self.inboxes[modem.id] = inbox
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(supervisor.run(), name=f"{modem.id} supervisor")
                group.create_task(inbox.run(), name=f"{modem.id} inbox")
                group.create_task(self._sweeper(inbox, supervisor), name=f"{modem.id} sweep")
                async for event in supervisor.events():
                    await self._on_event(modem.id, supervisor, event)
        finally:
            self._dispatcher.detach(modem.id)
            self._gateway.ussd_links.pop(modem.id, None)

    async def _on_event(self, modem_id: str, supervisor: Supervisor, event: ModemEvent) -> None:
        """Handle one event; what fails is logged and the modem goes on (never raises)."""
        try:
            await self._handle(modem_id, supervisor, event)
        except asyncio.CancelledError:
            raise
        except GsmgwError as exc:  # a full disk in set_health, a modem gone mid-command
            LOGGER.warning("%s: %r not handled: %s", modem_id, event, exc)
        except Exception:  # a task boundary: a bug in one event must not restart the modem
            LOGGER.exception("%s: %r failed", modem_id, event)

    async def _handle(self, modem_id: str, supervisor: Supervisor, event: ModemEvent) -> None:
        inbox = self.inboxes.get(modem_id)
        if isinstance(event, ModemStateChanged):
            await self._on_state(modem_id, supervisor, event)
        elif isinstance(event, RegistrationChanged):
            driver = supervisor.modem
            registered = driver.registered if driver is not None else event.registration.registered
            self._dispatcher.set_registered(modem_id, registered)
            state = event.registration.state.name.lower()
            await self._set_health(modem_id, registration=state)
        elif isinstance(event, SignalChanged):
            await self._set_health(modem_id, signal=event.signal.dbm)
        elif inbox is None:
            return  # not running (being stopped): what the SIM holds waits for the next sweep
        elif isinstance(event, StorageFull):
            inbox.request_sweep()
        elif isinstance(event, IncomingSms | StatusReportReceived | SmsIndicated):
            inbox.put(event)

    async def _on_state(
        self, modem_id: str, supervisor: Supervisor, event: ModemStateChanged
    ) -> None:
        driver = supervisor.modem
        if event.state is ModemState.READY and driver is not None:
            self._dispatcher.set_registered(modem_id, driver.registered or not driver.registrations)
            self._dispatcher.attach(modem_id, driver)
            self._gateway.ussd_links[modem_id] = driver
            info = supervisor.info
            identity = {}
            if info is not None:
                identity = {"manufacturer": info.manufacturer, "model": info.model}
                identity |= {"revision": info.revision, "imei": info.imei}
            inbox = self.inboxes.get(modem_id)
            if inbox is not None:
                inbox.request_sweep()
            registration = next(iter(driver.registrations.values()), None)
            await self._set_health(
                modem_id,
                state=str(event.state),
                operator=driver.operator,
                signal=driver.signal.dbm if driver.signal else None,
                registration=registration.state.name.lower() if registration else None,
                identity=identity,
                capabilities=info.capabilities.to_json() if info is not None else {},
                error=None,
            )
        else:
            self._dispatcher.detach(modem_id, event.error)
            self._gateway.ussd_links.pop(modem_id, None)
            await self._set_health(modem_id, state=str(event.state), error=event.error)
        if event.state in _SETTLED and modem_id not in self._settled:
            self._settled.add(modem_id)
            self._check_settled()

    async def _set_health(self, modem_id: str, **changes: Any) -> None:
        """Update the modem's health; a store that cannot write (disk full) is logged only."""
        try:
            await self._gateway.set_health(modem_id, **changes)
        except GsmgwError as exc:
            LOGGER.warning("%s: health not recorded: %s", modem_id, exc)

    async def _sweeper(self, inbox: ModemInbox, supervisor: Supervisor) -> NoReturn:
        """Ask the modem's inbox for a sweep now and then (it alone reads and deletes).

        A modem that announces nothing (``receive: poll``) is swept every POLL_INTERVAL.
        """
        while True:
            driver = supervisor.modem
            capabilities = driver.capabilities if driver is not None else None
            polled = capabilities is not None and capabilities.receive is ReceiveMode.POLL
            await asyncio.sleep(POLL_INTERVAL if polled else SWEEP_INTERVAL)
            inbox.request_sweep()


def _reopen_needed(old: ModemConfig, new: ModemConfig) -> bool:
    return (old.port, old.baudrate, old.pin) != (new.port, new.baudrate, new.pin)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
