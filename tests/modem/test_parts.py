"""The modem layer's smaller parts: USSD text, port errors and schemes, vendor profiles."""

from __future__ import annotations

import errno
import grp
import os
from pathlib import Path

import pytest

from gsmgw.at.urc import parse_cusd
from gsmgw.errors import ModemUnavailable
from gsmgw.modem.port import describe_os_error, open_port, register_scheme
from gsmgw.modem.profiles import GENERIC, HUAWEI, QUECTEL, SIMCOM, profile_for, unswap_iccid
from gsmgw.modem.ussd import decode_ussd

TRANSCRIPTS = Path(__file__).parent.parent / "data" / "at-transcripts"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("gammu-at-ussd-02-E160", "Ihr Guthaben für die Nr.4915783647410 beträgt 5.78 Euro"),
        ("gammu-at-ussd-03-unknown", "Kontostand: 3.00 EUR Bitte wählen Sie: 1 Konto aufladen"),
        ("gammu-at-ussd-04-unknown", "Maaf, permintaan Anda tidak dapat kami proses."),
        ("gammu-at-ussd-Uissue358-Quectel_M35", "Havi keret: 0Ft. Feltöltött egyenleg: 7777Ft"),
        ("gammu-at-ussd-issue109-E3276", "Для справки о балансе наберите *105#."),
        ("gammu-at-ussd-issue178-dell", "On DATA Pack u have 3Gb 817Mb 169kb valid until"),
        ("gammu-at-ussd-issue377-HE910-D", "رصيدك 107.93 د.ل"),
    ],
)
def test_ussd_answers_of_real_modems(name: str, text: str) -> None:
    line = (TRANSCRIPTS / f"{name}.txt").read_text().strip()
    assert decode_ussd(parse_cusd(line)).startswith(text)


def test_ussd_digits_stay_text() -> None:
    assert decode_ussd(parse_cusd('+CUSD: 0,"12345678",15')) == "12345678"
    assert decode_ussd(parse_cusd("+CUSD: 2")) == ""


def test_profiles_are_picked_by_manufacturer() -> None:
    assert profile_for("SIMCOM_Ltd") is SIMCOM
    assert profile_for("Quectel") is QUECTEL
    assert profile_for("huawei") is HUAWEI
    assert profile_for("Acme Modems") is GENERIC


def test_huawei_iccid_is_unswapped() -> None:
    assert unswap_iccid("98942206112143658709") == "89492260111234567890"
    assert unswap_iccid("9894220611214365F7") == "89492260111234567"


def test_port_error_messages(tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB9"
    device.touch()
    group = grp.getgrgid(os.stat(device).st_gid).gr_name
    denied = describe_os_error(str(device), PermissionError(errno.EACCES, "Permission denied"))
    assert f"group {group!r}" in denied
    busy = describe_os_error(str(device), OSError(errno.EBUSY, "Device or resource busy"))
    assert "busy" in busy
    missing = describe_os_error(str(tmp_path / "gone"), FileNotFoundError(errno.ENOENT, "x"))
    assert "no such device" in missing


async def test_a_busy_port_is_reported(make_sim_modem: object) -> None:
    sim = await make_sim_modem()  # type: ignore[operator]
    port = await open_port(sim.path)
    try:
        with pytest.raises(ModemUnavailable, match="busy"):
            await open_port(sim.path)
    finally:
        await port.close()


async def test_schemes(make_sim_modem: object) -> None:
    with pytest.raises(ModemUnavailable, match="unknown port scheme"):
        await open_port("nosuch:thing")
    from gsmgw.sim import register_sim_scheme

    register_sim_scheme(register_scheme)
    port = await open_port("sim:bench1?profile=quectel")
    try:
        await port.write(b"AT+CGMI\r")
        answer = b""
        while b"OK" not in answer:
            answer += await port.read()
        assert b"Quectel" in answer
    finally:
        await port.close()
