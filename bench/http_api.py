"""HTTP API speed of ``gsmgw run`` on simulated modems (issue 16's figures).

    ./dev bench http            # the table
    ./dev bench http --json     # one JSON object
    ./dev bench http --quick    # fewer samples and messages

Not ``bench/http.py``: ``python bench/NAME.py`` puts bench/ first on ``sys.path``, where a file
named ``http.py`` would stand in for the standard library's ``http`` in every bench script (and
in the subprocesses they start), breaking whatever imports ``http.client`` or aiohttp.

The daemon runs as a subprocess (``python -m gsmgw run``); its simulated modems live in this
process on pseudo-terminals, so the moment each ``AT+CMGS=`` reaches a modem is recorded here.
Figures:

- latency: from ``POST /v1/messages`` (a keep-alive connection, one request at a time) to
  ``AT+CMGS`` at an idle modem: median and 99th percentile.
- requests/s: 20 clients, each on its own keep-alive connection, POST as fast as they are
  answered into 4 zero-delay modems; every 202 comes after the commit (durable). Counted from the
  first request to the last 202, and end to end until the last message was accepted by the
  simulated network.
- webhook deliveries/s: state events stored while the receiver was down (3 per message: queued,
  sending, sent), drained to a local aiohttp receiver once it is up, one webhook, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from pathlib import Path
import socket
import statistics
import sys
import tempfile
import time

import aiohttp
from aiohttp import web

if not __package__:  # run as a script (python bench/NAME.py): make bench.* importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.figures import p99, run
from bench.gsmgw_node import Node

NUMBER = "+491701234567"
TOKEN = "bench-token-0123456789abcdef"
CLIENTS = 20
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 300.0
#: Pause before each latency sample, so that the modem and the daemon are idle.
SETTLE_DELAY = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HttpNode(Node):
    """A daemon on ``count`` zero-delay modems with its HTTP API (and a webhook, if given)."""

    def __init__(self, folder: Path, count: int, *, webhook: str | None = None) -> None:
        self.port = free_port()
        tokens = folder / "http.tokens"
        tokens.write_text(f"bench:{TOKEN}\n", encoding="utf-8")
        tokens.chmod(0o600)
        sections = (
            "[gateway]\nnode = 'b'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n[mqtt]\nurl = ''\n"
            f"[http]\nlisten = '127.0.0.1:{self.port}'\ntokens_file = 'http.tokens'\n"
        )
        if webhook is not None:
            sections += f"[[webhook]]\nurl = '{webhook}'\nevents = ['state']\n"
        super().__init__(folder, count, sections)
        self.url = f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def node(count: int, *, webhook: str | None = None) -> AsyncIterator[HttpNode]:
    """Yield a daemon on ``count`` modems whose modems are all ready."""
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-http-") as folder:
        running = HttpNode(Path(folder), count, webhook=webhook)
        await running.start()
        try:
            async with aiohttp.ClientSession() as session:
                await until_ready(session, running, count)
            yield running
        finally:
            await running.stop()


async def until_ready(session: aiohttp.ClientSession, running: HttpNode, count: int) -> None:
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{running.url}/v1/health") as response:
                    if (await response.json())["modems_ready"] == count:
                        return
            await asyncio.sleep(0.05)


async def until(check: Callable[[], bool], limit: float, interval: float = 0.0005) -> None:
    """Poll counters kept in this process until ``check()``."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - counters of the simulator and the receiver
            await asyncio.sleep(interval)


def _session() -> aiohttp.ClientSession:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=CLIENTS))


async def _post(session: aiohttp.ClientSession, url: str, n: int) -> None:
    body = {"to": NUMBER, "text": f"m{n}", "id": f"m{n}"}
    async with session.post(f"{url}/v1/messages", json=body) as response:
        if response.status != 202:
            raise RuntimeError(f"POST answered {response.status}: {await response.text()}")
        await response.read()


async def latency(samples: int) -> list[float]:
    """Milliseconds from POST to AT+CMGS at an idle modem, one request at a time."""
    found: list[float] = []
    async with node(1) as running, _session() as session:
        await _post(session, running.url, -1)  # opens the keep-alive connection
        await until(lambda: running.accepted() == 1, 30)
        for n in range(samples):
            await asyncio.sleep(SETTLE_DELAY)
            before = len(running.cmgs_times)
            start = time.perf_counter()
            await _post(session, running.url, n)
            await until(lambda b=before: len(running.cmgs_times) > b, 30)  # type: ignore[misc]
            found.append((running.cmgs_times[before] - start) * 1000)
            await until(lambda k=n: running.accepted() > k + 1, 30)  # type: ignore[misc]
    return found


async def throughput(count: int) -> tuple[float, float]:
    """Requests/s (first POST to last 202) and messages/s end to end, 20 clients, 4 modems."""
    async with node(4) as running, _session() as session:
        numbers = iter(range(count))

        async def client() -> None:
            for n in numbers:
                await _post(session, running.url, n)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        answered = time.perf_counter() - start
        await until(lambda: running.accepted() >= count, DRAIN_TIMEOUT, 0.005)
        return count / answered, count / (time.perf_counter() - start)


async def webhook_rate(count: int) -> float:
    """Deliveries/s of a backlog of ``count`` messages' state events to a local receiver."""
    port = free_port()
    times: list[float] = []

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        times.append(time.perf_counter())
        return web.Response(status=204)

    async with node(4, webhook=f"http://127.0.0.1:{port}/hook") as running, _session() as session:
        numbers = iter(range(count))

        async def client() -> None:
            for n in numbers:
                await _post(session, running.url, n)

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        await until(lambda: running.accepted() >= count, DRAIN_TIMEOUT, 0.005)
        app = web.Application()
        app.router.add_post("/hook", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()  # the backlog drains from now
        try:
            await until(lambda: len(times) >= 3 * count, DRAIN_TIMEOUT, 0.01)
        finally:
            await runner.cleanup()
    return (len(times) - 1) / (times[-1] - times[0])


async def main(quick: bool) -> dict[str, float]:
    post_ms = await latency(25 if quick else 100)
    requests, end_to_end = await throughput(1000 if quick else 3000)
    deliveries = await webhook_rate(300 if quick else 1000)
    return {
        "latency_ms_p50": round(statistics.median(post_ms), 2),
        "latency_ms_p99": round(p99(post_ms), 2),
        "latency_samples": len(post_ms),
        "requests_per_s": round(requests, 1),
        "end_to_end_msgs_per_s": round(end_to_end, 1),
        "webhook_deliveries_per_s": round(deliveries, 1),
    }


LABELS = {
    "latency_ms_p50": "POST -> AT+CMGS, idle modem, median (ms)",
    "latency_ms_p99": "POST -> AT+CMGS, idle modem, 99th pct (ms)",
    "requests_per_s": "20 keep-alive clients, 4 modems: 202s/s (durable)",
    "end_to_end_msgs_per_s": "the same, until sent (msg/s)",
    "webhook_deliveries_per_s": "webhook backlog drained (deliveries/s)",
}


def cli() -> None:
    run(__doc__, main, LABELS)


if __name__ == "__main__":
    cli()
