"""``gsmgw demo``: the whole gateway on two simulated modems with a private Mosquitto.

Everything lives in one temporary folder (config, database, sockets, broker data) that is
removed on every exit path. The real :class:`~gsmgw.daemon.Daemon` runs in this process with
its MQTT bridge on; the tour talks to it only over MQTT, as a user would, and injects inbound
SMS into the simulated modems. The live view is a plain subscriber on ``{prefix}/#``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import stat
import sys
import tempfile
import time
from typing import Any

import aiomqtt

from gsmgw.config import parse_config
from gsmgw.daemon import Daemon
from gsmgw.errors import GsmgwError
from gsmgw.modem.port import register_scheme
from gsmgw.mosquitto import Mosquitto, find_mosquitto
from gsmgw.sim import PtyModem, get_sim, register_sim_scheme, stop_sims
from gsmgw.sim.control import execute, serve_control
from gsmgw.systemd import Notifier

PREFIX = "gsmgw"
NODE = "demo"
MODEM_IDS = ("sim1", "sim2")
#: Where the tour asks for replies (MQTT 3.1.1 style ``reply_to``), under the live view's ``#``.
REPLY_TOPIC = f"{PREFIX}/demo-client/replies"
DESTINATION = "+491701234567"
INBOUND_SENDER = "+491705555555"

# All of these are in seconds.
#: A real network takes one to three seconds to accept an SMS; the quick tour less.
SEND_DELAY = 1.5
ONCE_SEND_DELAY = 0.2
REPORT_DELAY = 1.0
ONCE_REPORT_DELAY = 0.2
#: Per step of the tour, and for the daemon to start.
STEP_TIMEOUT = 15.0
START_TIMEOUT = 20.0

SIGNALS = (signal.SIGINT, signal.SIGTERM)

Say = Callable[[str], None]


class StepFailed(GsmgwError):
    """One step of the tour did not happen in time."""

    def __init__(self, step: str, problem: str) -> None:
        super().__init__(f"step {step!r} failed: {problem}")
        self.step = step
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Event:
    """One MQTT message seen by the live view."""

    topic: str
    payload: Any


@dataclass
class Recorder:
    """Everything published under ``{prefix}/#``, with a way to wait for one of them."""

    say: Say
    events: list[Event] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, topic: str, raw: bytes) -> None:
        """Record and print one message compactly."""
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        self.events.append(Event(topic, payload))
        self.say(f"  {time.strftime('%H:%M:%S')}  {topic:<28} {_compact(payload)}")
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, step: str, check: Callable[[Event], bool], what: str) -> Event:
        """Return the first event ``check`` accepts, or raise `StepFailed` after STEP_TIMEOUT."""
        try:
            async with asyncio.timeout(STEP_TIMEOUT), self._changed:
                while True:
                    found = next((e for e in self.events if check(e)), None)
                    if found is not None:
                        return found
                    await self._changed.wait()
        except TimeoutError:
            raise StepFailed(step, f"no {what} within {STEP_TIMEOUT:g} s") from None


def _compact(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 110 else text[:107] + "..."


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


# The scripted tour: each step talks MQTT like a user and waits for what it should see.

STATE_TOPIC = f"{PREFIX}/{NODE}/sms/state"
LONG_TEXT = (
    "This is a long message: more than 160 GSM-7 characters do not fit in one SMS, so the "
    "gateway splits it into parts with a user data header (3GPP TS 23.040 9.2.3.24.1) and the "
    "phone joins them again. " * 2
).strip()
EMOJI_TEXT = "Emoji need UCS-2 (3GPP TS 23.038): \U0001f44b \U0001f4e8 \u2705"
Step = Callable[[aiomqtt.Client, Recorder, dict[str, PtyModem]], Any]


def _state(message_id: str, state: str) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        p = event.payload
        return (
            event.topic == STATE_TOPIC
            and isinstance(p, dict)
            and p.get("id") == message_id
            and p.get("state") == state
        )

    return check


def _reply(message_id: str | None, *, error: bool) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        p = event.payload
        if event.topic != REPLY_TOPIC or not isinstance(p, dict) or ("error" in p) != error:
            return False
        return message_id is None or p.get("id") == message_id

    return check


async def _request(client: aiomqtt.Client, fields: dict[str, Any]) -> None:
    await client.publish(f"{PREFIX}/send", json.dumps({**fields, "reply_to": REPLY_TOPIC}), qos=1)


async def _sent(recorder: Recorder, step: str, message_id: str) -> Event:
    await recorder.wait_for(step, _reply(message_id, error=False), "reply 'queued'")
    for state in ("queued", "sending"):
        await recorder.wait_for(step, _state(message_id, state), f"state {state!r}")
    return await recorder.wait_for(step, _state(message_id, "sent"), "state 'sent'")


async def _step_send(client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]) -> None:
    fields = {
        "to": DESTINATION,
        "text": "Hello from the gsmgw demo",
        "id": "demo-1",
        "report": True,
    }
    await _request(client, fields)
    await _sent(recorder, "send", "demo-1")


async def _step_report(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    await recorder.wait_for("delivery report", _state("demo-1", "delivered"), "state 'delivered'")


async def _step_long(client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]) -> None:
    await _request(client, {"to": DESTINATION, "text": LONG_TEXT, "id": "demo-long"})
    sent = await _sent(recorder, "long multipart message", "demo-long")
    if not sent.payload.get("parts", 0) > 1:
        raise StepFailed("long multipart message", f"expected several parts: {sent.payload}")


async def _step_emoji(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    await _request(client, {"to": DESTINATION, "text": EMOJI_TEXT, "id": "demo-emoji"})
    await _sent(recorder, "emoji message", "demo-emoji")
    texts = [m.submit.text for sim in sims.values() for m in sim.sim.sent]
    if EMOJI_TEXT not in texts:
        raise StepFailed("emoji message", "the simulated network did not get the emoji text intact")


async def _step_inbound(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    text = "Hi gateway, this SMS came from a phone \U0001f4f1"
    sims[MODEM_IDS[1]].sim.inject_sms(INBOUND_SENDER, text)

    def arrived(event: Event) -> bool:
        p = event.payload
        return (
            event.topic == f"{PREFIX}/{NODE}/inbox"
            and isinstance(p, dict)
            and p.get("text") == text
        )

    await recorder.wait_for("inbound SMS", arrived, f"message on {PREFIX}/{NODE}/inbox")


async def _step_modem(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    def ready(event: Event) -> bool:
        p = event.payload
        return (
            event.topic.startswith(f"{PREFIX}/{NODE}/modem/")
            and isinstance(p, dict)
            and p.get("state") == "ready"
        )

    await recorder.wait_for("modem status", ready, f"retained {PREFIX}/{NODE}/modem/+ status")


async def _step_rejected(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    await _request(client, {"to": "call me maybe", "text": "no such number", "id": "demo-bad"})
    await recorder.wait_for("rejected request", _reply("demo-bad", error=True), "error reply")


TOUR: tuple[tuple[str, str, Step], ...] = (
    ("send", "a send request over MQTT: queued -> sending -> sent", _step_send),
    ("delivery report", "the network's status report marks it delivered", _step_report),
    ("long multipart message", "a long text goes as several parts", _step_long),
    ("emoji message", "emoji switch the message to UCS-2", _step_emoji),
    ("inbound SMS", f"an SMS from a phone arrives on {PREFIX}/{NODE}/inbox", _step_inbound),
    ("modem status", f"modem health, retained on {PREFIX}/{NODE}/modem/ID", _step_modem),
    ("rejected request", "a bad number gets an error reply", _step_rejected),
)


async def run_tour(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem], say: Say
) -> str | None:
    """Run every step of the tour; return the name of the one that failed, or None."""
    for name, description, step in TOUR:
        say(f"-- {name}: {description}")
        try:
            await step(client, recorder, sims)
        except StepFailed as exc:
            say(str(exc))
            return name
        say(f"   ok: {name}")
    return None
