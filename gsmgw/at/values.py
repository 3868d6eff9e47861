"""Typed values parsed from AT answers and URCs (3GPP TS 27.007 / 27.005 numbering)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class RegistrationKind(StrEnum):
    """Which domain a registration line reports on (TS 27.007 §7.2, §10.1.19, §10.1.22)."""

    CREG = "+CREG"  # circuit switched: what SMS over the CS domain needs
    CGREG = "+CGREG"  # GPRS packet domain
    CEREG = "+CEREG"  # EPS (LTE)
    C5GREG = "+C5GREG"  # 5GS


class RegistrationState(IntEnum):
    """<stat> of TS 27.007 §7.2, with ModemManager's names."""

    IDLE = 0  # not registered, not searching
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5
    HOME_SMS_ONLY = 6
    ROAMING_SMS_ONLY = 7
    EMERGENCY_ONLY = 8
    HOME_CSFB_NOT_PREFERRED = 9
    ROAMING_CSFB_NOT_PREFERRED = 10
    ATTACHED_RLOS = 11

    @property
    def registered(self) -> bool:
        """True when the modem can send and receive SMS on this registration."""
        return self in _REGISTERED


_REGISTERED = frozenset(
    {
        RegistrationState.HOME,
        RegistrationState.ROAMING,
        RegistrationState.HOME_SMS_ONLY,
        RegistrationState.ROAMING_SMS_ONLY,
        RegistrationState.HOME_CSFB_NOT_PREFERRED,
        RegistrationState.ROAMING_CSFB_NOT_PREFERRED,
    }
)


class AccessTechnology(StrEnum):
    """<AcT> of TS 27.007 §7.3, with ModemManager's names."""

    UNKNOWN = "UNKNOWN"
    GSM = "GSM"
    GSM_COMPACT = "GSM_COMPACT"
    UMTS = "UMTS"
    EDGE = "EDGE"
    HSDPA = "HSDPA"
    HSUPA = "HSUPA"
    HSPA = "HSPA"
    LTE = "LTE"
    LTE_NB_IOT = "LTE_NB_IOT"
    NR5G = "5GNR"

    @classmethod
    def from_act(cls, act: int | None) -> AccessTechnology:
        """Map a TS 27.007 <AcT> number (None: absent) to a technology."""
        return _ACT.get(act, cls.UNKNOWN) if act is not None else cls.UNKNOWN


_ACT = {
    0: AccessTechnology.GSM,
    1: AccessTechnology.GSM_COMPACT,
    2: AccessTechnology.UMTS,
    3: AccessTechnology.EDGE,
    4: AccessTechnology.HSDPA,
    5: AccessTechnology.HSUPA,
    6: AccessTechnology.HSPA,
    7: AccessTechnology.LTE,
    8: AccessTechnology.GSM,  # EC-GSM-IoT
    9: AccessTechnology.LTE_NB_IOT,
    10: AccessTechnology.LTE,  # E-UTRA connected to a 5G core
    11: AccessTechnology.NR5G,
    12: AccessTechnology.NR5G,  # NG-RAN
    13: AccessTechnology.LTE,  # E-UTRA-NR dual connectivity
}


@dataclass(frozen=True, slots=True)
class Registration:
    """One +CREG/+CGREG/+CEREG/+C5GREG report; lac and ci are 0 when absent."""

    kind: RegistrationKind
    state: RegistrationState
    lac: int = 0
    ci: int = 0
    access_technology: AccessTechnology = AccessTechnology.UNKNOWN

    @property
    def registered(self) -> bool:
        """True when registered at home or roaming."""
        return self.state.registered


@dataclass(frozen=True, slots=True)
class SignalQuality:
    """+CSQ (TS 27.007 §8.5): rssi 0..31 and ber 0..7, None when not known (99)."""

    rssi: int | None
    ber: int | None = None

    def __post_init__(self) -> None:
        if self.rssi is not None and not 0 <= self.rssi <= 31:
            raise ValueError(f"rssi {self.rssi} out of 0..31")

    @property
    def dbm(self) -> int | None:
        """The received signal strength in dBm (0 -> -113 dBm, 31 -> -51 dBm or more)."""
        return None if self.rssi is None else -113 + 2 * self.rssi


@dataclass(frozen=True, slots=True)
class UssdResponse:
    """+CUSD (TS 27.007 §7.15): status <m>, the raw <str> as sent, and its <dcs>."""

    status: int
    text: str | None
    dcs: int | None

    @property
    def further_action_required(self) -> bool:
        """True when the network waits for the user's answer (<m> = 1)."""
        return self.status == 1


class PinState(StrEnum):
    """+CPIN <code> (TS 27.007 §8.3)."""

    READY = "READY"
    SIM_PIN = "SIM PIN"
    SIM_PUK = "SIM PUK"
    PH_SIM_PIN = "PH-SIM PIN"
    SIM_PIN2 = "SIM PIN2"
    SIM_PUK2 = "SIM PUK2"
    OTHER = "OTHER"


class NetworkStatus(IntEnum):
    """<stat> of AT+COPS=? (TS 27.007 §7.3)."""

    UNKNOWN = 0
    AVAILABLE = 1
    CURRENT = 2
    FORBIDDEN = 3


@dataclass(frozen=True, slots=True)
class Network:
    """One entry of the AT+COPS=? list."""

    status: NetworkStatus
    long_name: str | None
    short_name: str | None
    operator_id: str
    access_technology: AccessTechnology


@dataclass(frozen=True, slots=True)
class Operator:
    """AT+COPS? (TS 27.007 §7.3): the selected operator; name None when not registered."""

    mode: int
    name: str | None
    access_technology: AccessTechnology


@dataclass(frozen=True, slots=True)
class StorageUsage:
    """One <mem>,<used>,<total> triple of +CPMS (TS 27.005 §3.2.2); mem None in =answers."""

    storage: str | None
    used: int
    total: int

    @property
    def full(self) -> bool:
        """True when no slot is free."""
        return self.total > 0 and self.used >= self.total


@dataclass(frozen=True, slots=True)
class StorageSupport:
    """AT+CPMS=?: the memories usable for reading/deleting, writing/sending, receiving."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    receive: tuple[str, ...]
    #: Only <mem1>,<mem2>: the Phase 1 form of TS 07.05 (old Wavecom modems); AT+CPMS then
    #: takes two memories and refuses a third.
    phase1: bool = False
    #: False when the answer named no memory at all ("+CPMS: (),(),()"): the lists are guesses.
    listed: bool = True


@dataclass(frozen=True, slots=True)
class IndicationSupport:
    """AT+CNMI=?: the values each of <mode>,<mt>,<bm>,<ds>,<bfr> accepts (TS 27.005 §3.4.1)."""

    mode: frozenset[int]
    mt: frozenset[int]
    bm: frozenset[int]
    ds: frozenset[int]
    bfr: frozenset[int]


@dataclass(frozen=True, slots=True)
class StoredPdu:
    """A +CMGL/+CMGR entry in PDU mode: index (None for +CMGR), <stat>, <alpha>, PDU hex."""

    index: int | None
    stat: int
    alpha: str | None
    length: int | None
    pdu: str | None


@dataclass(frozen=True, slots=True)
class Smsc:
    """AT+CSCA? (TS 27.005 §3.3.1): the service centre address and its type of address."""

    number: str
    toa: int | None
