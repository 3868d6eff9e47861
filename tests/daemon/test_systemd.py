"""sd_notify against a fake NOTIFY_SOCKET: a real datagram socket that records what arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import logging
import os
from pathlib import Path
import signal
import socket
import threading

import pytest

from gsmgw.daemon import Notifier, _daemon, watchdog_interval
from tests.run_daemon import answering, start_run

from .conftest import StartDaemon, config_text, eventually, sim_modem


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


def fill(path: str) -> int:
    """Send datagrams to ``path`` until its queue is full (nobody reads it); return how many."""
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    sent = 0
    try:
        while True:
            try:
                sender.sendto(b"FILLER=1", path)
            except BlockingIOError:
                return sent
            sent += 1
    finally:
        sender.close()


def test_a_full_notify_socket_never_blocks(
    notify_socket: tuple[socket.socket, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, path = notify_socket
    notifier = Notifier(path)
    assert fill(path) > 0
    results: list[bool] = []

    def notify_twice() -> None:
        results.extend((notifier.status("a"), notifier.watchdog()))

    try:
        # In a thread: a blocking sendto would otherwise hang this test for good.
        thread = threading.Thread(target=notify_twice, daemon=True)
        thread.start()
        thread.join(2)
        assert results == [False, False], "sd_notify blocked on a socket nobody reads"
        full = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(full) == 1  # said once, not at every status line or watchdog ping
        server.recv(4096)  # the reader takes one: room again
        assert notifier.status("b")
    finally:
        notifier.close()


async def test_sigterm_stops_the_daemon_when_nobody_reads_the_notify_socket(
    tmp_path: Path,
) -> None:
    """The footprint benchmark reads READY=1 and nothing after: its socket fills up.

    Ten STATUS lines (one every 30 s) fill a queue of ``net.unix.max_dgram_qlen`` (10), so after
    about five minutes the daemon blocked in sendto(2) on SIGTERM and never stopped.
    """
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.setblocking(False)
    config_file = tmp_path / "gsmgw.toml"
    config_file.write_text(
        "[gateway]\nnode = 'n'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n[mqtt]\nurl = ''\n"
        "[[modem]]\nid = 'n1'\nport = 'sim:n1'\n",
        encoding="utf-8",
    )
    try:
        daemon = await start_run(config_file, env={"NOTIFY_SOCKET": path})
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(20):
            while b"READY=1" not in (await loop.sock_recv(server, 4096)).split(b"\n"):
                pass
        fill(path)
        await answering(tmp_path / "c.sock", limit=5)  # the loop still runs
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 10) == 0
    finally:
        server.close()


async def test_ready_dropped_on_a_full_socket_is_sent_again(
    start_daemon: StartDaemon, notify: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_daemon, "STATUS_INTERVAL", 0.05)
    fill(notify.getsockname())
    running = await start_daemon(config_text(sim_modem("r1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    await asyncio.sleep(0.2)  # READY=1 found no room, and nor did its next tries
    seen = drained(notify)
    assert b"READY=1" not in b"\n".join(seen).split(b"\n")

    def ready() -> bool:
        seen.extend(drained(notify))
        return b"READY=1" in b"\n".join(seen).split(b"\n")

    await eventually(ready)
    assert await running.stop() == 0


def drained(server: socket.socket) -> list[bytes]:
    """Return every datagram waiting on a non-blocking ``server``."""
    messages = []
    while True:
        try:
            messages.append(server.recv(4096))
        except BlockingIOError:
            return messages
