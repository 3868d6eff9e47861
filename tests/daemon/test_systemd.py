"""sd_notify against a fake NOTIFY_SOCKET: a real datagram socket that records what arrives."""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import socket

import pytest

from gsmgw.daemon import Notifier, watchdog_interval


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(2)
    try:
        yield server, path
    finally:
        server.close()


def test_ready_status_watchdog_arrive(notify_socket: tuple[socket.socket, str]) -> None:
    server, path = notify_socket
    notifier = Notifier(path)
    assert notifier.enabled
    assert notifier.ready("2 modems ready")
    assert server.recv(4096) == b"READY=1\nSTATUS=2 modems ready"
    assert notifier.watchdog()
    assert server.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert server.recv(4096) == b"STOPPING=1\nSTATUS=stopping"
    notifier.close()


def test_abstract_namespace_socket() -> None:
    name = f"gsmgw-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(b"\0" + name.encode())
    server.settimeout(2)
    notifier = Notifier("@" + name)
    try:
        assert notifier.status("hello")
        assert server.recv(4096) == b"STATUS=hello"
    finally:
        notifier.close()
        server.close()


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert not notifier.ready("x")


def test_vanished_socket_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "gone.sock"))
    assert not notifier.ready("x")
    notifier.close()


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("4000000", None, 2.0),
        ("4000000", "self", 2.0),
        ("4000000", "1", None),
        (None, None, None),
        ("junk", None, None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(os.getpid()) if value == "self" else value)
    assert watchdog_interval() == expected
