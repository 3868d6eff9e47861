"""What ``gsmgw doctor`` concludes from what it found: pure judgments, no I/O.

Each function takes facts (a file mode, a ``+CPIN`` answer, a broker's CONNACK code...) and
returns a :class:`Check`: a name, ok/warn/fail, a one-line finding and a hint a person can act
on. Gathering the facts (stat, /proc, the modem, the broker) is ``gsmgw.doctor``'s and
``gsmgw.cli.doctor``'s job, so every judgment here is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
import re

#: Before this year the clock has not been set (a Raspberry Pi has no RTC: it starts in 1970
#: or at the last shutdown's time until NTP answers).
MIN_YEAR = 2024
#: How far the system clock may be from the modem's network time before we say so.
CLOCK_TOLERANCE = timedelta(minutes=5)
#: Below this the link is unreliable (rssi 4 of TS 27.007 §8.5, about -105 dBm).
WEAK_SIGNAL_DBM = -105
#: ``+CCLK: "yy/MM/dd,hh:mm:ss±zz"`` (TS 27.007 §8.15; zz in quarters of an hour).
_CCLK = re.compile(
    r'\+CCLK:\s*"?(\d{2})/(\d{2})/(\d{2}),(\d{2}):(\d{2}):(\d{2})(?:([+-])(\d{1,2}))?"?'
)
#: +CME ERROR codes that mean the SIM itself is missing or broken (TS 27.007 §9.2.1).
_NO_SIM_CODES = {10: "no SIM inserted", 13: "SIM failure", 15: "wrong SIM"}
_SIM_BUSY_CODE = 14
#: MQTT CONNACK codes: 3.1.1 return codes (§3.2.2.3) and MQTT 5 reason codes (§3.2.2.2).
_BAD_CREDENTIALS = {4, 134}
_NOT_AUTHORISED = {5, 135}
_BAD_PROTOCOL = {1, 132}
_BAD_CLIENT_ID = {2, 133}
_REGISTERED = {"home", "roaming", "home_sms_only", "roaming_sms_only"}


class Status(StrEnum):
    """The outcome of one check; only FAIL makes ``gsmgw doctor`` exit 1."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


SYMBOLS = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗"}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: what was checked, how it went, what was seen, what to do."""

    name: str
    status: Status
    message: str
    hint: str = ""

    def __post_init__(self) -> None:
        if not self.name or "\n" in self.message:
            raise ValueError("a check needs a name and a one-line message")

    def to_json(self) -> dict[str, str]:
        """Return ``{"name", "status", "message", "hint"}``."""
        return {
            "name": self.name,
            "status": str(self.status),
            "message": self.message,
            "hint": self.hint,
        }


def ok(name: str, message: str, hint: str = "") -> Check:
    """Return a passed check."""
    return Check(name, Status.OK, message, hint)


def warn(name: str, message: str, hint: str = "") -> Check:
    """Return a check that found something worth knowing but not fatal."""
    return Check(name, Status.WARN, message, hint)


def fail(name: str, message: str, hint: str = "") -> Check:
    """Return a failed check: gsmgw will not work as configured."""
    return Check(name, Status.FAIL, message, hint)


@dataclass(frozen=True, slots=True)
class Report:
    """Every check of one ``gsmgw doctor`` run, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(check.status is not Status.FAIL for check in self.checks)

    def to_json(self) -> dict[str, bool | list[dict[str, str]]]:
        """Return ``{"ok": bool, "checks": [...]}``."""
        return {"ok": self.ok, "checks": [check.to_json() for check in self.checks]}

    def render(self) -> str:
        """Return a table for a person: symbol, name, finding, and the hint below it."""
        width = max((len(check.name) for check in self.checks), default=0)
        lines = []
        for check in self.checks:
            lines.append(f"{SYMBOLS[check.status]} {check.name:<{width}}  {check.message}")
            if check.hint and check.status is not Status.OK:
                lines.append(f"  {'':<{width}}  → {check.hint}")
        failed = sum(check.status is Status.FAIL for check in self.checks)
        warned = sum(check.status is Status.WARN for check in self.checks)
        if failed:
            lines.append(f"{failed} failed, {warned} warnings: fix the ✗ lines first")
        elif warned:
            lines.append(f"no failures, {warned} warnings")
        else:
            lines.append("all checks passed")
        return "\n".join(lines)


# --- permissions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A user: ``groups`` its process has now (``id -G``), ``listed`` at its next login."""

    name: str
    uid: int
    groups: frozenset[int]
    listed: frozenset[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFacts:
    """What ``os.stat`` says about a path, with its group's name (None when it has none)."""

    mode: int
    uid: int
    gid: int
    group: str | None


def allowed(facts: FileFacts, account: Account, want: int, *, groups: Iterable[int]) -> bool:
    """Return whether the mode bits give ``account`` (with ``groups``) all of ``want`` (rwx)."""
    if account.uid == 0:
        return True
    if facts.uid == account.uid:
        return (facts.mode >> 6) & want == want
    if facts.gid in set(groups):
        return (facts.mode >> 3) & want == want
    return facts.mode & want == want


def access_check(name: str, path: str, facts: FileFacts, account: Account, *, want: int) -> Check:
    """Judge whether ``account`` may use ``path`` (``want``: 6 for read+write, 3 for a folder).

    Names the device's group (dialout on Debian) and whether the user is in it now, only after
    the next login (added by usermod, not yet logged in again), or not at all.
    """
    who = f"user {account.name}"
    group = facts.group or f"gid {facts.gid}"
    if allowed(facts, account, want, groups=account.groups):
        return ok(name, f"{path}: {who} may use it (mode {facts.mode & 0o777:04o}, group {group})")
    if allowed(facts, account, want, groups=account.listed):
        return fail(
            name,
            f"{path}: {who} is in group {group} only after logging in again",
            f"log out and in again (or run `newgrp {group}`); `id -nG` must list {group}",
        )
    group_grants = (facts.mode >> 3) & want == want
    if group_grants and facts.group is not None:
        return fail(
            name,
            f"{path}: {who} is not in group {group} (mode {facts.mode & 0o777:04o})",
            f"sudo usermod -aG {group} {account.name}, then log in again "
            "(the gsmgw service gets it from SupplementaryGroups=dialout)",
        )
    return fail(
        name,
        f"{path}: mode {facts.mode & 0o777:04o}, owner uid {facts.uid}, group {group}: "
        f"{who} may not use it",
        "the udev rule (udev/77-gsmgw.rules) sets GROUP=dialout MODE=0660 for known modems: "
        "sudo udevadm trigger, or replug the modem"
        if want == 6
        else f"sudo chown {account.name} {path}, or point the config elsewhere",
    )


# --- the modem ---------------------------------------------------------------------------------


def sim_check(name: str, pin_state: str | None, *, pin_file: bool, cme: int | None) -> Check:
    """Judge ``AT+CPIN?``: the answer (TS 27.007 §8.3), or the +CME ERROR code it got."""
    if pin_state == "READY":
        return ok(name, "SIM ready (no PIN needed, or already entered)")
    if pin_state == "SIM PIN":
        if pin_file:
            return ok(name, "SIM wants its PIN; the daemon enters the one in pin_file (once)")
        return fail(
            name,
            "SIM wants a PIN and the modem has no pin_file",
            "put the PIN in a file (chmod 0640, group gsmgw), set pin_file in [[modem]]; "
            "or remove the PIN lock in a phone",
        )
    if pin_state == "SIM PUK":
        return fail(
            name,
            "SIM is locked with its PUK (a wrong PIN was entered three times)",
            "unlock it with the PUK in a phone, then check the PIN in pin_file",
        )
    if pin_state == "PH-SIM PIN":
        return fail(
            name,
            "the modem is locked to another SIM (PH-SIM PIN)",
            "use the SIM the modem was sold with, or have the modem unlocked",
        )
    if cme in _NO_SIM_CODES:
        return fail(
            name,
            f"{_NO_SIM_CODES[cme]} (+CME ERROR: {cme})",
            "power off, seat the SIM (contacts down, right way round), power on",
        )
    if cme == _SIM_BUSY_CODE:
        return warn(name, "SIM busy (still starting)", "run gsmgw doctor again in a minute")
    if pin_state is None:
        return warn(
            name,
            "the modem did not say what the SIM wants (AT+CPIN? failed)",
            "ask it yourself: gsmgw at PORT 'AT+CMEE=2' 'AT+CPIN?'",
        )
    return warn(name, f"SIM wants {pin_state}", "unlock it in a phone")


def registration_check(name: str, registration: str | None, operator: str | None) -> Check:
    """Judge a registration state (``RegistrationState`` names in lower case, TS 27.007 §7.2)."""
    if registration in _REGISTERED:
        where = "roaming" if registration.startswith("roaming") else "home network"
        return ok(name, f"registered ({where}) with {operator or 'an unnamed operator'}")
    if registration == "searching":
        return warn(
            name,
            "searching for a network",
            "wait a minute; check the antenna, the coverage and that the SIM's plan is active",
        )
    if registration == "denied":
        return fail(
            name,
            "the network denied registration",
            "the SIM is not activated, has expired or run out of credit: try it in a phone",
        )
    if registration == "idle":
        return fail(
            name,
            "not registered and not searching",
            "select the network automatically: gsmgw at PORT 'AT+COPS=0'",
        )
    return warn(
        name,
        f"registration unknown ({registration or 'no answer'})",
        "ask it yourself: gsmgw at PORT 'AT+CREG?' 'AT+COPS?'",
    )


def signal_check(name: str, dbm: int | None) -> Check:
    """Judge the received signal strength."""
    if dbm is None:
        return warn(
            name,
            "no signal measured (+CSQ: 99)",
            "connect the antenna; a modem without one hears nothing",
        )
    if dbm < WEAK_SIGNAL_DBM:
        return warn(
            name,
            f"weak signal: {dbm} dBm",
            "move the antenna (a window, away from the Pi's metal case) or use an external one",
        )
    return ok(name, f"signal {dbm} dBm")


def modem_state_check(name: str, state: str | None, error: str | None) -> Check:
    """Judge a modem's health as the running daemon reports it (``gsmgw status``)."""
    detail = f": {error}" if error else ""
    if state == "ready":
        return ok(name, "ready (the running daemon has it open)")
    if state in ("opening", "initializing", "starting"):
        return warn(name, f"{state}{detail}", "the daemon is still opening it; look again soon")
    if state == "needs_operator":
        return fail(
            name,
            f"waiting for a person{detail}",
            "fix the SIM (PIN, PUK, inserted?), then: sudo systemctl restart gsmgw",
        )
    if state == "failed":
        return fail(
            name,
            f"failed, the daemon retries{detail}",
            "see `journalctl -u gsmgw`; stop the daemon and run gsmgw doctor again to test "
            "the port directly",
        )
    return warn(name, f"{state or 'unknown'}{detail}", "see gsmgw status and journalctl -u gsmgw")


# --- clocks ------------------------------------------------------------------------------------


def parse_cclk(lines: Iterable[str]) -> datetime | None:
    """Return the modem's clock from an ``AT+CCLK?`` answer (None when there is none)."""
    for line in lines:
        found = _CCLK.search(line)
        if found is None:
            continue
        yy, month, day, hour, minute, second, sign, quarters = found.groups()
        offset = timedelta(minutes=15 * int(quarters or 0))
        fields = (int(month), int(day), int(hour), int(minute), int(second))
        try:
            zone = timezone(-offset if sign == "-" else offset)
            return datetime(2000 + int(yy), *fields, tzinfo=zone)
        except ValueError:  # an unset clock may say anything, even 00/00/00
            return None
    return None


def clock_check(now: datetime) -> Check:
    """Judge the system clock: SMS timestamps, valid_for and send_at depend on it."""
    shown = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if now.year < MIN_YEAR:
        return fail(
            "clock",
            f"the system clock says {shown}: it was never set",
            "a Raspberry Pi has no clock of its own: enable NTP (sudo timedatectl set-ntp true) "
            "and give it network",
        )
    return ok("clock", f"system clock {shown}")


def modem_clock_check(name: str, modem_time: datetime | None, now: datetime) -> Check | None:
    """Compare the system clock with the modem's; None when the modem's clock means nothing.

    Most modems start at a fixed date and learn the time from the network (NITZ) only when it
    sends one, so a modem clock before ``MIN_YEAR`` says nothing about ours.
    """
    if modem_time is None or modem_time.year < MIN_YEAR:
        return None
    drift = abs(now - modem_time)
    if drift <= CLOCK_TOLERANCE:
        return ok(name, f"within {int(drift.total_seconds())} s of the modem's network time")
    return warn(
        name,
        f"the system clock is {int(drift.total_seconds())} s away from the modem's network time",
        "check NTP (timedatectl status); if NTP is right, the network's time (NITZ) is off",
    )


# --- the broker --------------------------------------------------------------------------------


def broker_refused(name: str, where: str, code: int, reason: str, *, user: str | None) -> Check:
    """Judge a CONNACK refusal (3.1.1 return code or MQTT 5 reason code)."""
    refused = f"{where} refused the connection: {reason} (code {code})"
    password = (
        f"check the password for {user} in mqtt.password_file (its first line); on Mosquitto: "
        f"sudo mosquitto_passwd /etc/mosquitto/passwd {user}"
    )
    if code in _BAD_CREDENTIALS:
        return fail(name, refused, password if user else "set mqtt.username and password_file")
    if code in _NOT_AUTHORISED:
        # Mosquitto answers a wrong password with "not authorised" (135), not 134.
        if user:
            return fail(name, refused, f"{password}; or allow {user} in the broker's ACL")
        return fail(
            name,
            refused,
            "the broker wants credentials: set mqtt.username and mqtt.password_file",
        )
    if code in _BAD_PROTOCOL:
        return fail(name, refused, 'the broker is older than MQTT 5: set mqtt.protocol = "3.1.1"')
    if code in _BAD_CLIENT_ID:
        return fail(name, refused, "the broker rejects the client id; set mqtt.client_id")
    return fail(name, refused, "see the broker's log")


def broker_unreachable(name: str, where: str, problem: str, *, tls: bool) -> Check:
    """Judge a connection that never got a CONNACK (refused socket, timeout, TLS, DNS)."""
    lowered = problem.lower()
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
        hint = (
            "mqtts:// needs the broker's TLS listener (8883) and a ca_file that signed its "
            "certificate, whose name must match the URL's host"
        )
    elif "refused" in lowered:
        hint = (
            "nothing listens there: start the broker (sudo systemctl start mosquitto) "
            "or fix mqtt.url"
        )
    elif "name" in lowered or "resolution" in lowered or "not known" in lowered:
        hint = "the host name does not resolve: fix mqtt.url or the DNS"
    elif tls:
        hint = "check mqtt.url's host and port, the firewall, and that the port speaks TLS"
    else:
        hint = "check mqtt.url's host and port, and the firewall; is it a TLS port (mqtts://)?"
    return fail(name, f"cannot connect to {where}: {problem}", hint)


def config_failure(file: str, key: str, problem: str) -> Check:
    """Judge a ``ConfigError``: the file, the key, and what is wrong."""
    if key == "-":
        if "No such file" in problem:
            hint = f"copy config.example.toml to {file} and edit it, or pass -c FILE"
        elif "Permission denied" in problem:
            hint = "run as the service's user (sudo -u gsmgw gsmgw doctor) or with sudo"
        else:
            hint = "fix the TOML syntax at the place named"
        return fail("config", f"{file}: {problem}", hint)
    return fail(
        "config", f"{file}: {key}: {problem}", f"fix {key} (config.example.toml documents it)"
    )
