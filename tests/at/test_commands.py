"""Typed parsers and command declarations of gsmgw.at.commands, and the error tables."""

from __future__ import annotations

import pytest

from gsmgw.at import commands as at
from gsmgw.at.codes import CME_ERRORS, CMS_ERRORS, ErrorKind, code_for_text, is_temporary, lookup
from gsmgw.at.events import InfoLine
from gsmgw.at.values import AccessTechnology, RegistrationKind, RegistrationState, SignalQuality
from gsmgw.errors import RemoteProtocolError


def lines(*texts: str) -> list[InfoLine]:
    return [InfoLine(t) for t in texts]


@pytest.mark.parametrize(
    ("text", "rssi", "ber", "dbm"),
    [("+CSQ: 21,99", 21, None, -71), ("+CSQ: 99,99", None, None, None), ("+CSQ: 0,3", 0, 3, -113)],
)
def test_csq(text: str, rssi: int | None, ber: int | None, dbm: int | None) -> None:
    signal = at.parse_csq(lines(text))
    assert (signal.rssi, signal.ber, signal.dbm) == (rssi, ber, dbm)


def test_signal_quality_checks_itself() -> None:
    with pytest.raises(ValueError, match="rssi"):
        SignalQuality(40)


@pytest.mark.parametrize(
    ("text", "mode", "name", "act"),
    [
        ('+COPS: 0,0,"Telekom.de",7', 0, "Telekom.de", AccessTechnology.LTE),
        ('+COPS: 0,0,"o2 - de"', 0, "o2 - de", AccessTechnology.UNKNOWN),
        ("+COPS: 0", 0, None, AccessTechnology.UNKNOWN),
        ('+COPS: 1,0,"R{ssel"', 1, "Rässel", AccessTechnology.UNKNOWN),  # GSM character set
    ],
)
def test_cops_query(text: str, mode: int, name: str | None, act: AccessTechnology) -> None:
    assert at.parse_cops(lines(text)) == at.Operator(mode, name, act)


def test_cpms_query_and_set() -> None:
    usage = at.parse_cpms(lines('+CPMS: "SM",3,30,"SM",3,30,"ME",0,100'))
    assert usage[0] == at.StorageUsage("SM", 3, 30)
    assert usage[2] == at.StorageUsage("ME", 0, 100)
    assert at.parse_cpms(lines("+CPMS: 30,30,30,30,30,30"))[0].full
    with pytest.raises(RemoteProtocolError):
        at.parse_cpms(lines("+CPMS: "))


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("+CPIN: READY", at.PinState.READY),
        ("+CPIN: SIM PIN", at.PinState.SIM_PIN),
        ('+CPIN: "SIM PUK"', at.PinState.SIM_PUK),
        ("+CPIN: PH-NET PIN", at.PinState.OTHER),
    ],
)
def test_cpin(text: str, state: at.PinState) -> None:
    assert at.parse_cpin(lines(text)) is state


def test_cmgs_reference() -> None:
    assert at.parse_cmgs(lines("+CMGS: 17")) == 17
    assert at.parse_cmgs(lines('+CMGS: 255,"0791..."')) == 255
    with pytest.raises(RemoteProtocolError):
        at.parse_cmgs(lines("+CMGS: x"))
    with pytest.raises(RemoteProtocolError):
        at.parse_cmgs([])


@pytest.mark.parametrize(
    ("answer", "iccid"),
    [
        ("+CCID: 8949226011234567890", "8949226011234567890"),
        ("ICCID: 8949226011234567890", "8949226011234567890"),  # SIMCom SIM7600
        ("8949226011234567890", "8949226011234567890"),  # SIM800
        ('+QCCID: "89492260112345678901"', "89492260112345678901"),
        ("^ICCID: 98942206112143658709", "98942206112143658709"),  # raw: the driver unswaps
    ],
)
def test_iccid(answer: str, iccid: str) -> None:
    assert at.parse_iccid(lines(answer)) == iccid


def test_iccid_rejects_junk() -> None:
    with pytest.raises(RemoteProtocolError):
        at.parse_iccid(lines("+CCID: SIM not inserted"))


def test_cmgs_declaration_checks_its_pdu() -> None:
    command = at.cmgs("0001000B911326880736F40000A9", 13)
    assert (command.text, command.timeout) == ("AT+CMGS=13", at.SEND_TIMEOUT)
    with pytest.raises(ValueError, match="hex"):
        at.cmgs("0g", 1)
    with pytest.raises(ValueError, match="length"):
        at.cmgs("0011", 5)


def test_declarations_validate_arguments() -> None:
    with pytest.raises(ValueError, match="PIN"):
        at.cpin_enter("12")
    with pytest.raises(ValueError, match="USSD"):
        at.cusd('*100#",1;+CFUN=0')
    with pytest.raises(ValueError, match="AT"):
        at.Command("CSQ", at.parse_none)
    assert at.cusd("*100#").text == 'AT+CUSD=1,"*100#",15'
    assert at.cnmi(2, 1, 0, 1, 0).text == "AT+CNMI=2,1,0,1,0"


def test_raw_keeps_pdu_lines() -> None:
    command = at.raw("AT+CMGL=4")
    assert command.parse([InfoLine("+CMGL: 1,0,,5", "0011"), InfoLine("x")]) == (
        "+CMGL: 1,0,,5",
        "0011",
        "x",
    )


def test_registration_query_parser() -> None:
    parse = at.registration_parser(RegistrationKind.CEREG)
    reg = parse(lines('+CEREG: 2,5,"1F00","79D903",7'))
    assert reg.state is RegistrationState.ROAMING
    assert reg.registered
    assert (reg.lac, reg.ci, reg.access_technology) == (0x1F00, 0x79D903, AccessTechnology.LTE)


def test_error_tables() -> None:
    assert lookup(ErrorKind.CMS, 42).temporary
    assert not lookup(ErrorKind.CMS, 1).temporary
    assert lookup(ErrorKind.CMS, 515).name == "manufacturer specific"
    assert lookup(ErrorKind.CME, 10).name == "SIM not inserted"
    assert code_for_text(ErrorKind.CME, "incorrect password") == 16
    assert code_for_text(ErrorKind.CMS, "nonsense") is None
    assert is_temporary("ERROR", None)
    assert not is_temporary("CMS", 21)
    assert all(e.kind is ErrorKind.CME for e in CME_ERRORS.values())
    assert all(e.kind is ErrorKind.CMS for e in CMS_ERRORS.values())


# -- answers that bend the rules (issue 15) ---------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "groups", "phase1", "listed"),
    [
        # Three lists (TS 27.005 §3.2.2; Huawei K3715, Qualcomm M6280 in python-gsmmodem).
        (
            '+CPMS: ("ME","MT","SM","SR"),("ME","MT","SM","SR"),("ME","MT","SM","SR")',
            3,
            False,
            True,
        ),
        # Phase 1, nested: old Wavecom (python-gsmmodem test/fakemodems.py).
        ('+CPMS: (("SM","BM","SR"),("SM"))', 2, True, True),
        # Phase 1, flat.
        ('+CPMS: ("SM","ME"),("SM","ME")', 2, True, True),
        # Empty lists: Nokia N79 (no storage) and Samsung J700 (SM and ME).
        ("+CPMS: (),(),()", 3, False, False),
    ],
)
def test_cpms_support_shapes(answer: str, groups: int, phase1: bool, listed: bool) -> None:
    support = at.parse_cpms_support([InfoLine(answer)])
    assert (support.phase1, support.listed) == (phase1, listed)
    assert "SM" in support.read


def test_cpms_phase1_command_has_two_memories() -> None:
    assert at.cpms("SM", "SM", None).text == 'AT+CPMS="SM","SM"'
    assert at.parse_cpms([InfoLine("+CPMS: 14,50,14,50")])[0].used == 14


@pytest.mark.parametrize(
    "header",
    ["+CMGL: 3,,,23", "+CMGL: 3,0,,", "+CMGL: 3,0", '+CMGL: 3,"REC UNREAD",,23', "+CMGL: 3"],
)
def test_cmgl_headers_with_missing_fields(header: str) -> None:
    (entry,) = at.parse_cmgl([InfoLine(header, "0791")])
    assert (entry.index, entry.stat, entry.pdu) == (3, 0, "0791")


def test_identity_spaces() -> None:
    assert at.parse_text([InfoLine(" MULTIBAND  900E  1800")]) == "MULTIBAND 900E 1800"


def test_cpin_may_end_without_final_result() -> None:
    assert at.CPIN_QUERY.final_optional
    assert not at.CGMI.final_optional
