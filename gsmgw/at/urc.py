"""Unsolicited result codes: the prefix table and their parsers (+CMTI, +CREG, ^RSSI, +QIND...)."""

from __future__ import annotations

from collections.abc import Callable
import re

from gsmgw.at.events import (
    MessageDelivered,
    NewMessageIndication,
    RegistrationChanged,
    Ring,
    SignalChanged,
    StatusReportDelivered,
    StatusReportIndication,
    StorageFull,
    UnknownUrc,
    Urc,
    UssdReceived,
)
from gsmgw.at.values import (
    AccessTechnology,
    Registration,
    RegistrationKind,
    RegistrationState,
    SignalQuality,
    UssdResponse,
)
from gsmgw.errors import RemoteProtocolError

# Headers whose PDU follows on the next line (TS 27.005 §3.4.1, PDU mode).
URC_HEADERS = frozenset({"+CMT", "+CDS"})
INFO_HEADERS = frozenset({"+CMGR", "+CMGL"})

# ASCII digits only (str.isdigit() also accepts "²", which int() refuses), and few enough that
# int() never refuses them (it limits conversions to 4300 digits).
_DECIMAL = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9A-Fa-f]+")


def line_prefix(text: str) -> str:
    """Return the part of a line before its colon ("+CMTI"), or the whole line ("RING")."""
    head, colon, _ = text.partition(":")
    return head.strip() if colon else text.strip()


def split_fields(text: str) -> list[tuple[str, bool]]:
    """Split ``1,"ab,c", 2`` into (value, was_quoted) pairs.

    A quote left open at the end of the line is closed there (Gammu's single-quote case);
    text after a closing quote other than a comma is malformed.
    """
    fields: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            value = text[i + 1 :] if end < 0 else text[i + 1 : end]
            i = n if end < 0 else end + 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] != ",":
                raise RemoteProtocolError(f"text after a quoted field: {text!r}")
            fields.append((value, True))
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            fields.append((text[i:end].strip(), False))
            i = end
        if i >= n:
            return fields
        i += 1  # the comma


def values(text: str) -> list[str]:
    """Return the fields of a line's parameter part, unquoted."""
    return [value for value, _ in split_fields(text)]


def is_decimal(value: str) -> bool:
    """Whether a field is a decimal number we can convert."""
    return _DECIMAL.fullmatch(value) is not None


def parse_int(value: str, what: str) -> int:
    """Return a decimal field, or raise RemoteProtocolError naming it."""
    value = value.strip()
    if not _DECIMAL.fullmatch(value):
        raise RemoteProtocolError(f"{what}: not a number: {value!r}")
    return int(value)


def _hex_or_zero(value: str) -> int:
    value = value.strip()
    return int(value, 16) if _HEX.fullmatch(value) else 0


def _lac_like(field: tuple[str, bool]) -> bool:
    value, quoted = field
    return quoted or len(value) >= 4 or any(c in "abcdefABCDEF" for c in value)


def _act_like(field: tuple[str, bool]) -> bool:
    value, quoted = field
    return not quoted and len(value) <= 3 and bool(_DECIMAL.fullmatch(value))


def _layout(
    kind: RegistrationKind, f: list[tuple[str, bool]], solicited: bool
) -> tuple[int, int | None, int | None, int | None]:
    """Return the indices of <stat>, <lac>, <ci>, <AcT> for one of the many forms modems send.

    The solicited form has <n> first (TS 27.007 §7.2), but some modems (Sierra MD400,
    Option X220) put <n> into URCs too and Novatel adds a RAC to +CEREG, so the form is
    read from the fields themselves; ``solicited`` only decides the one truly ambiguous
    case (``2,0,00,0``). These cases are ModemManager's test-modem-helpers.c.
    """
    n = len(f)
    if n == 1:
        return 0, None, None, None
    if n == 2:
        return 1, None, None, None
    if n == 3:
        # A solicited answer cut short after <lac> (Gammu's at-creg corner case).
        return (1, 2, None, None) if solicited and not _lac_like(f[1]) else (0, 1, 2, None)
    if n == 4:
        unsolicited = _act_like(f[3]) and (_lac_like(f[1]) or not solicited)
        return (0, 1, 2, 3) if unsolicited else (1, 2, 3, None)
    if n == 5:
        if not _lac_like(f[1]):
            return 1, 2, 3, 4
        return (0, 1, 3, 4) if kind is RegistrationKind.CEREG else (0, 1, 2, 3)
    if n == 6 and kind is RegistrationKind.C5GREG:
        return 0, 1, 2, 3
    if n == 6 and kind is RegistrationKind.CEREG:
        return 1, 2, 4, 5
    return 1, 2, 3, 4


def parse_registration(text: str, *, solicited: bool) -> Registration:
    """Parse a whole ``+CREG: ...`` (or +CGREG/+CEREG/+C5GREG) line, in any of its forms."""
    head, colon, rest = text.partition(":")
    try:
        kind = RegistrationKind(head.strip())
    except ValueError:
        raise RemoteProtocolError(f"not a registration line: {text!r}") from None
    fields = split_fields(rest) if colon else []
    if not fields or fields == [("", False)]:
        raise RemoteProtocolError(f"registration line without a state: {text!r}")
    stat_i, lac_i, ci_i, act_i = _layout(kind, fields, solicited)
    stat = parse_int(fields[stat_i][0], f"{kind} <stat>")
    try:
        state = RegistrationState(stat)
    except ValueError:
        raise RemoteProtocolError(f"{kind}: unknown <stat> {stat}") from None
    act_text = fields[act_i][0] if act_i is not None else ""
    return Registration(
        kind=kind,
        state=state,
        lac=_hex_or_zero(fields[lac_i][0]) if lac_i is not None else 0,
        ci=_hex_or_zero(fields[ci_i][0]) if ci_i is not None else 0,
        access_technology=AccessTechnology.from_act(
            int(act_text) if _DECIMAL.fullmatch(act_text) else None
        ),
    )


def parse_cusd(text: str) -> UssdResponse:
    """+CUSD: <m>[,<str>[,<dcs>]]; <str> is kept as sent (hex or text), see modem/ussd.py."""
    fields = values(text.partition(":")[2])
    status = parse_int(fields[0], "+CUSD <m>")
    body = fields[1] if len(fields) > 1 else None
    dcs = int(fields[2]) if len(fields) > 2 and _DECIMAL.fullmatch(fields[2]) else None
    return UssdResponse(status=status, text=body, dcs=dcs)


def _signal(rssi: int, ber: int | None = None) -> SignalQuality:
    if not 0 <= rssi <= 31:
        return SignalQuality(None, ber if ber != 99 else None)
    return SignalQuality(rssi, ber if ber != 99 else None)


def _storage_index(cls: type[NewMessageIndication] | type[StatusReportIndication]) -> _Parser:
    def parse(rest: str) -> Urc:
        fields = values(rest)
        if len(fields) < 2:
            raise RemoteProtocolError(f"{cls.PREFIX}: expected <mem>,<index>: {rest!r}")
        return cls(storage=fields[0], index=parse_int(fields[1], f"{cls.PREFIX} <index>"))

    return parse


def _qind(rest: str) -> Urc:
    # Quectel EC25/EG25 (firmware EC25EFAR06A..): AT+QINDCFG="csq",1 / "smsfull",1.
    fields = values(rest)
    name = fields[0].lower() if fields else ""
    if name == "csq" and len(fields) >= 2:
        ber = int(fields[2]) if len(fields) > 2 and is_decimal(fields[2]) else None
        return SignalChanged(_signal(parse_int(fields[1], "+QIND csq"), ber))
    if name == "smsfull":
        return StorageFull(fields[1] if len(fields) > 1 else None)
    return UnknownUrc(f"+QIND:{rest}")


def _ciev(rest: str) -> Urc:
    # SIMCom SIM800 (1418B05SIM800L24) reports "+CIEV: "SMSFULL",1" when the SIM is full.
    fields = values(rest)
    if fields and fields[0].lower() == "smsfull" and fields[1:2] == ["1"]:
        return StorageFull(None)
    return UnknownUrc(f"+CIEV:{rest}")


_Parser = Callable[[str], Urc]

#: URC prefix -> parser of the text after the colon. Registration URCs are handled apart.
URC_PARSERS: dict[str, _Parser] = {
    "+CMTI": _storage_index(NewMessageIndication),
    "+CDSI": _storage_index(StatusReportIndication),
    "+CUSD": lambda rest: UssdReceived(parse_cusd(f"+CUSD:{rest}")),
    # Huawei E3372/E1752 send ^RSSI: <rssi> (the +CSQ scale) when the signal changes.
    "^RSSI": lambda rest: SignalChanged(_signal(parse_int(rest, "^RSSI"))),
    # Huawei ^SMMEMFULL: "SM" when the storage is full (E3372 firmware 22.x).
    "^SMMEMFULL": lambda rest: StorageFull(values(rest)[0] or None),
    "+QIND": _qind,
    "+CIEV": _ciev,
    "RING": lambda rest: Ring(),
    "+CRING": lambda rest: Ring(),
}
REGISTRATION_PREFIXES = frozenset(kind.value for kind in RegistrationKind)
#: Every prefix the codec treats as unsolicited when it is not the running command's own.
URC_PREFIXES = frozenset(URC_PARSERS) | REGISTRATION_PREFIXES | URC_HEADERS


def parse_urc(text: str) -> Urc:
    """Parse one unsolicited line; unknown lines become UnknownUrc, broken ones raise."""
    prefix = line_prefix(text)
    if prefix in REGISTRATION_PREFIXES:
        return RegistrationChanged(parse_registration(text, solicited=False))
    parser = URC_PARSERS.get(prefix)
    if parser is None:
        return UnknownUrc(text)
    return parser(text.partition(":")[2])


def parse_pdu_urc(header: str, pdu: str) -> Urc:
    """+CMT: [<alpha>],<length> or +CDS: <length>, with the PDU line that followed."""
    prefix = line_prefix(header)
    fields = values(header.partition(":")[2])
    length = parse_int(fields[-1], f"{prefix} <length>")
    # <length> counts TPDU octets; the line also holds the SMSC field (TS 27.005 §3.1).
    if len(pdu) % 2 or len(pdu) < 2 * length:
        raise RemoteProtocolError(f"{prefix}: PDU shorter than {length} octets: {pdu!r}")
    if prefix == "+CDS":
        return StatusReportDelivered(length=length, pdu=pdu.upper())
    alpha = fields[0] if len(fields) > 1 else None
    return MessageDelivered(alpha=alpha, length=length, pdu=pdu.upper())
