"""The diagnostic commands (at, probe, scan) and the port checks they share."""

from __future__ import annotations

import fcntl
import importlib
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gsmgw.cli import build_parser, main, ports

if TYPE_CHECKING:
    from tests.conftest import SimModemFactory


async def run_cli(*argv: str) -> int:
    """Await one command in the test's event loop (where its simulated modem runs)."""
    args = build_parser().parse_args(argv)
    code: int = await importlib.import_module(args._module).run(args)
    return code


def test_batch_against_a_sim_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["at", "sim:at1", "ATE0", "AT+CGMM", "AT+CSQ"]) == 0
    assert capsys.readouterr().out == "OK\nSimulated GSM modem\nOK\n+CSQ: 20,99\nOK\n"


def test_json_and_failures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["at", "--json", "sim:at2?profile=quectel", "AT+QCCID", "AT+NOPE"]) == 1
    answers = json.loads(capsys.readouterr().out)
    assert answers[0]["answer"][-1] == "OK"
    assert answers[0]["answer"][-2].startswith("+QCCID: 89")
    assert answers[1] == {"command": "AT+NOPE", "answer": ["ERROR"], "ok": False}


def test_a_prompt_takes_the_next_command_as_pdu(capsys: pytest.CaptureFixture[str]) -> None:
    pdu = "0001000C9194711032547600000548656C6C6F"  # SUBMIT, 18 octets of TPDU
    assert main(["at", "sim:at3", "ATE0", "AT+CMEE=1", "AT+CMGS=18", pdu]) == 0
    out = capsys.readouterr().out
    assert "> " in out
    assert out.endswith("+CMGS: 0\nOK\n")


def test_interactive_terminal_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("ATE0\nAT+CGMI\n\nAT+CMGF=1\n"))
    assert main(["at", "sim:at4"]) == 1  # AT+CMGF=1 fails: PDU mode only
    assert capsys.readouterr().out == "OK\ngsmgw\nOK\nERROR\n"


async def test_against_a_pty_path(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem("huawei")
    await modem.settle()
    assert await run_cli("at", modem.path, "ATE0", "AT^ICCID?") == 0
    assert capsys.readouterr().out.startswith("OK\n^ICCID: 98")


def test_missing_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["at", "/dev/ttyUSB-gsmgw-none", "AT"]) == 1
    assert "no such device" in capsys.readouterr().err


async def test_busy_port(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem()
    other = os.open(modem.path, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as pyserial's exclusive open does
        assert await run_cli("at", modem.path, "AT") == 1
    finally:
        os.close(other)
    assert "busy" in capsys.readouterr().err


def _fake_proc(tmp_path: Path, device: str, name: str) -> Path:
    process = tmp_path / "proc" / "4242"
    (process / "fd").mkdir(parents=True)
    (process / "fd" / "7").symlink_to(device)
    (process / "comm").write_text(name + "\n")
    return tmp_path / "proc"


async def test_port_held_by_modemmanager(
    make_sim_modem: SimModemFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    modem = await make_sim_modem()
    monkeypatch.setattr(ports, "PROC", _fake_proc(tmp_path, modem.path, "ModemManager"))
    assert ports.holders(modem.path) == [ports.Holder(4242, "ModemManager")]
    assert await run_cli("at", modem.path, "AT") == 1
    assert "held by ModemManager" in capsys.readouterr().err


def test_no_permission_names_the_group(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # we may run as root
    problem = ports.port_problem(str(device))
    assert problem is not None
    group = ports.owning_group(str(device))
    assert problem.kind is ports.ProblemKind.PERMISSION
    assert f"permission denied: add the user to the group {group!r}" in problem.message


def test_candidate_ports_lists_each_device_once_by_its_stable_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    other = tmp_path / "ttyUSB1"
    other.touch()
    link = tmp_path / "usb-Quectel_EC25-if02-port0"
    link.symlink_to(device)
    patterns = (str(tmp_path / "usb-*"), str(tmp_path / "ttyUSB*"))
    monkeypatch.setattr(ports, "PORT_PATTERNS", patterns)
    assert ports.candidate_ports() == [str(other), str(link)]


def test_probe_json_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--json", "sim:probe1?profile=huawei"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts == {
        "port": "sim:probe1?profile=huawei",
        "manufacturer": "huawei",
        "model": "E3372",
        "revision": "22.328.62.00.143",
        "imei": facts["imei"],
        "imsi": facts["imsi"],
        "iccid": facts["iccid"],
        "sim": "READY",
        "operator": "gsmgw sim",
        "registration": "home",
        "signal": -73,
        "capabilities": {"receive": "cmti", "reports": "cds", "ussd": True, "storage": "SM"},
    }
    assert len(facts["imei"]) == 15
    assert facts["iccid"].startswith("89")  # Huawei's swapped ^ICCID digits put right


async def test_probe_a_locked_sim_on_a_pty(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem("quectel", pin="1234")
    modem.sim.set_signal(99)
    assert await run_cli("probe", modem.path) == 0
    out = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    assert out["sim"].strip() == "SIM PIN"
    assert out["imsi"].strip() == "-"
    assert out["signal"].strip() == "-"
    assert out["manufacturer"].strip() == "Quectel"


async def test_probe_a_hung_modem_fails(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    modem = await make_sim_modem()
    modem.sim.hang()
    assert await run_cli("probe", "--timeout", "0.2", modem.path) == 1
    assert "AT: no answer" in capsys.readouterr().err


async def test_scan_says_what_each_port_is(
    make_sim_modem: SimModemFactory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    modem = await make_sim_modem("simcom")
    quiet = await make_sim_modem(name="quiet")
    quiet.sim.hang()
    missing = str(tmp_path / "ttyUSB9")
    assert await run_cli("scan", "--json", "--timeout", "0.3", modem.path, quiet.path, missing) == 0
    found = {f["port"]: f for f in json.loads(capsys.readouterr().out)}
    assert found[modem.path]["status"] == "modem"
    assert found[modem.path]["manufacturer"] == "SIMCOM_Ltd"
    assert found[quiet.path]["status"] == "no answer"
    assert found[missing]["status"] == "missing"


def test_interactive_prompt_takes_the_typed_pdu(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pdu = "0001000C9194711032547600000548656C6C6F"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"ATE0\nAT+CMGS=18\n{pdu}\nAT\n"))
    assert main(["at", "sim:at5"]) == 0
    out = capsys.readouterr().out
    assert "> " in out
    assert out.endswith("+CMGS: 0\nOK\nOK\n")


async def test_probe_trace_replays_as_the_same_modem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gsmgw.modem.trace import read_trace
    from gsmgw.sim import PtyModem
    from gsmgw.sim.replay import ReplayModem

    trace = tmp_path / "wavecom.trace"
    spec = "sim:trace1?profile=wavecom"
    assert await run_cli("probe", "--json", "--timeout", "1", "--trace", str(trace), spec) == 0
    recorded = json.loads(capsys.readouterr().out)
    header = json.loads(trace.read_text().splitlines()[0])
    assert header["gsmgw_trace"] == 1
    assert header["port"] == spec
    chunks = read_trace(trace)
    assert any(c.from_host and c.data == b"AT+CPIN?\r" for c in chunks)
    assert any(not c.from_host and b"+CPIN: READY" in c.data for c in chunks)

    replayed = PtyModem(ReplayModem(trace), name="replay")
    await replayed.start()
    try:
        assert await run_cli("probe", "--json", "--timeout", "1", replayed.path) == 0
    finally:
        await replayed.stop()
    again = json.loads(capsys.readouterr().out)
    assert {**again, "port": spec} == recorded
