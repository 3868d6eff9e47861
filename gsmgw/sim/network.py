"""Handlers of the simulated modem: signal, registration, operator, USSD."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gsmgw.sim.basic import PinState, require_sim
from gsmgw.sim.command import COMMANDS, Command, CommandFailed, ErrorKind, Syntax
from gsmgw.sim.profiles import UssdStyle

if TYPE_CHECKING:
    from gsmgw.sim.device import SimModem

#: Location (LAC or TAC) and cell id reported with <n>=2 (TS 27.007 §7.2).
LAC = "00A1"
CELL_ID = "0000B2C3"
#: <AcT> per command: GSM for +CREG/+CGREG, E-UTRAN for +CEREG (TS 27.007 §7.3).
_ACT = {"+CREG": None, "+CGREG": None, "+CEREG": 7}
REGISTERED = (1, 5)  # home, roaming


def registration_line(modem: SimModem, name: str, n: int, *, solicited: bool) -> str:
    """``+CREG: [<n>,]<stat>[,<lac>,<ci>[,<AcT>]]`` for one of the three registrations."""
    stat = modem.registration if modem.pin_state is PinState.READY else 0
    fields = [str(n)] if solicited else []
    fields.append(str(stat))
    if n >= 2 and stat in REGISTERED:
        fields += [f'"{LAC}"', f'"{CELL_ID}"']
        act = _ACT[name]
        if act is not None:
            fields.append(str(act))
    return f"{name}: {','.join(fields)}"


@COMMANDS.reply_to("+CSQ")
def on_csq(modem: SimModem, command: Command) -> None:
    """Signal quality ``+CSQ: <rssi>,<ber>`` (TS 27.007 §8.5)."""
    if command.syntax is Syntax.TEST:
        modem.reply("+CSQ: (0-31,99),(0-7,99)")
    elif command.syntax is Syntax.EXECUTE:
        modem.reply(f"+CSQ: {modem.rssi},99")
    else:
        raise CommandFailed()


@COMMANDS.reply_to("+CREG", "+CGREG", "+CEREG")
def on_creg(modem: SimModem, command: Command) -> None:
    """Registration state and its URCs, <n> 0-2 (TS 27.007 §7.2, §10.1.19, §10.1.22)."""
    settings = modem.settings.creg
    if command.syntax is Syntax.READ:
        modem.reply(registration_line(modem, command.name, settings[command.name], solicited=True))
    elif command.syntax is Syntax.TEST:
        modem.reply(f"{command.name}: (0-2)")
    elif command.syntax is Syntax.SET:
        n = command.int_arg(0, 0)
        if n not in (0, 1, 2):
            raise CommandFailed(ErrorKind.CME, 50)
        settings[command.name] = n
    else:
        raise CommandFailed()


@COMMANDS.reply_to("+COPS")
def on_cops(modem: SimModem, command: Command) -> None:
    """Operator selection (TS 27.007 §7.3)."""
    identity = modem.identity
    names = (
        f'"{identity.operator}"',
        f'"{identity.operator_short}"',
        f'"{identity.operator_numeric}"',
    )
    if command.syntax is Syntax.READ:
        if modem.registration in REGISTERED and modem.pin_state is PinState.READY:
            modem.reply(
                f"+COPS: 0,{modem.settings.cops_format},{names[modem.settings.cops_format]},7"
            )
        else:
            modem.reply("+COPS: 0")
    elif command.syntax is Syntax.TEST:
        modem.reply(f"+COPS: (2,{','.join(names)},7),,(0-4),(0-2)")
    elif command.syntax is Syntax.SET:
        mode = command.int_arg(0)
        if mode not in range(5):
            raise CommandFailed(ErrorKind.CME, 50)
        fmt = command.int_arg(1, modem.settings.cops_format)
        if fmt not in (0, 1, 2):
            raise CommandFailed(ErrorKind.CME, 50)
        modem.settings.cops_format = fmt
    else:
        raise CommandFailed()


@COMMANDS.reply_to("^CURC", vendor=True)
def on_huawei_curc(modem: SimModem, command: Command) -> None:
    """Huawei AT^CURC: 0 stops the periodic ^RSSI/^MODE codes, 1 sends them (E3372 manual)."""
    if command.syntax is Syntax.READ:
        modem.reply(f"^CURC: {int(modem.settings.vendor_urcs)}")
    elif command.syntax is Syntax.TEST:
        modem.reply("^CURC: (0-1)")
    elif command.syntax is Syntax.SET:
        value = command.int_arg(0)
        if value not in (0, 1):
            raise CommandFailed(ErrorKind.CME, 50)
        modem.settings.vendor_urcs = bool(value)
    else:
        raise CommandFailed()


@COMMANDS.reply_to("^PORTSEL", vendor=True)
def on_huawei_portsel(modem: SimModem, command: Command) -> None:
    """Huawei AT^PORTSEL: which port gets the URCs; there is only this one here."""
    if command.syntax is Syntax.READ:
        modem.reply("^PORTSEL: 1")
    elif command.syntax is Syntax.TEST:
        modem.reply("^PORTSEL: (0-1)")
    elif command.syntax is Syntax.SET and command.int_arg(0) not in (0, 1):
        raise CommandFailed(ErrorKind.CME, 50)


@COMMANDS.reply_to("+CUSD")
def on_cusd(modem: SimModem, command: Command) -> None:
    """USSD (TS 27.007 §7.15): OK at once, the answer later as ``+CUSD: 0,"<text>",<dcs>``."""
    if command.syntax is Syntax.TEST:
        modem.reply("+CUSD: (0-2)")
        return
    if command.syntax is Syntax.READ:
        modem.reply("+CUSD: 1")
        return
    if command.syntax is not Syntax.SET:
        raise CommandFailed()
    require_sim(modem)
    args = command.args
    if command.int_arg(0, 0) == 2 or len(args) < 2:
        return  # cancel the session, or only set <n>
    if modem.registration not in REGISTERED:
        raise CommandFailed(ErrorKind.CME, 30)
    answer = _ussd_answer(modem, args[1])
    modem.after_final(lambda: modem.later(modem.ussd_delay, lambda: modem.urc(answer)))


def _ussd_answer(modem: SimModem, code: str) -> str:
    text = modem.knobs.ussd_replies.get(code)
    if text is None:
        return "+CUSD: 4"  # 4: operation not supported
    if modem.profile.ussd_style is UssdStyle.UCS2_HEX:
        # Huawei E3372: UCS-2 as hex with DCS 72 (TS 23.038 §5: UCS-2, language unspecified).
        return f'+CUSD: 0,"{text.encode("utf-16-be").hex().upper()}",72'
    return f'+CUSD: 0,"{text}",15'
