"""The supervisor keeps a modem working: hangs, unplugs, replugs and SIM trouble."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gsmgw.at import commands as at
from gsmgw.errors import ModemUnavailable
from gsmgw.modem.events import ModemState, ModemStateChanged, SignalChanged
from gsmgw.modem.supervisor import Supervisor, Timing
from gsmgw.sms import encode_submit

Until = Callable[..., Awaitable[None]]
WAIT = 20.0
FAST = Timing(
    backoff_base=0.05,
    backoff_max=0.3,
    operator_delay=0.3,
    health_interval=0.1,
    ping_timeout=0.5,
    refresh_interval=0.3,
    reset_after=0,
)


@pytest.fixture
async def supervise() -> AsyncIterator[Callable[..., Awaitable[Supervisor]]]:
    """Return ``supervise(spec, **kwargs)``: a running supervisor, stopped after the test."""
    tasks: list[asyncio.Task[None]] = []

    async def start(spec: str, **kwargs: Any) -> Supervisor:
        supervisor = Supervisor(spec, name="m1", timing=kwargs.pop("timing", FAST), **kwargs)
        tasks.append(asyncio.create_task(supervisor.run()))
        return supervisor

    try:
        yield start
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_backoff_grows_and_is_capped() -> None:
    timing = Timing(backoff_base=1.0, backoff_max=10.0)
    assert [timing.backoff(n) for n in range(5)] == [1.0, 1.8, 1.8**2, 1.8**3, 10.0]
    with pytest.raises(ValueError, match="positive"):
        Timing(ping_timeout=0)


async def test_ready_then_unplug_and_replug_by_link(
    make_sim_modem: Any, supervise: Any, tmp_path: Path
) -> None:
    link = tmp_path / "gsmmodem-sim1"
    sim = await make_sim_modem("simcom", link=link)
    supervisor = await supervise(str(link))
    async with asyncio.timeout(WAIT):
        modem = await supervisor.wait_ready()
    assert supervisor.info is not None
    assert supervisor.info.profile == "simcom"
    sim.unplug()
    async with asyncio.timeout(WAIT):
        await supervisor.wait_for(ModemState.FAILED, ModemState.OPENING)
    assert modem.closed
    await sim.replug()
    async with asyncio.timeout(WAIT):
        again = await supervisor.wait_ready()
    assert again is not modem
    assert await again.signal_quality()


async def test_unplug_mid_send_then_the_modem_comes_back(
    make_sim_modem: Any, supervise: Any, until: Until, tmp_path: Path
) -> None:
    link = tmp_path / "modem"
    sim = await make_sim_modem("quectel", link=link, send_delay=5.0)
    supervisor = await supervise(str(link))
    async with asyncio.timeout(WAIT):
        modem = await supervisor.wait_ready()
    part = encode_submit("+491701234567", "in flight").parts[0]
    send = asyncio.create_task(modem.send_pdu(part.hex, part.tpdu_length))
    await until(lambda: modem._pending is not None and modem._pending.prompt.done())
    sim.unplug()
    with pytest.raises(ModemUnavailable):
        await send
    await sim.replug()
    sim.sim.send_delay = 0.0
    async with asyncio.timeout(WAIT):
        modem = await supervisor.wait_ready()
    assert await modem.send_pdu(part.hex, part.tpdu_length) >= 0


async def test_hang_is_detected_and_recovered(make_sim_modem: Any, supervise: Any) -> None:
    sim = await make_sim_modem("huawei")
    supervisor = await supervise(sim.path)
    async with asyncio.timeout(WAIT):
        first = await supervisor.wait_ready()
    sim.sim.hang()
    async with asyncio.timeout(WAIT):
        await supervisor.wait_for(ModemState.FAILED, ModemState.INITIALIZING)
    assert first.closed
    assert "no answer" in (supervisor.last_error or "")
    sim.sim.unhang()
    async with asyncio.timeout(WAIT):
        modem = await supervisor.wait_ready()
    assert modem is not first
    assert supervisor.reconnects >= 1


async def test_wrong_pin_needs_an_operator_and_is_never_resent(
    make_sim_modem: Any, supervise: Any
) -> None:
    sim = await make_sim_modem("generic", pin="4321")
    supervisor = await supervise(sim.path, pin="0000")
    events = supervisor.events()
    seen = 0
    async with asyncio.timeout(WAIT):
        async for event in events:
            if isinstance(event, ModemStateChanged) and event.state is ModemState.NEEDS_OPERATOR:
                seen += 1
                if seen == 3:  # three rounds, and still only one PIN entered
                    break
    assert sim.sim.pin_tries == 2
    assert "PIN" in (supervisor.last_error or "")


async def test_missing_port_fails_with_a_clear_error(supervise: Any, tmp_path: Path) -> None:
    supervisor = await supervise(str(tmp_path / "nothing"))
    async with asyncio.timeout(WAIT):
        await supervisor.wait_for(ModemState.FAILED)
    assert "no such device" in (supervisor.last_error or "")


async def test_a_restarted_modem_is_initialized_again(make_sim_modem: Any, supervise: Any) -> None:
    sim = await make_sim_modem("simcom")
    supervisor = await supervise(sim.path)
    async with asyncio.timeout(WAIT):
        first = await supervisor.wait_ready()
    await first.execute(at.CFUN_RESET)  # the SIM800 prints "RDY" and loses its settings
    async with asyncio.timeout(WAIT):
        async for event in supervisor.events():
            if isinstance(event, ModemStateChanged) and event.state is ModemState.FAILED:
                assert "restarted" in (event.error or "")
                break
    async with asyncio.timeout(WAIT):
        again = await supervisor.wait_ready()
    assert again is not first
    assert sim.sim.settings.cmee == 2  # set up anew


async def test_the_slow_check_reports_signal_changes(make_sim_modem: Any, supervise: Any) -> None:
    sim = await make_sim_modem("generic")  # no signal URC: only AT+CSQ tells
    supervisor = await supervise(sim.path)
    async with asyncio.timeout(WAIT):
        await supervisor.wait_ready()
    sim.sim.set_signal(9)
    async with asyncio.timeout(WAIT):
        async for event in supervisor.events():
            if isinstance(event, SignalChanged) and event.signal.rssi == 9:
                break
