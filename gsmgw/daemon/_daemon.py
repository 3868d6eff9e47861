"""``gsmgw run``: the store, the modems, the dispatcher, the bridges and the control socket.

One TaskGroup holds a ``run()`` per component (STYLE.md §7). A modem's failure stays inside its
own supervisor; anything else that fails ends the daemon non-zero and systemd restarts it.
SIGTERM/SIGINT stop taking work, let a send in progress finish (at most ``DRAIN_TIMEOUT``), then
cancel everything; the store commits what is queued as it closes, and the exit code is 0.
SIGHUP reloads the config file: limits, costs, groups, rules, the opt-out keywords and modems
added or removed apply at once; ``[mqtt]``, ``[http]``, ``[smpp]`` and ``[gateway]`` paths need a
restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, NoReturn

from gsmgw.config import Config, load_config
from gsmgw.core import make_store
from gsmgw.daemon._control import ControlServer
from gsmgw.daemon._gateway import Gateway
from gsmgw.daemon._modems import ModemRunner
from gsmgw.daemon._retention import run_retention
from gsmgw.daemon._systemd import Notifier, watchdog_interval
from gsmgw.dispatch import Dispatcher, Inbound, load_counts
from gsmgw.errors import ConfigError, GsmgwError
from gsmgw.modem.supervisor import Timing
from gsmgw.store import Store
from gsmgw.validate import warm_up

if TYPE_CHECKING:
    from gsmgw.bridges.http import HttpApi, Webhooks
    from gsmgw.bridges.mqtt import Bridge
    from gsmgw.bridges.smpp import SmppServer

LOGGER = logging.getLogger(__package__)

# All of these are in seconds.
#: How long a shutdown lets sends in progress finish.
DRAIN_TIMEOUT = 20.0
#: READY is sent at the latest after this long, even if a modem is still opening.
READY_TIMEOUT = 30.0
STATUS_INTERVAL = 30.0


class _Stopped(Exception):
    """Raised inside the TaskGroup to end it after a clean shutdown."""


class Daemon:
    """One running node; ``run()`` it, then ``stop()`` or ``reload()`` from signal handlers."""

    def __init__(
        self, config: Config, *, notifier: Notifier | None = None, timing: Timing | None = None
    ) -> None:
        self.config = config
        self._timing = timing
        self.notifier = notifier or Notifier()
        self.store: Store = make_store(config)
        self.dispatcher: Dispatcher | None = None
        self.gateway: Gateway | None = None
        self.modems: ModemRunner | None = None
        #: The HTTP API once running (``[http] listen`` set); tests read its port.
        self.http: HttpApi | None = None
        #: The SMPP server once running (``[smpp] listen`` set); tests read its port.
        self.smpp: SmppServer | None = None
        #: The webhook and dlr-url workers, when there are any.
        self.webhooks: Webhooks | None = None
        self.started = asyncio.Event()
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()

    def stop(self) -> None:
        """Begin a clean shutdown."""
        self._stop.set()

    def reload(self) -> None:
        """Re-read the config file (SIGHUP)."""
        self._reload.set()

    async def run(self) -> int:
        """Run until ``stop()``; return the exit code."""
        check_extras(self.config)
        async with self.store:
            warm_up(self.config.gateway.default_region)
            requeued = await self.store.requeue_in_flight()
            if requeued:
                LOGGER.warning(
                    "%d messages were in flight at the last stop: queued again", len(requeued)
                )
            dispatcher = Dispatcher(self.store, self.config)
            await load_counts(self.store, dispatcher.senders.values())
            receiver = Inbound(self.store, self.config.opt_out)
            gateway = Gateway(self.store, dispatcher, receiver, self.config)
            modems = ModemRunner(self.config, dispatcher, receiver, gateway, timing=self._timing)
            self.dispatcher, self.gateway, self.modems = dispatcher, gateway, modems
            control = ControlServer(str(self.config.gateway.control), gateway.handlers())
            await control.start()
            try:
                await self._supervise(dispatcher, gateway, modems)
            finally:
                await asyncio.shield(control.close())
        self.notifier.stopping("stopped")
        self.notifier.close()
        LOGGER.info("stopped")
        return 0

    async def _supervise(
        self, dispatcher: Dispatcher, gateway: Gateway, modems: ModemRunner
    ) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(dispatcher.run(), name="dispatcher")
                group.create_task(modems.run(), name="modems")
                bridge = self._bridge(gateway)
                if bridge is not None:
                    group.create_task(bridge.run(), name="mqtt")
                    group.create_task(gateway.run_health(), name="health")
                http = self._http_api(gateway)
                if http is not None:
                    group.create_task(http.run(), name="http")
                smpp = self._smpp_server(gateway)
                if smpp is not None:
                    group.create_task(smpp.run(), name="smpp")
                webhooks = self._webhooks(gateway)
                if webhooks is not None:
                    group.create_task(webhooks.run(), name="webhooks")
                if http is not None or webhooks is not None:
                    gateway.http_status = self._http_status
                if self.config.gateway.metrics:
                    from gsmgw.daemon._metrics import serve_metrics  # loads prometheus_client

                    metrics = serve_metrics(gateway, self.config, http=http, webhooks=webhooks)
                    group.create_task(metrics, name="metrics")
                group.create_task(run_retention(self.store, self._keep_days), name="retention")
                group.create_task(self._ready(modems), name="ready")
                group.create_task(self._watchdog(), name="watchdog")
                group.create_task(self._reloader(), name="reload")
                group.create_task(self._shutdown(dispatcher), name="shutdown")
                self.started.set()
        except* _Stopped:
            pass

    def _keep_days(self) -> int:
        return self.config.gateway.keep_days  # read at each pass: SIGHUP may change it

    def _bridge(self, gateway: Gateway) -> Bridge | None:
        if not self.config.mqtt.enabled:
            return None
        from gsmgw.bridges.mqtt import Bridge, settings_from_config

        settings, client = settings_from_config(self.config)
        bridge = Bridge(gateway, settings, client)
        gateway.mqtt_state = lambda: "connected" if bridge.connected.is_set() else "connecting"
        return bridge

    def _http_api(self, gateway: Gateway) -> HttpApi | None:
        if not self.config.http.enabled:
            return None
        from gsmgw.bridges.http import HttpApi, settings_from_config  # loads aiohttp

        self.http = HttpApi(gateway, settings_from_config(self.config))
        gateway.http_state = lambda: "on"
        return self.http

    def _smpp_server(self, gateway: Gateway) -> SmppServer | None:
        if not self.config.smpp.enabled:
            return None
        from gsmgw.bridges.smpp import SmppServer, settings_from_config

        self.smpp = server = SmppServer(gateway, settings_from_config(self.config))
        gateway.smpp_status = server.status
        gateway.smpp_metrics = server.metrics
        return server

    def _webhooks(self, gateway: Gateway) -> Webhooks | None:
        if not self.config.webhooks and not self.config.http.enabled:
            return None
        from gsmgw.bridges.http import Webhooks  # loads aiohttp

        self.webhooks = Webhooks(
            gateway, self.config.webhooks, dlr_callbacks=self.config.http.enabled
        )
        return self.webhooks

    async def _http_status(self) -> dict[str, object]:
        """``gsmgw status``'s HTTP listener and each webhook's backlog and last error."""
        backlog = await self.store.delivery_backlog()
        return {
            "http": self.http.status() if self.http is not None else None,
            "webhooks": self.webhooks.status(backlog) if self.webhooks is not None else [],
        }

    async def _ready(self, modems: ModemRunner) -> None:
        """sd_notify READY once every modem had its first open attempt (SPEC: Type=notify)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(READY_TIMEOUT):
                await modems.first_attempts.wait()
        told = self.notifier.ready(self._status_line())
        LOGGER.info("ready: %s", self._status_line())
        while True:
            await asyncio.sleep(STATUS_INTERVAL)
            if told or not self.notifier.enabled:
                self.notifier.status(self._status_line())
            else:
                # Dropped on a full socket (sd_notify never waits): systemd would time the
                # start out, so READY=1 goes again until it is taken.
                told = self.notifier.ready(self._status_line())

    def _status_line(self) -> str:
        if self.dispatcher is None or self.gateway is None:
            return "starting"
        ready = sum(1 for view in self.dispatcher.views() if view.ready)
        total = len(self.dispatcher.senders)
        return (
            f"{ready}/{total} modems ready, {self.store.pending} messages waiting,"
            f" MQTT {self.gateway.mqtt_state()}"
        )

    async def _watchdog(self) -> None:
        """Ping the systemd watchdog from the event loop: a blocked loop misses its pings."""
        interval = watchdog_interval()
        if interval is None:
            return
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    async def _reloader(self) -> None:
        while True:
            await self._reload.wait()
            self._reload.clear()
            await self._apply_reload()

    async def _apply_reload(self) -> None:
        try:
            new = load_config(self.config.file)
        except ConfigError as exc:
            LOGGER.error("reload refused, keeping the running config: %s", exc)
            return
        if new.mqtt != self.config.mqtt or new.gateway.database != self.config.gateway.database:
            LOGGER.warning("[mqtt] and the database path change only with a restart")
        if new.http != self.config.http or new.webhooks != self.config.webhooks:
            LOGGER.warning("[http] and [[webhook]] change only with a restart")
        if new.smpp != self.config.smpp:
            LOGGER.warning("[smpp] changes only with a restart")
        self.config = new
        assert self.dispatcher is not None
        assert self.gateway is not None
        assert self.modems is not None
        self.dispatcher.reload(new)
        self.gateway.reload(new)
        self.gateway.receiver.opt_out = new.opt_out
        self.modems.reload(new)
        LOGGER.info("config reloaded: %d modems, %d rules", len(new.modems), len(new.rules))
        self.notifier.status(self._status_line())

    async def _shutdown(self, dispatcher: Dispatcher) -> NoReturn:
        await self._stop.wait()
        LOGGER.info("stopping: finishing sends in progress")
        self.notifier.stopping("finishing sends in progress")
        dispatcher.stop_taking()
        if not await dispatcher.drain(DRAIN_TIMEOUT):
            LOGGER.warning("a send did not finish in %g s: it is queued again", DRAIN_TIMEOUT)
        raise _Stopped


def check_extras(config: Config) -> None:
    """Refuse to start when the config asks for what an uninstalled extra provides.

    Raises:
        ConfigError: ``gateway.metrics`` is set but prometheus-client is not installed.
    """
    if not config.gateway.metrics:
        return
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        problem = (
            "needs prometheus-client: pip install 'gsmgw[metrics]'"
            " (Debian: sudo apt install python3-prometheus-client), or leave it empty"
        )
        raise ConfigError(config.file, "gateway.metrics", problem) from None


def install_signals(daemon: Daemon) -> Callable[[], None]:
    """Route SIGTERM/SIGINT to ``stop`` and SIGHUP to ``reload``; return an uninstaller."""
    loop = asyncio.get_running_loop()
    handlers = {
        signal.SIGTERM: daemon.stop,
        signal.SIGINT: daemon.stop,
        signal.SIGHUP: daemon.reload,
    }
    for number, handler in handlers.items():
        loop.add_signal_handler(number, handler)

    def uninstall() -> None:
        for number in handlers:
            loop.remove_signal_handler(number)

    return uninstall


async def run(config: Config) -> int:
    """Run the daemon for ``config`` until SIGTERM or SIGINT; return the exit code."""
    from gsmgw.modem.port import register_scheme
    from gsmgw.sim import register_sim_scheme, stop_sims

    register_sim_scheme(register_scheme)
    daemon = Daemon(config)
    uninstall = install_signals(daemon)
    code = 1
    try:
        code = await daemon.run()
    except* GsmgwError as group:
        for exc in group.exceptions:
            LOGGER.error("gsmgw stopped: %s", exc)
    finally:
        uninstall()
        await stop_sims()
    return code
