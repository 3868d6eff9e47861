"""Idle modems take turns at new work: one claim per new message, and nothing left behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gsmgw.dispatch import SenderState
from gsmgw.models import SendRequest
from gsmgw.store import Store

from .conftest import Harness, MakeHarness, eventually

FOUR = "".join(f"[[modem]]\nid = 'sim{n}'\nport = 'sim:sim{n}'\n" for n in range(1, 5))
#: Slower than CLAIM_AHEAD_MAX_SEND_TIME: no claim is made ahead during a send.
SLOW = 0.3


def request(text: str, **fields: Any) -> SendRequest:
    return SendRequest(to=("+491701234567",), text=text, **fields)


def count_claims(store: Store) -> Callable[[], int]:
    """Count the store's claims from now on; return the counter."""
    original: Callable[..., Awaitable[Any]] = store.claim_next
    claims = 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await original(*args, **kwargs)

    store.claim_next = counted  # type: ignore[method-assign]
    return lambda: claims


async def four_idle_modems(harness: MakeHarness) -> Harness:
    h = await harness(FOUR)
    for n in range(1, 5):
        await h.plug(f"sim{n}", send_delay=SLOW)
    senders = h.dispatcher.senders.values()
    await eventually(lambda: all(s.state is SenderState.IDLE for s in senders))
    await eventually(lambda: all(h.idle(s.id) for s in senders))
    return h


async def test_one_new_message_costs_one_claim_not_one_per_idle_modem(
    harness: MakeHarness,
) -> None:
    h = await four_idle_modems(harness)
    claims = count_claims(h.store)

    await h.store.enqueue([request("hello", id="m1")])

    await eventually(lambda: h.all_sent() == ["hello"])
    senders = h.dispatcher.senders.values()
    await eventually(lambda: all(s.state is SenderState.IDLE and h.idle(s.id) for s in senders))
    # The claim that took it, nothing more: with nothing waiting, the sending modem does not
    # look for more once it sent it. Every idle modem claimed before: 4, then that look, 5.
    assert claims() == 1


async def test_modems_that_look_at_once_claim_one_new_message_once(harness: MakeHarness) -> None:
    h = await four_idle_modems(harness)
    claims = count_claims(h.store)

    await h.store.enqueue([request("hello", id="m1")])
    h.dispatcher.poke()  # every modem looks in the same turn of the loop, before any claim runs

    await eventually(lambda: h.all_sent() == ["hello"])
    senders = h.dispatcher.senders.values()
    await eventually(lambda: all(s.state is SenderState.IDLE and h.idle(s.id) for s in senders))
    # The first modem's claim is in flight from the moment it decided: the others are held
    # back, not claiming for nothing (it was 4: the claim counted only from its first step).
    assert claims() == 1


async def test_a_busy_modem_woken_by_work_another_took_does_not_claim_after_its_send(
    harness: MakeHarness,
) -> None:
    h = await four_idle_modems(harness)
    claims = count_claims(h.store)
    senders = h.dispatcher.senders.values()

    await h.store.enqueue([request("first", id="m1")])
    await eventually(lambda: any(s.state is SenderState.SENDING for s in senders))
    await h.store.enqueue([request("second", id="m2")])  # the busy modem is woken too

    await eventually(lambda: sorted(h.all_sent()) == ["first", "second"])
    await eventually(lambda: all(s.state is SenderState.IDLE and h.idle(s.id) for s in senders))
    # One claim per message: the busy modem, woken for "second" that an idle one claimed,
    # found nothing waiting once its send ended and claimed nothing (it used to: 3, then 4).
    assert claims() == 2
    assert len({sender for sender in ("sim1", "sim2", "sim3", "sim4") if h.sent_texts(sender)}) == 2


async def test_a_message_only_the_last_idle_modem_may_send_still_reaches_it(
    harness: MakeHarness,
) -> None:
    h = await four_idle_modems(harness)

    await h.store.enqueue([request("for sim4", modem="sim4")])

    await eventually(lambda: h.sent_texts("sim4") == ["for sim4"])
    assert h.all_sent() == ["for sim4"]


async def test_a_burst_reaches_every_idle_modem(harness: MakeHarness) -> None:
    h = await four_idle_modems(harness)

    await h.store.enqueue([request(f"m{n}") for n in range(8)])

    await eventually(lambda: len(h.all_sent()) == 8)
    # Each idle modem was woken in turn while messages were left: all four sent.
    assert all(h.sent_texts(f"sim{n}") for n in range(1, 5))
    assert sorted(h.all_sent()) == sorted(f"m{n}" for n in range(8))


async def test_turns_go_on_past_a_modem_that_may_not_send_the_message(
    harness: MakeHarness,
) -> None:
    h = await four_idle_modems(harness)
    for n in (2, 4, 1):  # each for one modem only: the turns must reach every one of them
        await h.store.enqueue([request(f"for sim{n}", modem=f"sim{n}")])

    await eventually(lambda: len(h.all_sent()) == 3)
    assert h.sent_texts("sim1") == ["for sim1"]
    assert h.sent_texts("sim2") == ["for sim2"]
    assert h.sent_texts("sim4") == ["for sim4"]


async def test_a_fast_modem_claims_ahead_only_while_messages_wait(harness: MakeHarness) -> None:
    h = await harness("[[modem]]\nid = 'sim1'\nport = 'sim:sim1'\n")
    await h.plug("sim1", send_delay=0.05)  # under CLAIM_AHEAD_MAX_SEND_TIME: it may claim ahead
    sender = h.dispatcher.senders["sim1"]
    await h.store.enqueue([request("warm", id="m0")])
    await eventually(lambda: h.idle("sim1") and sender.samples == 1)
    claims = count_claims(h.store)

    await h.store.enqueue([request("alone", id="m1")])
    await eventually(lambda: h.all_sent() == ["warm", "alone"])
    await eventually(lambda: sender.state is SenderState.IDLE and h.idle("sim1"))
    assert claims() == 1  # nothing waited while "alone" was sent: no claim ahead, no look after

    await h.store.enqueue([request(f"b{n}") for n in range(3)])
    await eventually(lambda: len(h.all_sent()) == 5)
    await eventually(lambda: sender.state is SenderState.IDLE and h.idle("sim1"))
    # A backlog: each claim but the last was made ahead, during the send before it.
    assert claims() == 1 + 3


async def test_a_modem_held_back_by_a_claim_in_flight_claims_what_that_claim_left(
    harness: MakeHarness,
) -> None:
    h = await four_idle_modems(harness)
    gate = asyncio.Event()
    original: Callable[..., Awaitable[Any]] = h.store.claim_next
    attempts: list[str] = []

    async def slow_for_sim1(modem: str, **kwargs: Any) -> Any:
        attempts.append(modem)
        if modem == "sim1":
            await gate.wait()
        return await original(modem, **kwargs)

    h.store.claim_next = slow_for_sim1  # type: ignore[method-assign]
    await h.store.enqueue([request("for sim3", modem="sim3")])  # sim1 takes its turn first
    await eventually(lambda: attempts == ["sim1"])
    h.dispatcher.poke()  # every modem looks: sim1's claim in flight covers the one message
    await asyncio.sleep(0.2)
    assert attempts == ["sim1"]  # held back, not claiming for nothing

    gate.set()  # sim1 may not send it: its claim ends with the message still waiting

    await eventually(lambda: h.sent_texts("sim3") == ["for sim3"])
    assert h.all_sent() == ["for sim3"]
