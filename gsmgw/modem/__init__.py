"""One async driver and supervisor per modem, over a serial port or a simulated modem."""

from gsmgw.modem.driver import Modem
from gsmgw.modem.events import (
    IncomingSms,
    ModemClosed,
    ModemEvent,
    ModemInfo,
    ModemRestarted,
    ModemState,
    ModemStateChanged,
    RegistrationChanged,
    SignalChanged,
    SmsIndicated,
    StatusReportReceived,
    StorageFull,
    StoredMessage,
    UssdNotification,
)
from gsmgw.modem.port import Port, SerialPort, open_port, register_scheme
from gsmgw.modem.profiles import PROFILES, Profile, profile_for
from gsmgw.modem.setup import WrongPin
from gsmgw.modem.supervisor import Supervisor, Timing

__all__ = [
    "PROFILES",
    "IncomingSms",
    "Modem",
    "ModemClosed",
    "ModemEvent",
    "ModemInfo",
    "ModemRestarted",
    "ModemState",
    "ModemStateChanged",
    "Port",
    "Profile",
    "RegistrationChanged",
    "SerialPort",
    "SignalChanged",
    "SmsIndicated",
    "StatusReportReceived",
    "StorageFull",
    "StoredMessage",
    "Supervisor",
    "Timing",
    "UssdNotification",
    "WrongPin",
    "open_port",
    "profile_for",
    "register_scheme",
]
