"""Running ``gsmgw doctor``'s checks: the config, each modem, broker, database, SMPP, clock.

The config first (a config error is itself a failed check); then each modem's port (exists, is a
character device, the daemon's user may use it, neither ModemManager nor another program holds
it), the broker, the database, ``[smpp]`` (its listener and users file), the control socket, the
clock and systemd-python. A modem is opened and asked (AT, SIM PIN state, registration, signal,
clock) only while no daemon runs: when the control socket answers, its ``status`` says how the
modems are, because fighting the daemon for a port would break the sends in progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
import enum
import logging
import os
from typing import TYPE_CHECKING, Any

from gsmgw.cli.control import request
from gsmgw.config import Config, ModemConfig, load_config
from gsmgw.doctor._facts import (
    broker_check,
    control_check,
    daemon_account,
    database_check,
    file_facts,
    smpp_listen_check,
    smpp_users_check,
    system_clock_check,
    systemd_check,
    tls_check,
)
from gsmgw.doctor._http import listener_check, tokens_check
from gsmgw.doctor._judge import (
    Account,
    Check,
    Report,
    Status,
    access_check,
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
from gsmgw.doctor._smpp import smpp_off
from gsmgw.errors import ConfigError, ControlError

if TYPE_CHECKING:
    from datetime import datetime

    from gsmgw.cli.session import AtSession

LOGGER = logging.getLogger(__package__)

#: Seconds per question to a modem, and for the daemon's ``status`` answer.
MODEM_TIMEOUT = 3.0
STATUS_TIMEOUT = 5.0
#: Processes named when a port is in use (the rest are counted).
MAX_HOLDERS = 3
#: The bind types of an SMPP session in ``status`` (the rest are "open" and "closed").
_BOUND = ("transmitter", "receiver", "transceiver")


class DaemonState(enum.Enum):
    """Whether a daemon has the modems (and so whether doctor may open them)."""

    RUNNING = "running"
    STOPPED = "stopped"
    UNKNOWN = "unknown"  # the control socket exists but we cannot use it


async def diagnose(path: str, *, limit: float = MODEM_TIMEOUT) -> Report:
    """Run the checks for the config file at ``path``."""
    try:
        # The users file gets a check of its own (which line is wrong), not a config failure
        # that would stop every other check.
        config = load_config(path, smpp_users=False)
    except ConfigError as exc:
        failed = config_failure(exc.file, exc.key, exc.problem)
        return Report((failed, system_clock_check(), systemd_check()))
    summary = f"{config.file}: {len(config.modems)} modems, MQTT {config.mqtt.url or 'off'}"
    account = daemon_account()
    state, status, daemon = await daemon_status(config)
    checks = [ok("config", summary), daemon]
    checks += await _parallel_checks(config, account, state, status, limit)
    return Report(tuple(checks))


async def _parallel_checks(
    config: Config,
    account: Account,
    state: DaemonState,
    status: Mapping[str, Any] | None,
    limit: float,
) -> list[Check]:
    """Run the modem, broker and database checks at once; return them in a fixed order."""
    async with asyncio.TaskGroup() as group:
        modems = [
            group.create_task(
                _guarded(modem.id, modem_checks(modem, account, state, status, limit))
            )
            for modem in config.modems
        ]
        broker = group.create_task(broker_check(config))
        listener = group.create_task(listener_check(config, running=state is DaemonState.RUNNING))
        database = group.create_task(asyncio.to_thread(database_check, config, account))
        smpp = group.create_task(smpp_checks(config, account, state, status, limit))
    checks = [check for task in modems for check in task.result()]
    tls = tls_check(config, account)
    checks += [tls] if tls is not None else []
    checks += [broker.result(), database.result(), *smpp.result()]
    checks += [c for c in (tokens_check(config, account), listener.result()) if c is not None]
    checks.append(control_check(config, account, running=state is DaemonState.RUNNING))
    checks += [system_clock_check(), systemd_check()]
    return checks


async def smpp_checks(
    config: Config,
    account: Account,
    state: DaemonState,
    status: Mapping[str, Any] | None,
    limit: float,
) -> list[Check]:
    """Check ``[smpp]``: its listener (asking the running daemon's) and its users file."""
    if not config.smpp.enabled:
        return [smpp_off()]
    running = {DaemonState.RUNNING: True, DaemonState.STOPPED: False}.get(state)
    smpp = (status or {}).get("smpp")
    sessions = smpp.get("sessions") if isinstance(smpp, Mapping) else None
    count = None
    if isinstance(sessions, list):  # connections not bound (yet) are not counted
        count = sum(isinstance(s, Mapping) and s.get("bind") in _BOUND for s in sessions)
    listen = await smpp_listen_check(config, account, running=running, sessions=count, limit=limit)
    return [listen, await asyncio.to_thread(smpp_users_check, config, account)]


async def _guarded(name: str, checks: Awaitable[list[Check]]) -> list[Check]:
    """Run one modem's checks; a bug or a surprise there becomes a failed check, not a crash."""
    try:
        return await checks
    except Exception as exc:  # a task boundary (STYLE.md §6): report and go on with the rest
        LOGGER.exception("%s: a check failed unexpectedly", name)
        hint = "run gsmgw -vv doctor and report the traceback"
        return [fail(f"{name}: check", f"the check itself failed: {exc!r}", hint)]


async def daemon_status(config: Config) -> tuple[DaemonState, Mapping[str, Any] | None, Check]:
    """Ask the daemon for ``status`` on its control socket."""
    path = str(config.gateway.control)
    try:
        async with asyncio.timeout(STATUS_TIMEOUT):
            status = await request(path, "status")
    except ControlError as exc:
        if exc.code == "not_running":
            return DaemonState.STOPPED, None, ok("daemon", "not running: modems tested directly")
        hint = "run as root or as a member of the socket's group (sudo usermod -aG gsmgw $USER)"
        return DaemonState.UNKNOWN, None, warn("daemon", str(exc), hint)
    except TimeoutError:
        message = f"{path} did not answer in {STATUS_TIMEOUT:g} s"
        hint = "the daemon may be stuck: journalctl -u gsmgw; sudo systemctl restart gsmgw"
        return DaemonState.UNKNOWN, None, warn("daemon", message, hint)
    if not isinstance(status, Mapping):
        hint = "the daemon and this gsmgw differ in version? sudo systemctl restart gsmgw"
        return DaemonState.UNKNOWN, None, warn("daemon", f"{path}: unexpected status", hint)
    uptime = status.get("uptime")
    message = f"running: node {status.get('node')}, up {uptime} s, MQTT {status.get('mqtt')}"
    return DaemonState.RUNNING, status, ok("daemon", message)


async def modem_checks(
    modem: ModemConfig,
    account: Account,
    state: DaemonState,
    status: Mapping[str, Any] | None,
    limit: float,
) -> list[Check]:
    """Check one ``[[modem]]``: its device, then the modem (from the daemon or by asking it)."""
    checks: list[Check] = []
    if modem.port.startswith("sim:"):
        checks.append(sim_port_check(modem.id, modem.port))
        if checks[-1].status is Status.FAIL:
            return checks
    else:
        checks += device_checks(modem.id, modem.port, account, state)
        if any(check.status is Status.FAIL for check in checks):
            return checks  # opening it would only fail again, less clearly
    if state is DaemonState.RUNNING:
        return checks + status_checks(modem, status or {})
    if state is DaemonState.UNKNOWN:
        hint = "run gsmgw doctor as a user who may use the control socket"
        message = "not opened: a daemon may have it open"
        return [*checks, warn(f"{modem.id}: modem", message, hint)]
    return checks + await probe_checks(modem, limit)


def sim_port_check(name: str, spec: str) -> Check:
    """Check a ``sim:NAME[?profile=P&knob=V]`` port's spelling."""
    from gsmgw.sim import get_profile, parse_sim_spec

    try:
        profile = parse_sim_spec(spec)[1]
        get_profile(profile)
    except ValueError as exc:
        hint = "write it as sim:NAME or sim:NAME?profile=quectel&pin=1234 (see README)"
        return fail(f"{name}: port", str(exc), hint)
    return ok(f"{name}: port", f"{spec}: the built-in simulated modem ({profile})")


def device_checks(name: str, path: str, account: Account, state: DaemonState) -> list[Check]:
    """Check a serial device: exists, is a character device, permissions, who holds it."""
    import stat

    try:
        facts = file_facts(path)
    except FileNotFoundError:
        hint = (
            "plug the modem in; `gsmgw scan` lists serial ports; /dev/gsmmodem-* names come "
            "from udev/77-gsmgw.rules (sudo udevadm trigger, or replug)"
        )
        return [fail(f"{name}: port", f"{path}: no such device", hint)]
    except OSError as exc:
        return [fail(f"{name}: port", f"{path}: {exc.strerror}", "check the path in [[modem]]")]
    if not stat.S_ISCHR(facts.mode):
        hint = "port must name the modem's serial device (/dev/ttyUSB2, /dev/serial/by-id/...)"
        return [fail(f"{name}: port", f"{path} is not a character device", hint)]
    real = os.path.realpath(path)
    shown = path if real == path else f"{path} -> {real}"
    return [
        ok(f"{name}: port", f"{shown}: a character device"),
        access_check(f"{name}: permissions", path, facts, account, want=6),
        holder_check(name, path, running=state is DaemonState.RUNNING),
    ]


def holder_check(name: str, path: str, *, running: bool) -> Check:
    """Name ModemManager or another process that has the port open (from /proc/*/fd)."""
    from gsmgw.cli.ports import MODEM_MANAGER, holders

    found = holders(path)
    shown = [f"{h.name} (pid {h.pid})" for h in found[:MAX_HOLDERS]]
    more = len(found) - MAX_HOLDERS
    listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    manager = [h for h in found if h.name == MODEM_MANAGER]
    if manager:
        listed = ", ".join(f"{h.name} (pid {h.pid})" for h in manager)
        hint = (
            "sudo systemctl stop ModemManager; to keep it off the modem for good, install "
            'udev/77-gsmgw.rules (ENV{ID_MM_DEVICE_IGNORE}="1") or disable ModemManager'
        )
        return fail(f"{name}: in use", f"{path}: held by {listed}", hint)
    if found and running:
        return ok(f"{name}: in use", f"open by {listed} (the running daemon)")
    if found:
        hint = "stop that program: two programs on one AT port garble each other's answers"
        return fail(f"{name}: in use", f"{path}: open by {listed}", hint)
    seen = "any process" if os.geteuid() == 0 else "any process of this user (root sees all)"
    return ok(f"{name}: in use", f"not open by {seen}")


def status_checks(modem: ModemConfig, status: Mapping[str, Any]) -> list[Check]:
    """Judge a modem from the running daemon's ``status`` instead of opening its port."""
    entries = status.get("modems")
    entry = next(
        (e for e in entries or () if isinstance(e, Mapping) and e.get("id") == modem.id), None
    )
    if entry is None:
        hint = "the config changed since it started: sudo systemctl reload gsmgw"
        return [warn(f"{modem.id}: modem", "the running daemon does not know this modem", hint)]
    state = _text(entry.get("state"))
    error = _text(entry.get("error")) or _text(entry.get("last_error"))
    checks = [modem_state_check(f"{modem.id}: modem", state, error)]
    if state == "ready":
        registration = _text(entry.get("registration"))
        checks.append(
            registration_check(f"{modem.id}: network", registration, _text(entry.get("operator")))
        )
        checks.append(signal_check(f"{modem.id}: signal", _dbm(entry.get("signal"))))
    return checks


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _dbm(value: object) -> int | None:
    """Return a signal as dBm: the daemon may report dBm (negative) or a +CSQ rssi (0-31)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if value < 0 else -113 + 2 * value if value <= 31 else None


async def probe_checks(modem: ModemConfig, limit: float) -> list[Check]:
    """Open the port and ask the modem: AT, SIM PIN state, registration, signal, clock."""
    from datetime import UTC, datetime

    from gsmgw.cli.probe import probe
    from gsmgw.cli.session import open_session
    from gsmgw.errors import ModemTimeout, ModemUnavailable

    name = modem.id
    try:
        async with open_session(modem.port, command_timeout=limit) as session:
            facts = await probe(session, limit=limit)
            cme = await _cpin_error(session, limit) if facts["sim"] is None else None
            clock = await _modem_clock(session, limit)
    except ModemUnavailable as exc:
        hint = "close other programs using it; `gsmgw scan` tells what each port is"
        return [fail(f"{name}: AT", str(exc), hint)]
    except ModemTimeout:
        hint = (
            "a modem has several ports and only some speak AT: try the others (`gsmgw scan`); "
            "check baudrate; a modem just plugged in may still be starting"
        )
        return [fail(f"{name}: AT", f"{modem.port}: no answer to AT", hint)]
    who = " ".join(str(facts[key]) for key in ("manufacturer", "model") if facts[key])
    checks = [ok(f"{name}: AT", f"answers AT: {who or 'unnamed modem'}, IMEI {facts['imei']}")]
    pin = _text(facts["sim"])
    checks.append(sim_check(f"{name}: SIM", pin, pin_file=modem.pin_file is not None, cme=cme))
    if pin == "READY":
        checks += _network_checks(name, facts)
    drift = modem_clock_check(f"{name}: clock", clock, datetime.now(UTC))
    return checks + ([drift] if drift is not None else [])


def _network_checks(name: str, facts: Mapping[str, object]) -> list[Check]:

    registration = _text(facts["registration"])
    signal = facts["signal"]
    return [
        registration_check(f"{name}: network", registration, _text(facts["operator"])),
        signal_check(f"{name}: signal", signal if isinstance(signal, int) else None),
    ]


async def _cpin_error(session: AtSession, limit: float) -> int | None:
    """Return the +CME ERROR code of ``AT+CPIN?`` (10: no SIM), None when there is none."""
    from dataclasses import replace

    from gsmgw.at import commands as at
    from gsmgw.errors import CommandError, ModemTimeout, RemoteProtocolError

    await session.execute("AT+CMEE=1", limit=limit)  # numeric +CME ERROR codes (TS 27.007 §9.1)
    try:
        await session.query(replace(at.CPIN_QUERY, timeout=limit))
    except CommandError as exc:
        return exc.code
    except (ModemTimeout, RemoteProtocolError):
        return None
    return None


async def _modem_clock(session: AtSession, limit: float) -> datetime | None:
    """Return the modem's clock (``AT+CCLK?``, TS 27.007 §8.15), None when it has none."""
    answer = await session.execute("AT+CCLK?", limit=limit)
    return parse_cclk(answer.lines) if answer.ok else None
