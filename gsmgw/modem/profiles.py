"""Vendor quirks, one profile per modem family, each naming the modems and firmware behind it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    """How one modem family differs from plain TS 27.005 / 27.007."""

    name: str
    #: Lower-case substrings of the AT+CGMI answer that pick this profile.
    match: tuple[str, ...] = ()
    #: Commands that answer the ICCID, tried in order until one works.
    iccid_commands: tuple[str, ...] = ("AT+CCID", "AT+ICCID", "AT+QCCID", "AT^ICCID?", "AT#CCID")
    #: True when the ICCID comes as raw EF_ICCID, each octet's two digits swapped.
    iccid_swapped: bool = False
    #: Extra set-up commands, sent best effort after the standard ones.
    init_commands: tuple[str, ...] = ()
    #: Unsolicited lines that mean the modem restarted (its settings are gone).
    boot_markers: frozenset[str] = frozenset()
    #: URC prefixes that are only noise for an SMS gateway (logged at DEBUG).
    quiet_urcs: frozenset[str] = frozenset()
    #: Acknowledge +CMT/+CDS with AT+CNMA (TS 27.005 §3.4.4) -- only with AT+CSMS=1.
    ack_direct: bool = False
    #: Message storages in order of preference for AT+CPMS.
    storages: tuple[str, ...] = ("SM", "ME", "MT")


GENERIC = Profile(name="generic")

# SIMCom SIM800L (1418B05SIM800L24) and SIM7600E-H (LE20B04SIM7600M22) print these after
# power-up and after AT+CFUN=1,1; "RDY" alone means the module rebooted (brown-out).
# The SIM800 answers the ICCID to AT+CCID, the SIM7600 to AT+CICCID / AT+ICCID.
SIMCOM = Profile(
    name="simcom",
    match=("simcom",),
    iccid_commands=("AT+CCID", "AT+CICCID", "AT+ICCID"),
    boot_markers=frozenset({"RDY"}),
    quiet_urcs=frozenset({"+CFUN", "+CPIN", "Call Ready", "SMS Ready", "*PSUTTZ", "DST"}),
)

# Quectel EC25/EG25-G (EC25EFAR06A06M4G): "RDY" at boot, then +QUSIM, +QIND: SMS DONE and
# PB DONE; storage indices count from 0; ICCID by AT+QCCID; +QIND: "csq" / "smsfull" URCs
# (AT+QINDCFG, Quectel EC2x AT manual v2.0 §2.24).
QUECTEL = Profile(
    name="quectel",
    match=("quectel",),
    iccid_commands=("AT+QCCID", "AT+CCID"),
    init_commands=('AT+QINDCFG="smsfull",1,0', 'AT+QINDCFG="csq",1,0'),
    boot_markers=frozenset({"RDY"}),
    quiet_urcs=frozenset({"+CFUN", "+CPIN", "+QUSIM", "+QIND"}),
)

# Huawei E3372 (22.328.62.00.143), E1752, E160: a flow of ^RSSI, ^MODE, ^BOOT, ^SRVST,
# ^SIMST, ^HCSQ, ^DSFLOWRPT on the same port; ^BOOT is a periodic keep-alive, not a reboot.
# AT^ICCID? answers the raw EF_ICCID (digits swapped per octet).
HUAWEI = Profile(
    name="huawei",
    match=("huawei",),
    iccid_commands=("AT^ICCID?", "AT+CCID"),
    iccid_swapped=True,
    quiet_urcs=frozenset(
        {"^MODE", "^BOOT", "^SRVST", "^SIMST", "^HCSQ", "^DSFLOWRPT", "^SYSINFOEX", "^NWTIME"}
    ),
)

# u-blox SARA-U2/LARA-R2 (u-blox AT manual UBX-13002752): ICCID by AT+CCID; +UUPSDD and
# +UUSOCL belong to the data side; storage "MT" is preferred by its manual.
UBLOX = Profile(
    name="ublox",
    match=("u-blox", "ublox"),
    iccid_commands=("AT+CCID",),
    quiet_urcs=frozenset({"+UUPSDD", "+UUSOCL", "+UUPSDA"}),
    storages=("SM", "MT", "ME"),
)

# Telit HE910/LE910 (20.00.xx2): ICCID by AT#CCID; +CMT needs +CNMA when AT+CSMS=1 is on,
# which Telit's firmware turns on by default on some LE910 variants; #QSS is the SIM status.
TELIT = Profile(
    name="telit",
    match=("telit",),
    iccid_commands=("AT#CCID", "AT+ICCID", "AT+CCID"),
    quiet_urcs=frozenset({"#QSS"}),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (GENERIC, SIMCOM, QUECTEL, HUAWEI, UBLOX, TELIT)}


def profile_for(manufacturer: str) -> Profile:
    """Return the profile whose match fits an AT+CGMI answer, or the generic one."""
    lower = manufacturer.lower()
    for profile in PROFILES.values():
        if any(word in lower for word in profile.match):
            return profile
    return GENERIC


def unswap_iccid(raw: str) -> str:
    """Undo the nibble swap of a raw EF_ICCID (TS 31.102 §4.2.2 stores it BCD, low digit first)."""
    pairs = [raw[i : i + 2] for i in range(0, len(raw) - 1, 2)]
    return "".join(pair[::-1] for pair in pairs).rstrip("F")
