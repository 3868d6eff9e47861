"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gsmgw.demo import Mosquitto

if TYPE_CHECKING:
    from gsmgw.sim import PtyModem
    from gsmgw.store import Store

#: The shared regression corpus (real PDUs and AT transcripts); tests/data holds a copy.
CORPUS = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A real Mosquitto broker on a free loopback port, for the whole session."""
    broker = Mosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


@pytest.fixture
def private_mosquitto() -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that stop and restart it."""
    broker = Mosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


@pytest.fixture(autouse=True)
def kill_leftover_daemons() -> Iterator[None]:
    """Kill any ``gsmgw run`` a test started (tests/run_daemon.py) and left running."""
    yield
    from tests.run_daemon import kill_leftovers

    kill_leftovers()


# --- Simulated modems (helper "sim") -----------------------------------------------------------

SimModemFactory = Callable[..., Awaitable["PtyModem"]]


@pytest.fixture
async def make_sim_modem() -> AsyncIterator[SimModemFactory]:
    """Return a factory of started simulated modems on ptys, e.g. ``await make("quectel")``.

    Keyword arguments are :class:`gsmgw.sim.Knobs` fields, plus ``link`` (a symlink path)
    and ``name``. Every modem is stopped after the test, as are ``sim:NAME`` modems.
    """
    from gsmgw.sim import Knobs, PtyModem, stop_sims

    started: list[PtyModem] = []

    async def make(
        profile: str = "generic", *, link: Path | None = None, name: str = "sim", **knobs: Any
    ) -> PtyModem:
        modem = PtyModem(profile=profile, knobs=Knobs(**knobs), link=link, name=name)
        await modem.start()
        started.append(modem)
        return modem

    try:
        yield make
    finally:
        for modem in started:
            await modem.stop()
        await stop_sims()


# --- Durable store (helper "store") -------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """Return an open ``Store`` on a real SQLite file in ``tmp_path``, with MQTT topics set."""
    from gsmgw.store import Store

    opened = Store(
        tmp_path / "gsmgw.db", state_topic="gsmgw/t/sms/state", inbox_topic="gsmgw/t/inbox"
    )
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
