"""``gsmgw doctor``'s HTTP API checks: the tokens file, and the listener stopped and running."""

from __future__ import annotations

from pathlib import Path
import signal
import socket

import pytest

from tests.daemon.test_http_curl import free_port
from tests.run_daemon import answering, start_run

from .test_doctor import by_name, doctor, judged_as_this_user, write_config

__all__ = ["judged_as_this_user"]  # the autouse fixture, for pytest to find here

TOKEN = "doctor-token-0123456789"


def http_config(tmp_path: Path, port: int) -> Path:
    tokens = tmp_path / "http.tokens"
    tokens.write_text(f"ops:{TOKEN}\n", encoding="utf-8")
    tokens.chmod(0o600)
    config = write_config(tmp_path, url="", modems=[("d1", "sim:doc-http")])
    config.write_text(
        config.read_text() + f"[http]\nlisten = '127.0.0.1:{port}'\ntokens_file = 'http.tokens'\n"
    )
    return config


async def test_stopped_daemon_free_port_and_readable_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = http_config(tmp_path, port)
    _, report = await doctor(config, capsys)
    checks = by_name(report)
    assert checks["HTTP tokens"]["status"] == "ok"
    assert "1 tokens, mode 0600" in checks["HTTP tokens"]["message"]
    assert (checks["HTTP API"]["status"], "is free" in checks["HTTP API"]["message"]) == (
        "ok",
        True,
    )

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        _, report = await doctor(config, capsys)
    check = by_name(report)["HTTP API"]
    assert (check["status"], "in use" in check["message"]) == ("fail", True)
    assert check["hint"]


async def test_no_http_no_http_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, url="", modems=[("d1", "sim:doc-nohttp")])
    _, report = await doctor(config, capsys)
    assert "HTTP API" not in by_name(report)
    assert "HTTP tokens" not in by_name(report)


@pytest.mark.timeout(60)
async def test_running_daemon_answers_on_health(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = http_config(tmp_path, port)
    daemon = await start_run(config)
    try:
        await answering(tmp_path / "run" / "control.sock")
        _, report = await doctor(config, capsys)
    finally:
        daemon.send_signal(signal.SIGTERM)
        await daemon.wait()
    check = by_name(report)["HTTP API"]
    assert check["status"] == "ok", check
    assert f"http://127.0.0.1:{port}/v1/health answers" in check["message"]
