"""The control socket: requests, replies, errors, and a stale socket left by a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
import socket
from typing import Any

import pytest

from gsmgw.cli.control import request
from gsmgw.daemon import ControlServer
from gsmgw.errors import ControlError, GsmgwError


async def _echo(req: Mapping[str, Any]) -> object:
    return {"echo": req.get("value")}


async def _boom(req: Mapping[str, Any]) -> object:
    raise RuntimeError("bug")


async def _refuse(req: Mapping[str, Any]) -> object:
    raise ControlError("unknown_modem", "no modem sim9")


async def _gsmgw_error(req: Mapping[str, Any]) -> object:
    raise GsmgwError("disk full")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ControlServer]:
    handlers = {"echo": _echo, "boom": _boom, "refuse": _refuse, "gsmgw": _gsmgw_error}
    srv = ControlServer(str(tmp_path / "run" / "control.sock"), handlers)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


async def test_request_reply(server: ControlServer) -> None:
    assert await request(server.path, "echo", value="ä😀") == {"echo": "ä😀"}


@pytest.mark.parametrize(
    ("op", "code"),
    [
        ("nope", "unknown_op"),
        ("refuse", "unknown_modem"),
        ("boom", "internal"),
        ("gsmgw", "failed"),
    ],
)
async def test_errors_are_replies(server: ControlServer, op: str, code: str) -> None:
    with pytest.raises(ControlError) as info:
        await request(server.path, op)
    assert info.value.code == code
    # The server survives every error and still answers.
    assert await request(server.path, "echo", value=1) == {"echo": 1}


async def test_not_running(tmp_path: Path) -> None:
    with pytest.raises(ControlError) as info:
        await request(str(tmp_path / "none.sock"), "status")
    assert info.value.code == "not_running"
    assert "gsmgw run" in str(info.value)


async def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a daemon killed with -9 leaves its socket file behind
    srv = ControlServer(str(path), {"echo": _echo})
    await srv.start()
    try:
        assert await request(str(path), "echo", value="x") == {"echo": "x"}
    finally:
        await srv.close()
    assert not path.exists()


async def test_second_daemon_is_refused(server: ControlServer) -> None:
    other = ControlServer(server.path, {})
    with pytest.raises(ControlError) as info:
        await other.start()
    assert info.value.code == "busy"
