"""Fault-suite helpers: a scale knob, daemons in this process or as ``gsmgw run``, accounting.

``GSMGW_FAULT_SCALE`` (default 1) multiplies repetitions and durations; the ``slow``
variants of each test run at scale 10 or more (``pytest -m slow tests/fault``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
import itertools
import os
from pathlib import Path

import pytest

from gsmgw.config import load_config
from gsmgw.daemon import Daemon, Notifier
from gsmgw.models import MessageState, OutgoingMessage, SendRequest
from gsmgw.modem.port import register_scheme
from gsmgw.modem.supervisor import Timing
from gsmgw.sim import PtyModem, register_sim_scheme, stop_sims
from gsmgw.store import StoreReader
from tests.run_daemon import InLoop, stop_all

SimModemFactory = Callable[..., Awaitable[PtyModem]]

#: Multiplies repetitions and durations of every fault test.
SCALE = float(os.environ.get("GSMGW_FAULT_SCALE", "1"))
#: Generous: other helpers' tests share the two cores.
WAIT_TIMEOUT = 40.0
#: Short supervisor durations so that a lost modem is noticed and reopened in about a second.
FAST = Timing(backoff_base=0.2, backoff_max=1.0, health_interval=0.5, ping_timeout=0.5)

#: Every request gets its own recipient, so the network's count per recipient is per message.
_NUMBERS = itertools.count(1)

#: The long form: deselected by default, with room for its many repetitions.
SLOW = [pytest.mark.slow, pytest.mark.timeout(max(600, 60 * SCALE))]

FINAL = {MessageState.SENT, MessageState.DELIVERED, MessageState.FAILED, MessageState.EXPIRED}


def scaled(n: float, factor: float = 1.0) -> int:
    """Return ``n`` times the scale (and ``factor``), at least 1."""
    return max(1, round(n * SCALE * factor))


async def eventually(check: Callable[[], object], *, limit: float = WAIT_TIMEOUT) -> None:
    """Wait until ``check()`` is true (polled; for tests only)."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - a test helper polling a plain predicate
            await asyncio.sleep(0.02)


def modem_block(modem_id: str, port: str) -> str:
    return f"[[modem]]\nid = '{modem_id}'\nport = '{port}'\n"


def write_config(tmp_path: Path, modems: str, *, mqtt: str = "url = ''", db: str = "") -> Path:
    """Write a config with the database and control socket in ``tmp_path``."""
    path = tmp_path / "gsmgw.toml"
    database = db or str(tmp_path / "gsmgw.db")
    path.write_text(
        f"[gateway]\nnode = 'f'\ndatabase = '{database}'\ncontrol = '{tmp_path / 'c.sock'}'\n"
        f"[mqtt]\n{mqtt}\n{modems}",
        encoding="utf-8",
    )
    return path


def requests(prefix: str, count: int, *, long_every: int = 5) -> list[SendRequest]:
    """Return ``count`` requests, every ``long_every``-th one a three-part message."""
    long = "A long message proves that a resend starts at the missing part, not at one. " * 3
    return [
        SendRequest(
            to=(f"+4917{next(_NUMBERS):08d}",),
            text=f"{prefix}{n} {long}" if n % long_every == 0 else f"{prefix}{n}",
            id=f"{prefix}{n}",
        )
        for n in range(count)
    ]


def outbox(db: Path, limit: int = 100_000) -> dict[str, OutgoingMessage]:
    """Return every outbound message with its parts, read as the CLI reads it."""
    with StoreReader(db) as reader:
        found = {m.id: reader.show_outbox(m.id) for m in reader.list_outbox(limit=limit)}
    return {k: v for k, v in found.items() if v is not None}


def network(sims: list[PtyModem]) -> Counter[tuple[str, int]]:
    """Count what the simulated network accepted, by (recipient, part number)."""
    counted: Counter[tuple[str, int]] = Counter()
    for pty in sims:
        for sent in pty.sim.sent:
            concat = sent.submit.concat
            counted[(sent.submit.recipient, concat.part if concat else 1)] += 1
    return counted


def check_accounting(db: Path, sims: list[PtyModem], ids: set[str]) -> int:
    """Assert every id is sent, each part reached the network, duplicates only if flagged.

    Returns the number of duplicated parts (each one the part in flight at a fault).
    """
    found = outbox(db)
    counted = network(sims)
    duplicates = 0
    for message_id in ids:
        message = found.get(message_id)
        assert message is not None, f"{message_id} lost"
        assert message.state is MessageState.SENT, f"{message_id} is {message.state}"
        for part in message.parts:
            n = counted[(message.to, part.part_no)]
            assert n >= 1, f"{message_id} part {part.part_no} never reached the network"
            if n > 1:
                assert message.earlier_outcome_unknown, f"{message_id} sent twice unflagged"
                duplicates += n - 1
    return duplicates


def rss_kib(pid: int) -> int:
    """Return the resident set size of process ``pid`` in KiB (``VmRSS`` in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class InProcess(InLoop):
    """A daemon running in this event loop with fast supervisor timing."""

    async def submit(self, batch: list[SendRequest]) -> None:
        gateway = self.daemon.gateway
        assert gateway is not None
        for one in batch:
            await gateway.submit(one)


StartDaemon = Callable[[Path], Awaitable[InProcess]]


@pytest.fixture
async def start_daemon(tmp_path: Path) -> AsyncIterator[StartDaemon]:
    """Return ``await start(config_file)``: a started daemon in this process."""
    register_sim_scheme(register_scheme)
    running: list[InProcess] = []

    async def start(config_file: Path) -> InProcess:
        daemon = Daemon(load_config(config_file), notifier=Notifier(None), timing=FAST)
        running.append(r := await InProcess.start(daemon, patience=WAIT_TIMEOUT))
        return r

    try:
        yield start
    finally:
        await stop_all(running)
        await stop_sims()
