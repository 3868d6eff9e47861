"""The HTTP API through ``curl`` against ``gsmgw run`` in its own process, as scripts use it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import shutil
import signal
import socket

import pytest

from tests.run_daemon import answering, start_run

from .conftest import config_text, sim_modem

TOKEN = "curl-token-0123456789abcdef"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def curl(*args: str) -> tuple[int, str]:
    """Run curl; return the HTTP status and the body."""
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", *args,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    body, _, status = out.decode().rpartition("\n")
    return int(status), body


@pytest.mark.timeout(60)
async def test_curl_sends_reads_cancels_and_checks_health(tmp_path: Path) -> None:
    tokens = tmp_path / "http.tokens"
    tokens.write_text(f"script:{TOKEN}\n", encoding="utf-8")
    tokens.chmod(0o640)
    port = free_port()
    http = f"[http]\nlisten = '127.0.0.1:{port}'\ntokens_file = 'http.tokens'\n"
    config_file = tmp_path / "gsmgw.toml"
    config_file.write_text(config_text(sim_modem("c1")) + http, encoding="utf-8")
    daemon = await start_run(config_file)
    base = f"http://127.0.0.1:{port}"
    bearer = f"Authorization: Bearer {TOKEN}"
    try:
        await answering(tmp_path / "c.sock")
        status, body = await curl(f"{base}/v1/health")
        assert status == 200
        assert json.loads(body)["status"] == "ok"

        status, body = await curl(
            "-H", bearer, "-H", "Content-Type: application/json",
            "-d", '{"to": "+491701234567", "text": "from curl", "id": "c-1"}',
            f"{base}/v1/messages",
        )  # fmt: skip
        assert (status, json.loads(body)) == (202, {"id": "c-1", "state": "queued"})

        later = '{"to": "+491701234567", "text": "later", "send_at": "2099-01-01T00:00:00Z"}'
        status, body = await curl(
            "-u", f"script:{TOKEN}", "-H", "Idempotency-Key: c-2", "-d", later,
            f"{base}/v1/messages",
        )  # fmt: skip
        assert status == 202
        status, body = await curl(
            "-u", f"script:{TOKEN}", "-X", "DELETE", f"{base}/v1/messages/c-2"
        )
        assert (status, json.loads(body)["state"]) == (200, "cancelled")

        async with asyncio.timeout(20):
            while True:
                status, body = await curl("-H", bearer, f"{base}/v1/messages/c-1")
                if json.loads(body)["state"] == "sent":
                    break
                await asyncio.sleep(0.1)
        status, body = await curl("-H", bearer, f"{base}/v1/messages?limit=1")
        page = json.loads(body)
        assert [m["id"] for m in page["items"]] == ["c-2"]
        assert page["next_cursor"]
        for path in ("/v1/inbox", "/v1/modems"):
            status, body = await curl("-H", bearer, base + path)
            assert status == 200
            assert "items" in json.loads(body)
        status, body = await curl(
            "-H", bearer, "-d", '{"modem": "c1", "code": "*100#"}', f"{base}/v1/ussd"
        )
        assert (status, json.loads(body)["answer"]) == (200, "Your balance is 12.34 EUR.")

        # Refusals: no token, a bad body, a path trick; the daemon answers on.
        status, _ = await curl("-i", f"{base}/v1/messages")
        assert status == 401
        status, body = await curl("-H", bearer, "-d", "{", f"{base}/v1/messages")
        assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_json")
        status, _ = await curl("-H", bearer, "--path-as-is", f"{base}/v1/../../etc/passwd")
        assert status in (401, 404)
        status, _ = await curl(f"{base}/v1/health")
        assert status == 200
        assert daemon.returncode is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert f"HTTP API on {base}" in log
    assert TOKEN not in log
