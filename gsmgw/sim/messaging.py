"""Handlers of the simulated modem: SMS in PDU mode (3GPP TS 27.005 §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gsmgw.errors import PduError
from gsmgw.sim import inbound
from gsmgw.sim.basic import require_sim
from gsmgw.sim.command import COMMANDS, Command, CommandFailed, ErrorKind, Pending, Syntax
from gsmgw.sim.network import REGISTERED
from gsmgw.sim.storage import STAT_ALL, MessageStat, StorageFull
from gsmgw.sms import Submit, decode_pdu

if TYPE_CHECKING:
    from gsmgw.sim.device import SimModem

_MEMORIES = ("SM", "ME")
#: TP-SRR, TP-Status-Report-Request, bit 5 of an SMS-SUBMIT's first octet (TS 23.040 §9.2.3.5).
_TP_SRR = 0x20
#: Highest TPDU length AT+CMGS accepts: 164 octets of SMS-SUBMIT (TS 23.040 §9.2.2.2).
MAX_TPDU_LENGTH = 164
_CNMI_LIMITS = (3, 3, 3, 2, 1)


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One SUBMIT the simulated network accepted, decoded, with the TP-MR it got."""

    pdu: bytes
    reference: int
    submit: Submit
    at: datetime


def _cms(code: int) -> CommandFailed:
    return CommandFailed(ErrorKind.CMS, code)


@COMMANDS.reply_to("+CMGF")
def on_cmgf(modem: SimModem, command: Command) -> None:
    """Message format: PDU mode only; text mode is refused (TS 27.005 §3.2.3)."""
    if command.syntax is Syntax.READ:
        modem.reply("+CMGF: 0")
    elif command.syntax is Syntax.TEST:
        modem.reply("+CMGF: (0)")
    elif command.int_arg(0, 0) != 0:
        raise _cms(303)


@COMMANDS.reply_to("+CSMS")
def on_csms(modem: SimModem, command: Command) -> None:
    """Message service (TS 27.005 §3.2.1): phase 2+ asks for +CNMA after +CMT."""
    if command.syntax is Syntax.READ:
        modem.reply(f"+CSMS: {modem.settings.csms},1,1,1")
    elif command.syntax is Syntax.TEST:
        modem.reply("+CSMS: (0,1)")
    else:
        modem.settings.csms = command.int_arg(0)
        modem.reply("+CSMS: 1,1,1")


@COMMANDS.reply_to("+CSCA")
def on_csca(modem: SimModem, command: Command) -> None:
    """Service centre address (TS 27.005 §3.3.1)."""
    if command.syntax is Syntax.READ:
        toa = 145 if modem.smsc.startswith("+") else 129
        modem.reply(f'+CSCA: "{modem.smsc}",{toa}')
    elif command.syntax is Syntax.SET and command.args and command.args[0]:
        modem.smsc = command.args[0]
    elif command.syntax is not Syntax.TEST:
        raise _cms(304)


@COMMANDS.reply_to("+CPMS")
def on_cpms(modem: SimModem, command: Command) -> None:
    """Preferred storages <mem1>,<mem2>,<mem3> (TS 27.005 §3.2.2)."""
    profile = modem.profile
    if command.syntax is Syntax.TEST:
        modem.reply(f"+CPMS: {profile.cpms_test}")
        return
    require_sim(modem, sms=True)
    _require_storage(modem)
    if command.syntax is Syntax.READ:
        fields = []
        for which in range(3):
            storage = modem.storage(which)
            fields.append(f'"{storage.name}",{len(storage)},{storage.capacity}')
        modem.reply("+CPMS: " + ",".join(fields))
        return
    if command.syntax is not Syntax.SET:
        raise CommandFailed()
    chosen = [arg.upper() for arg in command.args]
    most = 2 if profile.cpms_phase1 else 3
    if not 1 <= len(chosen) <= most or any(m not in _MEMORIES for m in chosen):
        raise CommandFailed() if profile.cpms_phase1 else _cms(302)
    modem.settings.memories[: len(chosen)] = chosen
    counts = [f"{len(modem.storage(w))},{modem.storage(w).capacity}" for w in range(most)]
    modem.reply("+CPMS: " + ",".join(counts))


def _require_storage(modem: SimModem) -> None:
    """Refuse every storage command on a phone without SMS storage (Nokia N79)."""
    if modem.profile.cpms_test == "(),(),()":
        raise CommandFailed()


def _header(modem: SimModem, stat: int, length: int) -> str:
    return modem.profile.stored_header.format(stat=stat, length=length)


@COMMANDS.reply_to("+CNMI")
def on_cnmi(modem: SimModem, command: Command) -> None:
    """Set new message indications <mode>,<mt>,<bm>,<ds>,<bfr> (TS 27.005 §3.4.1)."""
    if command.syntax is Syntax.TEST:
        modem.reply(f"+CNMI: {modem.profile.cnmi_ranges}")
    elif command.syntax is Syntax.READ:
        modem.reply("+CNMI: " + ",".join(str(v) for v in modem.settings.cnmi))
    elif command.syntax is Syntax.SET:
        values = [command.int_arg(i, 0) for i in range(5)]
        if len(command.args) > 5 or any(
            not 0 <= v <= top for v, top in zip(values, _CNMI_LIMITS, strict=True)
        ):
            raise _cms(303)
        modem.settings.cnmi = (values[0], values[1], values[2], values[3], values[4])
    else:
        raise CommandFailed()


@COMMANDS.reply_to("+CNMA")
def on_cnma(modem: SimModem, command: Command) -> None:
    """Take a new message acknowledgement (TS 27.005 §3.4.4): <n> 0/1 RP-ACK, 2 RP-ERROR.

    Without a +CMT/+CDS waiting for it (or with AT+CSMS=0) it is +CMS ERROR 340.
    """
    if command.syntax is Syntax.TEST:
        modem.reply("+CNMA: (0-2)")
        return
    n = command.int_arg(0, 0) if command.syntax is Syntax.SET else 0
    if not 0 <= n <= 2 or command.int_arg(1, 0):
        raise _cms(304)  # an acknowledgement TPDU (<length> > 0) is not simulated
    if modem.settings.csms != 1:
        raise _cms(340)
    done = inbound.refused(modem) if n == 2 else inbound.acknowledged(modem)
    if not done:
        raise _cms(340)
    modem.acks.append(n)


def _tpdu_length(command: Command) -> int:
    length = command.int_arg(0)
    if not 1 <= length <= MAX_TPDU_LENGTH:
        raise _cms(304)
    return length


def _checked_pdu(text: str, length: int) -> bytes:
    """Return the PDU typed after the prompt; +CMS ERROR 304 unless its TPDU fits ``length``."""
    try:
        pdu = bytes.fromhex(text)
    except ValueError:
        raise _cms(304) from None
    if not pdu or len(pdu) - 1 - pdu[0] != length:
        raise _cms(304)
    return pdu


@COMMANDS.reply_to("+CMGS")
def on_cmgs(modem: SimModem, command: Command) -> Pending | None:
    """Send a message: ``> `` prompt, PDU, Ctrl-Z, then ``+CMGS: <mr>`` (TS 27.005 §3.5.1)."""
    if command.syntax is Syntax.TEST:
        return None
    require_sim(modem, sms=True)
    length = _tpdu_length(command)
    return modem.prompt(lambda text: _submitted(modem, text, length))


def _submitted(modem: SimModem, text: str, length: int) -> None:
    pdu = _checked_pdu(text, length)
    try:
        message = decode_pdu(pdu)
    except PduError:
        raise _cms(304) from None
    if not isinstance(message, Submit):
        raise _cms(304)
    modem.later(modem.send_delay, lambda: _network_answered(modem, pdu, message))


def _network_answered(modem: SimModem, pdu: bytes, message: Submit) -> None:
    """Answer a SUBMIT as the network: a TP-MR, or an RP-ERROR cause as +CMS ERROR."""
    if modem.registration not in REGISTERED:
        modem.complete(_cms(331))
        return
    if modem.fail_sends:
        modem.complete(_cms(modem.fail_sends.pop(0)))
        return
    reference = modem.next_reference()
    modem.sent.append(SentMessage(pdu, reference, message, datetime.now(UTC)))
    if modem.hang_after_sends:
        modem.hang_after_sends -= 1
        modem.hang()
        return
    modem.reply(f"+CMGS: {reference}")
    if pdu[1 + pdu[0]] & _TP_SRR:
        recipient = message.recipient
        modem.after_final(
            lambda: modem.later(
                modem.report_delay,
                lambda: modem.inject_status_report(reference, 0, recipient=recipient),
            )
        )
    modem.complete()


@COMMANDS.reply_to("+CMGW")
def on_cmgw(modem: SimModem, command: Command) -> Pending | None:
    """Write a message to <mem2>: prompt, PDU, ``+CMGW: <index>`` (TS 27.005 §3.5.3)."""
    if command.syntax is Syntax.TEST:
        return None
    require_sim(modem, sms=True)
    length = _tpdu_length(command)
    stat = MessageStat(command.int_arg(1, MessageStat.STO_UNSENT))

    def written(text: str) -> None:
        pdu = _checked_pdu(text, length)
        try:
            index = modem.storage(1).store(pdu, stat)
        except StorageFull:
            raise _cms(322) from None
        modem.reply(f"+CMGW: {index}")
        modem.complete()

    return modem.prompt(written)


@COMMANDS.reply_to("+CMGL")
def on_cmgl(modem: SimModem, command: Command) -> None:
    """List messages of <mem1> with <stat> (0-4) as header and PDU lines (TS 27.005 §3.4.2)."""
    if command.syntax is Syntax.TEST:
        modem.reply("+CMGL: (0-4)")
        return
    require_sim(modem, sms=True)
    _require_storage(modem)
    stat = command.int_arg(0, MessageStat.REC_UNREAD) if command.raw_args else 0
    if not 0 <= stat <= STAT_ALL:
        raise _cms(304)
    storage = modem.storage(0)
    for index, entry in storage.items(stat):
        modem.reply(
            f"+CMGL: {index},{_header(modem, entry.stat.value, entry.tpdu_length)}",
            entry.pdu.hex().upper(),
        )
        storage.mark_read(index)


@COMMANDS.reply_to("+CMGR")
def on_cmgr(modem: SimModem, command: Command) -> None:
    """Read one message of <mem1>; an empty location answers only OK (TS 27.005 §3.4.3)."""
    if command.syntax is Syntax.TEST:
        return
    require_sim(modem, sms=True)
    _require_storage(modem)
    index = command.int_arg(0)
    storage = modem.storage(0)
    if not storage.valid(index):
        raise _cms(321)
    entry = storage.get(index)
    if entry is not None:
        header = _header(modem, entry.stat.value, entry.tpdu_length)
        modem.reply(f"+CMGR: {header}", entry.pdu.hex().upper())
        storage.mark_read(index)


@COMMANDS.reply_to("+CMGD")
def on_cmgd(modem: SimModem, command: Command) -> None:
    """Delete one message, or all by <delflag> (TS 27.005 §3.5.4)."""
    storage = modem.storage(0)
    if command.syntax is Syntax.TEST:
        last = storage.first_index + storage.capacity - 1
        modem.reply(f"+CMGD: ({storage.first_index}-{last}),(0-4)")
        return
    require_sim(modem, sms=True)
    _require_storage(modem)
    flag = command.int_arg(1, 0)
    if not 0 <= flag <= 4:
        raise _cms(304)
    if flag:
        storage.delete_flagged(flag)
    else:
        index = command.int_arg(0)
        if not storage.valid(index):
            raise _cms(321)
        storage.delete(index)
    modem.after_final(modem.retry_network_queue)
