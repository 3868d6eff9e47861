"""``gsmgw send --port`` and ``gsmgw ussd --port`` against simulated modems."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING

import pytest

from gsmgw.cli import build_parser, main

if TYPE_CHECKING:
    from tests.conftest import SimModemFactory


async def run_cli(*argv: str) -> int:
    """Await one command in the test's event loop (where its simulated modem runs)."""
    args = build_parser().parse_args(argv)
    code: int = await importlib.import_module(args._module).run(args)
    return code


def test_send_json_one_part(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["send", "--port", "sim:send1", "--to", "+491701234567", "--text", "Hi", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"parts": 1, "references": [0]}


@pytest.mark.parametrize("profile", ["generic", "simcom", "quectel", "huawei"])
async def test_send_multipart_reaches_the_network(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str], profile: str
) -> None:
    modem = await make_sim_modem(profile, chunk_size=7)
    text = "Grüße aus dem Schuppen 👋 " * 8
    argv = ["--port", modem.path, "--to", "+491701234567", "--text", text, "--report"]
    assert await run_cli("send", *argv, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["parts"] == len(modem.sim.sent) > 1
    assert result["references"] == [m.reference for m in modem.sim.sent]
    assert "".join(m.submit.text or "" for m in modem.sim.sent) == text
    assert all(m.submit.status_report_request for m in modem.sim.sent)


async def test_send_refused_by_the_network_names_the_part(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem()
    modem.sim.fail_next_send(42)
    assert await run_cli("send", "--port", modem.path, "--to", "+4917012", "--text", "x") == 1
    err = capsys.readouterr().err
    assert "part 1/1: AT+CMGS=" in err
    assert "CMS 42" in err


async def test_send_to_a_locked_sim_fails_clearly(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem(pin="1234")
    assert await run_cli("send", "--port", modem.path, "--to", "+4917012", "--text", "x") == 1
    assert "the SIM needs a PIN" in capsys.readouterr().err
    assert modem.sim.pin_tries == 3  # never guessed


def test_send_bad_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "--port", "sim:send2", "--to", "call me", "--text", "x"]) == 1
    assert "invalid_number" in capsys.readouterr().err


@pytest.mark.parametrize("profile", ["simcom", "huawei"])
def test_ussd_text_and_ucs2(capsys: pytest.CaptureFixture[str], profile: str) -> None:
    assert main(["ussd", "--json", "--port", f"sim:ussd?profile={profile}", "*100#"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"code": "*100#", "status": "done", "text": "Your balance is 12.34 EUR."}


async def test_ussd_unknown_code_and_slow_network(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem(ussd_delay=0.05)
    assert await run_cli("ussd", "--port", modem.path, "*100#") == 0
    assert capsys.readouterr().out == "Your balance is 12.34 EUR.\n"
    assert await run_cli("ussd", "--port", modem.path, "*555#") == 1
    assert capsys.readouterr().out == "(operation not supported)\n"


async def test_ussd_without_answer_times_out(
    make_sim_modem: SimModemFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("gsmgw.at.commands.USSD_TIMEOUT", 0.2)
    modem = await make_sim_modem(ussd_delay=30.0)
    assert await run_cli("ussd", "--port", modem.path, "*100#") == 1
    assert "no answer within 0.2 s" in capsys.readouterr().err
