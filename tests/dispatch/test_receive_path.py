"""The receive path loses nothing (issue 14): one consumer per modem, ack after commit, cancels.

Against the simulated modem on a real pty and a real store. The cancellation tests cancel the
handling of one received item at every suspension point (``tests/cancellation.py``) and prove
from the store and the simulated SIM that the message is stored once, or still on the SIM or
delivered again by the network, never lost and never stored as two messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import itertools
from pathlib import Path
from typing import Any

import pytest

from gsmgw.config import OptOutConfig
from gsmgw.dispatch import Inbound, ModemInbox
import gsmgw.dispatch._inbound
from gsmgw.errors import StoreError
from gsmgw.models import MessageState, SendRequest
from gsmgw.modem.driver import Modem
from gsmgw.modem.events import IncomingSms, ModemEvent, SmsIndicated, StatusReportReceived
from gsmgw.modem.port import open_port
from gsmgw.sim import SimModem
from gsmgw.sim.storage import MessageStat
from gsmgw.sms import encode_deliver, encode_submit
from gsmgw.store import Store, StoreReader
from tests.cancellation import cancel_at

from .conftest import MakeHarness, SimModemFactory, eventually

ONE = "[[modem]]\nid = 'sim1'\nport = '/dev/null'\n"
SENDER = "+491701111111"
#: Short network timers, so a cancelled +CMT comes back fast.
FAST_NETWORK: dict[str, Any] = {"csms": 1, "ack_timeout": 0.3, "redeliver_delay": 0.02}


def texts(path: Path) -> list[str]:
    with StoreReader(path) as reader:
        return sorted(m.text or "" for m in reader.list_inbox(limit=1000))


# --- defect 1: a stale SIM index ---------------------------------------------------------------


async def test_a_stale_index_never_deletes_a_message_nobody_stored(harness: MakeHarness) -> None:
    """A read at index 0 (A), a sweep storing A and freeing 0, B arriving at 0: B survives."""
    h = await harness(ONE)
    sim = await h.make_sim_only("sim1")
    (index,) = sim.sim.inject_sms(SENDER, "A")
    await h.plug("sim1")
    link = h.modems["sim1"]
    (entry,) = await link.read_stored()  # one path's read of A (a +CMTI's, a CMGL snapshot)
    stale = IncomingSms("sim1", entry.pdu, entry.index, "SM")

    assert await h.receiver.sweep("sim1", link) == 1  # the other path stores A, frees index 0
    (b,) = encode_deliver("+491702222222", "B", timestamp=datetime.now(UTC))
    assert sim.sim.storage(2).store(b, MessageStat.REC_UNREAD) == index  # B reuses index 0
    await h.receiver.on_event("sim1", link, stale)  # the first path goes on with its old read

    assert len(sim.sim.storage(2)) == 1, "B was deleted unread"
    assert await h.receiver.sweep("sim1", link) == 1
    assert texts(h.store.path) == ["A", "B"]
    assert len(sim.sim.storage(2)) == 0


@dataclass
class Receiving:
    """A driver on a simulated modem whose received work goes to one ``ModemInbox``."""

    sim: SimModem
    modem: Modem
    store: Store
    inbound: Inbound
    inbox: ModemInbox
    events: asyncio.Queue[ModemEvent]

    async def next(self, kind: type[ModemEvent], limit: float = 5.0) -> Any:
        async with asyncio.timeout(limit):
            while not isinstance(event := await self.events.get(), kind):
                pass
        return event


@contextlib.asynccontextmanager
async def receiving(
    make_sim_modem: SimModemFactory, store: Store, *, run: bool = True, **knobs: Any
) -> AsyncIterator[Receiving]:
    """Connect a driver; with ``run``, its events feed the inbox, else ``Receiving.events``."""
    pty = await make_sim_modem(name="sim1", **knobs)
    modem = Modem(await open_port(pty.path), name="sim1")
    await modem.start()
    await modem.initialize()
    inbound = Inbound(store, OptOutConfig(keywords=("STOP",)))
    inbox = ModemInbox(inbound, "sim1", lambda: modem)
    rx = Receiving(pty.sim, modem, store, inbound, inbox, asyncio.Queue())

    async def pump() -> None:
        async for event in modem.events():
            if run and isinstance(event, IncomingSms | StatusReportReceived | SmsIndicated):
                inbox.put(event)
            else:
                rx.events.put_nowait(event)

    tasks = [asyncio.create_task(pump())]
    if run:
        tasks.append(asyncio.create_task(inbox.run()))
    try:
        yield rx
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await modem.close()


async def test_indications_and_sweeps_share_one_consumer(
    make_sim_modem: SimModemFactory, store: Store
) -> None:
    async with receiving(make_sim_modem, store) as rx:
        rx.sim.inject_sms(SENDER, "A")  # +CMTI for index 0
        rx.inbox.request_sweep()  # queued behind it: reads of 0 never interleave with a delete
        rx.sim.inject_sms(SENDER, "B")
        rx.inbox.request_sweep()
        await eventually(lambda: rx.inbound.received == 2 and rx.inbox.idle)

    assert texts(store.path) == ["A", "B"]
    assert len(rx.sim.storage(2)) == 0


async def test_a_full_queue_turns_into_a_sweep(
    make_sim_modem: SimModemFactory, store: Store
) -> None:
    async with receiving(make_sim_modem, store, run=False) as rx:
        rx.inbox = ModemInbox(rx.inbound, "sim1", lambda: rx.modem, size=1)
        for text in ("one", "two", "three"):
            rx.sim.inject_sms(SENDER, text)
            rx.inbox.put(await rx.next(SmsIndicated))
        assert rx.inbox.dropped == 2
        task = asyncio.create_task(rx.inbox.run())
        try:
            await eventually(lambda: rx.inbox.idle and rx.inbound.received == 3)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert texts(store.path) == ["one", "three", "two"]
    assert rx.inbox.sweeps == 1


# --- defect 2: +CMT acknowledged only after the commit -----------------------------------------


async def test_direct_sms_is_acknowledged_after_the_commit_and_refused_when_it_fails(
    make_sim_modem: SimModemFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store.store_incoming_part
    calls = 0

    async def full_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("database or disk is full")
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "store_incoming_part", full_once)
    async with receiving(make_sim_modem, store, **FAST_NETWORK) as rx:
        rx.sim.inject_sms(SENDER, "kept by the network", direct=True)
        await eventually(lambda: rx.inbound.received == 1 and rx.inbox.idle)
        await eventually(lambda: rx.sim.direct.shown is None)

    assert rx.sim.acks == [2, 0]  # refused (RP-ERROR), then acknowledged once stored
    assert rx.sim.direct.redelivered == 1
    assert texts(store.path) == ["kept by the network"]


async def test_direct_sms_waits_for_its_acknowledgement(
    make_sim_modem: SimModemFactory, store: Store
) -> None:
    async with receiving(make_sim_modem, store, run=False, **FAST_NETWORK) as rx:
        rx.sim.inject_sms(SENDER, "first", direct=True)
        rx.sim.inject_sms(SENDER, "second", direct=True)
        first = await rx.next(IncomingSms)
        with pytest.raises(TimeoutError):
            await rx.next(IncomingSms, limit=0.1)  # no second +CMT before the first's AT+CNMA
        await rx.inbox.step(first)
        await rx.inbox.step(await rx.next(IncomingSms))
    assert rx.sim.acks == [0, 0]
    assert texts(store.path) == ["first", "second"]


# --- the receive path under cancellation -------------------------------------------------------


async def _cancel_everywhere(rx: Receiving, inject: Any, kind: type[ModemEvent]) -> int:
    """Cancel the handling of one injected message at each point; return how many points."""
    for point in itertools.count(1):
        inject(point)
        run = await cancel_at(rx.inbox.step(await rx.next(kind)), point)
        assert run.completed or run.cancelled, run
        await _recover(rx, kind)
        if run.completed:
            return point
    raise AssertionError("unreachable")


async def _recover(rx: Receiving, kind: type[ModemEvent]) -> None:
    """Do what comes next in the daemon: the sweep, and the network's repeated deliveries."""
    await rx.inbox.sweep()
    direct = rx.sim.direct
    while direct.shown is not None or direct.waiting or not rx.events.empty():
        with contextlib.suppress(TimeoutError):
            await rx.inbox.step(await rx.next(kind, limit=1.0))


async def test_cmti_sms_cancelled_at_every_point_is_stored_once(
    make_sim_modem: SimModemFactory, store: Store
) -> None:
    async with receiving(make_sim_modem, store, run=False) as rx:
        points = await _cancel_everywhere(
            rx, lambda n: rx.sim.inject_sms(SENDER, f"stored {n}"), SmsIndicated
        )
    assert points > 3
    assert texts(store.path) == sorted(f"stored {n}" for n in range(1, points + 1))
    assert len(rx.sim.storage(2)) == 0


async def test_cmt_sms_cancelled_at_every_point_is_stored_once(
    make_sim_modem: SimModemFactory, store: Store
) -> None:
    async with receiving(make_sim_modem, store, run=False, **FAST_NETWORK) as rx:
        points = await _cancel_everywhere(
            rx, lambda n: rx.sim.inject_sms(SENDER, f"direct {n}", direct=True), IncomingSms
        )
    assert points >= 3
    assert texts(store.path) == sorted(f"direct {n}" for n in range(1, points + 1))
    assert rx.sim.direct.shown is None
    assert not rx.sim.direct.waiting


async def test_status_report_cancelled_at_every_point_is_applied(
    make_sim_modem: SimModemFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gsmgw.dispatch._inbound, "REPORT_RETRY_DELAY", 0.01)
    async with receiving(make_sim_modem, store, run=False, **FAST_NETWORK) as rx:
        references: dict[int, str] = {}

        async def send(n: int) -> None:
            await store.enqueue([SendRequest(to=(SENDER,), text=f"r{n}", report=True)])
            message = await store.claim_next("sim1", encode=lambda _: [("00", 1)])
            assert message is not None
            part = encode_submit(SENDER, f"r{n}", report=True).parts[0]
            reference = await rx.modem.send_pdu(part.hex, part.tpdu_length)
            await store.begin_part(message.id, 1, "sim1")
            await store.record_part_sent(message.id, 1, reference, "sim1")
            references[n] = message.id

        for point in itertools.count(1):
            await send(point)  # the simulated network reports it at once (+CDS)
            run = await cancel_at(rx.inbox.step(await rx.next(StatusReportReceived)), point)
            assert run.completed or run.cancelled, run
            await _recover(rx, StatusReportReceived)
            message = await store.get_message(references[point])
            assert message is not None
            assert message.state is MessageState.DELIVERED, point
            if run.completed:
                break
    assert point >= 3
    assert rx.sim.direct.shown is None
