"""The control interface of a running simulated modem, and sim:NAME ports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gsmgw.sim import get_sim, parse_sim_spec, resolve_sim_port, stop_sims
from gsmgw.sim.control import execute, serve_control

if TYPE_CHECKING:
    from tests.conftest import SimModemFactory
    from tests.sim.conftest import Host

OpenHost = Callable[[str], "Host"]


async def test_commands_drive_the_modem(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0;+CREG=1")
    assert await execute(modem, "sms +4915112345678 'Hallo Welt'") == "ok 1"
    await host.expect(b'+CMTI: "SM",1\r\n')
    assert await execute(modem, "registration 5") == "ok"
    await host.expect(b"+CREG: 5\r\n")
    assert await execute(modem, "signal 12") == "ok"
    assert await host.command("AT+CSQ") == b"\r\n+CSQ: 12,99\r\n\r\nOK\r\n"
    assert await execute(modem, "noise 00ff") == "ok"
    assert await host.expect(b"\x00\xff") == b"\x00\xff"
    stored = json.loads((await execute(modem, "stored")).removeprefix("ok "))
    assert [entry["index"] for entry in stored["SM"]] == [1]
    assert await execute(modem, "path") == f"ok {modem.path}"


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("frobnicate", "error: unknown command 'frobnicate' (try: help)"),
        ("signal 77", "error: rssi must be 0-31 or 99, not 77"),
        ("sms +49", "error: missing arguments (try: help)"),
        ("report x", "error: invalid literal for int() with base 10: 'x'"),
        ("sms 'unclosed", "error: No closing quotation"),
        ("", ""),
    ],
)
async def test_bad_commands_answer_an_error(
    make_sim_modem: SimModemFactory, line: str, answer: str
) -> None:
    modem = await make_sim_modem()
    assert await execute(modem, line) == answer


async def test_unix_socket_unplug_and_replug(
    make_sim_modem: SimModemFactory, open_host: OpenHost, tmp_path: Path
) -> None:
    link = tmp_path / "modem"
    modem = await make_sim_modem(link=link)
    server = await serve_control(modem, str(tmp_path / "control.sock"))
    reader, writer = await asyncio.open_unix_connection(str(tmp_path / "control.sock"))
    try:
        host = open_host(str(link))
        writer.write(b"unplug\n")
        assert await reader.readline() == b"ok\n"
        await host.wait_closed()
        writer.write(b"replug\n")
        assert await reader.readline() == f"ok {modem.path}\n".encode()
        assert link.resolve() == Path(modem.path)
    finally:
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()


def test_parse_sim_spec() -> None:
    name, profile, knobs = parse_sim_spec("sim:sim1?profile=quectel&send_delay=2.5&capacity=5")
    assert (name, profile, knobs.send_delay, knobs.capacity) == ("sim1", "quectel", 2.5, 5)
    assert parse_sim_spec("sim:a")[:2] == ("a", "generic")
    with pytest.raises(ValueError, match="unknown option 'colour'"):
        parse_sim_spec("sim:a?colour=red")
    with pytest.raises(ValueError, match="needs a name"):
        parse_sim_spec("sim:")


async def test_sim_ports_start_once_per_name(open_host: OpenHost) -> None:
    try:
        path = await resolve_sim_port("sim:one?profile=huawei")
        assert await resolve_sim_port("sim:one") == path
        assert await resolve_sim_port("sim:two") != path
        running = get_sim("one")
        assert running is not None
        assert running.sim.profile.name == "huawei"
        host = open_host(path)
        assert (await host.command("AT+CGMI")).endswith(b"\r\nhuawei\r\n\r\nOK\r\n")
    finally:
        await stop_sims()
    assert get_sim("one") is None


async def test_open_port_reaches_a_sim_port_once_registered() -> None:
    from gsmgw.modem.port import open_port, register_scheme
    from gsmgw.sim import register_sim_scheme

    register_sim_scheme(register_scheme)
    port = await open_port("sim:registered?profile=simcom")
    try:
        await port.write(b"ATE0\r")
        received = b""
        async with asyncio.timeout(10):
            while b"OK\r\n" not in received:
                received += await port.read()
        assert received.endswith(b"ATE0\r\r\nOK\r\n")
    finally:
        await port.close()
        await stop_sims()
