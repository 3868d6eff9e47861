"""Personalities of the simulated modem and its fault knobs.

Each profile models the quirks of one modem family that real SMS software has to cope with
(python-gsmmodem's ``test/fakemodems.py`` lists many of them):

- SIMCom SIM800/SIM7600: "RDY", "+CPIN: READY", "Call Ready", "SMS Ready" after boot and after
  the PIN; ICCID by ``AT+CCID`` (SIM800) or ``AT+ICCID`` (SIM7600); "+CIEV: "SMSFULL"".
- Quectel EC25: "+QIND:" boot and status codes, ``AT+QCCID``, storage indices from 0.
- Huawei E3372: "^RSSI", "^MODE" and "^BOOT" codes, ``AT^ICCID?`` with the nibbles of each
  octet swapped (the raw EF_ICCID bytes), USSD answers in UCS-2 hex with DCS 72.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import enum


class UssdStyle(enum.Enum):
    """How ``+CUSD`` answers carry their text."""

    TEXT = "text"  # +CUSD: 0,"Balance 12.34",15 (text in the TE character set)
    UCS2_HEX = "ucs2-hex"  # +CUSD: 0,"00420061...",72 (Huawei)


@dataclass(frozen=True, slots=True)
class Profile:
    """What one modem family says about itself, and how it differs from 27.005/27.007."""

    name: str
    manufacturer: str
    model: str
    revision: str
    #: Lines sent after power-up (and after AT+CFUN=1,1), before any command.
    boot_lines: tuple[str, ...] = ()
    #: Lines sent once the SIM is unlocked with AT+CPIN=<pin>.
    ready_lines: tuple[str, ...] = ()
    #: Vendor commands this modem knows, e.g. "+QCCID" or "^ICCID".
    vendor_commands: frozenset[str] = frozenset()
    #: Index of the first storage location (Quectel counts from 0, most from 1).
    first_index: int = 1
    ussd_style: UssdStyle = UssdStyle.TEXT
    #: The URC sent when the message storage becomes full.
    storage_full_urc: str = '+CIEV: "SMSFULL",1'
    #: A URC sent on a signal change besides nothing (27.007 has none without CIND/CMER).
    signal_urc: str | None = None
    #: ``+CNMI=?`` answer: what this modem allows for <mode>,<mt>,<bm>,<ds>,<bfr>.
    cnmi_ranges: str = "(0-2),(0-3),(0,2),(0-2),(0,1)"
    #: Commands (names as "+CGMR", "E") this modem refuses with its error word.
    refused: frozenset[str] = frozenset()
    #: What it says for an unknown or refused command ("COMMAND NOT SUPPORT": Huawei E1752).
    error_word: str = "ERROR"
    #: False: AT+CPIN? answers "+CPIN: READY" and never OK (old Wavecom).
    cpin_final: bool = True
    #: AT+CPIN? answers +CME ERROR: 14 (SIM busy) this many times after power-up.
    sim_busy: int = 0
    #: ATE0 is accepted but echo stays on.
    echo_fixed: bool = False
    #: The AT+CPMS=? answer; "" for none at all (no storage: every storage command errs).
    cpms_test: str = '("SM","ME"),("SM","ME"),("SM","ME")'
    #: Phase 1 AT+CPMS: two memories only, a third is refused (old Wavecom).
    cpms_phase1: bool = False
    #: The fields of a +CMGL/+CMGR header after the index ({stat}, {length} filled in).
    stored_header: str = "{stat},,{length}"
    #: A URC this modem slips between the lines of an answer and before the ``> `` prompt.
    answer_urc: str | None = None


GENERIC = Profile(
    name="generic",
    manufacturer="gsmgw",
    model="Simulated GSM modem",
    revision="gsmgw-sim 1.0",
    vendor_commands=frozenset({"+CCID"}),
)

SIMCOM = Profile(
    name="simcom",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800L",
    revision="Revision:1418B05SIM800L24",
    boot_lines=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
    ready_lines=("+CPIN: READY", "Call Ready", "SMS Ready"),
    vendor_commands=frozenset({"+CCID", "+ICCID", "+CSPN"}),
)

QUECTEL = Profile(
    name="quectel",
    manufacturer="Quectel",
    model="EC25",
    revision="EC25EFAR06A06M4G",
    boot_lines=(
        "RDY",
        "+CFUN: 1",
        "+CPIN: READY",
        "+QUSIM: 1",
        "+QIND: SMS DONE",
        "+QIND: PB DONE",
    ),
    ready_lines=("+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    vendor_commands=frozenset({"+CCID", "+QCCID", "+QSPN"}),
    first_index=0,
    storage_full_urc='+QIND: "smsfull","SM"',
    cnmi_ranges="(0-3),(0-3),(0,2),(0-2),(0,1)",
)

HUAWEI = Profile(
    name="huawei",
    manufacturer="huawei",
    model="E3372",
    revision="22.328.62.00.143",
    boot_lines=("^BOOT:12345678,0,0,0,75", "^RSSI: 20", "^MODE: 5,4"),
    ready_lines=("^SIMST: 1",),
    vendor_commands=frozenset({"^ICCID", "^HWVER", "^CURC", "^PORTSEL"}),
    ussd_style=UssdStyle.UCS2_HEX,
    storage_full_urc='^SMMEMFULL: "SM"',
    signal_urc="^RSSI: {rssi}",
    cnmi_ranges="(0-2),(0-3),(0,2),(0-2),(0,1)",
)

# -- regression personalities, from public recordings of real modems ----------------------
# Facts from python-gsmmodem's test/fakemodems.py and issue tracker; no code of theirs.

# Wavecom Multiband 900E 1800 (fakemodems.py WavecomMultiband900E1800; issue 19): identity
# with leading and doubled spaces, AT+CGMR refused, AT+CPIN? without OK, AT+CPMS=? in the
# nested Phase 1 form whose three-memory AT+CPMS is refused, +WIND status codes.
WAVECOM = Profile(
    name="wavecom",
    manufacturer=" WAVECOM MODEM",
    model=" MULTIBAND  900E  1800",
    revision="",
    boot_lines=("+WIND: 3", "+WIND: 4"),
    refused=frozenset({"+CGMR", "+CVHU", "+CLAC"}),
    cpin_final=False,
    cpms_test='(("SM","BM","SR"),("SM"))',
    cpms_phase1=True,
    cnmi_ranges="(0-3),(0-3),(0-2),(0-2),(0-1)",
)

# Huawei E1752 3G stick (fakemodems.py HuaweiE1752): "COMMAND NOT SUPPORT" for what it does
# not know, storages ME/MT/SM/SR; ^RSSI/^BOOT flow on the AT port, also inside answers.
HUAWEI_3G = Profile(
    name="huawei-e1752",
    manufacturer="huawei",
    model="E1752",
    revision="11.126.13.00.00",
    boot_lines=("^BOOT:12345678,0,0,0,75", "^RSSI: 17"),
    vendor_commands=frozenset({"^ICCID", "^HWVER", "^CURC"}),
    ussd_style=UssdStyle.UCS2_HEX,
    signal_urc="^RSSI: {rssi}",
    error_word="COMMAND NOT SUPPORT",
    refused=frozenset({"+WIND", "+ZPAS", "+CEREG"}),
    cpms_test='("ME","MT","SM","SR"),("ME","MT","SM","SR"),("ME","MT","SM","SR")',
    answer_urc="^RSSI: 17",
)

# Qualcomm M6280 / ZTE K3565-Z dongles (fakemodems.py QualcommM6280, ZteK3565Z; issue 10):
# "QUALCOMM INCORPORATED", the SIM busy (+CME ERROR: 14) for a while after power-up (recorded
# on AT+CSCA?, modelled on AT+CPIN?, which start-up polls); +CMGL/+CMGR headers without
# <alpha> or <length> are our addition, to exercise the lenient header parser.
QUALCOMM = Profile(
    name="qualcomm",
    manufacturer="QUALCOMM INCORPORATED",
    model="M6280",
    revision="M6280_V1.0.0 M6280_V1.0.0 1 [Sep 4 2008 12:00:00]",
    refused=frozenset({"+CLAC", "+WIND", "+CEREG"}),
    sim_busy=2,
    cpms_test='("ME","MT","SM","SR"),("ME","MT","SM","SR"),("ME","MT","SM","SR")',
    stored_header="{stat},,",
)

# Nokia N79/N95 phones over USB (fakemodems.py NokiaN79; python-gsmmodem issue 15): SMS
# sending only. AT+CNMI refused, AT+CPMS=? "(),(),()" and every storage command refused.
PHONE = Profile(
    name="nokia-phone",
    manufacturer="Nokia",
    model="Nokia N79",
    revision="V ICPR72_08w44.1",
    refused=frozenset({"+CNMI", "+CLAC", "+WIND", "+ZPAS", "+CEREG", "+CUSD", "+CCID"}),
    cpms_test="(),(),()",
)

# No real modem: every optional set-up step fails (identity, errors, charset, storage,
# indications, registration codes, operator, USSD, ICCID) and echo stays on. Sending must
# still work: the tests' proof that start-up degrades instead of failing.
MINIMAL = Profile(
    name="minimal",
    manufacturer="",
    model="",
    revision="",
    vendor_commands=frozenset(),
    refused=frozenset(
        {
            *("+CMEE", "+CGMI", "+CGMM", "+CGMR", "+CGSN", "+CIMI", "+CSCS", "+CPMS"),
            *("+CSMS", "+CNMI", "+CREG", "+CGREG", "+CEREG", "+COPS", "+CUSD", "+CSQ"),
        }
    ),
    echo_fixed=True,
)

# No real modem either: storage, but AT+CNMI refused, so messages are found by polling.
NO_CNMI = Profile(
    name="no-cnmi",
    manufacturer="gsmgw",
    model="Simulated modem without +CNMI",
    revision="gsmgw-sim 1.0",
    refused=frozenset({"+CNMI"}),
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (GENERIC, SIMCOM, QUECTEL, HUAWEI, WAVECOM, HUAWEI_3G, QUALCOMM, PHONE, MINIMAL)
}
PROFILES[NO_CNMI.name] = NO_CNMI


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``; ValueError names the ones there are."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown modem profile {name!r} (known: {known})") from None


@dataclass(frozen=True, slots=True)
class Identity:
    """The numbers a modem and its SIM report."""

    imei: str = "356938035643809"
    imsi: str = "001010123456789"
    iccid: str = "8900101234567890123"
    smsc: str = "+491710760000"
    operator: str = "gsmgw sim"
    operator_short: str = "gsmgw"
    operator_numeric: str = "00101"

    def for_name(self, name: str) -> Identity:
        """Return a copy whose IMEI, IMSI and ICCID differ per simulated modem name."""
        salt = sum(name.encode()) % 100000
        return replace(
            self,
            imei=_luhn(f"35693803{salt:06d}"),
            imsi=f"0010101{salt:08d}",
            iccid=_luhn(f"890010123{salt:09d}"),
        )


def _luhn(digits: str) -> str:
    """Append the Luhn check digit (IMEIs and ICCIDs end with one, 3GPP TS 23.003 §6.2.1)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class Knobs:
    """Timing and fault knobs: all off by default (a fast, clean modem for tests)."""

    #: Seconds between AT+CMGS's Ctrl-Z and its +CMGS answer (a real network takes 2-4 s).
    send_delay: float = 0.0
    #: Seconds until the status report of a message sent with TP-SRR set.
    report_delay: float = 0.0
    #: Seconds until the +CUSD answer of a USSD request.
    ussd_delay: float = 0.0
    #: Bytes per write to the host (1: one byte at a time); 0 writes whatever is ready at once.
    chunk_size: int = 0
    #: Seconds to wait before each write to the host.
    write_delay: float = 0.0
    #: Probability per output line of a burst of line noise before it.
    noise: float = 0.0
    #: Seed of the noise generator, so a noisy run can be repeated.
    seed: int = 0
    #: Bytes sent before the boot lines, as a UART glitches at power-up (SIM800: 0x00, 0xFF).
    boot_garbage: bytes = b""
    #: Number of locations in SIM ("SM") and phone ("ME") storage.
    capacity: int = 20
    #: The SIM PIN; None means the SIM has no PIN lock.
    pin: str | None = None
    puk: str = "12345678"
    #: AT+CSMS <service> at power-up: 1 (phase 2+, as Telit modems start) makes the host
    #: acknowledge every +CMT and +CDS with AT+CNMA (TS 27.005 §3.4.4).
    csms: int = 0
    #: Seconds the "network" waits for that AT+CNMA before it takes the message as not received
    #: (a real network waits about 17 s, then sends RP-ERROR) and delivers it again.
    ack_timeout: float = 2.0
    #: Seconds before the network delivers again a +CMT/+CDS that was refused or not acknowledged.
    redeliver_delay: float = 0.1
    #: USSD code -> answer.
    ussd_replies: dict[str, str] = field(
        default_factory=lambda: {"*100#": "Your balance is 12.34 EUR.", "*101#": "Bonus: 0 MB"}
    )

    def __post_init__(self) -> None:
        if self.chunk_size < 0 or self.capacity < 1 or not 0.0 <= self.noise <= 1.0:
            raise ValueError("chunk_size >= 0, capacity >= 1 and 0 <= noise <= 1 are required")
        delays = (self.send_delay, self.report_delay, self.ussd_delay, self.write_delay)
        for delay in (*delays, self.ack_timeout, self.redeliver_delay):
            if delay < 0:
                raise ValueError("delays must not be negative")
