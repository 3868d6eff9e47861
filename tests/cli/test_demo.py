"""``gsmgw demo``: the scripted tour end to end, and a clear message without Mosquitto."""

from __future__ import annotations

from pathlib import Path
import re
import signal
import subprocess
import sys

import pytest

from gsmgw.cli import main
from gsmgw.demo import _mosquitto as mosquitto
from gsmgw.demo._tour import TOUR
from gsmgw.sim import get_sim


def test_demo_once_runs_every_step_and_cleans_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--once"]) == 0
    out = capsys.readouterr().out
    for name, _, _ in TOUR:
        assert f"ok: {name}" in out
    assert "demo: every step worked" in out
    assert "mosquitto_pub -p " in out
    assert "-t 'gsmgw/send'" in out
    assert '"error":{"code":"invalid_number"' in out
    # Broker folder, database and sockets are gone; no simulated modem is left running.
    workdir = re.search(r"files in (\S+)", out)
    assert workdir is not None
    assert not Path(workdir.group(1)).exists()
    assert get_sim("sim1") is None
    assert get_sim("sim2") is None


def test_demo_without_mosquitto_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> str:
        raise mosquitto.MosquittoMissing(
            f"the mosquitto binary was not found; {mosquitto.INSTALL_HINT}"
        )

    monkeypatch.setattr("gsmgw.demo._demo.find_mosquitto", missing)
    assert main(["demo", "--once"]) == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install mosquitto" in err
    assert "gsmgw demo needs Mosquitto" in err


def test_demo_mosquitto_missing_from_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("os.access", lambda path, mode: False)
    assert main(["demo"]) == 1
    assert "apt-get install mosquitto" in capsys.readouterr().err


def test_demo_live_view_stops_cleanly_on_ctrl_c() -> None:
    """Without --once the demo runs until SIGINT, then exits 0 leaving nothing behind."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "gsmgw", "demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdin is not None
    assert demo.stdout is not None
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Running until Ctrl-C"):
                break
        demo.stdin.write("sms +491707777777 typed at the demo\n")
        demo.stdin.flush()
        for line in demo.stdout:
            lines.append(line)
            if "typed at the demo" in line:
                break
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    out = "".join(lines) + rest
    assert demo.returncode == 0, out
    assert "gsmgw/demo/inbox" in out
    assert "stopped: broker, modems and temporary files are gone" in out
    workdir = re.search(r"files in (\S+)", out)
    assert workdir is not None
    assert not Path(workdir.group(1)).exists()
