"""Mixed traffic on simulated modems with delays for a while: memory flat, all accounted for."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import random
import signal
import time

import pytest

from gsmgw.cli.control import request
from gsmgw.errors import ControlError
from gsmgw.models import MessageState
from gsmgw.sim import PtyModem
from gsmgw.store import StoreReader
from tests.run_daemon import answering, start_run

from .conftest import (
    FINAL,
    SimModemFactory,
    eventually,
    modem_block,
    outbox,
    rss_kib,
    write_config,
)

#: Seconds of traffic: 20 by default, 1800 for the long form (``-m slow``).
SHORT_SOAK = float(os.environ.get("GSMGW_FAULT_SOAK_SECONDS", "20"))
LONG_SOAK = float(os.environ.get("GSMGW_FAULT_LONG_SOAK_SECONDS", "1800"))
LONG = "Soak traffic with a multipart message now and then, to keep the reassembly busy. " * 3


async def traffic(
    control: Path, sims: list[PtyModem], seconds: float, rng: random.Random, tag: str
) -> tuple[set[str], int]:
    """Queue mixed requests and inject inbound SMS for ``seconds``; return ids and SMS count."""
    accepted: set[str] = set()
    injected = 0
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        body: dict[str, object] = {"to": f"+4915{tag}{n:08d}", "id": f"{tag}{n}", "text": f"s{n}"}
        if n % 7 == 0:
            body["text"] = f"s{n} {LONG}"
        if n % 11 == 0:
            body["priority"] = 10
        if n % 13 == 0:
            body["text"] = f"s{n} Grüße 😀"
        if n % 17 == 0:
            rng.choice(sims).sim.fail_next_send(rng.choice((38, 500)))  # temporary errors
        try:
            result = await request(str(control), "send", request=body)
        except ControlError:
            result = []
        if result and "error" not in result[0]:
            accepted.add(f"{tag}{n}")
        if n % 5 == 0:
            rng.choice(sims).sim.inject_sms("+491705550003", f"in {n} {LONG if n % 3 else ''}")
            injected += 1
        await asyncio.sleep(rng.uniform(0.02, 0.12))
    return accepted, injected


@pytest.mark.parametrize(
    "seconds",
    [
        pytest.param(SHORT_SOAK, marks=pytest.mark.timeout(SHORT_SOAK + 150)),
        pytest.param(LONG_SOAK, marks=[pytest.mark.slow, pytest.mark.timeout(LONG_SOAK + 300)]),
    ],
)
async def test_soak_memory_flat_every_message_accounted_for(
    tmp_path: Path, make_sim_modem: SimModemFactory, seconds: float
) -> None:
    """``gsmgw run`` under mixed traffic (multipart, UCS-2, priorities, temporary errors, inbound).

    Proves: RSS after the run is within 16 MiB of RSS after warm-up; every accepted request
    is in the store and reaches a final state (or is queued/retrying, with its error, if the
    drain is cut short); every injected SMS is stored.
    """
    rng = random.Random(int(seconds))
    sims = [
        await make_sim_modem(name=n, link=tmp_path / f"{n}.tty", send_delay=rng.uniform(0.02, 0.1))
        for n in ("s1", "s2", "s3")
    ]
    config = write_config(
        tmp_path, "".join(modem_block(s.name, str(tmp_path / f"{s.name}.tty")) for s in sims)
    )
    control, db = tmp_path / "c.sock", tmp_path / "gsmgw.db"
    daemon = await start_run(config)
    try:
        await answering(control)
        _, warm_injected = await traffic(control, sims, min(3.0, seconds / 4), rng, "1")  # warm-up
        rss_start = rss_kib(daemon.pid)
        samples = [rss_start]
        sampler_stop = asyncio.Event()

        async def sample() -> None:
            while not sampler_stop.is_set():
                samples.append(rss_kib(daemon.pid))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        accepted, injected = await traffic(control, sims, seconds, rng, "2")
        sampler_stop.set()
        await sampler
        rss_end = rss_kib(daemon.pid)
        await eventually(lambda: all_final(db, accepted), limit=90)
        await eventually(lambda: inbox_count(db) >= injected + warm_injected, limit=60)
        with StoreReader(db) as reader:
            counts = reader.state_counts()
        inbound = inbox_count(db)
        print(
            f"soak {seconds:.0f}s: accepted={len(accepted)} states={dict(counts)} "
            f"inbound={inbound} rss start={rss_start} KiB end={rss_end} KiB max={max(samples)} KiB"
        )
        assert rss_end - rss_start < 16 * 1024
        # Temporary errors are retried, so each accepted request ends sent.
        assert counts.get(MessageState.SENT, 0) >= len(accepted)
        assert inbound == injected + warm_injected
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0


def all_final(db: Path, ids: set[str]) -> bool:
    """Return whether every id is stored and in a final state."""
    found = outbox(db, limit=1_000_000)
    missing = [i for i in ids if i not in found]
    assert not missing, f"lost: {missing[:5]}"
    return all(found[i].state in FINAL for i in ids)


def inbox_count(db: Path) -> int:
    """Return how many inbound messages are stored."""
    with StoreReader(db) as reader:
        return len(reader.list_inbox(limit=1_000_000))
