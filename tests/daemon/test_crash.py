"""``kill -9`` at random moments while messages go out: nothing lost, no blind duplicates.

``gsmgw run`` runs as a subprocess on two simulated modems that live in this test process
(on ptys the daemon opens by their symlinks), so what the "network" accepted survives every
daemon restart. After the last restart every message must be ``sent``, every part must have
reached the network, and a part that reached it twice must be one the store flagged as of
unknown outcome (the part in flight at a kill): SPEC.md "Guarantees".
"""

from __future__ import annotations

import asyncio
from collections import Counter
import os
from pathlib import Path
import random
import signal

import pytest

from gsmgw.models import MessageState, SendRequest
from gsmgw.store import Store, StoreReader
from tests.run_daemon import answering, start_run as start

from .conftest import SimModemFactory, eventually

LONG = "This one needs several parts to prove that a resend starts at the missing part. " * 3


def config(tmp_path: Path) -> Path:
    path = tmp_path / "gsmgw.toml"
    path.write_text(
        "[gateway]\nnode = 'crash'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
        "[mqtt]\nurl = ''\n"
        f"[[modem]]\nid = 'k1'\nport = '{tmp_path / 'k1.tty'}'\n"
        f"[[modem]]\nid = 'k2'\nport = '{tmp_path / 'k2.tty'}'\n",
        encoding="utf-8",
    )
    return path


def sent_count(db: Path) -> int:
    with StoreReader(db) as reader:
        return reader.state_counts().get(MessageState.SENT, 0)


@pytest.mark.parametrize(
    ("messages", "kills"),
    # 15 kills at 0.5-2.5 s each take longer than the suite's 20 s per test by themselves.
    [(200, 3), pytest.param(400, 15, marks=[pytest.mark.slow, pytest.mark.timeout(240)])],
)
async def test_sigkill_loses_nothing_and_duplicates_only_in_flight_parts(
    tmp_path: Path, make_sim_modem: SimModemFactory, messages: int, kills: int
) -> None:
    rng = random.Random(messages * 1000 + kills)
    sims = [
        await make_sim_modem(name=name, link=tmp_path / f"{name}.tty", send_delay=0.05)
        for name in ("k1", "k2")
    ]
    config_file = config(tmp_path)
    db = tmp_path / "gsmgw.db"
    async with Store(db) as store:
        requests = []
        for n in range(messages):
            text = f"m{n} {LONG}" if n % 10 == 0 else f"m{n}"
            requests.append(SendRequest(to=(f"+4917{n:08d}",), text=text, id=f"m{n}"))
        await store.enqueue(requests)

    for _ in range(kills):
        daemon = await start(config_file)
        await asyncio.sleep(rng.uniform(0.5, 2.5))
        daemon.send_signal(signal.SIGKILL)
        assert await daemon.wait() == -signal.SIGKILL
    daemon = await start(config_file)
    try:
        await answering(str(tmp_path / "c.sock"))
        await eventually(lambda: sent_count(db) == messages, limit=120)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0

    network: Counter[tuple[str, int]] = Counter()
    for pty in sims:
        for sent in pty.sim.sent:
            concat = sent.submit.concat
            network[(sent.submit.recipient, concat.part if concat else 1)] += 1
    with StoreReader(db) as reader:
        outbox = {m.id: reader.show_outbox(m.id) for m in reader.list_outbox(limit=messages)}
    flagged = set()
    for n in range(messages):
        message = outbox[f"m{n}"]
        assert message is not None
        assert message.state is MessageState.SENT
        for part in message.parts:
            key = (message.to, part.part_no)
            assert network[key] >= 1, f"{message.id} part {part.part_no} never reached the network"
            if network[key] > 1:
                assert message.earlier_outcome_unknown, f"{key} sent twice without a flag"
                flagged.add(key)
    # At most the part in flight on each modem at each kill went twice.
    assert len(flagged) <= kills * len(sims)
    assert sum(network.values()) - len(network) == sum(network[k] - 1 for k in flagged)
    assert os.path.getsize(tmp_path / "daemon.log") > 0
