"""A dispatcher on a real store with driver-connected simulated modems on real ptys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from pathlib import Path
import random
from typing import Any

import pytest

from gsmgw.config import Config, parse_config
from gsmgw.dispatch import Dispatcher, Inbound, SendPolicy
from gsmgw.modem.driver import Modem
from gsmgw.modem.port import open_port
from gsmgw.sim import PtyModem
from gsmgw.store import Store

#: Generous: other helpers' tests share the two cores.
WAIT_TIMEOUT = 20.0

SimModemFactory = Callable[..., Awaitable[PtyModem]]


async def eventually(check: Callable[[], object], *, limit: float = WAIT_TIMEOUT) -> None:
    """Wait until ``check()`` is true (polled; for tests only)."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - a test helper polling a plain predicate
            await asyncio.sleep(0.01)


class Harness:
    """A config, a store, a dispatcher and its receiver, and a modem per ``[[modem]]``."""

    def __init__(self, store: Store, config: Config, make_sim: SimModemFactory) -> None:
        self.store = store
        self.config = config
        self.policy = SendPolicy.from_config(config, retry_base=0.05, retry_max=0.2)
        self.dispatcher = Dispatcher(store, config, policy=self.policy, rng=random.Random(1))
        self.receiver = Inbound(store, config.opt_out)
        self.sims: dict[str, PtyModem] = {}
        self.modems: dict[str, Modem] = {}
        self._make_sim = make_sim
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Run the dispatcher (no modem attached yet)."""
        self._tasks.append(asyncio.create_task(self.dispatcher.run()))

    async def make_sim_only(self, modem_id: str, **knobs: Any) -> PtyModem:
        """Start a simulated modem without connecting to it."""
        self.sims[modem_id] = await self._make_sim(name=modem_id, **knobs)
        return self.sims[modem_id]

    async def plug(self, modem_id: str, **knobs: Any) -> PtyModem:
        """Start a simulated modem, connect a driver to it and attach it."""
        sim = self.sims.get(modem_id) or await self._make_sim(name=modem_id, **knobs)
        self.sims[modem_id] = sim
        port = await open_port(sim.path)
        modem = Modem(port, name=modem_id)
        await modem.start()
        await modem.initialize()
        self.modems[modem_id] = modem
        self._tasks.append(asyncio.create_task(self._events(modem_id, modem)))
        self.dispatcher.attach(modem_id, modem)
        return sim

    async def _events(self, modem_id: str, modem: Modem) -> None:
        async for event in modem.events():
            await self.receiver.on_event(modem_id, modem, event)
        self.dispatcher.detach(modem_id, "closed")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for modem in self.modems.values():
            await modem.close()

    def idle(self, modem_id: str) -> bool:
        """Whether a modem's sender finished everything, its last commit included."""
        slot = self.dispatcher.senders[modem_id]
        return not slot.busy_parts and slot.last_commit is None and slot.claim_ahead is None

    def sent_texts(self, modem_id: str) -> list[str]:
        """Texts the simulated network accepted from one modem, in order."""
        return [m.submit.text or "" for m in self.sims[modem_id].sim.sent]

    def all_sent(self) -> list[str]:
        return [text for modem_id in self.sims for text in self.sent_texts(modem_id)]


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness(tmp_path: Path, make_sim_modem: SimModemFactory) -> AsyncIterator[MakeHarness]:
    """Return ``await make(modems_and_rules, gateway=keys)``: a started harness (MQTT off)."""
    made: list[Harness] = []
    stores: list[Store] = []

    async def make(toml: str, *, gateway: str = "") -> Harness:
        config = parse_config(
            f"[gateway]\nnode = 't'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n{gateway}\n"
            f"[mqtt]\nurl = ''\n{toml}",
            base=tmp_path,
        )
        store = Store(config.gateway.database)
        await store.open()
        stores.append(store)
        made.append(h := Harness(store, config, make_sim_modem))
        await h.start()
        return h

    try:
        yield make
    finally:
        for h in made:
            await h.stop()
        for store in stores:
            await store.close()
