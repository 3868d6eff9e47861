"""Dispatch speed and memory of ``gsmgw run`` on simulated modems (issue 5's figures).

    ./dev bench dispatch            # a 1,000,000 backlog (a few minutes)
    ./dev bench dispatch --quick    # a 100,000 backlog (under a minute)
    ./dev bench dispatch --json     # one JSON object instead of the table

The daemon runs as a subprocess (``python -m gsmgw run``) on simulated modems that live in this
process on pseudo-terminals (the daemon opens them by symlink). Messages go in through the
control socket, as ``gsmgw send`` puts them; a message counts as dispatched when its AT+CMGS
reaches the simulated modem. Figures:

- idle latency: from the request leaving this process to AT+CMGS at an idle modem;
- throughput: messages per second through 4 zero-delay modems, durably recorded per part;
- utilisation_2s: the share of the theoretical rate (4 modems / 2 s) reached with 2 s sends;
- backlog: dispatch rate and daemon memory (RSS) with few and with N queued messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from pathlib import Path
import statistics
import sys
import tempfile
import time

from gsmgw.cli.control import request
from gsmgw.errors import ControlError
from gsmgw.models import MessageState, SendRequest
from gsmgw.store import Store, StoreReader

if not __package__:  # run as a script (python bench/NAME.py): make bench.* importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.figures import Figures, run
from bench.gsmgw_node import Node

NUMBER = "+491701234567"
FILL_CHUNK = 20_000
START_TIMEOUT = 60.0


class ReadyNode(Node):
    """A daemon on ``count`` modems without MQTT, started once every modem is ready."""

    def __init__(self, folder: Path, count: int, send_delay: float) -> None:
        sections = (
            "[gateway]\nnode = 'bench'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
            "max_queue = 2000000\n[mqtt]\nurl = ''\n"
        )
        super().__init__(folder, count, sections, send_delay=send_delay)

    async def start(self) -> None:
        await super().start()
        async with asyncio.timeout(START_TIMEOUT):
            while not await self._all_ready():  # noqa: ASYNC110 - asks the daemon itself
                await asyncio.sleep(0.05)

    async def _all_ready(self) -> bool:
        try:
            status = await request(self.control, "status")
        except ControlError:
            return False
        return all(modem.get("ready") for modem in status["modems"])


@contextlib.asynccontextmanager
async def node(count: int, send_delay: float, backlog: int = 0) -> AsyncIterator[Node]:
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-") as folder:
        running = ReadyNode(Path(folder), count, send_delay)
        if backlog:
            await fill(running.database, backlog)
        try:
            await running.start()
            yield running
        finally:
            await running.stop()


async def until(check: Callable[[], bool], interval: float) -> None:
    """Poll a counter of the simulated modems (they live in this process) until ``check()``."""
    while not check():  # noqa: ASYNC110 - the simulator's counters have no event to wait on
        await asyncio.sleep(interval)


async def fill(database: Path, count: int) -> None:
    """Queue ``count`` messages before the daemon starts (one transaction per chunk)."""
    async with Store(database) as store:
        for start in range(0, count, FILL_CHUNK):
            size = min(FILL_CHUNK, count - start)
            numbers = tuple(f"+4917{n:08d}" for n in range(start, start + size))
            await store.enqueue([SendRequest(to=numbers, text="backlog", to_list=True)])


async def idle_latency(samples: int) -> list[float]:
    """Milliseconds from the send request to AT+CMGS, one message at a time."""
    latencies = []
    async with node(1, 0.0) as running:
        for n in range(samples):
            before = len(running.cmgs_times)
            start = time.perf_counter()
            await request(running.control, "send", request={"to": NUMBER, "text": f"l{n}"})
            await until(lambda b=before: len(running.cmgs_times) > b, 0.0005)  # type: ignore[misc]
            latencies.append((running.cmgs_times[before] - start) * 1000)
            await until(lambda k=n: running.accepted() > k, 0.001)  # type: ignore[misc]
    return latencies


async def throughput(count: int) -> float:
    """Messages per second through 4 zero-delay modems, from first request to last answer."""
    async with node(4, 0.0) as running:
        numbers = [f"+4917{n:08d}" for n in range(count)]
        start = time.perf_counter()
        for first in range(0, count, 1000):
            await request(
                running.control, "send", request={"to": numbers[first : first + 1000], "text": "t"}
            )
        await until(lambda: running.accepted() >= count, 0.005)
        return count / (time.perf_counter() - start)


async def utilisation(count: int, send_time: float = 2.0) -> float:
    """Share of 4 modems' theoretical rate reached with ``send_time`` s per message."""
    async with node(4, send_time) as running:
        numbers = [f"+4917{n:08d}" for n in range(count)]
        start = time.perf_counter()
        await request(running.control, "send", request={"to": numbers, "text": "u"})
        await until(lambda: running.accepted() >= count, 0.01)
        elapsed = time.perf_counter() - start
    return (count / elapsed) / (4 / send_time)


async def small_queue_rate(batches: int, size: int = 10) -> tuple[float, float]:
    """Dispatch rate with ``size`` messages queued at a time, and the daemon's RSS (MB)."""
    async with node(4, 0.0) as running:
        numbers = [f"+4917{n:08d}" for n in range(size)]
        start = time.perf_counter()
        for batch in range(batches):
            await request(running.control, "send", request={"to": numbers, "text": "s"})
            await until(lambda b=batch: running.accepted() >= (b + 1) * size, 0.001)  # type: ignore[misc]
        rate = batches * size / (time.perf_counter() - start)
        return rate, running.rss_mb()


async def backlog_rate(backlog: int, window: float) -> tuple[float, float]:
    """Dispatch rate over ``window`` s and daemon RSS (MB) with ``backlog`` queued messages."""
    async with node(4, 0.0, backlog=backlog) as running:
        await asyncio.sleep(0.5)
        before, start = running.accepted(), time.perf_counter()
        await asyncio.sleep(window)
        rate = (running.accepted() - before) / (time.perf_counter() - start)
        rss = running.rss_mb()
        with StoreReader(running.database) as reader:
            left = reader.state_counts().get(MessageState.QUEUED, 0)
    assert left > 0, "the backlog ran out during the window"
    return rate, rss


async def main(quick: bool) -> dict[str, float]:
    latencies = await idle_latency(100 if quick else 300)
    cuts = statistics.quantiles(latencies, n=100)
    backlog = 100_000 if quick else 1_000_000
    window = 3.0 if quick else 10.0
    small_rate, small_rss = await small_queue_rate(30 if quick else 100)
    big_rate, big_rss = await backlog_rate(backlog, window)
    return {
        "idle_latency_ms_p50": round(statistics.median(latencies), 2),
        "idle_latency_ms_p99": round(cuts[98], 2),
        "throughput_msgs_per_s": round(await throughput(2000 if quick else 10_000), 1),
        "utilisation_2s": round(await utilisation(16 if quick else 40), 3),
        "backlog_small_dispatch_per_s": round(small_rate, 1),
        "backlog_small_rss_mb": round(small_rss, 1),
        "backlog_1m_dispatch_per_s": round(big_rate, 1),
        "backlog_1m_rss_mb": round(big_rss, 1),
        "backlog_size": backlog,
    }


def labels(figures: Figures) -> dict[str, str]:
    size = f"{figures['backlog_size']:,.0f}"
    return {
        "idle_latency_ms_p50": "idle latency, median (ms)",
        "idle_latency_ms_p99": "idle latency, 99th percentile (ms)",
        "throughput_msgs_per_s": "throughput, 4 zero-delay modems (msg/s)",
        "utilisation_2s": "utilisation, 4 modems at 2 s per send",
        "backlog_small_dispatch_per_s": "dispatch rate, 10 queued at a time (msg/s)",
        "backlog_small_rss_mb": "daemon RSS, 10 queued at a time (MB)",
        "backlog_1m_dispatch_per_s": f"dispatch rate, {size} queued (msg/s)",
        "backlog_1m_rss_mb": f"daemon RSS, {size} queued (MB)",
    }


def cli() -> None:
    run(__doc__, main, labels, quick="a 100,000 backlog, under a minute")


if __name__ == "__main__":
    cli()
