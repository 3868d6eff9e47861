"""Sending and claiming cancelled at every suspension: nothing lost, every duplicate flagged.

After each run the store must agree with the simulated network: a part the network accepted is
recorded with its TP-MR or flagged as of unknown outcome (so its resend is explained), a part it
never saw is neither, and the message is never left ``sending`` with nobody working on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import itertools
from pathlib import Path
import random

import pytest

from gsmgw.config import parse_config
from gsmgw.dispatch import Dispatcher, SenderState, SendPolicy, encode, send_message
from gsmgw.models import MessageState, OutgoingMessage, SendRequest
from gsmgw.modem.driver import Modem
from gsmgw.modem.port import open_port
from gsmgw.sim import PtyModem
from gsmgw.store import Store
from tests.cancellation import Run, cancel_at
from tests.dispatch.conftest import SimModemFactory, eventually

TO = "+491701234567"
#: Two GSM-7 parts.
LONG = "Your parcel is on its way and will arrive tomorrow between 9 and 12. " * 3
POLICY = SendPolicy()

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "gsmgw.db") as opened:
        yield opened


@pytest.fixture
async def modem(make_sim_modem: SimModemFactory) -> AsyncIterator[tuple[PtyModem, Modem]]:
    sim = await make_sim_modem(name="c1")
    driver = Modem(await open_port(sim.path), name="c1")
    await driver.start()
    await driver.initialize()
    try:
        yield sim, driver
    finally:
        await driver.close()


async def claimed(store: Store, message_id: str) -> OutgoingMessage:
    await store.enqueue([SendRequest(to=(TO,), text=LONG, id=message_id)])
    message = await store.claim_next("c1", encode=lambda m: encode(m, POLICY))
    assert message is not None
    assert len(message.parts) == 2
    return message


async def check_against_the_network(store: Store, sim: PtyModem, ids: list[str]) -> None:
    """Every part the simulated network accepted is recorded or flagged; no other part is."""
    await store.next_due_at()  # a writer job: queued behind every commit still running
    accepted = [sent.pdu.hex().upper() for sent in sim.sim.sent]
    for message_id in ids:
        message = await store.get_message(message_id)
        assert message is not None
        assert message.state in (MessageState.QUEUED, MessageState.SENT), message
        for part in message.parts:
            # What we wrote carries an SMSC field the network does not see.
            reached = any(part.pdu_hex.upper().endswith(pdu) for pdu in accepted)
            if reached:
                assert part.reference is not None or part.outcome_unknown, part
            else:
                assert part.reference is None, part
        if message.state is MessageState.SENT:
            assert all(part.reference is not None for part in message.parts)


async def test_send_message_cancelled_anywhere_loses_no_tp_mr(
    store: Store, modem: tuple[PtyModem, Modem]
) -> None:
    sim, driver = modem
    runs: list[Run] = []
    ids: list[str] = []
    for point in itertools.count(1):
        message = await claimed(store, f"m{point}")
        ids.append(f"m{point}")
        send = send_message(store, driver, "c1", message, POLICY, random.Random(1))
        run = await cancel_at(send, point)
        runs.append(run)
        assert run.completed or run.cancelled, run
        await eventually(lambda: not driver.busy)  # a send past Ctrl-Z finishes shielded
        await check_against_the_network(store, sim, ids)
        if run.completed:
            break
    assert len(runs) >= 4  # begin, write, answer and commit of each part were all cancelled


async def test_a_previous_message_commit_survives_the_next_send_being_cancelled(
    store: Store, modem: tuple[PtyModem, Modem]
) -> None:
    """The last TP-MR commit of one message joins the next message's first ``begin_part``."""
    sim, driver = modem
    ids: list[str] = []
    for point in itertools.count(1):
        first = await claimed(store, f"a{point}")
        attempt = await send_message(store, driver, "c1", first, POLICY, random.Random(1))
        second = await claimed(store, f"b{point}")
        ids += [first.id, second.id, f"a{point}", f"b{point}"]
        send = send_message(
            store, driver, "c1", second, POLICY, random.Random(1), settle=attempt.pending
        )
        run = await cancel_at(send, point)
        await eventually(lambda: not driver.busy)
        await check_against_the_network(store, sim, ids)
        if run.completed:
            break


async def test_a_sender_step_cancelled_anywhere_gives_its_claim_back(
    store: Store, modem: tuple[PtyModem, Modem], tmp_path: Path
) -> None:
    """One turn of a modem's sender (claim, route, send) cancelled at every suspension."""
    sim, driver = modem
    config = parse_config(
        "[gateway]\nnode = 't'\n[mqtt]\nurl = ''\n[[modem]]\nid = 'c1'\nport = 'sim:c1'\n",
        base=tmp_path,
    )
    ids: list[str] = []
    for point in itertools.count(1):
        # A cancelled sender's task ends: every run gets a dispatcher of its own.
        dispatcher = Dispatcher(store, config, policy=POLICY, rng=random.Random(1))
        dispatcher.attach("c1", driver)
        sender = dispatcher.senders["c1"]
        await store.enqueue([SendRequest(to=(TO,), text=LONG, id=f"s{point}")])
        ids.append(f"s{point}")
        run = await cancel_at(dispatcher.step(sender), point)
        assert run.completed or run.cancelled, run
        await eventually(lambda: not driver.busy)
        if sender.last_commit is not None:
            await sender.last_commit
        await check_against_the_network(store, sim, ids)
        assert sender.claim_ahead is None
        assert sender.handed is None
        assert sender.state is not SenderState.HOLDING
        if run.completed:
            break
