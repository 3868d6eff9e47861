"""A real Kannel against gsmgw's SMPP server: gsmgw as Kannel's SMSC (SPEC.md "SMPP server").

Debian's kannel: bearerbox with one ``group = smsc`` (``smsc = smpp``, transceiver mode) bound to
gsmgw, and smsbox with a sendsms user and a catch-all ``sms-service``. Kannel sends through gsmgw
(HTTP sendsms on smsbox), gets its ``dlr-url`` called with "delivered" after the simulated
network's status report, and receives an MO SMS on its ``get-url``; a small aiohttp server in the
test stands for the application behind Kannel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
import shutil
from urllib.parse import urlencode

import aiohttp
import pytest

from gsmgw.models import MessageState
from tests.processes import stop_process

from .conftest import eventually, sim
from .smpp_esme import StartSmpp, start_smpp
from .smpp_peers import (
    MODEM_NUMBER,
    SENDER,
    App,
    client_bound,
    free_port,
    receive_mo,
    serve_app,
    start_gateway,
)

__all__ = ["start_smpp"]

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
pytestmark = pytest.mark.skipif(
    not Path(BEARERBOX).exists(), reason="Debian's kannel is not installed (./dev test installs it)"
)


@pytest.fixture
async def app() -> AsyncIterator[App]:
    # An empty answer to an MO SMS: smsbox sends no reply SMS.
    async with serve_app(dlr_answer="ok", mo_answer="") as found:
        yield found


def kannel_config(tmp_path: Path, smpp_port: int, app: App) -> tuple[Path, int, int]:
    """Write kannel.conf; return it, bearerbox's smsbox port and smsbox's sendsms port."""
    admin, boxes, sendsms = free_port(), free_port(), free_port()
    get_url = f"http://127.0.0.1:{app.port}/mo?from=%p&to=%P&text=%a&smsc=%i"
    text = f"""
group = core
admin-port = {admin}
admin-password = admin
smsbox-port = {boxes}
box-allow-ip = 127.0.0.1
log-file = "{tmp_path}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = gsmgw
host = 127.0.0.1
port = {smpp_port}
transceiver-mode = true
smsc-username = shop
smsc-password = secret1
system-type = ""
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {boxes}
sendsms-port = {sendsms}
log-file = "{tmp_path}/smsbox.log"
log-level = 0

group = sendsms-user
username = tester
password = foobar

group = sms-service
keyword = default
get-url = "{get_url}"
max-messages = 0
"""
    path = tmp_path / "kannel.conf"
    path.write_text(text, encoding="utf-8")
    return path, boxes, sendsms


async def listening(port: int, *, limit: float = 10.0) -> None:
    """Wait until something accepts connections on a loopback port."""
    async with asyncio.timeout(limit):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


@contextlib.asynccontextmanager
async def kannel(config: Path, boxes: int) -> AsyncIterator[None]:
    """Run bearerbox and smsbox on ``config``; stop them at the end, whatever happened."""
    processes = []
    try:
        for program in (BEARERBOX, SMSBOX):
            if program == SMSBOX:  # smsbox gives up at once if bearerbox does not listen yet
                await listening(boxes)
            processes.append(
                await asyncio.create_subprocess_exec(
                    program,
                    "-v",
                    "4",  # stderr quiet: the log files say everything
                    str(config),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
        yield
    finally:
        for process in reversed(processes):  # smsbox first: it speaks to bearerbox as it ends
            await stop_process(process, 5)


async def sendsms(session: aiohttp.ClientSession, port: int, **params: str) -> tuple[int, str]:
    query = urlencode({"username": "tester", "password": "foobar", **params})
    async with asyncio.timeout(10):
        while True:  # smsbox listens a moment after it starts
            try:
                async with session.get(f"http://127.0.0.1:{port}/cgi-bin/sendsms?{query}") as r:
                    return r.status, await r.text()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)


@pytest.mark.timeout(60)
async def test_kannel_sends_gets_its_dlr_and_receives_mo(
    start_smpp: StartSmpp, tmp_path: Path, app: App
) -> None:
    running, port = await start_gateway(start_smpp)
    config, boxes, sendsms_port = kannel_config(tmp_path, port, app)
    async with kannel(config, boxes), aiohttp.ClientSession() as session:
        await client_bound(running)
        dlr_url = f"http://127.0.0.1:{app.port}/dlr?type=%d&to=%p&answer=%A"
        status, body = await sendsms(
            session,
            sendsms_port,
            to="+491701234567",
            **{"from": "shop"},
            text="Hello from Kannel",
            **{"dlr-mask": "3", "dlr-url": dlr_url},
        )
        assert status == 202, body
        await eventually(lambda: len(sim("s1").sim.sent) == 1, limit=20)
        assert sim("s1").sim.sent[0].submit.text == "Hello from Kannel"
        await eventually(lambda: any(d.get("type") == "1" for d in app.dlrs), limit=20)
        delivered = next(d for d in app.dlrs if d["type"] == "1")
        assert delivered["to"] == "+491701234567"
        messages = await running.daemon.store.view_messages()
        assert [m.state for m in messages] == [MessageState.DELIVERED]

        mo = await receive_mo(running, app, "Reply to Kannel")
        assert (mo["text"], mo["from"], mo["to"]) == ("Reply to Kannel", SENDER, MODEM_NUMBER)
    assert await running.stop() == 0
