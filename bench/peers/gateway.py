"""gsmgw under test: ``gsmgw run -c CONFIG`` on the simulated modems' paths, driven over MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from pathlib import Path
import sys
import time

import aiomqtt

from bench.peers.parsing import Stored, digits
from bench.peers.system import System
from gsmgw.demo import Mosquitto

NODE = "bench"
#: States after which gsmgw no longer tries to send a message (SPEC.md "States").
FINAL_STATES = frozenset({"sent", "delivered", "failed", "expired", "cancelled"})
PREFIX = "gsmgw"
_READY_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class GatewayUnavailable(Exception):
    """gsmgw's daemon did not start or did not come online; the message says why."""


class Gsmgw(System):
    """gsmgw's daemon with every modem in one process, and a private Mosquitto."""

    def __init__(self) -> None:
        self.key = "gsmgw"
        self.poll_interval = 0.0  # event-driven: a request is handled when it arrives
        self.busy_waits = False
        self._broker: Mosquitto | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._client: aiomqtt.Client | None = None
        self._stack = contextlib.AsyncExitStack()
        self._listener: asyncio.Task[None] | None = None
        self._received: list[Stored] = []
        self._states: dict[str, str] = {}
        self._online = asyncio.Event()
        self._ids = itertools.count(1)
        self._log = Path()

    @staticmethod
    def config_text(ports: list[str], directory: Path, url: str) -> str:
        """Return the gsmgw config: defaults everywhere but the paths, the broker and the ports."""
        lines = [
            "[gateway]",
            f'node = "{NODE}"',
            f'database = "{directory / "gsmgw.db"}"',
            f'control = "{directory / "control.sock"}"',
            "",
            "[mqtt]",
            f'url = "{url}"',
            "discovery = false",
        ]
        for n, port in enumerate(ports):
            lines += ["", "[[modem]]", f'id = "m{n}"', f'port = "{port}"']
        return "\n".join(lines) + "\n"

    async def start(self, ports: list[str], workdir: Path) -> None:
        """Start a broker, the daemon, and an MQTT client that records the inbox topic."""
        directory = workdir / "gsmgw"
        directory.mkdir(parents=True, exist_ok=True)
        self._broker = Mosquitto(workdir=directory / "mosquitto")
        self._broker.workdir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._broker.start)
        config = directory / "config.toml"
        config.write_text(self.config_text(ports, directory, self._broker.url))
        self._log = directory / "gsmgw.log"
        with self._log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gsmgw",
                "run",
                "-c",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        client = aiomqtt.Client(
            "127.0.0.1", port=self._broker.port, identifier="bench-peers-observer"
        )
        self._client = await self._stack.enter_async_context(client)
        await self._client.subscribe(f"{PREFIX}/{NODE}/inbox", qos=1)
        await self._client.subscribe(f"{PREFIX}/{NODE}/availability", qos=1)
        await self._client.subscribe(f"{PREFIX}/{NODE}/sms/state", qos=1)
        self._listener = asyncio.create_task(self._listen(self._client))
        await self._wait_online()

    async def _wait_online(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while not self._online.is_set():
            if not self.alive():
                raise GatewayUnavailable(f"gsmgw run exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise GatewayUnavailable(f"gsmgw not online after {_READY_TIMEOUT:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._online.wait(), 0.2)

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            now = time.time()
            payload = message.payload
            if message.topic.matches(f"{PREFIX}/{NODE}/availability"):
                if payload == b"online":
                    self._online.set()
                continue
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                body = json.loads(payload)
                if message.topic.matches(f"{PREFIX}/{NODE}/sms/state"):
                    self._states[str(body["id"])] = str(body["state"])
                    continue
                text = body.get("text") or ""
                self._received.append(Stored(digits(body["from"]), text, now, str(body["id"])))

    def log_tail(self, lines: int = 8) -> str:
        """Return the end of the daemon's log."""
        try:
            text = self._log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    async def send(
        self, to: str, text: str, *, modem: int | None = None, unicode: bool = False
    ) -> None:
        """Publish a send request (QoS 1; returns on PUBACK, i.e. once gsmgw stored it).

        gsmgw picks the modem itself and the coding by the text, so ``modem`` and
        ``unicode`` are not used.
        """
        assert self._client is not None
        request = {"to": to, "text": text, "id": f"bench-{next(self._ids)}"}
        self._states[request["id"]] = "publishing"
        await self._client.publish(f"{PREFIX}/send", json.dumps(request), qos=1)

    def inbox(self) -> list[Stored]:
        """Return the inbound messages published on the inbox topic."""
        return list(self._received)

    def pending(self) -> int:
        """Return the requests whose last published state is not a final one."""
        return sum(state not in FINAL_STATES for state in self._states.values())

    def alive(self) -> bool:
        """Return True while the daemon runs."""
        return self._process is not None and self._process.returncode is None

    async def stop(self) -> None:
        """Stop the client, the daemon and the broker."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._listener
        with contextlib.suppress(aiomqtt.MqttError):
            await self._stack.aclose()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._broker is not None:
            await asyncio.to_thread(self._broker.stop)
