"""A daemon in this process on ``sim:NAME`` modems, with its config file in ``tmp_path``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
import socket
from typing import Any

import pytest

from gsmgw.config import load_config
from gsmgw.daemon import Daemon, Notifier
from gsmgw.modem.port import register_scheme
from gsmgw.sim import PtyModem, get_sim, register_sim_scheme, stop_sims
from tests.run_daemon import InLoop, stop_all

SimModemFactory = Callable[..., Awaitable[PtyModem]]

#: Generous: other helpers' tests share the two cores.
WAIT_TIMEOUT = 20.0


async def eventually(check: Callable[[], object], *, limit: float = WAIT_TIMEOUT) -> None:
    """Wait until ``check()`` is true (polled; for tests only)."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - a test helper polling a plain predicate
            await asyncio.sleep(0.01)


def config_text(modems: str, *, gateway: str = "", mqtt: str = "url = ''") -> str:
    return (
        f"[gateway]\nnode = 't'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n{gateway}\n"
        f"[mqtt]\n{mqtt}\n{modems}"
    )


def sim_modem(modem_id: str, extra: str = "") -> str:
    return f"[[modem]]\nid = '{modem_id}'\nport = 'sim:{modem_id}'\n{extra}\n"


def sim(name: str) -> PtyModem:
    found = get_sim(name)
    assert found is not None
    return found


class Running(InLoop):
    """A started daemon and what the tests look at."""

    #: The file its config was loaded from (a test edits it before a SIGHUP).
    config_file: Path

    @property
    def control(self) -> str:
        return str(self.daemon.config.gateway.control)


StartDaemon = Callable[..., Awaitable[Running]]


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[socket.socket]:
    """A fake ``NOTIFY_SOCKET``: a real datagram socket that records what arrives."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "notify.sock"))
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def start_daemon(tmp_path: Path, notify: socket.socket) -> AsyncIterator[StartDaemon]:
    """Return ``await start(config_text)``: a daemon running in this event loop."""
    register_sim_scheme(register_scheme)
    running: list[Running] = []

    async def start(text: str, **kwargs: Any) -> Running:
        config_file = tmp_path / "gsmgw.toml"
        config_file.write_text(text, encoding="utf-8")
        config = load_config(config_file)
        daemon = Daemon(config, notifier=Notifier(str(tmp_path / "notify.sock")), **kwargs)
        running.append(r := await Running.start(daemon, patience=WAIT_TIMEOUT))
        r.config_file = config_file
        return r

    try:
        yield start
    finally:
        await stop_all(running)
        await stop_sims()
