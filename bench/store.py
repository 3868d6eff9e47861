"""Store speed and memory: durable enqueue with and without group commit, claim rate by backlog.

    ./dev bench store            # a 1,000,000 backlog (a few minutes)
    ./dev bench store --quick    # a 100,000 backlog (well under a minute)
    ./dev bench store --json     # one JSON object instead of the table

Every figure is for durable commits (WAL, synchronous=FULL) on a real file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
import json
from pathlib import Path
import statistics
import tempfile
import time

from gsmgw.models import SendRequest
from gsmgw.store import Store

NUMBER = "+491701234567"
TEXT = "Your code is 123456"
CLAIMS = 300  # claims timed per backlog size
CHUNK = 20_000  # messages per enqueue call when filling a backlog


def rss_mb() -> float:
    """Return this process's resident memory in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def requests(prefix: str, count: int) -> Iterator[SendRequest]:
    """Yield ``count`` one-recipient requests with ids ``prefix0``, ``prefix1``..."""
    for n in range(count):
        yield SendRequest(to=(NUMBER,), text=TEXT, id=f"{prefix}{n}")


async def enqueue_one_by_one(store: Store, count: int) -> float:
    """Return messages/s when every message waits for its own commit."""
    start = time.perf_counter()
    for request in requests("single-", count):
        await store.enqueue([request])
    return count / (time.perf_counter() - start)


async def enqueue_concurrently(store: Store, count: int, clients: int = 500) -> tuple[float, float]:
    """Return messages/s and messages per commit with ``clients`` concurrent enqueuers."""
    pending = iter(requests("group-", count))
    commits = store.commits

    async def client() -> None:
        for request in pending:
            await store.enqueue([request])

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(client())
    elapsed = time.perf_counter() - start
    return count / elapsed, count / max(store.commits - commits, 1)


async def fill(store: Store, count: int) -> float:
    """Queue ``count`` messages in large transactions; return the seconds it took."""
    start = time.perf_counter()
    made = 0
    while made < count:
        size = min(CHUNK, count - made)
        batch = [SendRequest(to=(NUMBER,), text=TEXT, id=f"b{made + n}") for n in range(size)]
        await store.enqueue(batch)
        made += size
    return time.perf_counter() - start


async def claim_rate(store: Store) -> float:
    """Return claims/s: claim the best message, put it back, repeat (the backlog stays put)."""
    durations = []
    for _ in range(CLAIMS):
        start = time.perf_counter()
        message = await store.claim_next("sim1")
        durations.append(time.perf_counter() - start)
        assert message is not None
        await store.requeue(message.id)
    return 1 / statistics.mean(durations)


async def backlog_figures(directory: Path, backlog: int) -> dict[str, float]:
    """Return claim rates with 10 and with ``backlog`` queued messages, and memory."""
    async with Store(directory / "small.db", state_topic="gsmgw/bench/sms/state") as store:
        await fill(store, 10)
        small = await claim_rate(store)
    async with Store(directory / "large.db", state_topic="gsmgw/bench/sms/state") as store:
        fill_s = await fill(store, backlog)
        large = await claim_rate(store)
        memory = rss_mb()
    return {
        "claims_per_s_10": small,
        "claims_per_s_backlog": large,
        "backlog": backlog,
        "backlog_fill_msgs_per_s": backlog / fill_s,
        "rss_mb_with_backlog": memory,
    }


async def measure(quick: bool) -> dict[str, float]:
    """Run every measurement in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-", dir=Path.cwd()) as name:
        directory = Path(name)
        async with Store(directory / "enqueue.db", state_topic="gsmgw/bench/sms/state") as store:
            one_by_one = await enqueue_one_by_one(store, 300 if quick else 2000)
            grouped, per_commit = await enqueue_concurrently(store, 10_000 if quick else 50_000)
        figures = {
            "enqueue_commit_per_message_msgs_per_s": one_by_one,
            "enqueue_group_commit_msgs_per_s": grouped,
            "enqueue_group_commit_msgs_per_commit": per_commit,
        }
        figures |= await backlog_figures(directory, 100_000 if quick else 1_000_000)
    return figures


def main() -> None:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 100,000 backlog instead of 1M")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = asyncio.run(measure(args.quick))
    if args.json:
        print(json.dumps({key: round(value, 1) for key, value in figures.items()}))
        return
    backlog = int(figures["backlog"])
    rows = [
        (
            "enqueue, a commit per message",
            figures["enqueue_commit_per_message_msgs_per_s"],
            "msg/s",
        ),
        (
            "enqueue, group commit (500 clients)",
            figures["enqueue_group_commit_msgs_per_s"],
            "msg/s",
        ),
        ("  messages per commit", figures["enqueue_group_commit_msgs_per_commit"], ""),
        ("claim, 10 queued", figures["claims_per_s_10"], "claims/s"),
        (f"claim, {backlog:,} queued", figures["claims_per_s_backlog"], "claims/s"),
        (f"fill {backlog:,} (20,000 per transaction)", figures["backlog_fill_msgs_per_s"], "msg/s"),
        (f"RSS with {backlog:,} queued", figures["rss_mb_with_backlog"], "MB"),
    ]
    for label, value, unit in rows:
        print(f"{label:<42} {value:>12,.1f} {unit}")


if __name__ == "__main__":
    main()
