"""SimModem without a transport: bytes in, bytes out, no scheduler (delays run at once)."""

from __future__ import annotations

import pytest

from gsmgw.sim import Knobs, PinState, SimModem
from gsmgw.sim.command import Command, Syntax, parse_command_line, split_args


class Line:
    """A SimModem with its output collected."""

    def __init__(self, profile: str = "generic", **knobs: object) -> None:
        self.out = bytearray()
        self.sim = SimModem(profile, knobs=Knobs(**knobs), output=self.out.extend)  # type: ignore[arg-type]
        self.sim.power_on()
        self.out.clear()
        self("ATE0")

    def __call__(self, line: str) -> str:
        self.out.clear()
        self.sim.feed(line.encode() + b"\r")
        return self.out.decode("latin-1")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", []),
        ("E0", [Command("E", Syntax.SET, "0")]),
        (
            "E0V1&F",
            [
                Command("E", Syntax.SET, "0"),
                Command("V", Syntax.SET, "1"),
                Command("&F", Syntax.EXECUTE),
            ],
        ),
        ("+CMGF=0;+CPMS?", [Command("+CMGF", Syntax.SET, "0"), Command("+CPMS", Syntax.READ)]),
        ('+CUSD=1,"*1;0#",15', [Command("+CUSD", Syntax.SET, '1,"*1;0#",15')]),
        ("^ICCID?", [Command("^ICCID", Syntax.READ)]),
        ("+CNMI=?", [Command("+CNMI", Syntax.TEST)]),
        ("D+4912345;", [Command("D", Syntax.SET, "+4912345;")]),
        ("+CSQ junk", None),
        ("+", None),
    ],
)
def test_parse_command_line(line: str, expected: list[Command] | None) -> None:
    assert parse_command_line(line) == expected


def test_split_args_keeps_quoted_commas_and_lists() -> None:
    assert split_args('"a,b",(0-2),,3') == ['"a,b"', "(0-2)", "", "3"]
    assert Command("+CPMS", Syntax.SET, '"SM","ME"').args == ["SM", "ME"]


def test_three_wrong_pins_lock_the_sim_until_the_puk() -> None:
    line = Line(pin="1234")
    line("AT+CMEE=1")
    assert "+CPIN: SIM PIN" in line("AT+CPIN?")
    assert "+CME ERROR: 11" in line("AT+CIMI")
    assert "+CMS ERROR: 311" in line("AT+CMGL=4")
    for _ in range(3):
        assert "+CME ERROR: 16" in line('AT+CPIN="0000"')
    assert line("AT+CPIN?") == "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
    assert "+CME ERROR: 16" in line('AT+CPIN="1234"')
    assert line('AT+CPIN="12345678","4321"') == "\r\nOK\r\n"
    assert line.sim.pin_state is PinState.READY
    assert line("AT+CIMI") == f"\r\n{line.sim.identity.imsi}\r\n\r\nOK\r\n"


def test_right_pin_unlocks_and_simcom_says_it_is_ready() -> None:
    line = Line("simcom", pin="1234")
    assert line('AT+CPIN="1234"') == (
        "\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"
    )


def test_sim_full_refuses_writes_signals_once_and_delivers_later() -> None:
    line = Line("quectel", capacity=2)
    line("AT+CMEE=1")
    line.sim.inject_sms("+4915112345678", "one")
    line.out.clear()
    line.sim.inject_sms("+4915112345678", "two")
    assert line.out.decode() == '\r\n+CMTI: "SM",1\r\n\r\n+QIND: "smsfull","SM"\r\n'
    line.out.clear()
    assert line.sim.inject_sms("+4915112345678", "three") == []
    assert line.out == b""
    assert line("AT+CMGW=7") == "\r\n> "
    assert _typed(line, "0001000381000000") == "\r\n+CMS ERROR: 322\r\n"
    # Quectel counts from 0; deleting frees a location and the network delivers again.
    assert line("AT+CMGD=0") == '\r\nOK\r\n\r\n+CMTI: "SM",0\r\n\r\n+QIND: "smsfull","SM"\r\n'


def test_registration_urcs_follow_creg_n() -> None:
    line = Line()
    line("AT+CREG=1;+CEREG=2")
    line.out.clear()
    line.sim.set_registration(5)
    assert line.out.decode() == '\r\n+CREG: 5\r\n\r\n+CEREG: 5,"00A1","0000B2C3",7\r\n'
    assert line("AT+CREG?") == "\r\n+CREG: 1,5\r\n\r\nOK\r\n"
    line.sim.set_registration(0)
    assert line("AT+COPS?") == "\r\n+COPS: 0\r\n\r\nOK\r\n"
    assert "+CMS ERROR" in line("AT+CMEE=1") + line("AT+CMGS=18") + _typed(line, "00" * 19)


def _typed(line: Line, pdu_hex: str) -> str:
    line.out.clear()
    line.sim.feed(pdu_hex.encode() + b"\x1a")
    return line.out.decode()


def test_huawei_reports_signal_changes() -> None:
    line = Line("huawei")
    line.out.clear()
    line.sim.set_signal(7)
    assert line.out.decode() == "\r\n^RSSI: 7\r\n"
    assert line("AT+CSQ") == "\r\n+CSQ: 7,99\r\n\r\nOK\r\n"
    with pytest.raises(ValueError, match="rssi"):
        line.sim.set_signal(40)


def test_status_report_stored_with_cdsi() -> None:
    line = Line()
    line("AT+CNMI=2,1,0,2,0")
    line.out.clear()
    line.sim.inject_status_report(7, 0, recipient="+491701234567")
    assert line.out.decode() == '\r\n+CDSI: "SM",1\r\n'


def test_noise_knob_puts_garbage_before_lines_but_keeps_them() -> None:
    line = Line(noise=1.0, seed=3)
    answer = line("AT+CGMI")
    assert "\r\ngsmgw\r\n" in answer
    assert "\r\nOK\r\n" in answer
    assert answer != "\r\ngsmgw\r\n\r\nOK\r\n"


def test_cfun_reset_reboots_with_echo_on() -> None:
    line = Line("quectel")
    assert line("AT+CFUN=1,1").startswith("\r\nOK\r\n\r\nRDY\r\n")
    assert line("AT") == "AT\r\r\nOK\r\n"


def test_text_without_at_is_ignored_and_commands_continue() -> None:
    line = Line()
    assert line("hello") == ""
    assert line("at+cgmm") == "\r\nSimulated GSM modem\r\n\r\nOK\r\n"


def test_phase_2_plus_direct_delivery_waits_for_its_acknowledgement() -> None:
    """AT+CSMS=1: one +CMT at a time; AT+CNMA=2 makes the network deliver it again."""
    from gsmgw.sim import SimModem
    from gsmgw.sim.profiles import Knobs

    out = bytearray()
    sim = SimModem(knobs=Knobs(csms=1), output=out.extend)
    sim.inject_sms("+4917099", "one", direct=True)
    sim.inject_sms("+4917099", "two", direct=True)
    assert out.count(b"+CMT:") == 1
    sim.feed(b"AT+CNMA=2\r")
    assert out.count(b"+CMT:") == 2  # "one" again (no scheduler: at once)
    assert sim.direct.redelivered == 1
    sim.feed(b"AT+CNMA\r")
    assert out.count(b"+CMT:") == 3  # then "two"
    sim.feed(b"AT+CNMA=1\r")
    sim.feed(b"AT+CNMA\r")
    assert out.endswith(b"\r\nERROR\r\n")  # +CMS ERROR 340, as AT+CMEE=0 words it
    assert sim.acks == [2, 0, 1]
