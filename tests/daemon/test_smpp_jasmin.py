"""A real Jasmin against gsmgw's SMPP server: gsmgw as Jasmin's SMSC (SPEC.md "SMPP server").

Jasmin 0.11.0 from PyPI, in ``.venv-jasmin`` (``./dev test`` makes it from the versions pinned in
``jasmin-requirements.txt``), with its config in a
temporary folder (every port a free one) against the machine's RabbitMQ and Redis on their
default ports; without them, or without the venv, the test is skipped. Through ``jcli`` the test
adds the SMPP client connector README.md shows (``smppccm``, transceiver, to gsmgw), a default
MT route to it, a user of Jasmin's HTTP API, and for inbound SMS an HTTP client connector to a
small aiohttp server standing for the application behind Jasmin, with a default MO route to it.
Jasmin sends through gsmgw (its HTTP ``/send``), gets its ``dlr-url`` called with ``DELIVRD``
after the simulated network's status report, and passes an MO SMS on to the application.

Each run names its connectors anew: Jasmin's RabbitMQ queues are named after them, so a message
left queued by an earlier, aborted run is never sent by this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
import secrets
import socket

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

ROOT = Path(__file__).resolve().parents[2]
JASMIN_VENV = ROOT / ".venv-jasmin"
JASMIND = JASMIN_VENV / "bin" / "jasmind.py"
#: RabbitMQ (AMQP) and Redis, where Jasmin looks for them by default.
SERVICES = {"RabbitMQ": 5672, "Redis": 6379}
#: Jasmin's Redis database: DLR lookups and its router's state, apart from anything else's.
REDIS_DB = 7
START_LIMIT = 30.0
#: Jasmin's listeners, each moved to a free loopback port. Its own SMPP server is not used but
#: stays on: jcli does not start without it.
LISTENERS = ("smpp-server", "smpp-server-pb", "client-management", "router", "http-api", "jcli")


def _missing_service() -> str | None:
    for name, port in SERVICES.items():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return f"{name} does not listen on 127.0.0.1:{port}"
    return None


def _skip_reason() -> str | None:
    if not JASMIND.exists():
        return f"no Jasmin in {JASMIN_VENV} (./dev test makes it)"
    return _missing_service()


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def amqp_spec() -> Path:
    """The AMQP 0-9-1 spec Jasmin's AMQP client loads (txamqp ships it)."""
    found = sorted(JASMIN_VENV.glob("lib/python*/site-packages/txamqp/specs/standard/amqp0-9-1*"))
    assert found, f"txamqp's AMQP 0-9-1 spec is missing from {JASMIN_VENV}"
    return found[0]


@pytest.fixture
async def app() -> AsyncIterator[App]:
    # "ACK/Jasmin" acknowledges a call: Jasmin calls again after any other answer.
    async with serve_app(dlr_answer="ACK/Jasmin", mo_answer="ACK/Jasmin") as found:
        yield found


@dataclass(frozen=True)
class Jasmin:
    jcli: int
    http: int


def jasmin_config(folder: Path) -> tuple[Path, Jasmin]:
    """Write jasmin.cfg (every listener on a free loopback port) under ``folder``."""
    ports = {section: free_port() for section in LISTENERS}
    text = "".join(
        f"[{section}]\nbind = 127.0.0.1\nport = {port}\n"
        + ("authentication = False\n" if section == "jcli" else "")
        for section, port in ports.items()
    )
    text += f"[amqp-broker]\nspec = {amqp_spec()}\n[redis-client]\ndbid = {REDIS_DB}\n"
    path = folder / "jasmin.cfg"
    path.write_text(text, encoding="utf-8")
    return path, Jasmin(jcli=ports["jcli"], http=ports["http-api"])


@contextlib.asynccontextmanager
async def jasmind(folder: Path) -> AsyncIterator[Jasmin]:
    """Run jasmind with its paths under ``folder``; stop it at the end, whatever happened."""
    for sub in ("etc/jasmin/store", "var/log/jasmin"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    config, jasmin = jasmin_config(folder)
    with (folder / "jasmind.out").open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(JASMIN_VENV / "bin" / "python"),
            str(JASMIND),
            *("-c", str(config)),
            # DLR lookup and delivery in this process (else separate daemons do them).
            *("--enable-dlr-lookup", "--enable-dlr-thrower"),
            env={"ROOT_PATH": str(folder), "PATH": "/usr/bin:/bin"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        yield jasmin
    finally:
        await stop_process(process, 10)


class Jcli:
    """Jasmin's telnet console: one command per line, each answered up to the next prompt."""

    PROMPTS = (b"jcli : ", b"> ")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Jcli:
        async with asyncio.timeout(START_LIMIT):
            while True:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    break
                except OSError:
                    await asyncio.sleep(0.2)
        console = cls(reader, writer)
        await console._until(b"Session ref")
        # Decline its telnet options (linemode, window size, go-ahead, echo), then ask for a
        # prompt: it prompts only after a line.
        writer.write(b"\xff\xfc\x22\xff\xfc\x1f\xff\xfc\x03\xff\xfe\x01\r\n")
        await console._prompt()
        return console

    async def run(self, *lines: str) -> str:
        """Send the lines of one command; return what the last one answered."""
        answer = ""
        for line in lines:
            self.writer.write(line.encode() + b"\r\n")
            answer = await self._prompt()
        return answer

    async def add(self, command: str, **fields: str) -> None:
        """``command -a`` with ``key value`` lines, then ``ok``; it must say it succeeded."""
        lines = [f"{key} {value}" for key, value in fields.items()]
        answer = await self.run(f"{command} -a", *lines, "ok")
        assert "Successfully added" in answer, answer

    async def _prompt(self) -> str:
        data = b""
        while not data.endswith(self.PROMPTS):
            data += await self._read()
        return data.decode(errors="replace")

    async def _until(self, marker: bytes) -> None:
        data = b""
        while marker not in data:
            data += await self._read()

    async def _read(self) -> bytes:
        async with asyncio.timeout(10):
            data = await self.reader.read(4096)
        if not data:
            raise EOFError("jcli closed the connection")
        return data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


@dataclass(frozen=True)
class Setup:
    """What ``configure`` made: the SMPP connector to gsmgw and the HTTP API's user."""

    connector: str
    username: str
    password: str


async def configure(jasmin: Jasmin, gsmgw_port: int, app: App) -> Setup:
    """README.md's connector to gsmgw, the MT and MO routes, and a user of the HTTP API."""
    run = secrets.token_hex(3)
    smpp_cid, http_cid = f"gsmgw{run}", f"app{run}"
    console = await Jcli.connect(jasmin.jcli)
    try:
        await console.add(
            "smppccm",
            cid=smpp_cid,
            host="127.0.0.1",
            port=str(gsmgw_port),
            username="shop",
            password="secret1",
            bind="transceiver",
            submit_throughput="100",
        )
        started = await console.run(f"smppccm -1 {smpp_cid}")
        assert "Successfully started" in started, started
        await console.add(
            "mtrouter", type="defaultroute", connector=f"smppc({smpp_cid})", rate="0.00"
        )
        await console.add(
            "httpccm", cid=http_cid, url=f"http://127.0.0.1:{app.port}/mo", method="GET"
        )
        await console.add("morouter", type="defaultroute", connector=f"http({http_cid})")
        await console.add("group", gid=f"g{run}")
        setup = Setup(connector=smpp_cid, username=f"u{run}", password="pw1")
        await console.add(
            "user",
            username=setup.username,
            password=setup.password,
            gid=f"g{run}",
            uid=setup.username,
        )
        return setup
    finally:
        await console.close()


@pytest.mark.timeout(90)
async def test_jasmin_sends_gets_its_dlr_and_receives_mo(
    start_smpp: StartSmpp, tmp_path: Path, app: App
) -> None:
    running, port = await start_gateway(start_smpp)
    async with jasmind(tmp_path / "jasmin") as jasmin, aiohttp.ClientSession() as session:
        setup = await configure(jasmin, port, app)
        await client_bound(running)
        query = {
            "username": setup.username,
            "password": setup.password,
            "to": "491701234567",
            "content": "Hello from Jasmin",
            "dlr": "yes",
            "dlr-url": f"http://127.0.0.1:{app.port}/dlr",
            "dlr-level": "2",  # the terminal's receipt, not only the SMSC's acceptance
            "dlr-method": "GET",
        }
        async with session.get(f"http://127.0.0.1:{jasmin.http}/send", params=query) as sent:
            body = await sent.text()
        assert sent.status == 200, body
        assert body.startswith("Success "), body
        jasmin_id = body.split('"')[1]

        await eventually(lambda: len(sim("s1").sim.sent) == 1, limit=20)
        submit = sim("s1").sim.sent[0].submit
        assert (submit.recipient, submit.text) == ("+491701234567", "Hello from Jasmin")
        await eventually(lambda: bool(app.dlrs), limit=20)
        assert app.dlrs[0]["id"] == jasmin_id
        assert app.dlrs[0]["message_status"] == "DELIVRD"
        messages = await running.daemon.store.view_messages()
        assert [m.state for m in messages] == [MessageState.DELIVERED]

        mo = await receive_mo(running, app, "Reply to Jasmin")
        assert mo["content"] == "Reply to Jasmin"
        # As SMPP carries them (TON 1, international, without "+"): Jasmin passes them on so.
        assert (mo["from"], mo["to"]) == (SENDER[1:], MODEM_NUMBER[1:])
        assert mo["origin-connector"] == setup.connector
    assert await running.stop() == 0
