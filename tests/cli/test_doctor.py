"""``gsmgw doctor`` against real parts: simulated modems on ptys, private Mosquitto brokers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import importlib
import json
import os
from pathlib import Path
import shutil
import socket
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from gsmgw.cli import build_parser
from gsmgw.demo import Mosquitto
from gsmgw.doctor import Check, Status

if TYPE_CHECKING:
    from gsmgw.daemon import Daemon

QUICK = "0.5"  # seconds per modem question: the simulator answers at once
#: Generous: other helpers' tests share the two cores.
WAIT_TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def judged_as_this_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge permissions as the test's own user, as on a machine without the service account.

    When root runs the tests on a machine where the Debian package once created the ``gsmgw``
    user, doctor would (rightly) judge the test's folders as that user.
    """
    import gsmgw.doctor._facts

    monkeypatch.setattr(gsmgw.doctor._facts, "service_account", lambda: None)


async def doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """Run ``gsmgw doctor --json`` in the test's loop; return the exit code and the object."""
    args = build_parser().parse_args(["doctor", "-c", str(config), "--json", "--timeout", QUICK])
    code: int = await importlib.import_module(args._module).run(args)
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {check["name"]: check for check in report["checks"]}


def write_config(
    tmp_path: Path,
    *,
    url: str,
    modems: list[tuple[str, str]],
    mqtt: str = "",
    database: str = "data/gsmgw.db",
    modem_extra: str = "",
    smpp: str = "",
) -> Path:
    """Write a config whose paths all lie in ``tmp_path``."""
    text = (
        f'[gateway]\nnode = "doctor-test"\ndatabase = "{database}"\ncontrol = "run/control.sock"\n'
        f'[mqtt]\nurl = "{url}"\n{mqtt}{smpp}'
    )
    for modem_id, port in modems:
        text += f'[[modem]]\nid = "{modem_id}"\nport = "{port}"\n{modem_extra}'
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


async def test_all_well_with_simulated_modems_and_a_broker(
    private_mosquitto: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modems = [("sim1", "sim:doc-a"), ("sim2", "sim:doc-b?profile=quectel")]
    config = write_config(tmp_path, url=private_mosquitto.url, modems=modems)
    code, report = await doctor(config, capsys)
    assert code == 0
    assert report["ok"] is True
    checks = by_name(report)
    for name in ("config", "daemon", "broker", "database", "control socket", "clock"):
        assert checks[name]["status"] == "ok", checks[name]
    for modem in ("sim1", "sim2"):
        for what in ("port", "AT", "SIM", "network", "signal"):
            assert checks[f"{modem}: {what}"]["status"] == "ok"
    assert "Quectel" in checks["sim2: AT"]["message"]
    assert "systemd-python" in checks
    assert checks["smpp listen"]["status"] == "ok"  # [smpp] is off, and doctor says so
    assert "SMPP is off" in checks["smpp listen"]["message"]
    assert "smpp users" not in checks
    # doctor only looks: it neither creates the database nor leaves a session on the broker.
    assert not (tmp_path / "data").exists()


async def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    modems = [("sim1", "sim:doc-c"), ("usb", str(tmp_path / "ttyUSB7"))]
    config = write_config(tmp_path, url="mqtt://127.0.0.1:1", modems=modems)
    code, report = await doctor(config, capsys)
    assert code == 1
    assert set(report) == {"ok", "checks"}
    assert report["ok"] is False
    statuses = set()
    for check in report["checks"]:
        assert set(check) == {"name", "status", "message", "hint"}
        assert all(isinstance(value, str) for value in check.values())
        assert "\n" not in check["message"]
        statuses.add(check["status"])
        if check["status"] != "ok":
            assert check["hint"], check  # every problem says what to do
    assert statuses == {"ok", "fail"}


async def test_table_for_people(
    private_mosquitto: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, url="mqtt://127.0.0.1:1", modems=[("usb", "/dev/gsmgw-none")])
    args = build_parser().parse_args(["doctor", "-c", str(config)])
    assert await importlib.import_module(args._module).run(args) == 1
    out = capsys.readouterr().out
    assert "✓ config" in out
    assert "✗ usb: port" in out
    assert "→ plug the modem in" in out
    assert out.rstrip().endswith("fix the ✗ lines first")


async def test_stopped_broker_fails(
    private_mosquitto: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, url=private_mosquitto.url, modems=[])
    private_mosquitto.stop()
    code, report = await doctor(config, capsys)
    assert code == 1
    broker = by_name(report)["broker"]
    assert broker["status"] == "fail"
    assert "refused" in broker["message"]
    assert "start the broker" in broker["hint"]


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker that checks the passwords given (anonymous clients stay allowed)."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed (apt-get install mosquitto)")
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "gsmgw", "right horse"],
        check=True,
        capture_output=True,
    )
    broker = Mosquitto(extra_config=f"password_file {passwords}\n")
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.parametrize(("password", "status"), [("right horse", "ok"), ("wrong", "fail")])
async def test_password_protected_broker(
    password_broker: Mosquitto,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    protocol: str,
    password: str,
    status: str,
) -> None:
    (tmp_path / "mqtt.pass").write_text(password + "\n")
    mqtt = f'username = "gsmgw"\npassword_file = "mqtt.pass"\nprotocol = "{protocol}"\n'
    config = write_config(tmp_path, url=password_broker.url, modems=[], mqtt=mqtt)
    code, report = await doctor(config, capsys)
    broker = by_name(report)["broker"]
    assert broker["status"] == status, broker
    assert code == (0 if status == "ok" else 1)
    if status == "fail":
        assert "refused" in broker["message"]
        assert "password_file" in broker["hint"]
    else:
        assert "user gsmgw" in broker["message"]


async def test_missing_port_fails_without_opening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, url="", modems=[("usb", str(tmp_path / "ttyUSB9"))])
    code, report = await doctor(config, capsys)
    assert code == 1
    checks = by_name(report)
    assert checks["usb: port"]["status"] == "fail"
    assert "no such device" in checks["usb: port"]["message"]
    assert "gsmgw scan" in checks["usb: port"]["hint"]
    assert "usb: AT" not in checks
    assert checks["broker"]["status"] == "ok"  # url = "": MQTT off


async def test_regular_file_is_not_a_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ttyUSB0").write_text("")
    config = write_config(tmp_path, url="", modems=[("usb", str(tmp_path / "ttyUSB0"))])
    _, report = await doctor(config, capsys)
    assert "not a character device" in by_name(report)["usb: port"]["message"]


@pytest.fixture
def silent_pty() -> Iterator[str]:
    """A pseudo-terminal nobody answers on: a port that is not a modem's AT port."""
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


async def test_port_that_does_not_answer_at(
    silent_pty: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, url="", modems=[("usb", silent_pty)])
    code, report = await doctor(config, capsys)
    assert code == 1
    checks = by_name(report)
    assert checks["usb: port"]["status"] == "ok"
    assert checks["usb: permissions"]["status"] == "ok"
    assert checks["usb: AT"]["status"] == "fail"
    assert "no answer to AT" in checks["usb: AT"]["message"]
    assert "gsmgw scan" in checks["usb: AT"]["hint"]


@pytest.fixture
def modem_manager(silent_pty: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process called ModemManager holding the pty (a copy of sleep: doctor reads comm)."""
    manager = tmp_path / "ModemManager"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", manager)
    with open(silent_pty, "rb") as tty:
        process = subprocess.Popen([str(manager), "60"], stdin=tty)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


async def test_port_held_by_modem_manager(
    silent_pty: str,
    modem_manager: subprocess.Popen[bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, url="", modems=[("usb", silent_pty)])
    code, report = await doctor(config, capsys)
    assert code == 1
    held = by_name(report)["usb: in use"]
    assert held["status"] == "fail"
    assert f"ModemManager (pid {modem_manager.pid})" in held["message"]
    assert "systemctl stop ModemManager" in held["hint"]
    assert "usb: AT" not in by_name(report)  # never fight another program for the port


@pytest.mark.parametrize(("pin_file", "status"), [(True, "ok"), (False, "fail")])
async def test_sim_that_wants_a_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pin_file: bool, status: str
) -> None:
    extra = ""
    if pin_file:
        (tmp_path / "sim1.pin").write_text("1234\n")
        extra = 'pin_file = "sim1.pin"\n'
    config = write_config(
        tmp_path, url="", modems=[("sim1", "sim:doc-pin?pin=1234")], modem_extra=extra
    )
    code, report = await doctor(config, capsys)
    sim = by_name(report)["sim1: SIM"]
    assert sim["status"] == status
    assert "PIN" in sim["message"]
    if not pin_file:
        assert code == 1
        assert "pin_file" in sim["hint"]
    assert "sim1: network" not in by_name(report)  # not judged before the SIM is unlocked


async def test_database_folder_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").write_text("not a folder")
    config = write_config(tmp_path, url="", modems=[], database="data/gsmgw.db")
    code, report = await doctor(config, capsys)
    assert code == 1
    database = by_name(report)["database"]
    assert database["status"] == "fail"
    assert "is a file, not a folder" in database["message"]


async def test_existing_database_opens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gsmgw.store import SCHEMA_VERSION, Store

    async with Store(tmp_path / "data" / "gsmgw.db"):
        pass
    config = write_config(tmp_path, url="", modems=[])
    code, report = await doctor(config, capsys)
    assert code == 0
    database = by_name(report)["database"]
    assert database["status"] == "ok"
    assert f"schema version {SCHEMA_VERSION}" in database["message"]


async def test_database_that_is_not_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "gsmgw.db").write_bytes(b"this is no database" * 100)
    config = write_config(tmp_path, url="", modems=[])
    code, report = await doctor(config, capsys)
    assert code == 1
    database = by_name(report)["database"]
    assert database["status"] == "fail"
    assert "move the file away" in database["hint"]


async def test_config_error_is_a_failed_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[gateway]\nnode = "n"\n[[modem]]\nid = "sim1"\nport = "sim:x"\nbaudrate = 7\n')
    code, report = await doctor(path, capsys)
    assert code == 1
    check = by_name(report)["config"]
    assert check["status"] == "fail"
    assert str(path) in check["message"]
    assert "modem[0].baudrate" in check["message"]
    assert "modem[0].baudrate" in check["hint"]
    assert "clock" in by_name(report)  # what needs no config is still checked


async def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = await doctor(tmp_path / "nope.toml", capsys)
    assert code == 1
    check = by_name(report)["config"]
    assert "config.example.toml" in check["hint"]


@pytest.fixture
async def daemon_running(
    private_mosquitto: Mosquitto, tmp_path: Path
) -> AsyncIterator[tuple[Path, Daemon]]:
    """The real daemon in this event loop on two simulated modems, one without its PIN."""
    from gsmgw.config import load_config
    from gsmgw.daemon import Daemon, Notifier
    from gsmgw.modem.port import register_scheme
    from gsmgw.sim import register_sim_scheme, stop_sims

    register_sim_scheme(register_scheme)
    modems = [("d1", "sim:doc-d1"), ("d2", "sim:doc-d2?pin=1234")]
    path = write_config(tmp_path, url=private_mosquitto.url, modems=modems)
    daemon = Daemon(load_config(path), notifier=Notifier(""))
    task = asyncio.create_task(daemon.run())
    try:
        async with asyncio.timeout(WAIT_TIMEOUT):
            await daemon.started.wait()
            assert daemon.modems is not None
            await daemon.modems.first_attempts.wait()
        yield path, daemon
    finally:
        daemon.stop()
        async with asyncio.timeout(WAIT_TIMEOUT):
            await task
        await stop_sims()


async def test_a_running_daemon_is_asked_not_fought(
    daemon_running: tuple[Path, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    from gsmgw.cli.control import request
    from gsmgw.sim import get_sim

    config, daemon = daemon_running
    control = str(daemon.config.gateway.control)
    async with asyncio.timeout(WAIT_TIMEOUT):
        while (await request(control, "status"))["mqtt"] != "connected":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    code, report = await doctor(config, capsys)
    checks = by_name(report)
    assert checks["daemon"]["status"] == "ok"
    assert "running" in checks["daemon"]["message"]
    assert checks["d1: modem"]["status"] == "ok"
    assert checks["d1: network"]["status"] == "ok"
    assert checks["d2: modem"]["status"] == "fail"  # the daemon waits for a person: no PIN
    assert "PIN" in checks["d2: modem"]["message"]
    assert code == 1
    assert not any(name.endswith(": AT") for name in checks)  # no port was opened
    assert checks["control socket"]["status"] == "ok"
    assert checks["broker"]["status"] == "ok"
    # The daemon keeps its modem and its broker connection (doctor has its own client id).
    assert get_sim("doc-d1") is not None
    status = await request(control, "status")
    assert status["modems"][0]["state"] == "ready"
    assert status["mqtt"] == "connected"


async def test_bad_simulated_port_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modems = [("a", "sim:x?bogus=1"), ("b", "sim:y?profile=nokia")]
    config = write_config(tmp_path, url="", modems=modems)
    code, report = await doctor(config, capsys)
    assert code == 1
    checks = by_name(report)
    assert "unknown option 'bogus'" in checks["a: port"]["message"]
    assert "known: generic" in checks["b: port"]["message"]
    assert "sim:NAME" in checks["b: port"]["hint"]


async def test_a_check_that_breaks_is_a_failure_not_a_crash() -> None:
    from gsmgw.doctor._run import _guarded

    async def broken() -> list[Check]:
        raise RuntimeError("surprise")

    (check,) = await _guarded("sim1", broken())
    assert check.status is Status.FAIL
    assert "surprise" in check.message


async def test_a_daemon_that_does_not_answer_keeps_its_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gsmgw.doctor._run

    monkeypatch.setattr(gsmgw.doctor._run, "STATUS_TIMEOUT", 0.3)
    (tmp_path / "run").mkdir()
    hold = asyncio.Event()

    async def stuck(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hold.wait()
        writer.close()

    server = await asyncio.start_unix_server(stuck, str(tmp_path / "run" / "control.sock"))
    try:
        config = write_config(tmp_path, url="", modems=[("sim1", "sim:doc-stuck")])
        code, report = await doctor(config, capsys)
    finally:
        hold.set()
        server.close()
        await server.wait_closed()
    checks = by_name(report)
    assert checks["daemon"]["status"] == "warn"
    assert "did not answer" in checks["daemon"]["message"]
    assert checks["sim1: modem"]["status"] == "warn"  # not opened: the daemon may hold it
    assert "sim1: AT" not in checks
    assert code == 0


def test_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    from gsmgw.cli import main

    assert main(["doctor", "--timeout", "0"]) == 2
    assert "--timeout" in capsys.readouterr().err


# --- [smpp] ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smpp_section(tmp_path: Path, port: int, users: str, mode: int = 0o600) -> str:
    users_file = tmp_path / "smpp.users"
    users_file.write_text(users)
    users_file.chmod(mode)
    return f'[smpp]\nlisten = "127.0.0.1:{port}"\nusers_file = "{users_file}"\n'


async def test_smpp_free_address_and_sound_users_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    smpp = smpp_section(tmp_path, port, "kannel:k4nnel!:mo\njasmin:jasm1n\n")
    config = write_config(tmp_path, url="", modems=[], smpp=smpp)
    code, report = await doctor(config, capsys)
    checks = by_name(report)
    assert checks["smpp listen"]["status"] == "ok"
    assert f"127.0.0.1:{port} is free" in checks["smpp listen"]["message"]
    assert checks["smpp users"]["status"] == "ok"
    assert "2 users (1 get MO SMS)" in checks["smpp users"]["message"]
    assert code == 0


async def test_smpp_address_in_use_and_bad_users_file_leave_the_rest_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        smpp = smpp_section(tmp_path, port, "kannel:k4nnel!\njasmin:toolongpw\n", mode=0o640)
        config = write_config(tmp_path, url="", modems=[], smpp=smpp)
        code, report = await doctor(config, capsys)
    checks = by_name(report)
    assert code == 1
    assert checks["smpp listen"]["status"] == "fail"
    assert "in use by another program" in checks["smpp listen"]["message"]
    users = checks["smpp users"]
    assert users["status"] == "fail"
    assert "line 2: a password is 1-8 printable characters" in users["message"]
    assert "toolongpw" not in json.dumps(report)
    assert "k4nnel!" not in json.dumps(report)
    # The users file is a check of its own: the config loads and the rest is still checked.
    assert checks["config"]["status"] == "ok"
    assert checks["database"]["status"] == "ok"


async def test_smpp_users_file_readable_by_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smpp = smpp_section(tmp_path, free_port(), "kannel:k4nnel!\n", mode=0o644)
    config = write_config(tmp_path, url="", modems=[], smpp=smpp)
    code, report = await doctor(config, capsys)
    users = by_name(report)["smpp users"]
    assert users["status"] == "fail"
    assert "readable by others (mode 0644)" in users["message"]
    assert "chmod 0640" in users["hint"]
    assert code == 1


async def test_smpp_of_a_running_daemon_is_connected_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gsmgw.config import load_config
    from gsmgw.daemon import Daemon, Notifier
    from gsmgw.smpp import Bind, BindKind, encode

    port = free_port()
    smpp = smpp_section(tmp_path, port, "kannel:k4nnel!\n")
    config = write_config(tmp_path, url="", modems=[], smpp=smpp)
    daemon = Daemon(load_config(config), notifier=Notifier(""))
    task = asyncio.create_task(daemon.run())
    try:
        async with asyncio.timeout(WAIT_TIMEOUT):
            await daemon.started.wait()
            assert daemon.smpp is not None
            await daemon.smpp.listening.wait()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        bind = Bind(kind=BindKind.RECEIVER, sequence=1, system_id="kannel", password="k4nnel!")
        writer.write(encode(bind))
        assert (await reader.read(4096))[4:8] == b"\x80\x00\x00\x01"  # bind_receiver_resp
        _, idle = await asyncio.open_connection("127.0.0.1", port)  # a session never bound
        code, report = await doctor(config, capsys)
        writer.close()
        idle.close()
    finally:
        daemon.stop()
        async with asyncio.timeout(WAIT_TIMEOUT):
            await task
    listen = by_name(report)["smpp listen"]
    assert listen["status"] == "ok"
    assert f"accepts SMPP connections on 127.0.0.1:{port} (1 session bound)" in listen["message"]
    assert code == 0
