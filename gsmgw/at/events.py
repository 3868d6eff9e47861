"""Events the AT codec produces: final results, information lines, the prompt, URCs, garbage."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import ClassVar, Final, Literal

from gsmgw.at.codes import ErrorKind, lookup
from gsmgw.at.values import Registration, SignalQuality, UssdResponse


class Sentinel(Enum):
    """h11-style marker: the codec needs more bytes before it can produce an event."""

    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = Sentinel.NEED_DATA
NeedData = Literal[Sentinel.NEED_DATA]


class ResultKind(StrEnum):
    """Final result codes (TS 27.007 §5.7 / V.250 §5.7.1, TS 27.005 §3.2.5)."""

    OK = "OK"
    CONNECT = "CONNECT"
    ERROR = "ERROR"
    CME_ERROR = "+CME ERROR"
    CMS_ERROR = "+CMS ERROR"
    NO_CARRIER = "NO CARRIER"
    BUSY = "BUSY"
    NO_ANSWER = "NO ANSWER"
    NO_DIALTONE = "NO DIALTONE"


class Event:
    """Base class of everything :meth:`AtCodec.next_event` returns."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class FinalResult(Event):
    """The line that ends a command: OK, ERROR, +CME ERROR: <n>, +CMS ERROR: <n>, NO CARRIER..."""

    kind: ResultKind
    code: int | None = None
    #: The verbose text of ``AT+CMEE=2`` errors, or the table's name of the number.
    text: str = ""

    @property
    def ok(self) -> bool:
        """True for OK (and CONNECT)."""
        return self.kind in (ResultKind.OK, ResultKind.CONNECT)

    @property
    def error_kind(self) -> ErrorKind:
        """The error family for :class:`gsmgw.errors.CommandError`."""
        if self.kind is ResultKind.CME_ERROR:
            return ErrorKind.CME
        if self.kind is ResultKind.CMS_ERROR:
            return ErrorKind.CMS
        return ErrorKind.ERROR

    @property
    def temporary(self) -> bool:
        """True if the same command may succeed later (TS 27.005 §3.2.5 classes, codes.py)."""
        if self.code is None or self.error_kind is ErrorKind.ERROR:
            return True
        return lookup(self.error_kind, self.code).temporary


@dataclass(frozen=True, slots=True)
class InfoLine(Event):
    """An information line of the command in flight; ``data`` is the PDU line after a header."""

    text: str
    data: str | None = None


@dataclass(frozen=True, slots=True)
class Prompt(Event):
    """The ``> `` prompt of AT+CMGS/AT+CMGW (TS 27.005 §3.5.1): send the PDU and Ctrl-Z now."""


@dataclass(frozen=True, slots=True)
class Garbage(Event):
    """Bytes that make no sense here (noise, a broken header); kept raw for the log."""

    data: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Urc(Event):
    """An unsolicited result code."""

    PREFIX: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class NewMessageIndication(Urc):
    """+CMTI: "<mem>",<index>: a new SMS was stored (TS 27.005 §3.4.1)."""

    PREFIX: ClassVar[str] = "+CMTI"
    storage: str
    index: int


@dataclass(frozen=True, slots=True)
class StatusReportIndication(Urc):
    """+CDSI: "<mem>",<index>: a status report was stored (TS 27.005 §3.4.1)."""

    PREFIX: ClassVar[str] = "+CDSI"
    storage: str
    index: int


@dataclass(frozen=True, slots=True)
class MessageDelivered(Urc):
    """+CMT: [<alpha>],<length> and the PDU: an SMS routed straight to us (TS 27.005 §3.4.1)."""

    PREFIX: ClassVar[str] = "+CMT"
    alpha: str | None
    length: int
    pdu: str


@dataclass(frozen=True, slots=True)
class StatusReportDelivered(Urc):
    """+CDS: <length> and the PDU: a status report routed straight to us (TS 27.005 §3.4.1)."""

    PREFIX: ClassVar[str] = "+CDS"
    length: int
    pdu: str


@dataclass(frozen=True, slots=True)
class RegistrationChanged(Urc):
    """+CREG/+CGREG/+CEREG/+C5GREG: the network registration changed (TS 27.007 §7.2)."""

    PREFIX: ClassVar[str] = "+CREG"
    registration: Registration


@dataclass(frozen=True, slots=True)
class SignalChanged(Urc):
    """A vendor signal report: Huawei ^RSSI, Quectel +QIND: "csq", +CIEV: "signal"."""

    PREFIX: ClassVar[str] = "^RSSI"
    signal: SignalQuality


@dataclass(frozen=True, slots=True)
class UssdReceived(Urc):
    """+CUSD: <m>[,<str>,<dcs>]: a USSD answer or network-initiated USSD (TS 27.007 §7.15)."""

    PREFIX: ClassVar[str] = "+CUSD"
    response: UssdResponse


@dataclass(frozen=True, slots=True)
class Ring(Urc):
    """RING or +CRING: an incoming call (we never answer it)."""

    PREFIX: ClassVar[str] = "RING"


@dataclass(frozen=True, slots=True)
class StorageFull(Urc):
    """The SMS storage is full: Huawei ^SMMEMFULL, Quectel +QIND: "smsfull", +CIEV smsfull."""

    PREFIX: ClassVar[str] = "^SMMEMFULL"
    storage: str | None


@dataclass(frozen=True, slots=True)
class UnknownUrc(Urc):
    """A line we do not model (vendor codes, boot messages like SIMCom's "SMS Ready")."""

    text: str

    @property
    def prefix(self) -> str:
        """The part before the colon ("+QIND", "^MODE"), or the whole line."""
        return self.text.split(":", 1)[0].strip()
