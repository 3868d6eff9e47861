"""One end-to-end exchange over normal and hostile links: byte by byte, delayed, noisy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import replace
from typing import Any

import pytest

from gsmgw.errors import CommandError, ModemTimeout, RemoteProtocolError
from gsmgw.modem.events import RegistrationChanged, SignalChanged, SmsIndicated
from gsmgw.sms import Deliver, decode_pdu, encode_submit

Connect = Callable[..., Awaitable[tuple[Any, Any]]]
NextEvent = Callable[..., Awaitable[Any]]

LINKS: dict[str, dict[str, float]] = {
    "clean": {},
    "byte-by-byte": {"chunk_size": 1},
    "delayed": {"chunk_size": 7, "write_delay": 0.002},
    "noisy": {"noise": 0.3, "seed": 4},
}


@pytest.mark.parametrize("link", LINKS)
async def test_exchange(connect_modem: Connect, next_event: NextEvent, link: str) -> None:
    knobs = LINKS[link]
    noise = float(knobs.get("noise", 0.0))
    sim, modem = await connect_modem("quectel", **{k: v for k, v in knobs.items() if k != "noise"})
    sim.sim.knobs = replace(sim.sim.knobs, noise=noise)  # noise after set-up
    message = encode_submit("+491701234567", "Über den Wolken ✈ " * 6)
    references = []
    for part in message.parts:
        for _attempt in range(5):  # noise may eat an answer: the dispatcher retries likewise
            try:
                references.append(await modem.send_pdu(part.hex, part.tpdu_length))
                break
            except (ModemTimeout, RemoteProtocolError, CommandError):
                continue
    assert len(references) == len(message.parts)
    sim.sim.inject_sms("+4917099", "ping")
    event = await next_event(modem, SmsIndicated)
    pdu = None
    for _attempt in range(5):  # noise may eat the answer to AT+CMGR too
        with contextlib.suppress(ModemTimeout, RemoteProtocolError, CommandError):
            pdu = await modem.read(event.index)
            break
    assert pdu is not None
    deliver = decode_pdu(pdu)
    assert isinstance(deliver, Deliver)
    assert deliver.text == "ping"
    assert "".join(m.submit.text or "" for m in sim.sim.sent[-len(message.parts) :]) == (
        "Über den Wolken ✈ " * 6
    )


async def test_registration_and_signal_urcs(
    connect_modem: Connect, next_event: NextEvent, until: Callable[..., Awaitable[None]]
) -> None:
    sim, modem = await connect_modem("huawei")
    for stat, name in ((5, "ROAMING"), (3, "DENIED")):
        sim.sim.set_registration(stat)
        event = await next_event(modem, RegistrationChanged)
        while event.registration.kind.value != "+CREG":  # +CGREG and +CEREG come too
            event = await next_event(modem, RegistrationChanged)
        assert event.registration.state.name == name
    await until(lambda: not modem.registered)  # every domain said DENIED
    sim.sim.set_signal(7)
    signal = await next_event(modem, SignalChanged)
    assert signal.signal.rssi == 7
    assert modem.signal == signal.signal
