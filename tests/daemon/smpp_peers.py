"""What the tests of real SMPP clients (Kannel, Jasmin) share: free ports and the application.

The application stands for what runs behind the client: an aiohttp server that records the
``dlr-url`` callbacks (``/dlr``) and the MO SMS the client passes on (``/mo``), each as its query.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
import socket

from aiohttp import web

from .conftest import Running, eventually, sim, sim_modem
from .smpp_esme import StartSmpp

#: The simulated modem's own number: where the MO SMS passed on over SMPP went.
MODEM_NUMBER = "+4915112345678"
#: Who sends that MO SMS.
SENDER = "+491705555555"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class App:
    """What the client called: its dlr-url and its MO destination."""

    port: int
    dlrs: list[dict[str, str]] = field(default_factory=list)
    mo: list[dict[str, str]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serve_app(*, dlr_answer: str, mo_answer: str) -> AsyncIterator[App]:
    """Run the application on a free port, answering each call as the client expects."""
    found = App(free_port())

    async def dlr(request: web.Request) -> web.Response:
        found.dlrs.append(dict(request.query))
        return web.Response(text=dlr_answer)

    async def mo(request: web.Request) -> web.Response:
        found.mo.append(dict(request.query))
        return web.Response(text=mo_answer)

    server = web.Application()
    server.add_routes([web.get("/dlr", dlr), web.get("/mo", mo)])
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    try:
        yield found
    finally:
        await runner.cleanup()


async def start_gateway(start_smpp: StartSmpp) -> tuple[Running, int]:
    """Gsmgw with its SMPP server (and port) and one simulated modem, s1, of ``MODEM_NUMBER``."""
    return await start_smpp(modems=sim_modem("s1", f"number = '{MODEM_NUMBER}'"))


async def client_bound(running: Running) -> None:
    """Wait until the client bound to gsmgw."""
    server = running.daemon.smpp
    assert server is not None
    await eventually(lambda: any(s.bound for s in server.sessions), limit=20)


async def receive_mo(running: Running, app: App, text: str) -> dict[str, str]:
    """An SMS from ``SENDER`` reaches s1; return what the client passed on to the application.

    Returns once the client answered every deliver_sm too: nothing stays pending.
    """
    sim("s1").sim.inject_sms(SENDER, text)
    await eventually(lambda: bool(app.mo), limit=20)
    async with asyncio.timeout(10):
        while await running.daemon.store.smpp_pending_counts():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return app.mo[0]
