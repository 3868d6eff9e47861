"""The judgments of ``gsmgw doctor`` (gsmgw.doctor._judge) and its fact gathering (gsmgw.doctor)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
import os
from pathlib import Path
import stat

import pytest

from gsmgw.config import ModemConfig, parse_config
from gsmgw.doctor._facts import file_facts, folder_check
from gsmgw.doctor._judge import (
    Account,
    Check,
    FileFacts,
    Report,
    Status,
    access_check,
    broker_refused,
    broker_unreachable,
    clock_check,
    config_failure,
    fail,
    modem_clock_check,
    modem_state_check,
    ok,
    parse_cclk,
    registration_check,
    signal_check,
    sim_check,
    warn,
)
from gsmgw.doctor._run import DaemonState, status_checks

DIALOUT = 20
PI = Account(name="pi", uid=1000, groups=frozenset({1000, DIALOUT}), listed=frozenset({1000}))
NEWCOMER = Account(name="pi", uid=1000, groups=frozenset({1000}), listed=frozenset({1000, DIALOUT}))
STRANGER = Account(name="pi", uid=1000, groups=frozenset({1000}), listed=frozenset({1000}))
ROOT = Account(name="root", uid=0, groups=frozenset({0}), listed=frozenset({0}))
#: /dev/ttyUSB2 as udev leaves it: crw-rw---- root dialout.
TTY = FileFacts(mode=stat.S_IFCHR | 0o660, uid=0, gid=DIALOUT, group="dialout")


# --- permissions -------------------------------------------------------------------------------


def test_member_of_the_group_may_use_the_port() -> None:
    check = access_check("usb: permissions", "/dev/ttyUSB2", TTY, PI, want=6)
    assert check.status is Status.OK
    assert "group dialout" in check.message


def test_not_in_the_group_names_it_and_the_command() -> None:
    check = access_check("usb: permissions", "/dev/ttyUSB2", TTY, STRANGER, want=6)
    assert check.status is Status.FAIL
    assert "not in group dialout" in check.message
    assert "usermod -aG dialout pi" in check.hint


def test_added_to_the_group_but_not_logged_in_again() -> None:
    check = access_check("usb: permissions", "/dev/ttyUSB2", TTY, NEWCOMER, want=6)
    assert check.status is Status.FAIL
    assert "only after logging in again" in check.message
    assert "newgrp dialout" in check.hint


def test_owner_and_other_bits_count() -> None:
    own = FileFacts(mode=stat.S_IFCHR | 0o600, uid=1000, gid=0, group="root")
    assert access_check("p", "/dev/x", own, STRANGER, want=6).status is Status.OK
    world = FileFacts(mode=stat.S_IFCHR | 0o666, uid=0, gid=0, group="root")
    assert access_check("p", "/dev/x", world, STRANGER, want=6).status is Status.OK
    read_only = FileFacts(mode=stat.S_IFCHR | 0o640, uid=0, gid=DIALOUT, group="dialout")
    assert access_check("p", "/dev/x", read_only, PI, want=6).status is Status.FAIL


@pytest.fixture
def locked_pty() -> Iterator[str]:
    """A real pty with mode 0000, as a port nobody may open."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.chmod(path, 0)
    try:
        yield path
    finally:
        os.close(slave)
        os.close(master)


def test_pty_with_mode_0000_from_its_real_stat(locked_pty: str) -> None:
    # Root passes every permission check in the kernel, so judge a plain user's account.
    facts = file_facts(locked_pty)
    assert stat.S_ISCHR(facts.mode)
    user = Account(name="pi", uid=4242, groups=frozenset({4242}), listed=frozenset({4242}))
    check = access_check("usb: permissions", locked_pty, facts, user, want=6)
    assert check.status is Status.FAIL
    assert "mode 0000" in check.message
    assert "udev" in check.hint
    assert access_check("p", locked_pty, facts, ROOT, want=6).status is Status.OK


def test_folder_checks(tmp_path: Path) -> None:
    account = Account(
        name="pi", uid=os.geteuid(), groups=frozenset({os.getegid()}), listed=frozenset()
    )
    assert folder_check("f", tmp_path, account, made_by="x").status is Status.OK
    missing = folder_check("f", tmp_path / "a" / "b", account, made_by="x")
    assert missing.status is Status.OK
    assert "created at start" in missing.message
    (tmp_path / "file").write_text("")
    under_file = folder_check("f", tmp_path / "file" / "sub", account, made_by="x")
    assert under_file.status is Status.FAIL
    assert "is a file, not a folder" in under_file.message
    tmp_path.joinpath("closed").mkdir(mode=0o500)
    other = Account(name="pi", uid=4242, groups=frozenset({4242}), listed=frozenset())
    os.chown(tmp_path / "closed", os.geteuid(), os.getegid())
    cannot = folder_check("f", tmp_path / "closed" / "new", other, made_by="systemd makes it")
    assert cannot.status is Status.WARN
    assert cannot.hint == "systemd makes it"


# --- the modem ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pin_state", "pin_file", "cme", "status", "words"),
    [
        ("READY", False, None, Status.OK, "ready"),
        ("SIM PIN", True, None, Status.OK, "pin_file"),
        ("SIM PIN", False, None, Status.FAIL, "no pin_file"),
        ("SIM PUK", True, None, Status.FAIL, "PUK"),
        ("PH-SIM PIN", False, None, Status.FAIL, "another SIM"),
        (None, False, 10, Status.FAIL, "no SIM inserted"),
        (None, False, 13, Status.FAIL, "SIM failure"),
        (None, False, 14, Status.WARN, "busy"),
        (None, False, None, Status.WARN, "did not say"),
    ],
)
def test_sim_states(
    pin_state: str | None, pin_file: bool, cme: int | None, status: Status, words: str
) -> None:
    check = sim_check("sim1: SIM", pin_state, pin_file=pin_file, cme=cme)
    assert check.status is status
    assert words in check.message
    assert check.status is Status.OK or check.hint


@pytest.mark.parametrize(
    ("registration", "status"),
    [
        ("home", Status.OK),
        ("roaming", Status.OK),
        ("home_sms_only", Status.OK),
        ("searching", Status.WARN),
        ("denied", Status.FAIL),
        ("idle", Status.FAIL),
        ("unknown", Status.WARN),
        (None, Status.WARN),
    ],
)
def test_registration(registration: str | None, status: Status) -> None:
    assert registration_check("n", registration, "Telekom.de").status is status


def test_registration_names_the_operator() -> None:
    assert "Telekom.de" in registration_check("n", "home", "Telekom.de").message
    assert "roaming" in registration_check("n", "roaming", "A1").message


@pytest.mark.parametrize(
    ("dbm", "status"),
    [(-73, Status.OK), (-105, Status.OK), (-111, Status.WARN), (None, Status.WARN)],
)
def test_signal(dbm: int | None, status: Status) -> None:
    assert signal_check("s", dbm).status is status


@pytest.mark.parametrize(
    ("state", "error", "status"),
    [
        ("ready", None, Status.OK),
        ("opening", None, Status.WARN),
        ("failed", "no answer to AT", Status.FAIL),
        ("needs_operator", "SIM PUK", Status.FAIL),
        ("stopped", None, Status.WARN),
    ],
)
def test_modem_state_from_the_daemon(state: str, error: str | None, status: Status) -> None:
    check = modem_state_check("m", state, error)
    assert check.status is status
    assert error is None or error in check.message


def test_status_checks_take_the_daemons_word() -> None:
    modem = ModemConfig(id="sim1", port="/dev/ttyUSB2")
    status = {
        "modems": [
            {
                "id": "sim1",
                "state": "ready",
                "registration": "home",
                "operator": "Telekom.de",
                "signal": -71,
                "error": None,
            }
        ]
    }
    checks = {check.name: check for check in status_checks(modem, status)}
    assert [c.status for c in checks.values()] == [Status.OK] * 3
    assert "Telekom.de" in checks["sim1: network"].message
    assert "-71 dBm" in checks["sim1: signal"].message
    rssi = status_checks(modem, {"modems": [{**status["modems"][0], "signal": 20}]})
    assert "-73 dBm" in rssi[2].message  # a +CSQ rssi is shown as dBm
    unknown = status_checks(ModemConfig(id="sim9", port="x"), status)
    assert unknown[0].status is Status.WARN
    assert "reload" in unknown[0].hint


def test_daemon_states() -> None:
    assert {state.value for state in DaemonState} == {"running", "stopped", "unknown"}


# --- clocks ------------------------------------------------------------------------------------


def test_parse_cclk() -> None:
    # TS 27.007 §8.15: the zone is in quarters of an hour.
    found = parse_cclk(["", '+CCLK: "26/11/24,18:00:05+04"', "OK"])
    assert found == datetime(2026, 11, 24, 18, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    west = parse_cclk(['+CCLK: "26/11/24,18:00:05-20"'])
    assert west is not None
    assert west.utcoffset() == timedelta(hours=-5)
    assert parse_cclk(['+CCLK: "26/11/24,18:00:05"']) == datetime(
        2026, 11, 24, 18, 0, 5, tzinfo=UTC
    )
    assert parse_cclk(['+CCLK: "00/00/00,00:00:00+00"']) is None
    assert parse_cclk(["OK"]) is None


def test_clock() -> None:
    assert clock_check(datetime(2026, 11, 24, tzinfo=UTC)).status is Status.OK
    never_set = clock_check(datetime(1970, 1, 1, tzinfo=UTC))
    assert never_set.status is Status.FAIL
    assert "timedatectl set-ntp true" in never_set.hint


def test_modem_clock() -> None:
    now = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    assert modem_clock_check("c", None, now) is None
    assert modem_clock_check("c", datetime(2004, 1, 1, tzinfo=UTC), now) is None  # never set
    close = modem_clock_check("c", now - timedelta(seconds=40), now)
    assert close is not None
    assert close.status is Status.OK
    far = modem_clock_check("c", now + timedelta(hours=1), now)
    assert far is not None
    assert far.status is Status.WARN
    assert "3600 s" in far.message


# --- broker and config -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "user", "words"),
    [
        (4, "gsmgw", "mosquitto_passwd /etc/mosquitto/passwd gsmgw"),
        (134, "gsmgw", "password_file"),
        (134, None, "set mqtt.username"),
        (5, "gsmgw", "ACL"),
        (135, "gsmgw", "password_file"),
        (135, None, "wants credentials"),
        (1, None, '"3.1.1"'),
        (132, None, '"3.1.1"'),
        (133, None, "client_id"),
        (136, None, "log"),
    ],
)
def test_broker_refusals(code: int, user: str | None, words: str) -> None:
    check = broker_refused("broker", "host:1883", code, "reason", user=user)
    assert check.status is Status.FAIL
    assert f"code {code}" in check.message
    assert words in check.hint


@pytest.mark.parametrize(
    ("problem", "tls", "words"),
    [
        ("[Errno 111] Connection refused", False, "start the broker"),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", True, "ca_file"),
        ("[Errno -2] Name or service not known", False, "does not resolve"),
        ("timed out", False, "mqtts://"),
        ("timed out", True, "speaks TLS"),
    ],
)
def test_broker_unreachable(problem: str, tls: bool, words: str) -> None:
    check = broker_unreachable("broker", "host:1883", problem, tls=tls)
    assert check.status is Status.FAIL
    assert words in check.hint


def test_config_failures() -> None:
    check = config_failure("/etc/gsmgw/config.toml", "mqtt.url", "must start with mqtt://")
    assert check.message == "/etc/gsmgw/config.toml: mqtt.url: must start with mqtt://"
    assert "mqtt.url" in check.hint
    denied = config_failure(
        "/etc/gsmgw/config.toml", "-", "cannot read the file: Permission denied"
    )
    assert "sudo -u gsmgw" in denied.hint
    syntax = config_failure("c.toml", "-", "not valid TOML: Expected '='")
    assert "TOML" in syntax.hint


def test_tls_files_must_be_readable(tmp_path: Path) -> None:
    from gsmgw.doctor._facts import tls_check

    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    config = parse_config(
        f'[gateway]\nnode = "n"\n[mqtt]\nurl = "mqtts://broker"\nca_file = "{ca}"\n'
    )
    user = Account(name="pi", uid=4242, groups=frozenset({4242}), listed=frozenset())
    ca.chmod(0o600)
    denied = tls_check(config, user)
    assert denied is not None
    assert denied.status is Status.FAIL
    ca.chmod(0o644)
    readable = tls_check(config, user)
    assert readable is not None
    assert readable.status is Status.OK


# --- the report --------------------------------------------------------------------------------


def test_report() -> None:
    checks = (
        ok("config", "fine"),
        warn("sim1: signal", "weak", "move the antenna"),
        fail("broker", "refused", "start it"),
    )
    report = Report(checks)
    assert not report.ok
    assert Report(checks[:2]).ok
    assert report.to_json()["ok"] is False
    lines = report.render().splitlines()
    assert lines[0].startswith("✓ config")
    assert lines[1].startswith("! sim1: signal")
    assert lines[2].strip() == "→ move the antenna"
    assert lines[3].startswith("✗ broker")
    assert lines[-1] == "1 failed, 1 warnings: fix the ✗ lines first"
    assert Report((ok("a", "b", "hidden hint"),)).render() == "✓ a  b\nall checks passed"


def test_a_check_is_one_line() -> None:
    with pytest.raises(ValueError, match="one-line"):
        Check("x", Status.OK, "two\nlines")


def test_accounts_of_this_process() -> None:
    from gsmgw.doctor._facts import current_account, daemon_account, service_account

    me = current_account()
    assert me.uid == os.geteuid()
    assert os.getegid() in me.groups
    service = service_account()
    # Root is judged as the service's user (root itself may open anything).
    expected = service if os.geteuid() == 0 and service is not None else me
    assert daemon_account() == expected
