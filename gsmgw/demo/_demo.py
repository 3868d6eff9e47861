"""``gsmgw demo``: the whole gateway on two simulated modems with a private Mosquitto.

Everything lives in one temporary folder (config, database, sockets, broker data) that is
removed on every exit path. The real :class:`~gsmgw.daemon.Daemon` runs in this process with
its MQTT bridge on; the tour talks to it only over MQTT, as a user would, and injects inbound
SMS into the simulated modems. The live view is a plain subscriber on ``{prefix}/#``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import signal
import stat
import sys
import tempfile

import aiomqtt

from gsmgw.config import parse_config
from gsmgw.daemon import Daemon, Notifier
from gsmgw.demo._mosquitto import Mosquitto, find_mosquitto
from gsmgw.demo._tour import (
    DESTINATION,
    INBOUND_SENDER,
    MODEM_IDS,
    NODE,
    PREFIX,
    Recorder,
    Say,
    run_tour,
)
from gsmgw.errors import GsmgwError
from gsmgw.modem.port import register_scheme
from gsmgw.sim import PtyModem, get_sim, register_sim_scheme, stop_sims
from gsmgw.sim.control import execute, serve_control

# All of these are in seconds.
#: A real network takes one to three seconds to accept an SMS; the quick tour less.
SEND_DELAY = 1.5
ONCE_SEND_DELAY = 0.2
REPORT_DELAY = 1.0
ONCE_REPORT_DELAY = 0.2
#: For the daemon to start.
START_TIMEOUT = 20.0

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class DemoSetup:
    """Where the running demo lives: what the printed command lines need."""

    port: int
    workdir: Path
    controls: dict[str, Path]

    def try_lines(self, *, interactive: bool) -> list[str]:
        """Return the commands a person can type in another terminal."""
        sub = f"mosquitto_sub -p {self.port} -v -t '{PREFIX}/#'"
        request = json.dumps({"to": DESTINATION, "text": "Hello from my terminal", "report": True})
        pub = f"mosquitto_pub -p {self.port} -q 1 -t '{PREFIX}/send' -m '{request}'"
        control = self.controls[MODEM_IDS[0]]
        inject = f"echo 'sms {INBOUND_SENDER} Hi gateway' | socat - UNIX-CONNECT:{control}"
        lines = [
            "watch everything:     " + sub,
            "send an SMS:          " + pub,
            "receive an SMS:       " + inject,
        ]
        if interactive:
            lines.append(
                "                      (or type 'sms +4917... some text' here; 'help' lists more)"
            )
        return lines


def demo_config(workdir: Path, port: int, *, send_delay: float, report_delay: float) -> str:
    """Return the TOML config of the demo gateway."""
    modems = "".join(
        f"[[modem]]\nid = '{modem_id}'\n"
        f"port = 'sim:{modem_id}?send_delay={send_delay + n * 0.5:g}"
        f"&report_delay={report_delay:g}'\n"
        for n, modem_id in enumerate(MODEM_IDS)
    )
    return (
        f"[gateway]\nnode = '{NODE}'\ndatabase = '{workdir / 'gsmgw.db'}'\n"
        f"control = '{workdir / 'control.sock'}'\n"
        f"[mqtt]\nurl = 'mqtt://127.0.0.1:{port}'\nprefix = '{PREFIX}'\ndiscovery = false\n"
        f"client_id = 'gsmgw-demo-{os.getpid()}'\n{modems}"
    )


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="gsmgw-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.asynccontextmanager
async def _broker(workdir: Path) -> AsyncIterator[Mosquitto]:
    broker = Mosquitto(persistence=False, workdir=workdir / "mosquitto")
    broker.workdir.mkdir()
    try:
        await asyncio.to_thread(broker.start)
        yield broker
    finally:
        await asyncio.to_thread(broker.stop)


@contextlib.asynccontextmanager
async def _daemon(config_text: str, workdir: Path) -> AsyncIterator[Daemon]:
    register_sim_scheme(register_scheme)
    # The demo is not a service: no sd_notify even when started from a unit.
    daemon = Daemon(parse_config(config_text, base=workdir), notifier=Notifier(""))
    task = asyncio.create_task(daemon.run(), name="demo-daemon")
    try:
        async with asyncio.timeout(START_TIMEOUT):
            started = asyncio.ensure_future(daemon.started.wait())
            await asyncio.wait([started, task], return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done():
                task.result()  # raises what stopped it
                raise GsmgwError("the gateway stopped as it started")
            assert daemon.modems is not None
            await daemon.modems.first_attempts.wait()
        yield daemon
    finally:
        daemon.stop()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(START_TIMEOUT):
                await task
        if not task.done():
            task.cancel()
        await stop_sims()


def _sims() -> dict[str, PtyModem]:
    found = {modem_id: get_sim(modem_id) for modem_id in MODEM_IDS}
    return {k: v for k, v in found.items() if v is not None}


@contextlib.asynccontextmanager
async def _controls(workdir: Path) -> AsyncIterator[dict[str, Path]]:
    """Serve each simulated modem's control commands on a Unix socket in ``workdir``."""
    servers: list[asyncio.Server] = []
    paths: dict[str, Path] = {}
    try:
        for modem_id, modem in _sims().items():
            paths[modem_id] = workdir / f"{modem_id}.sock"
            servers.append(await serve_control(modem, str(paths[modem_id])))
        yield paths
    finally:
        for server in servers:
            server.close()


async def _listen(client: aiomqtt.Client, recorder: Recorder) -> None:
    async for message in client.messages:
        await recorder.add(str(message.topic), bytes(message.payload))


async def run_demo(*, once: bool, say: Say) -> int:
    """Run the demo (``once``: the tour only); return the exit code. Raises `MosquittoMissing`.

    Ctrl-C or SIGTERM end it cleanly: 0 for the live view, 1 for an interrupted tour.
    """
    find_mosquitto()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    interrupted: list[int] = []

    def interrupt(number: int) -> None:
        interrupted.append(number)
        task.cancel()

    for number in SIGNALS:
        loop.add_signal_handler(number, interrupt, number)
    try:
        return await _run(once=once, say=say)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        task.uncancel()
        say("stopped: broker, modems and temporary files are gone")
        return 1 if once else 0
    finally:
        for number in SIGNALS:
            loop.remove_signal_handler(number)


async def _run(*, once: bool, say: Say) -> int:
    with _workdir() as workdir:
        async with _broker(workdir) as broker:
            say(f"Mosquitto on 127.0.0.1:{broker.port}; files in {workdir}")
            send_delay = ONCE_SEND_DELAY if once else SEND_DELAY
            report_delay = ONCE_REPORT_DELAY if once else REPORT_DELAY
            text = demo_config(
                workdir, broker.port, send_delay=send_delay, report_delay=report_delay
            )
            async with _daemon(text, workdir), _controls(workdir) as controls:
                setup = DemoSetup(broker.port, workdir, controls)
                return await _session(setup, once=once, say=say)


async def _session(setup: DemoSetup, *, once: bool, say: Say) -> int:
    say(f"gateway node {NODE!r} is up with modems {', '.join(MODEM_IDS)}; live view:")
    recorder = Recorder(say)
    async with aiomqtt.Client("127.0.0.1", setup.port, identifier=f"demo-view-{os.getpid()}") as c:
        await c.subscribe(f"{PREFIX}/#", qos=1)
        listener = asyncio.create_task(_listen(c, recorder), name="demo-view")
        try:
            failed = await run_tour(c, recorder, _sims(), say)
            say("")
            say("Try it yourself in another terminal:")
            for line in setup.try_lines(interactive=not once):
                say("  " + line)
            if failed is not None:
                say(f"demo FAILED at {failed}")
                return 1
            if once:
                say("demo: every step worked")
                return 0
            say("Running until Ctrl-C.")
            await _interactive(say)
            return 0
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def _interactive(say: Say) -> None:
    """Read simulator commands (``sms FROM TEXT``...) for sim1 from stdin, until stopped."""
    reader = asyncio.StreamReader()
    transport = await _read_stdin(reader)
    try:
        while transport is not None and (line := await reader.readline()):
            modem = get_sim(MODEM_IDS[0])
            if modem is not None and line.strip():
                say(await execute(modem, line.decode("utf-8", "replace")))
        await asyncio.Event().wait()  # no (more) input: the live view runs until Ctrl-C
    finally:
        if transport is not None:
            transport.close()


async def _read_stdin(reader: asyncio.StreamReader) -> asyncio.ReadTransport | None:
    """Feed stdin to ``reader`` if it is a terminal, pipe or socket (epoll refuses files)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return None
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return None
    pipe = os.fdopen(os.dup(sys.stdin.fileno()), "rb", 0)
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), pipe
    )
    return transport
