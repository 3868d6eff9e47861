"""The driver over real pseudo-terminals against the simulated modem, in each personality."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
from typing import Any

import pytest

from gsmgw.at import commands as at
from gsmgw.at.codes import is_temporary
from gsmgw.errors import CommandError, ModemTimeout, ModemUnavailable, SimError
from gsmgw.modem import driver
from gsmgw.modem.events import IncomingSms, SmsIndicated, StatusReportReceived, StorageFull
from gsmgw.modem.port import open_port
from gsmgw.modem.setup import WrongPin
from gsmgw.sms import Deliver, Reassembler, StatusReport, decode_pdu, encode_submit

Connect = Callable[..., Awaitable[tuple[Any, Any]]]
Until = Callable[..., Awaitable[None]]
NextEvent = Callable[..., Awaitable[Any]]
TO = "+491701234567"


async def test_initialize_identifies_the_modem(connect_modem: Connect, profile: str) -> None:
    sim, modem = await connect_modem(profile)
    info = modem.info
    assert info.profile == profile
    assert info.manufacturer == sim.sim.profile.manufacturer
    assert info.model == sim.sim.profile.model
    assert info.imei == sim.sim.identity.imei
    assert info.imsi == sim.sim.identity.imsi
    assert info.iccid == sim.sim.identity.iccid
    assert modem.registered
    assert modem.signal is not None
    assert modem.signal.dbm == -113 + 2 * sim.sim.rssi
    assert modem.operator


async def test_send_single_and_multipart(connect_modem: Connect, profile: str) -> None:
    sim, modem = await connect_modem(profile)
    short = encode_submit(TO, "Your code is 123456")
    long = encode_submit(TO, "Ünïcødé ✓ " * 20, concat_ref=7)
    assert len(long.parts) > 1
    references = [
        await modem.send_pdu(part.hex, part.tpdu_length) for part in short.parts + long.parts
    ]
    assert len(set(references)) == len(references)
    assert [m.reference for m in sim.sim.sent] == references
    texts = [m.submit.text for m in sim.sim.sent]
    assert texts[0] == "Your code is 123456"
    assert "".join(texts[1:]) == "Ünïcødé ✓ " * 20


@pytest.mark.parametrize(("code", "temporary"), [(42, True), (21, False), (331, True)])
async def test_send_error_maps_to_temporary_or_permanent(
    connect_modem: Connect, code: int, temporary: bool
) -> None:
    sim, modem = await connect_modem()
    sim.sim.fail_next_send(code)
    part = encode_submit(TO, "x").parts[0]
    with pytest.raises(CommandError) as caught:
        await modem.send_pdu(part.hex, part.tpdu_length)
    assert (caught.value.kind, caught.value.code) == ("CMS", code)
    assert is_temporary(caught.value.kind, caught.value.code) is temporary
    assert await modem.send_pdu(part.hex, part.tpdu_length) >= 0  # the line is clean again


async def test_stored_messages_are_read_at_start_and_deleted_on_request(
    connect_modem: Connect, make_sim_modem: Any, profile: str
) -> None:
    pty = await make_sim_modem(profile)
    pty.sim.inject_sms("+4917099", "stored while we were away")
    _, modem = await connect_modem(sim=pty)
    (stored,) = await modem.read_stored()
    message = decode_pdu(stored.pdu)
    assert isinstance(message, Deliver)
    assert (message.sender, message.text) == ("+4917099", "stored while we were away")
    await modem.delete(stored.index)
    assert await modem.read_stored() == []


async def test_cmti_is_read_and_reported_with_its_index(
    connect_modem: Connect, next_event: NextEvent, profile: str
) -> None:
    sim, modem = await connect_modem(profile)
    (index,) = sim.sim.inject_sms("+4917099", "hello")
    event = await next_event(modem, SmsIndicated)
    assert (event.index, event.storage, event.report) == (index, "SM", False)
    pdu = await modem.read(index)  # the driver reads nothing on its own: its consumer does
    assert pdu is not None
    message = decode_pdu(pdu)
    assert isinstance(message, Deliver)
    assert message.text == "hello"
    assert len(await modem.read_stored()) == 1  # kept until the caller deletes it
    await modem.delete(index)
    assert await modem.read(index) is None


async def test_direct_delivery_and_multipart(
    connect_modem: Connect, next_event: NextEvent, profile: str
) -> None:
    sim, modem = await connect_modem(profile)
    text = "A long message that needs two parts. " * 5
    sim.sim.inject_sms("+4917099", text, direct=True)
    reassembler = Reassembler()
    complete = None
    while complete is None:
        event = await next_event(modem, IncomingSms)
        assert event.index is None
        deliver = decode_pdu(event.pdu)
        assert isinstance(deliver, Deliver)
        complete = reassembler.add(deliver)
    assert complete.text == text
    assert await modem.read_stored() == []


async def test_status_report(connect_modem: Connect, next_event: NextEvent, profile: str) -> None:
    sim, modem = await connect_modem(profile)
    part = encode_submit(TO, "report me", report=True).parts[0]
    reference = await modem.send_pdu(part.hex, part.tpdu_length)
    sim.sim.inject_status_report(reference, status=0)
    event = await next_event(modem, StatusReportReceived)
    report = decode_pdu(event.pdu, has_smsc=event.has_smsc)
    assert isinstance(report, StatusReport)
    assert report.reference == reference
    assert report.delivered


async def test_ussd(connect_modem: Connect, profile: str) -> None:
    _, modem = await connect_modem(profile)
    assert await modem.ussd("*100#") == "Your balance is 12.34 EUR."
    with pytest.raises(CommandError):
        await modem.ussd("*999#")


async def test_storage_full_is_reported(
    connect_modem: Connect, next_event: NextEvent, profile: str
) -> None:
    sim, modem = await connect_modem(profile, capacity=2)
    sim.sim.inject_sms("+4917099", "one")
    sim.sim.inject_sms("+4917099", "two")
    event = await next_event(modem, StorageFull)
    assert event.modem == "m1"


async def test_pin_is_entered_once(connect_modem: Connect, profile: str) -> None:
    sim, modem = await connect_modem(profile, enter_pin="4321", pin="4321")
    assert modem.info.imsi == sim.sim.identity.imsi
    assert sim.sim.pin_tries == 3


async def test_wrong_pin_is_reported_and_not_retried(connect_modem: Connect) -> None:
    sim, modem = await connect_modem("generic", initialize=False, pin="4321")
    with pytest.raises(WrongPin):
        await modem.initialize(pin="0000")
    assert sim.sim.pin_tries == 2  # exactly one try used


async def test_missing_pin_needs_an_operator(connect_modem: Connect) -> None:
    sim, modem = await connect_modem("quectel", initialize=False, pin="4321")
    with pytest.raises(SimError):
        await modem.initialize(pin=None)
    assert sim.sim.pin_tries == 3


async def test_garbage_is_survived(connect_modem: Connect, profile: str) -> None:
    sim, modem = await connect_modem(profile)
    sim.sim.send_noise(b"\x00\xff\xfe garbage \x80\r\n+CMT: ,99\r\nNOT A PDU\r\n\x7f")
    assert (await modem.signal_quality()).rssi == sim.sim.rssi
    assert modem.garbage > 0


async def test_timeout_leaves_no_waiter_and_a_hung_modem_is_closed(
    connect_modem: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver, "PROBE_TIMEOUT", 0.3)
    sim, modem = await connect_modem()
    sim.sim.hang()
    with pytest.raises(ModemTimeout):
        await modem.execute(at.Command("AT+CSQ", at.parse_csq, timeout=0.3))
    assert modem._pending is None or modem._pending.command == "AT"  # only the probe
    async with asyncio.timeout(15):
        error = await modem.wait_closed()
    assert "hung" in str(error)
    assert modem._pending is None
    assert not modem.busy
    with pytest.raises(ModemUnavailable):
        await modem.signal_quality()


async def test_cancelled_send_after_ctrl_z_finishes(connect_modem: Connect, until: Until) -> None:
    sim, modem = await connect_modem(send_delay=0.3)
    part = encode_submit(TO, "cannot be undone").parts[0]
    task = asyncio.create_task(modem.send_pdu(part.hex, part.tpdu_length))
    await until(
        lambda: (
            modem._codec.state.name == "RUNNING"
            and modem._pending is not None
            and modem._pending.prompt.done()
        )
    )
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await modem.signal_quality()  # waits for the send to finish, then runs
    assert [m.submit.text for m in sim.sim.sent] == ["cannot be undone"]


async def test_cancel_before_the_prompt_aborts_with_esc(
    connect_modem: Connect,
    until: Until,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="gsmgw.modem.driver")
    monkeypatch.setattr(driver, "ABORT_TIMEOUT", 0.2)
    sim, modem = await connect_modem()
    sim.sim.hang()  # no prompt comes
    part = encode_submit(TO, "never sent").parts[0]
    task = asyncio.create_task(modem.send_pdu(part.hex, part.tpdu_length))
    await until(lambda: modem._codec.state.name == "AWAIT_PROMPT")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "aborting AT+CMGS" in caplog.text
    assert modem._pending is None
    assert not modem.busy
    sim.sim.unhang()
    assert await modem.signal_quality()
    assert sim.sim.sent == []


async def test_start_ends_a_prompt_another_process_left_open(
    connect_modem: Connect, make_sim_modem: Any, profile: str
) -> None:
    """A daemon killed between AT+CMGS and Ctrl-Z: the next start must not hang on the prompt."""
    pty = await make_sim_modem(profile)
    pty.sim.feed(b"AT+CMGS=20\r")  # the killed host's command; the modem now waits for a PDU
    assert pty.sim._mode.value == "prompt"
    sim, modem = await connect_modem(profile, sim=pty)
    assert modem.ready
    assert sim.sim.sent == []  # our start-up was not taken for PDU text
    part = encode_submit(TO, "after the stale prompt").parts[0]
    assert await modem.send_pdu(part.hex, part.tpdu_length) >= 0
    assert [m.submit.text for m in sim.sim.sent] == ["after the stale prompt"]


async def test_unplug_mid_send_fails_cleanly(connect_modem: Connect, until: Until) -> None:
    sim, modem = await connect_modem(send_delay=5.0)
    part = encode_submit(TO, "lost in flight").parts[0]
    task = asyncio.create_task(modem.send_pdu(part.hex, part.tpdu_length))
    await until(lambda: modem._pending is not None and modem._pending.prompt.done())
    sim.unplug()
    with pytest.raises(ModemUnavailable):
        await task
    assert modem.closed
    assert not modem.busy


async def test_close_releases_the_port(connect_modem: Connect) -> None:
    sim, modem = await connect_modem()
    await modem.close()
    port = await open_port(sim.path)  # exclusive: only possible once ours is closed
    await port.close()
    with pytest.raises(ModemUnavailable):
        await modem.signal_quality()


async def test_puk_needs_an_operator(connect_modem: Connect) -> None:
    from gsmgw.sim import PinState

    sim, modem = await connect_modem("simcom", initialize=False, pin="4321")
    sim.sim.pin_state = PinState.SIM_PUK
    with pytest.raises(SimError, match="SIM PUK"):
        await modem.initialize(pin="4321")
    assert sim.sim.pin_tries == 3


async def test_phase2_plus_acknowledges_direct_delivery(
    connect_modem: Connect, next_event: NextEvent
) -> None:
    sim, modem = await connect_modem("generic", initialize=False)
    sim.sim.settings.csms = 1  # a modem whose firmware starts in phase 2+ (Telit LE910)
    await modem.initialize()
    assert modem.profile.ack_direct
    sim.sim.inject_sms("+4917099", "ack me", direct=True)
    event = await next_event(modem, IncomingSms)
    assert event.index is None
    assert (await modem.signal_quality()).rssi == sim.sim.rssi  # +CNMA went through cleanly
