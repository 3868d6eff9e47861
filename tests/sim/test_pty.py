"""The simulated modem over a real pseudo-terminal, driven with raw bytes."""

from __future__ import annotations

from collections.abc import Callable
import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gsmgw.sms import Deliver, EncodingMode, decode_pdu, encode_submit

if TYPE_CHECKING:
    from tests.conftest import SimModemFactory
    from tests.sim.conftest import Host

OpenHost = Callable[[str], "Host"]


async def test_echo_is_on_at_start_and_ate0_turns_it_off(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    assert await host.command("AT") == b"AT\r\r\nOK\r\n"
    assert await host.command("ATE0") == b"ATE0\r\r\nOK\r\n"
    assert await host.command("AT+CSQ") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"


async def test_simcom_boots_with_its_noise(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem("simcom")
    host = open_host(modem.path)
    boot = await host.expect(b"SMS Ready\r\n")
    assert (
        boot
        == b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"
    )


async def test_one_byte_at_a_time_with_delay_gives_the_same_bytes(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem(chunk_size=1, write_delay=0.001)
    host = open_host(modem.path)
    for byte in b"ATE0\r":
        host.send(bytes([byte]))
    await host.expect(b"OK\r\n")
    assert await host.command("AT+CGMI") == b"\r\ngsmgw\r\n\r\nOK\r\n"


async def test_errors_follow_cmee(make_sim_modem: SimModemFactory, open_host: OpenHost) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0")
    assert await host.command("AT+NOSUCH", b"ERROR\r\n") == b"\r\nERROR\r\n"
    assert await host.command("AT+CMGR=999", b"ERROR\r\n") == b"\r\nERROR\r\n"
    await host.command("AT+CMEE=1")
    assert await host.command("AT+CMGR=999", b"\r\n") + await host.expect(b"\r\n") == (
        b"\r\n+CMS ERROR: 321\r\n"
    )
    await host.command("AT+CMEE=2")
    assert await host.command("AT+CMGF=1", b"supported\r\n") == (
        b"\r\n+CMS ERROR: operation not supported\r\n"
    )


async def test_send_prompt_length_check_and_references(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0;+CMEE=1")
    part = encode_submit("+491701234567", "hello").parts[0]
    for expected_reference in (0, 1):
        assert await host.command(f"AT+CMGS={part.tpdu_length}", b"> ") == b"\r\n> "
        host.send(part.hex.encode() + b"\x1a")
        assert (
            await host.expect(b"OK\r\n")
            == f"\r\n+CMGS: {expected_reference}\r\n\r\nOK\r\n".encode()
        )
    # A wrong length is refused after the PDU, as TS 27.005 §3.5.1 modems do.
    await host.command(f"AT+CMGS={part.tpdu_length + 1}", b"> ")
    host.send(part.hex.encode() + b"\x1a")
    assert await host.expect(b"\r\n", 5) + await host.expect(b"\r\n") == b"\r\n+CMS ERROR: 304\r\n"
    # ESC abandons the message.
    await host.command(f"AT+CMGS={part.tpdu_length}", b"> ")
    host.send(part.hex.encode()[:10] + b"\x1b")
    assert await host.expect(b"OK\r\n") == b"\r\nOK\r\n"
    assert [m.reference for m in modem.sim.sent] == [0, 1]
    assert modem.sim.sent[0].submit.text == "hello"


async def test_fail_next_send_and_send_delay(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem(send_delay=0.05)
    host = open_host(modem.path)
    await host.command("ATE0;+CMEE=1")
    modem.sim.fail_next_send(42)
    part = encode_submit("+491701234567", "congested").parts[0]
    await host.command(f"AT+CMGS={part.tpdu_length}", b"> ")
    host.send(part.hex.encode() + b"\x1a" + b"AT\r")  # the AT waits until the network answered
    assert await host.expect(b"OK\r\n") == b"\r\n+CMS ERROR: 42\r\n\r\nOK\r\n"
    assert modem.sim.sent == []


async def test_status_report_after_a_send_with_srr(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem(report_delay=0.01)
    host = open_host(modem.path)
    await host.command("ATE0;+CMEE=1;+CNMI=2,1,0,1,0")
    part = encode_submit("+491701234567", "report me", report=True).parts[0]
    await host.command(f"AT+CMGS={part.tpdu_length}", b"> ")
    host.send(part.hex.encode() + b"\x1a")
    await host.expect(b"OK\r\n")
    header = await host.expect(b"\r\n", 5) + await host.expect(b"\r\n")
    assert header.startswith(b"\r\n+CDS: ")
    report = decode_pdu(bytes.fromhex((await host.expect(b"\r\n")).decode().strip()))
    assert report.reference == 0  # type: ignore[union-attr]
    assert report.recipient == "+491701234567"  # type: ignore[union-attr]


async def test_injected_sms_is_stored_listed_read_and_deleted(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0;+CMEE=1")
    modem.sim.inject_sms("+4915112345678", "Guten Tag")
    assert await host.expect(b'+CMTI: "SM",1\r\n') == b'\r\n+CMTI: "SM",1\r\n'
    listing = (await host.command("AT+CMGL=4")).decode().split("\r\n")
    assert listing[1] == "+CMGL: 1,0,,28"
    message = decode_pdu(bytes.fromhex(listing[2]))
    assert isinstance(message, Deliver)
    assert (message.sender, message.text) == ("+4915112345678", "Guten Tag")
    # Listed once, it is read now.
    assert (await host.command("AT+CMGR=1")).startswith(b"\r\n+CMGR: 1,,28\r\n")
    await host.command("AT+CMGD=1")
    assert await host.command("AT+CMGL=4") == b"\r\nOK\r\n"


async def test_long_sms_arrives_in_parts_and_direct_as_cmt(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0")
    assert modem.sim.inject_sms("+4915112345678", "x" * 300) == [1, 2]
    modem.sim.inject_sms("+4915112345678", "straight through", direct=True)
    await host.expect(b'+CMTI: "SM",2\r\n')
    header = await host.expect(b"\r\n", 5) + await host.expect(b"\r\n")
    assert header.startswith(b"\r\n+CMT: ,")
    direct = decode_pdu(bytes.fromhex((await host.expect(b"\r\n")).decode().strip()))
    assert isinstance(direct, Deliver)
    assert direct.text == "straight through"


async def test_hang_drops_everything_until_unhang(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0")
    modem.sim.hang()
    host.send(b"AT\r")
    with pytest.raises(TimeoutError):
        await host.expect(b"OK", within=0.3)
    modem.sim.unhang()
    assert await host.command("AT") == b"\r\nOK\r\n"


async def test_unplug_gives_the_host_eio_and_replug_repoints_the_link(
    make_sim_modem: SimModemFactory, open_host: OpenHost, tmp_path: Path
) -> None:
    link = tmp_path / "gsmmodem-sim1"
    modem = await make_sim_modem(link=link)
    assert os.readlink(link) == modem.path
    host = open_host(str(link))
    await host.command("ATE0")
    modem.unplug()
    await host.wait_closed()
    assert host.error is None or host.error.errno == errno.EIO
    with pytest.raises(OSError, match="Input/output error"):
        os.write(host.fd, b"AT\r")
    assert not link.exists()
    await modem.replug()
    assert os.readlink(link) == modem.path
    again = open_host(str(link))
    assert await again.command("AT") == b"AT\r\r\nOK\r\n"  # a fresh boot: echo on again


@pytest.mark.parametrize(
    ("profile", "command", "answer"),
    [
        ("generic", "AT+CCID", b"\r\n+CCID: 8900101234567890123\r\n\r\nOK\r\n"),
        ("simcom", "AT+CCID", b"\r\n8900101234567890123\r\n\r\nOK\r\n"),
        ("quectel", "AT+QCCID", b"\r\n+QCCID: 8900101234567890123\r\n\r\nOK\r\n"),
        ("huawei", "AT^ICCID?", b"\r\n^ICCID: 980001214365870921F3\r\n\r\nOK\r\n"),
    ],
)
async def test_iccid_by_the_vendor_command(
    make_sim_modem: SimModemFactory, open_host: OpenHost, profile: str, command: str, answer: bytes
) -> None:
    modem = await make_sim_modem(profile)
    host = open_host(modem.path)
    await host.command("ATE0")
    assert await host.command(command) == answer


async def test_ussd_answer_in_ucs2_on_huawei(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem("huawei")
    host = open_host(modem.path)
    await host.command("ATE0")
    assert await host.command('AT+CUSD=1,"*100#",15') == b"\r\nOK\r\n"
    line = (await host.expect(b",72\r\n")).decode()
    text_hex = line.split('"')[1]
    assert bytes.fromhex(text_hex).decode("utf-16-be") == "Your balance is 12.34 EUR."


async def test_text_mode_and_unicode_sends_still_work_in_pdu_mode(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem("quectel")
    host = open_host(modem.path)
    await host.command("ATE0")
    parts = encode_submit("+491701234567", "Grüße 👋 " * 20, mode=EncodingMode.AUTO).parts
    for part in parts:
        await host.command(f"AT+CMGS={part.tpdu_length}", b"> ")
        host.send(part.hex.encode() + b"\x1a")
        await host.expect(b"OK\r\n")
    assert len(modem.sim.sent) == len(parts) > 1


async def test_unplug_mid_send_loses_the_answer_and_replug_boots_clean(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem(send_delay=30.0)
    host = open_host(modem.path)
    await host.command("ATE0")
    part = encode_submit("+491701234567", "in flight").parts[0]
    await host.command(f"AT+CMGS={part.tpdu_length}", b"> ")
    host.send(part.hex.encode() + b"\x1a")
    modem.unplug()  # the network's answer (30 s away) is cancelled with the power
    await host.wait_closed()
    await modem.replug()
    again = open_host(modem.path)
    assert await again.command("AT") == b"AT\r\r\nOK\r\n"
    assert modem.sim.sent == []


async def test_hang_after_next_send_accepts_but_never_answers(
    make_sim_modem: SimModemFactory, open_host: OpenHost
) -> None:
    modem = await make_sim_modem()
    host = open_host(modem.path)
    await host.command("ATE0")
    modem.sim.hang_after_next_send()
    part = encode_submit("+491701234567", "did it go?").parts[0]
    await host.command(f"AT+CMGS={part.tpdu_length}", b"> ")
    host.send(part.hex.encode() + b"\x1a")
    with pytest.raises(TimeoutError):
        await host.expect(b"OK", within=0.3)
    assert [m.submit.text for m in modem.sim.sent] == ["did it go?"]
    modem.sim.unhang()
    assert await host.command("AT") == b"\r\nOK\r\n"
