"""Regression personalities (issue 15): each dialect through probe, send --port and the daemon.

Start-up, a two-part send and (where the modem can receive) a two-part SMS in, for every
personality of ``gsmgw simulate --profile`` built from public recordings of real modems,
plus the two made-up ones: every optional step failing, and storage without +CNMI.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from gsmgw.cli import build_parser
from gsmgw.cli.control import request
from gsmgw.store import StoreReader

from .conftest import StartDaemon, config_text, eventually, sim

LONG = "Two parts: " + "x" * 150  # 161 GSM-7 characters: two parts
#: personality -> (its receive capability, what its AT+CGMI says once cleaned up)
PERSONALITIES = {
    "wavecom": ("cmti", "WAVECOM MODEM"),
    "huawei-e1752": ("cmti", "huawei"),
    "qualcomm": ("cmti", "QUALCOMM INCORPORATED"),
    "nokia-phone": ("none", "Nokia"),
    "minimal": ("none", ""),
    "no-cnmi": ("poll", "gsmgw"),
}


async def run_cli(*argv: str) -> int:
    args = build_parser().parse_args(argv)
    code: int = await importlib.import_module(args._module).run(args)
    return code


@pytest.mark.parametrize("profile", sorted(PERSONALITIES))
async def test_probe(profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await run_cli("probe", "--json", "--timeout", "2", f"sim:pr-{profile}?profile={profile}")
        == 0
    )
    facts = json.loads(capsys.readouterr().out)
    assert (facts["manufacturer"] or "") == PERSONALITIES[profile][1]
    receive = facts["capabilities"]["receive"]
    # probe only looks: it cannot know that AT+CNMI will be refused ("poll" in the daemon).
    assert receive == PERSONALITIES[profile][0] or (profile == "no-cnmi" and receive == "cmti")


@pytest.mark.parametrize("profile", sorted(PERSONALITIES))
async def test_send_two_parts_with_port(profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = f"sim:sp-{profile}?profile={profile}"
    assert (
        await run_cli("send", "--json", "--port", spec, "--to", "+491701234567", "--text", LONG)
        == 0
    )
    assert json.loads(capsys.readouterr().out)["parts"] == 2


@pytest.mark.timeout(40)
@pytest.mark.parametrize("profile", sorted(PERSONALITIES))
async def test_daemon_sends_and_receives(
    profile: str, start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gsmgw.daemon._modems.POLL_INTERVAL", 0.2)
    name = "p" + profile.replace("-", "")[:8]
    modem = f"[[modem]]\nid = '{name}'\nport = 'sim:{name}?profile={profile}'\n"
    running = await start_daemon(config_text(modem))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    health = running.daemon.gateway.health[name]  # type: ignore[union-attr]
    assert health.state == "ready", health.error
    receive = PERSONALITIES[profile][0]
    assert health.capabilities["receive"] == receive

    await request(running.control, "send", request={"to": "+491701234567", "text": LONG, "id": "L"})
    await eventually(lambda: len(sim(name).sim.sent) == 2)

    if receive != "none":
        sim(name).sim.inject_sms("+491705555555", LONG)
        await eventually(lambda: running.daemon.gateway.receiver.received == 1)  # type: ignore[union-attr]
        with StoreReader(running.daemon.config.gateway.database) as reader:
            (message,) = reader.list_inbox()
        assert (message.text, message.parts) == (LONG, 2)
    assert await running.stop() == 0


async def test_every_optional_step_failing_still_sends(start_daemon: StartDaemon) -> None:
    modem = "[[modem]]\nid = 'm1'\nport = 'sim:m1?profile=minimal'\n"
    running = await start_daemon(config_text(modem))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    health = running.daemon.gateway.health["m1"]  # type: ignore[union-attr]
    assert health.state == "ready"
    missing = set(health.capabilities["missing"])  # type: ignore[arg-type]
    assert {"manufacturer", "model", "revision", "imei", "imsi", "iccid"} <= missing
    assert {"verbose_errors", "charset", "storage", "indications", "operator_format"} <= missing
    assert health.capabilities["receive"] == "none"
    status = await request(running.control, "status")
    assert status["modems"][0]["capabilities"]["receive"] == "none"
    await request(running.control, "send", request={"to": "+491701234567", "text": "hi", "id": "a"})
    await eventually(lambda: len(sim("m1").sim.sent) == 1)
    assert await running.stop() == 0


async def test_trace_dir_records_each_modem(
    start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gsmgw.modem.trace import read_trace

    monkeypatch.setattr("gsmgw.modem.trace._trace_dir", tmp_path / "traces")
    running = await start_daemon(config_text("[[modem]]\nid = 't1'\nport = 'sim:t1'\n"))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    assert await running.stop() == 0
    chunks = read_trace(tmp_path / "traces" / "t1.trace")
    assert any(c.from_host and c.data == b"AT+CMGF=0\r" for c in chunks)
    assert any(not c.from_host and b"OK" in c.data for c in chunks)
