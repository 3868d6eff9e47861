"""Idle modems take turns at new work: one claim per new message, and nothing left behind."""

from __future__ import annotations

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
    # The claim that took it, and the sending modem's look for more once it sent it. Every
    # idle modem claimed before: 4, then that look, 5.
    assert claims() == 2


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
