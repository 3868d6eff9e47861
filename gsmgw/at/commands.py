"""AT commands as data: text, timeout and a pure parser from information lines to a result.

Names keep the 3GPP spelling (TS 27.007, TS 27.005) so code and manual can be searched
side by side. Parsers raise only RemoteProtocolError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import re
from typing import Generic, TypeVar

from gsmgw.at.events import InfoLine
from gsmgw.at.urc import (
    is_decimal,
    line_prefix,
    parse_cusd,
    parse_int,
    parse_registration,
    values,
)
from gsmgw.at.values import (
    AccessTechnology,
    IndicationSupport as IndicationSupport,
    Network as Network,
    NetworkStatus as NetworkStatus,
    Operator as Operator,
    PinState as PinState,
    Registration,
    RegistrationKind,
    SignalQuality,
    Smsc as Smsc,
    StorageSupport as StorageSupport,
    StorageUsage as StorageUsage,
    StoredPdu as StoredPdu,
    UssdResponse as UssdResponse,
)
from gsmgw.errors import RemoteProtocolError

T = TypeVar("T")
Lines = Sequence[InfoLine]

# All of these are in seconds.
DEFAULT_TIMEOUT = 5.0
SEND_TIMEOUT = 60.0  # AT+CMGS waits for the network's RP-ACK (TS 27.005 §3.5.1)
NETWORK_SCAN_TIMEOUT = 180.0  # AT+COPS=? scans every band
OPERATOR_TIMEOUT = 30.0
USSD_TIMEOUT = 30.0
LIST_TIMEOUT = 30.0  # AT+CMGL on a full SIM of a slow modem
PIN_TIMEOUT = 15.0
RESET_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Command(Generic[T]):
    """One AT command: its text, its timeout, the parser of its information lines."""

    text: str
    parse: Callable[[Lines], T]
    timeout: float = DEFAULT_TIMEOUT
    #: For AT+CMGS: the PDU (hex) sent after the ``> `` prompt.
    data: str | None = None
    #: The answer is complete with its first own information line, final result or not: an
    #: old Wavecom answers AT+CPIN? with "+CPIN: READY" and never sends OK (python-gsmmodem
    #: issue 19; Gammu has the same fix for a Sierra modem).
    final_optional: bool = False

    def __post_init__(self) -> None:
        if not self.text.upper().startswith("AT"):
            raise ValueError(f"an AT command starts with AT: {self.text!r}")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


# -- helpers ----------------------------------------------------------------------------------

# GSM 03.38 default alphabet where it differs from ASCII: what a modem in AT+CSCS="GSM"
# sends (Gammu's "Bitte w{hlen" is "Bitte wählen").
_GSM_DEFAULT = str.maketrans("@$_[\\]^`{|}~", "¡¤§ÄÖÑÜ¿äöñü")


def gsm_text(text: str) -> str:
    """Text from a modem in the GSM character set (TS 27.007 §5.5) as Unicode."""
    return text.translate(_GSM_DEFAULT)


def _own(lines: Lines, prefix: str) -> list[InfoLine]:
    return [line for line in lines if line_prefix(line.text) == prefix]


def _rest(line: InfoLine) -> str:
    return line.text.partition(":")[2]


def _first(lines: Lines, prefix: str) -> InfoLine:
    own = _own(lines, prefix)
    if not own:
        raise RemoteProtocolError(f"no {prefix} line in the answer")
    return own[0]


#: The largest value of a setting we keep from a ``=?`` range (TS 27.007 values are below it).
MAX_SETTING = 255


def _set_of(group: str) -> frozenset[int]:
    numbers: set[int] = set()
    for part in group.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if is_decimal(low) and (not dash or is_decimal(high)):
            # Values in a =? answer are small settings; a range up to "99999999" would otherwise
            # make a set of every number in it from 25 bytes of modem output.
            first, last = int(low), min(int(high if dash else low), MAX_SETTING)
            numbers.update(range(first, last + 1))
    return frozenset(numbers)


def _groups(text: str) -> list[str]:
    """Return the parenthesised groups of a =? answer; unbracketed fields are groups of one."""
    found = re.findall(r"\(([^()]*)\)", text)
    return found if found else [f for f in text.split(",") if f.strip()]


# -- parsers ----------------------------------------------------------------------------------


def parse_none(lines: Lines) -> None:
    """Commands whose answer is just OK."""


def parse_text(lines: Lines) -> str:
    """Identity answers (AT+CGMI, AT+CGMM, AT+CIMI...): the first line, prefix removed."""
    for line in lines:
        text = line.text
        if text[:1] in "+^" and ":" in text:
            text = text.partition(":")[2]
        # " WAVECOM MODEM", " MULTIBAND  900E  1800" (python-gsmmodem's Wavecom recording):
        # leading and doubled spaces are padding, not part of the name.
        text = " ".join(text.strip().strip('"').split())
        if text:
            return text
    raise RemoteProtocolError("empty answer")


def parse_iccid(lines: Lines) -> str:
    """ICCID from AT+CCID, AT+QCCID, AT^ICCID? or AT+ICCID, as sent (F padding kept).

    Answers vary: "+CCID: 89...", "ICCID: 89..." (SIM7600), a bare number (SIM800),
    "^ICCID: 98..." (Huawei, digits swapped per octet: the driver's profile undoes that).
    """
    token = re.split(r"[:\s]+", parse_text(lines))[-1].strip('"').upper()
    if not re.fullmatch(r"[0-9A-F]{10,22}", token):
        raise RemoteProtocolError(f"not an ICCID: {token!r}")
    return token


def parse_csq(lines: Lines) -> SignalQuality:
    """+CSQ: <rssi>,<ber> (TS 27.007 §8.5); 99 = not known."""
    fields = values(_rest(_first(lines, "+CSQ")))
    rssi = parse_int(fields[0], "+CSQ <rssi>")
    ber = int(fields[1]) if len(fields) > 1 and is_decimal(fields[1]) else None
    return SignalQuality(rssi if rssi <= 31 else None, ber if ber != 99 else None)


def registration_parser(kind: RegistrationKind) -> Callable[[Lines], Registration]:
    """Return a parser of the answer to AT+CREG? (or +CGREG?, +CEREG?, +C5GREG?)."""

    def parse(lines: Lines) -> Registration:
        return parse_registration(_first(lines, kind.value).text, solicited=True)

    return parse


def parse_cops(lines: Lines) -> Operator:
    """+COPS: <mode>[,<format>,<oper>[,<AcT>]] (TS 27.007 §7.3)."""
    fields = values(_rest(_first(lines, "+COPS")))
    mode = parse_int(fields[0], "+COPS <mode>")
    name = gsm_text(fields[2]) if len(fields) > 2 and fields[2] else None
    act = fields[3] if len(fields) > 3 and is_decimal(fields[3]) else None
    return Operator(mode, name, AccessTechnology.from_act(int(act) if act else None))


# (stat,"long","short","numeric"[,AcT]) -- also the broken "numeric"),AcT) of the
# Option/T-Mobile TM506 and F3607gw, and entries without names or AcT (ModemManager cases).
_COPS_ENTRY = re.compile(
    r'\(\s*(\d)\s*,\s*("[^"]*"|)\s*,\s*("[^"]*"|)\s*,\s*"(\d+)"\s*(?:\)?\s*,\s*(\d+)\s*\)|\))'
)


def parse_cops_list(lines: Lines) -> tuple[Network, ...]:
    """AT+COPS=?: every network in the (possibly multi-line, broken) answer."""
    text = " ".join(line.text.removeprefix("+COPS:") for line in lines)
    networks = []
    for match in _COPS_ENTRY.finditer(text):
        stat, long_name, short_name, numeric, act = match.groups()
        if int(stat) > 3:
            continue
        networks.append(
            Network(
                status=NetworkStatus(int(stat)),
                long_name=gsm_text(long_name.strip('"')) or None,
                short_name=gsm_text(short_name.strip('"')) or None,
                operator_id=numeric,
                # No <AcT>: a GSM-only device (ModemManager assumes the same).
                access_technology=AccessTechnology.from_act(int(act) if act else 0),
            )
        )
    return tuple(networks)


def parse_cpms(lines: Lines) -> tuple[StorageUsage, ...]:
    """+CPMS: ["SM",]used,total,... for AT+CPMS? and AT+CPMS=... (TS 27.005 §3.2.2)."""
    fields = values(_rest(_first(lines, "+CPMS")))
    named = bool(fields) and not is_decimal(fields[0])
    step = 3 if named else 2
    usage = []
    for i in range(0, len(fields) - step + 1, step):
        chunk = fields[i : i + step]
        mem = chunk[0] if named else None
        used, total = (parse_int(v, "+CPMS") for v in chunk[-2:])
        usage.append(StorageUsage(mem, used, total))
    if not usage:
        raise RemoteProtocolError("+CPMS without storage figures")
    return tuple(usage)


def parse_cpms_support(lines: Lines) -> StorageSupport:
    """AT+CPMS=?, in every shape modems give it.

    Three lists (TS 27.005 §3.2.2); two lists, the Phase 1 form, also nested as
    ``(("SM","BM","SR"),("SM"))`` (old Wavecom); empty lists ``(),(),()``, which a Samsung
    J700 sends for SM and ME and a Nokia N79 for "no storage at all" -- so they are
    guesses (``listed`` False) that setting AT+CPMS confirms or refutes.
    """
    own = _own(lines, "+CPMS")
    found = _groups(_rest(own[0])) if own else []
    groups = [tuple(re.findall(r"[A-Z][A-Z0-9_]*", g)) for g in found]
    phase1 = len(groups) == 2
    groups = [g for g in groups if g]
    listed = bool(groups)
    if not groups:
        groups = [("SM", "ME")]
    while len(groups) < 3:
        groups.append(groups[-1])
    return StorageSupport(
        read=groups[0], write=groups[1], receive=groups[2], phase1=phase1, listed=listed
    )


def parse_cnmi_support(lines: Lines) -> IndicationSupport:
    """AT+CNMI=?: the accepted values of each parameter."""
    groups = [_set_of(g) for g in _groups(_rest(_first(lines, "+CNMI")))]
    groups += [frozenset({0})] * (5 - len(groups))
    return IndicationSupport(*groups[:5])


def parse_csms(lines: Lines) -> int:
    """+CSMS: <service>,<mt>,<mo>,<bm>: the message service (TS 27.005 §3.2.1); 1 = phase 2+."""
    return parse_int(values(_rest(_first(lines, "+CSMS")))[0], "+CSMS <service>")


def parse_cpin(lines: Lines) -> PinState:
    """+CPIN: <code> (TS 27.007 §8.3)."""
    code = _rest(_first(lines, "+CPIN")).strip().strip('"')
    try:
        return PinState(code)
    except ValueError:
        return PinState.OTHER


def parse_cmgs(lines: Lines) -> int:
    """+CMGS: <mr>[,<ackpdu>]: the TP-Message-Reference (TS 27.005 §3.5.1)."""
    return parse_int(values(_rest(_first(lines, "+CMGS")))[0], "+CMGS <mr>")


#: <stat> as text, which some modems send even in PDU mode (TS 27.005 §3.1 text mode names).
_STAT_NAMES = {"REC UNREAD": 0, "REC READ": 1, "STO UNSENT": 2, "STO SENT": 3}


def _stored(header: InfoLine, with_index: bool) -> StoredPdu:
    fields = values(_rest(header))
    index = parse_int(fields.pop(0), "<index>") if with_index else None
    # Headers with fields left out ("+CMGR: ,,23", "+CMGL: 3,,,"; ModemManager's and
    # python-gsmmodem's recordings) still carry a PDU: a missing <stat> reads as received.
    first = fields[0].strip().upper() if fields else ""
    stat = int(first) if is_decimal(first) else _STAT_NAMES.get(first, 0)
    length = int(fields[-1]) if len(fields) > 1 and is_decimal(fields[-1]) else None
    alpha = fields[1] if len(fields) > 2 else None
    return StoredPdu(index, stat, alpha or None, length, header.data)


def parse_cmgl(lines: Lines) -> tuple[StoredPdu, ...]:
    """+CMGL: <index>,<stat>,[<alpha>],<length> and the PDU, per stored message."""
    return tuple(_stored(line, with_index=True) for line in _own(lines, "+CMGL"))


def parse_cmgr(lines: Lines) -> StoredPdu | None:
    """+CMGR: <stat>,[<alpha>],<length> and the PDU; None for an empty slot."""
    own = _own(lines, "+CMGR")
    return _stored(own[0], with_index=False) if own else None


def parse_cusd_info(lines: Lines) -> UssdResponse | None:
    """Parse a +CUSD answer some modems send before OK (most send it later as a URC)."""
    own = _own(lines, "+CUSD")
    return parse_cusd(own[0].text) if own else None


def parse_csca(lines: Lines) -> Smsc:
    """+CSCA: <sca>[,<tosca>]; a UCS-2 hex number (modem in AT+CSCS="UCS2") is decoded."""
    fields = values(_rest(_first(lines, "+CSCA")))
    number = fields[0]
    if len(number) >= 8 and len(number) % 4 == 0 and re.fullmatch(r"(00[0-9A-Fa-f]{2})+", number):
        number = bytes.fromhex(number).decode("utf-16-be")
    if not re.fullmatch(r"\+?[0-9*#]+", number):
        raise RemoteProtocolError(f"+CSCA: no service centre number: {number!r}")
    toa = int(fields[1]) if len(fields) > 1 and is_decimal(fields[1]) else None
    return Smsc(number, toa)


# -- declarations -----------------------------------------------------------------------------

AT = Command("AT", parse_none)
ATE0 = Command("ATE0", parse_none)  # echo off (V.250 §6.2.4)
CMEE = Command("AT+CMEE=2", parse_none)  # verbose +CME ERROR (TS 27.007 §9.1)
CMEE_NUMERIC = Command("AT+CMEE=1", parse_none)
CMGF_PDU = Command("AT+CMGF=0", parse_none)  # PDU mode (TS 27.005 §3.2.3)
CSCS_GSM = Command('AT+CSCS="GSM"', parse_none)  # TS 27.007 §5.5
CGMI = Command("AT+CGMI", parse_text)
CGMM = Command("AT+CGMM", parse_text)
CGMR = Command("AT+CGMR", parse_text)
CGSN = Command("AT+CGSN", parse_text)
CIMI = Command("AT+CIMI", parse_text)
CPIN_QUERY = Command("AT+CPIN?", parse_cpin, timeout=PIN_TIMEOUT, final_optional=True)
CSQ = Command("AT+CSQ", parse_csq)
CREG_QUERY = Command("AT+CREG?", registration_parser(RegistrationKind.CREG))
CGREG_QUERY = Command("AT+CGREG?", registration_parser(RegistrationKind.CGREG))
CEREG_QUERY = Command("AT+CEREG?", registration_parser(RegistrationKind.CEREG))
CREG_URC_ON = Command("AT+CREG=2", parse_none)
COPS_QUERY = Command("AT+COPS?", parse_cops, timeout=OPERATOR_TIMEOUT)
COPS_FORMAT_LONG = Command("AT+COPS=3,0", parse_none, timeout=OPERATOR_TIMEOUT)
COPS_LIST = Command("AT+COPS=?", parse_cops_list, timeout=NETWORK_SCAN_TIMEOUT)
CPMS_QUERY = Command("AT+CPMS?", parse_cpms)
CPMS_SUPPORT = Command("AT+CPMS=?", parse_cpms_support)
CNMI_SUPPORT = Command("AT+CNMI=?", parse_cnmi_support)
CSCA_QUERY = Command("AT+CSCA?", parse_csca)
CSMS_QUERY = Command("AT+CSMS?", parse_csms)
CMGL_ALL = Command("AT+CMGL=4", parse_cmgl, timeout=LIST_TIMEOUT)  # 4 = all (PDU mode)
CFUN_RESET = Command("AT+CFUN=1,1", parse_none, timeout=RESET_TIMEOUT)
CUSD_CANCEL = Command("AT+CUSD=2", parse_none)
CUSD_SUPPORT = Command("AT+CUSD=?", parse_none)


def cpin_enter(pin: str) -> Command[None]:
    """AT+CPIN=<pin>: enter the SIM PIN (never repeated by gsmgw: three tries lock the SIM)."""
    if not re.fullmatch(r"\d{4,8}", pin):
        raise ValueError("a SIM PIN is 4 to 8 digits")
    return Command(f'AT+CPIN="{pin}"', parse_none, timeout=PIN_TIMEOUT)


def cpms(read: str, write: str, receive: str | None) -> Command[tuple[StorageUsage, ...]]:
    """AT+CPMS=<mem1>,<mem2>[,<mem3>]; without <mem3> the Phase 1 form old modems take."""
    third = f',"{receive}"' if receive is not None else ""
    return Command(f'AT+CPMS="{read}","{write}"{third}', parse_cpms)


def cnmi(mode: int, mt: int, bm: int, ds: int, bfr: int) -> Command[None]:
    """AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>."""
    return Command(f"AT+CNMI={mode},{mt},{bm},{ds},{bfr}", parse_none)


def cmgs(pdu_hex: str, tpdu_length: int) -> Command[int]:
    """AT+CMGS=<length> then the PDU: send one SMS part and get its TP-MR."""
    if not re.fullmatch(r"(?:[0-9A-F]{2})+", pdu_hex):
        raise ValueError("the PDU must be upper-case hex octets")
    if not 1 <= tpdu_length <= len(pdu_hex) // 2:
        raise ValueError(f"TPDU length {tpdu_length} does not fit the PDU")
    return Command(f"AT+CMGS={tpdu_length}", parse_cmgs, timeout=SEND_TIMEOUT, data=pdu_hex)


def cmgr(index: int) -> Command[StoredPdu | None]:
    """AT+CMGR=<index>: read one stored message."""
    return Command(f"AT+CMGR={index:d}", parse_cmgr)


def cmgd(index: int) -> Command[None]:
    """AT+CMGD=<index>: delete one stored message."""
    return Command(f"AT+CMGD={index:d}", parse_none)


def cnma(*, positive: bool = True) -> Command[None]:
    """AT+CNMA: acknowledge a +CMT/+CDS delivered directly (TS 27.005 §3.4.4, CSMS=1).

    ``positive=False`` sends AT+CNMA=2, RP-ERROR (PDU mode only): the network keeps the message
    and delivers it again later.
    """
    return Command("AT+CNMA" if positive else "AT+CNMA=2", parse_none)


def cusd(code: str, *, dcs: int = 15) -> Command[UssdResponse | None]:
    """AT+CUSD=1,"<code>",<dcs>: start a USSD session (TS 27.007 §7.15)."""
    if not re.fullmatch(r"[0-9*#+]{1,160}", code):
        raise ValueError(f"not a USSD code: {code!r}")
    return Command(f'AT+CUSD=1,"{code}",{dcs}', parse_cusd_info, timeout=USSD_TIMEOUT)


def raw(text: str, *, timeout: float = DEFAULT_TIMEOUT) -> Command[tuple[str, ...]]:
    """Any command, answering its information lines as text (``gsmgw at``)."""
    return Command(text, _raw_lines, timeout=timeout)


def _raw_lines(lines: Lines) -> tuple[str, ...]:
    out: list[str] = []
    for line in lines:
        out.append(line.text)
        if line.data is not None:
            out.append(line.data)
    return tuple(out)
