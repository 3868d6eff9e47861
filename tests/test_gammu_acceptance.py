"""Acceptance: Debian's gammu talks to ``gsmgw simulate`` as to a real AT modem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import json
import os
from pathlib import Path
import select
import shutil
import socket
import subprocess
import sys

import pytest

GAMMU = shutil.which("gammu")
pytestmark = pytest.mark.skipif(
    GAMMU is None, reason="the gammu binary is not installed (apt-get install gammu)"
)

#: SIMCom first (the issue's first target); the other personalities run with -m slow.
PROFILES = [
    "simcom",
    pytest.param("quectel", marks=pytest.mark.slow),
    pytest.param("huawei", marks=pytest.mark.slow),
    pytest.param("generic", marks=pytest.mark.slow),
]

#: Seconds; generous, the machine is shared.
START_TIMEOUT = 20.0
GAMMU_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Simulator:
    pty: str
    link: Path
    control: Path
    gammurc: Path

    def command(self, line: str) -> str:
        """Send one control command; return its answer line."""
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(START_TIMEOUT)
            client.connect(str(self.control))
            client.sendall(line.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = client.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer.decode().strip()

    def gammu(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert GAMMU is not None
        return subprocess.run(
            [GAMMU, "-c", str(self.gammurc), *args],
            capture_output=True,
            text=True,
            timeout=GAMMU_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )


def _first_line(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    if not ready:
        raise TimeoutError("gsmgw simulate printed no pty path")
    return process.stdout.readline().decode().strip()


@pytest.fixture(params=PROFILES)
def simulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Simulator]:
    """``gsmgw simulate`` in a subprocess, with a link, a control socket and a gammurc."""
    link = tmp_path / "modem"
    control = tmp_path / "control.sock"
    process = subprocess.Popen(
        [
            *(
                sys.executable,
                "-m",
                "gsmgw",
                "simulate",
                "--send-delay",
                "0",
                "--report-delay",
                "0",
            ),
            *("--profile", request.param, "--link", str(link), "--control", str(control)),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        pty = _first_line(process)
        gammurc = tmp_path / "gammurc"
        gammurc.write_text(
            f"[gammu]\ndevice = {link}\nconnection = at115200\nmodel = at\n"
            f"logfile = {tmp_path / 'gammu.log'}\nlogformat = textall\n"
        )
        assert os.readlink(link) == pty
        yield Simulator(pty, link, control, gammurc)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=START_TIMEOUT)
        assert process.returncode == 0, stderr.decode()
    assert not link.exists()


def test_gammu_identify(simulator: Simulator) -> None:
    result = simulator.gammu("identify")
    assert result.returncode == 0, result.stderr
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in result.stdout.splitlines())
    )
    assert fields["Manufacturer"].lower() in ("simcom_ltd", "quectel", "huawei", "gsmgw")
    assert fields["IMEI"] == "356938035643809"
    assert fields["SIM IMSI"] == "001010123456789"


def test_gammu_sendsms(simulator: Simulator) -> None:
    result = simulator.gammu("sendsms", "TEXT", "+491701234567", "-text", "Grüße from gammu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "message reference=0" in result.stdout + result.stderr
    answer = simulator.command("sent")
    assert answer.startswith("ok ")
    [sent] = json.loads(answer.removeprefix("ok "))
    assert (sent["to"], sent["text"], sent["reference"]) == (
        "+491701234567",
        "Grüße from gammu",
        0,
    )


def test_gammu_getallsms_after_injecting(simulator: Simulator) -> None:
    # "ok <index>...": one storage location per part (Quectel counts from 0, others from 1).
    assert len(simulator.command("sms +4915112345678 Hello from the network").split()) == 2
    assert len(simulator.command("sms +4915112345678 " + "Long one. " * 20).split()) == 3
    result = simulator.gammu("getallsms")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Hello from the network" in result.stdout
    assert '"+4915112345678"' in result.stdout
    assert "part 2 of 2" in result.stdout
    assert "3 SMS parts in 3 SMS sequences" in result.stdout
