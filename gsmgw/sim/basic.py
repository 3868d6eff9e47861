"""Handlers of the simulated modem: V.250 basics, identity, error mode, SIM PIN, power."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from gsmgw.sim.command import COMMANDS, Command, CommandFailed, ErrorKind, Pending, Syntax

if TYPE_CHECKING:
    from gsmgw.sim.device import SimModem

#: Seconds between AT+CFUN=1,1's OK and the boot lines of the restarted modem.
RESTART_DELAY = 0.05
CHARSETS = ("IRA", "GSM", "UCS2")


class PinState(enum.Enum):
    """The answer of AT+CPIN? (3GPP TS 27.007 §8.3)."""

    READY = "READY"
    SIM_PIN = "SIM PIN"
    SIM_PUK = "SIM PUK"


def require_sim(modem: SimModem, *, sms: bool = False) -> None:
    """Fail as a locked SIM does: +CME ERROR 11/12, or +CMS ERROR 311/316 for SMS commands."""
    if modem.pin_state is PinState.SIM_PIN:
        raise CommandFailed(ErrorKind.CMS, 311) if sms else CommandFailed(ErrorKind.CME, 11)
    if modem.pin_state is PinState.SIM_PUK:
        raise CommandFailed(ErrorKind.CMS, 316) if sms else CommandFailed(ErrorKind.CME, 12)


def _answer(command: Command, *lines: str) -> list[str]:
    """Execute answers ``lines``; test answers nothing; other forms are an error."""
    if command.syntax is Syntax.EXECUTE:
        return list(lines)
    if command.syntax is Syntax.TEST:
        return []
    raise CommandFailed()


@COMMANDS.reply_to("E")
def on_echo(modem: SimModem, command: Command) -> None:
    """ATE0 / ATE1: echo off or on (V.250 §6.2.4); some modems accept ATE0 and echo on."""
    if not modem.profile.echo_fixed:
        modem.settings.echo = command.raw_args not in ("", "0")


@COMMANDS.reply_to("V", "Q", "&C", "&D", "&K", "X", "S", "L", "M")
def on_ignored(modem: SimModem, command: Command) -> None:
    """Accept settings that have no effect here (verbose results are always on)."""


@COMMANDS.reply_to("Z", "&F")
def on_reset(modem: SimModem, command: Command) -> None:
    """ATZ / AT&F: settings back to the defaults, echo on."""
    modem.settings.echo = True
    modem.settings.cmee = 0


@COMMANDS.reply_to("&W")
def on_save(modem: SimModem, command: Command) -> None:
    """AT&W: accepted; nothing outlives a power-up here."""


@COMMANDS.reply_to("I")
def on_info(modem: SimModem, command: Command) -> None:
    """ATI: maker, model and revision, one per line."""
    profile = modem.profile
    modem.reply(profile.manufacturer, profile.model, f"Revision: {profile.revision}")


@COMMANDS.reply_to("+CGMI", "+GMI")
def on_cgmi(modem: SimModem, command: Command) -> None:
    """Manufacturer (TS 27.007 §5.1)."""
    modem.reply(*_answer(command, modem.profile.manufacturer))


@COMMANDS.reply_to("+CGMM", "+GMM")
def on_cgmm(modem: SimModem, command: Command) -> None:
    """Model (TS 27.007 §5.2)."""
    modem.reply(*_answer(command, modem.profile.model))


@COMMANDS.reply_to("+CGMR", "+GMR")
def on_cgmr(modem: SimModem, command: Command) -> None:
    """Revision (TS 27.007 §5.3)."""
    modem.reply(*_answer(command, modem.profile.revision))


@COMMANDS.reply_to("+CGSN", "+GSN")
def on_cgsn(modem: SimModem, command: Command) -> None:
    """IMEI (TS 27.007 §5.4)."""
    modem.reply(*_answer(command, modem.identity.imei))


@COMMANDS.reply_to("+CIMI")
def on_cimi(modem: SimModem, command: Command) -> None:
    """IMSI (TS 27.007 §5.6); needs an unlocked SIM."""
    require_sim(modem)
    modem.reply(*_answer(command, modem.identity.imsi))


@COMMANDS.reply_to("+CCID", "+ICCID", "+QCCID", vendor=True)
def on_ccid(modem: SimModem, command: Command) -> None:
    """ICCID: "+CCID: 89..." (generic), "ICCID: 89..." (SIM7600), "+QCCID: 89..." (EC25)."""
    iccid = modem.identity.iccid
    if command.name == "+CCID" and modem.profile.name == "simcom":
        line = iccid  # SIM800 answers the bare number
    elif command.name == "+ICCID":
        line = f"ICCID: {iccid}"
    else:
        line = f"{command.name}: {iccid}"
    modem.reply(*_answer(command, line))


@COMMANDS.reply_to("^ICCID", vendor=True)
def on_huawei_iccid(modem: SimModem, command: Command) -> None:
    """AT^ICCID?: Huawei gives the raw EF_ICCID, the two digits of each octet swapped."""
    if command.syntax is not Syntax.READ:
        raise CommandFailed()
    digits = modem.identity.iccid + "F" * (len(modem.identity.iccid) % 2)
    swapped = "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))
    modem.reply(f"^ICCID: {swapped}")


@COMMANDS.reply_to("^HWVER", vendor=True)
def on_huawei_hwver(modem: SimModem, command: Command) -> None:
    """AT^HWVER: Huawei's hardware version."""
    modem.reply('^HWVER:"CL1E3372SM"')


@COMMANDS.reply_to("+CMEE")
def on_cmee(modem: SimModem, command: Command) -> None:
    """Error reporting: 0 ERROR, 1 numeric, 2 verbose (TS 27.007 §9.1)."""
    if command.syntax is Syntax.READ:
        modem.reply(f"+CMEE: {modem.settings.cmee}")
    elif command.syntax is Syntax.TEST:
        modem.reply("+CMEE: (0-2)")
    else:
        value = command.int_arg(0, 0)
        if value not in (0, 1, 2):
            raise CommandFailed(ErrorKind.CME, 50)
        modem.settings.cmee = value


@COMMANDS.reply_to("+CSCS")
def on_cscs(modem: SimModem, command: Command) -> None:
    """TE character set (TS 27.007 §5.5)."""
    if command.syntax is Syntax.READ:
        modem.reply(f'+CSCS: "{modem.settings.cscs}"')
    elif command.syntax is Syntax.TEST:
        modem.reply("+CSCS: (" + ",".join(f'"{c}"' for c in CHARSETS) + ")")
    elif command.syntax is Syntax.SET:
        charset = command.args[0].upper() if command.args else ""
        if charset not in CHARSETS:
            raise CommandFailed(ErrorKind.CME, 4)
        modem.settings.cscs = charset


@COMMANDS.reply_to("+CPIN")
def on_cpin(modem: SimModem, command: Command) -> Pending | None:
    """SIM PIN (TS 27.007 §8.3): three wrong PINs lock the SIM until the PUK."""
    if command.syntax is Syntax.READ:
        if modem.sim_busy > 0:
            modem.sim_busy -= 1
            raise CommandFailed(ErrorKind.CME, 14)  # SIM busy, still starting
        modem.reply(f"+CPIN: {modem.pin_state.value}")
        return None if modem.profile.cpin_final else modem.answer_without_final()
    if command.syntax is not Syntax.SET or not command.args:
        raise CommandFailed(ErrorKind.CME, 50) if command.syntax is Syntax.SET else CommandFailed()
    args = command.args
    if modem.pin_state is PinState.READY:
        raise CommandFailed(ErrorKind.CME, 3)
    if modem.pin_state is PinState.SIM_PUK:
        if args[0] != modem.knobs.puk or len(args) < 2:
            raise CommandFailed(ErrorKind.CME, 16)
        modem.pin = args[1]
    elif args[0] != modem.pin:
        modem.pin_tries -= 1
        if modem.pin_tries <= 0:
            modem.pin_state = PinState.SIM_PUK
        raise CommandFailed(ErrorKind.CME, 16)
    modem.pin_state = PinState.READY
    modem.pin_tries = 3
    modem.after_final(lambda: _say_ready(modem))
    return None


def _say_ready(modem: SimModem) -> None:
    for line in modem.profile.ready_lines:
        modem.urc(line)


@COMMANDS.reply_to("+CFUN")
def on_cfun(modem: SimModem, command: Command) -> None:
    """Phone functionality (TS 27.007 §8.2); AT+CFUN=1,1 restarts the modem."""
    if command.syntax is Syntax.READ:
        modem.reply(f"+CFUN: {modem.settings.functionality}")
        return
    if command.syntax is Syntax.TEST:
        modem.reply("+CFUN: (0,1,4),(0-1)")
        return
    level = command.int_arg(0)
    if level not in (0, 1, 4):
        raise CommandFailed(ErrorKind.CME, 50)
    modem.settings.functionality = level
    if command.int_arg(1, 0) == 1:
        modem.after_final(lambda: modem.later(RESTART_DELAY, modem.power_on))


@COMMANDS.reply_to("H")
def on_hangup(modem: SimModem, command: Command) -> None:
    """ATH: there is never a call to hang up."""


@COMMANDS.reply_to("D")
def on_dial(modem: SimModem, command: Command) -> None:
    """ATD: voice and data calls are not simulated."""
    raise CommandFailed(ErrorKind.CME, 4)
