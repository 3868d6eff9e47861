"""``gsmgw simulate`` as a process: the first line, control on stdin, a clean stop."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import json
import os
from pathlib import Path
import select
import signal
import socket
import subprocess
import sys
import tty

#: Seconds; generous, the machine is shared.
TIMEOUT = 20.0


def _line(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
    assert ready, "gsmgw simulate said nothing"
    return process.stdout.readline().decode().strip()


def _read_until(fd: int, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        ready, _, _ = select.select([fd], [], [], TIMEOUT)
        assert ready, f"no {marker!r} in {data!r}"
        data += os.read(fd, 4096)
    return data


def _simulate_once(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``gsmgw simulate ARGS`` that is expected to refuse and end by itself."""
    return subprocess.run(
        [sys.executable, "-m", "gsmgw", "simulate", *args],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


@contextlib.contextmanager
def _simulating(
    *args: str, stop: signal.Signals, stdin: int = subprocess.PIPE
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``gsmgw simulate ARGS`` for the block, then stop it with ``stop``: it must exit 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gsmgw", "simulate", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, stderr.decode()


def test_simulate_prints_its_path_and_obeys_stdin(tmp_path: Path) -> None:
    link = tmp_path / "gsmmodem-test"
    args = ("--json", "--send-delay", "0", "--profile", "quectel", "--link", str(link))
    with _simulating(*args, stop=signal.SIGINT) as process:
        assert process.stdin is not None
        first = json.loads(_line(process))
        assert first["link"] == str(link)
        assert os.readlink(link) == first["path"]
        host = os.open(first["path"], os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(host)
            os.write(host, b"ATE0\r")
            _read_until(host, b"OK\r\n")
            process.stdin.write(b"sms +4915112345678 'hello there'\n")
            process.stdin.flush()
            assert _line(process) == "ok 0"  # Quectel counts storage from 0
            assert b'+CMTI: "SM",0' in _read_until(host, b'+CMTI: "SM",0\r\n')
            process.stdin.write(b"bogus\n")
            process.stdin.flush()
            assert _line(process).startswith("error: unknown command")
        finally:
            os.close(host)
    assert not link.exists()


def test_the_control_socket_listens_once_the_first_line_is_out(tmp_path: Path) -> None:
    """A script may talk to ``--control`` right after reading the pty path (no race)."""
    control = tmp_path / "control.sock"
    args = ("--control", str(control))
    with _simulating(*args, stop=signal.SIGTERM, stdin=subprocess.DEVNULL) as process:
        assert _line(process).startswith("/dev/")
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(TIMEOUT)
            client.connect(str(control))  # no wait, no retry
            client.sendall(b"path\n")
            assert client.makefile("rb").readline().startswith(b"ok /dev/")
    assert not control.exists()


def test_simulate_refuses_a_control_socket_it_cannot_create(tmp_path: Path) -> None:
    result = _simulate_once("--control", str(tmp_path / "no/such/c.sock"))
    assert result.returncode == 1
    assert b"cannot serve the control socket" in result.stderr


def test_simulate_refuses_bad_knobs() -> None:
    result = _simulate_once("--capacity", "0")
    assert result.returncode == 2
    assert b"capacity >= 1" in result.stderr


def test_simulate_replays_a_trace(tmp_path: Path) -> None:
    trace = tmp_path / "t.trace"
    trace.write_text(
        '{"gsmgw_trace": 1, "port": "/dev/ttyUSB9", "started": "2026-12-06T00:00:00+00:00"}\n'
        '{"t": 0.0, "host": "AT+CGMI\\r"}\n'
        '{"t": 0.01, "modem": "\\r\\n WAVECOM MODEM\\r\\n"}\n'
        '{"t": 0.02, "modem": "OK\\r\\n"}\n',
        encoding="utf-8",
    )
    with _simulating("--replay", str(trace), stop=signal.SIGTERM, stdin=subprocess.DEVNULL) as p:
        host = os.open(_line(p), os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(host)
            os.write(host, b"at+cgmi\r")
            assert _read_until(host, b"OK\r\n") == b"\r\n WAVECOM MODEM\r\nOK\r\n"
            os.write(host, b"AT+NOPE\r")
            assert _read_until(host, b"ERROR\r\n") == b"\r\nERROR\r\n"
        finally:
            os.close(host)


def test_simulate_refuses_a_file_that_is_no_trace(tmp_path: Path) -> None:
    bad = tmp_path / "bad.trace"
    bad.write_text("not json\n", encoding="utf-8")
    result = _simulate_once("--replay", str(bad))
    assert result.returncode == 1
    assert b"cannot replay" in result.stderr
