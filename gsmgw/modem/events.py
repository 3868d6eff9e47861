"""The typed events a modem driver and its supervisor report to the layers above."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gsmgw.at.values import Registration, SignalQuality


class ModemState(StrEnum):
    """A supervised modem's life (published as its health "state")."""

    STOPPED = "stopped"
    OPENING = "opening"
    INITIALIZING = "initializing"
    READY = "ready"
    FAILED = "failed"  # waiting to reopen after an error
    NEEDS_OPERATOR = "needs_operator"  # wrong PIN, PUK, no SIM: retrying cannot fix it


class ModemEvent:
    """Base class of every event on :meth:`Modem.events` and the supervisor's stream."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SmsIndicated(ModemEvent):
    """+CMTI or +CDSI: a message (``report``: a status report) was stored at ``index``.

    The driver does not read it: the one consumer of the modem's SIM reads it with
    ``Modem.read(index)``, stores it, and only then deletes it.
    """

    modem: str
    index: int
    storage: str | None = None
    report: bool = False


@dataclass(frozen=True, slots=True)
class IncomingSms(ModemEvent):
    """One received SMS PDU (with its SMSC field); index None when it came by +CMT.

    One that came by +CMT is acknowledged (``Modem.acknowledge``, with AT+CSMS=1) only after it
    is stored; one with an index stays on the SIM until the caller, having stored it, deletes it.
    """

    modem: str
    pdu: bytes
    index: int | None
    storage: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReportReceived(ModemEvent):
    """One SMS-STATUS-REPORT PDU (+CDS, or stored and announced by +CDSI)."""

    modem: str
    pdu: bytes
    index: int | None
    #: False when the PDU has no SMSC field (some modems send +CDS so; TS 27.005 §3.4.1).
    has_smsc: bool = True


@dataclass(frozen=True, slots=True)
class RegistrationChanged(ModemEvent):
    """The network registration changed."""

    modem: str
    registration: Registration


@dataclass(frozen=True, slots=True)
class SignalChanged(ModemEvent):
    """A new signal figure (vendor URC or the periodic +CSQ)."""

    modem: str
    signal: SignalQuality


@dataclass(frozen=True, slots=True)
class StorageFull(ModemEvent):
    """The message storage is full: new messages wait at the SMSC until slots are freed."""

    modem: str
    storage: str | None


@dataclass(frozen=True, slots=True)
class ModemRestarted(ModemEvent):
    """The modem printed its boot lines ("RDY"): its settings are lost, re-initialize."""

    modem: str
    marker: str


@dataclass(frozen=True, slots=True)
class UssdNotification(ModemEvent):
    """A USSD message the network sent on its own (+CUSD without a request)."""

    modem: str
    text: str


@dataclass(frozen=True, slots=True)
class ModemStateChanged(ModemEvent):
    """The supervisor's state changed; ``error`` says why when it failed."""

    modem: str
    state: ModemState
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ModemClosed(ModemEvent):
    """The driver's port closed or died; the last event of its stream."""

    modem: str
    error: str | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message in the modem's storage, as AT+CMGL lists it (TS 27.005 §3.4.2)."""

    index: int
    #: <stat>: 0 received unread, 1 received read, 2 stored unsent, 3 stored sent.
    stat: int
    pdu: bytes
    storage: str | None = None


class ReceiveMode(StrEnum):
    """How a modem hands over received SMS (its health's ``capabilities.receive``)."""

    CMTI = "cmti"  # stored, announced by +CMTI, read with AT+CMGR
    CMT = "cmt"  # delivered with the URC (+CMT), never stored: no storage, or no +CMTI
    POLL = "poll"  # stored, no usable indication: the driver lists unread ones periodically
    NONE = "none"  # neither: this modem only sends


class ReportMode(StrEnum):
    """How status reports arrive (``capabilities.reports``)."""

    CDS = "cds"  # with the URC
    CDSI = "cdsi"  # stored, announced by +CDSI
    NONE = "none"  # not routed to us: messages stay "sent", never "delivered"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a modem turned out to be able to do at start-up, and which optional steps failed."""

    receive: ReceiveMode = ReceiveMode.NONE
    reports: ReportMode = ReportMode.NONE
    #: AT+CUSD=? was accepted: USSD requests can be tried.
    ussd: bool = False
    #: The message storage chosen with AT+CPMS, or None when none could be set.
    storage: str | None = None
    #: Names of the optional set-up steps that failed or timed out ("revision", "charset"...).
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """Return the ``capabilities`` object of ``gsmgw probe``, ``status`` and the health."""
        return {
            "receive": str(self.receive),
            "reports": str(self.reports),
            "ussd": self.ussd,
            "storage": self.storage,
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True)
class ModemInfo:
    """What a modem says about itself and its SIM after initialization."""

    manufacturer: str
    model: str
    revision: str
    imei: str
    imsi: str | None
    iccid: str | None
    profile: str
    storage: str | None = None
    capabilities: Capabilities = Capabilities()
