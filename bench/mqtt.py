"""MQTT speed of ``gsmgw run`` on simulated modems with a private Mosquitto (issue 6's figures).

    ./dev bench mqtt            # the table
    ./dev bench mqtt --json     # one JSON object
    ./dev bench mqtt --quick    # fewer samples and messages (the burst stays 10,000)

The daemon runs as a subprocess (``python -m gsmgw run``) against a private Mosquitto; its
simulated modems live in this process on pseudo-terminals (the daemon opens them by symlink), so
the moment each ``AT+CMGS=`` reaches a modem is recorded here. Figures:

- latency: from publishing a send request to ``AT+CMGS`` at an idle modem, one at a time. Two
  series: ``latency_ms_*`` from an MQTT client in this process (the clock starts just before its
  PUBLISH), and ``mosquitto_pub_ms_*`` from spawning a ``mosquitto_pub`` process (its own start-up
  and connect included, as a person typing it would see).
- throughput: messages/s through 4 zero-delay modems, from the first request published to the
  last ``sent`` state event received: each message is committed on receipt, per part on send,
  and its state event goes through the store's publication queue (durable all the way).
- burst: 10,000 requests (with ``reply_to``) published at once: how many got an accepted reply,
  and how many of those never reached ``sent``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import json
import logging
from pathlib import Path
import socket
import statistics
import sys
import tempfile
import time
from typing import Any

import aiomqtt

from gsmgw.bridges.mqtt._client import paho_client_of
from gsmgw.demo import Mosquitto

if not __package__:  # run as a script (python bench/NAME.py): make bench.* importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.figures import p99, run
from bench.gsmgw_node import Node

NUMBER = "+491701234567"
PREFIX = "bench"
NODE = "b"
STATE_TOPIC = f"{PREFIX}/{NODE}/sms/state"
REPLY_TOPIC = f"{PREFIX}/client/replies"
BURST = 10_000
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 300.0
#: Pause before each latency sample, so that the modem and the daemon are idle.
SETTLE_DELAY = 0.05


class MqttNode(Node):
    """A daemon on ``count`` zero-delay modems, bridged to ``broker``."""

    def __init__(self, folder: Path, broker: Mosquitto, count: int) -> None:
        sections = (
            f"[gateway]\nnode = '{NODE}'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
            f"[mqtt]\nurl = '{broker.url}'\nprefix = '{PREFIX}'\ndiscovery = false\n"
            "client_id = 'bench-node'\n"
        )
        super().__init__(folder, count, sections)
        self.broker = broker


class Watcher:
    """A subscriber on the state and reply topics that counts what arrives."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.sent: set[str] = set()
        self.ready: set[str] = set()
        self.accepted: set[str] = set()
        self.rejected = 0
        self.last_sent_at = 0.0

    async def run(self) -> None:
        async for message in self.client.messages:
            payload: Any = json.loads(bytes(message.payload))
            topic = str(message.topic)
            if topic == STATE_TOPIC and payload.get("state") == "sent":
                self.sent.add(payload["id"])
                self.last_sent_at = time.perf_counter()
            elif topic == REPLY_TOPIC:
                if "error" in payload:
                    self.rejected += 1
                else:
                    self.accepted.add(payload["id"])
            elif topic.startswith(f"{PREFIX}/{NODE}/modem/") and payload.get("state") == "ready":
                self.ready.add(topic)


@contextlib.asynccontextmanager
async def node(count: int) -> AsyncIterator[tuple[MqttNode, aiomqtt.Client, Watcher]]:
    """Yield a broker, a daemon on ``count`` modems and a client watching it, all ready."""
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-mqtt-") as folder:
        broker = Mosquitto(workdir=Path(folder) / "broker")
        broker.workdir.mkdir()
        await asyncio.to_thread(broker.start)
        running = MqttNode(Path(folder), broker, count)
        try:
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, identifier="bench-client", logger=_QUIET
            ) as client:
                _no_delay(client)
                client.pending_calls_threshold = 2 * BURST  # the burst is meant to pile up
                for topic in (STATE_TOPIC, REPLY_TOPIC, f"{PREFIX}/{NODE}/modem/+"):
                    await client.subscribe(topic, qos=1)
                watcher = Watcher(client)
                watching = asyncio.create_task(watcher.run())
                await running.start()
                await until(lambda: len(watcher.ready) == count, START_TIMEOUT)
                try:
                    yield running, client, watcher
                finally:
                    watching.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watching
        finally:
            await running.stop()
            await asyncio.to_thread(broker.stop)


_QUIET = logging.getLogger("bench.mqtt.client")
_QUIET.setLevel(logging.ERROR)


def _no_delay(client: aiomqtt.Client) -> None:
    """Turn Nagle off on the bench client's socket.

    Otherwise a PUBLISH that follows one of its own PUBACKs waits for the broker's delayed TCP
    ACK (40 ms on Linux), and the bench would time its own client, not the gateway.
    """
    sock = paho_client_of(client).socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def until(check: Callable[[], bool], limit: float, interval: float = 0.0005) -> None:
    """Poll counters kept in this process until ``check()``."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - counters of the simulator and the watcher
            await asyncio.sleep(interval)


def _request(n: int, **extra: object) -> bytes:
    return json.dumps({"to": NUMBER, "text": f"m{n}", "id": f"m{n}", **extra}).encode()


async def latency(samples: int) -> tuple[list[float], list[float]]:
    """Milliseconds to AT+CMGS: from an MQTT client's PUBLISH, and from spawning mosquitto_pub."""
    client_ms: list[float] = []
    pub_ms: list[float] = []
    async with node(1) as (running, client, watcher):
        for n in range(2 * samples):
            await asyncio.sleep(SETTLE_DELAY)
            before = len(running.cmgs_times)
            start = time.perf_counter()
            if n % 2 == 0:
                await client.publish(f"{PREFIX}/send", _request(n), qos=1)
            else:
                await _mosquitto_pub(running.broker.port, _request(n))
            await until(lambda b=before: len(running.cmgs_times) > b, 30)  # type: ignore[misc]
            (client_ms if n % 2 == 0 else pub_ms).append(
                (running.cmgs_times[before] - start) * 1000
            )
            await until(lambda k=n: len(watcher.sent) > k, 30)  # type: ignore[misc]
    return client_ms, pub_ms


async def _mosquitto_pub(port: int, payload: bytes) -> None:
    process = await asyncio.create_subprocess_exec(
        *("mosquitto_pub", "-p", str(port), "-q", "1", "-t", f"{PREFIX}/send", "-s"),
        stdin=asyncio.subprocess.PIPE,
    )
    await process.communicate(payload)


async def throughput(count: int) -> float:
    """Messages/s through 4 zero-delay modems, first PUBLISH to last ``sent`` event."""
    async with node(4) as (_, client, watcher):
        start = time.perf_counter()
        await asyncio.gather(
            *(client.publish(f"{PREFIX}/send", _request(n), qos=1) for n in range(count))
        )
        await until(lambda: len(watcher.sent) >= count, DRAIN_TIMEOUT, 0.005)
        return count / (watcher.last_sent_at - start)


async def burst() -> tuple[int, int, float]:
    """Publish BURST requests at once: (accepted, accepted but never sent, seconds to drain)."""
    async with node(4) as (_, client, watcher):
        start = time.perf_counter()
        await asyncio.gather(
            *(
                client.publish(f"{PREFIX}/send", _request(n, reply_to=REPLY_TOPIC), qos=1)
                for n in range(BURST)
            )
        )
        await until(lambda: len(watcher.accepted) + watcher.rejected >= BURST, 120, 0.01)
        with contextlib.suppress(TimeoutError):
            await until(lambda: watcher.accepted <= watcher.sent, DRAIN_TIMEOUT, 0.01)
        return (
            len(watcher.accepted),
            len(watcher.accepted - watcher.sent),
            time.perf_counter() - start,
        )


async def main(quick: bool) -> dict[str, float]:
    client_ms, pub_ms = await latency(25 if quick else 100)
    rate = await throughput(1000 if quick else 3000)
    accepted, lost, seconds = await burst()
    return {
        "latency_ms_p50": round(statistics.median(client_ms), 2),
        "latency_ms_p99": round(p99(client_ms), 2),
        "mosquitto_pub_ms_p50": round(statistics.median(pub_ms), 2),
        "mosquitto_pub_ms_p99": round(p99(pub_ms), 2),
        "latency_samples": len(client_ms),
        "throughput_msgs_per_s": round(rate, 1),
        "burst_10k_accepted": accepted,
        "burst_10k_lost": lost,
        "burst_10k_drain_s": round(seconds, 1),
    }


LABELS = {
    "latency_ms_p50": "PUBLISH -> AT+CMGS, idle modem, median (ms)",
    "latency_ms_p99": "PUBLISH -> AT+CMGS, idle modem, 99th pct (ms)",
    "mosquitto_pub_ms_p50": "mosquitto_pub spawn -> AT+CMGS, median (ms)",
    "mosquitto_pub_ms_p99": "mosquitto_pub spawn -> AT+CMGS, 99th pct (ms)",
    "throughput_msgs_per_s": "end to end, 4 zero-delay modems (msg/s)",
    "burst_10k_accepted": "burst of 10,000: accepted",
    "burst_10k_lost": "burst of 10,000: accepted but not sent",
    "burst_10k_drain_s": "burst of 10,000: seconds until all sent",
}


def cli() -> None:
    run(__doc__, main, LABELS)


if __name__ == "__main__":
    cli()
