"""Fixtures of the driver and supervisor tests: real ptys, the simulated modem, a driver on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gsmgw.modem.driver import Modem
from gsmgw.modem.events import ModemEvent
from gsmgw.modem.port import open_port

#: Generous: the machine's two cores are shared with other test runs.
WAIT_TIMEOUT = 15.0
PROFILES = ["generic", "simcom", "quectel", "huawei"]

ConnectModem = Callable[..., Awaitable[tuple[Any, Modem]]]


async def until(predicate: Callable[[], bool], within: float = WAIT_TIMEOUT) -> None:
    """Wait until ``predicate()`` holds (checked every few milliseconds)."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


async def next_event(modem: Modem, kind: type[ModemEvent], within: float = WAIT_TIMEOUT) -> Any:
    """Return the next event of ``kind`` from the modem's stream, skipping others."""
    async with asyncio.timeout(within):
        async for event in modem.events():
            if isinstance(event, kind):
                return event
    raise AssertionError(f"stream ended before a {kind.__name__}")


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    """Each personality of the simulated modem in turn."""
    return str(request.param)


@pytest.fixture
async def connect_modem(make_sim_modem: Any) -> AsyncIterator[ConnectModem]:
    """Return ``connect(profile, enter_pin=None, initialize=True, **knobs)``: (sim, Modem)."""
    modems: list[Modem] = []

    async def connect(
        profile: str = "generic",
        *,
        enter_pin: str | None = None,
        initialize: bool = True,
        sim: Any = None,
        **knobs: Any,
    ) -> tuple[Any, Modem]:
        sim = sim or await make_sim_modem(profile, **knobs)
        modem = Modem(await open_port(sim.path), name="m1")
        modems.append(modem)
        await modem.start()
        if initialize:
            async with asyncio.timeout(WAIT_TIMEOUT):
                await modem.initialize(pin=enter_pin)
        return sim, modem

    try:
        yield connect
    finally:
        for modem in modems:
            await modem.close()


@pytest.fixture(name="until", scope="session")
def until_fixture() -> Callable[..., Awaitable[None]]:
    """The ``until(predicate)`` helper."""
    return until


@pytest.fixture(name="next_event", scope="session")
def next_event_fixture() -> Callable[..., Awaitable[Any]]:
    """The ``next_event(modem, kind)`` helper."""
    return next_event
