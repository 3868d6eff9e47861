"""Scale-out: nodes sharing ``{prefix}/send`` as an MQTT 5 shared subscription."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
import uuid

from gsmgw.demo import Mosquitto

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

REQUESTS = 1000
WAIT_TIMEOUT = 60.0


async def test_two_nodes_split_requests_none_lost_none_twice(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    prefix = f"shared{uuid.uuid4().hex[:6]}"
    first = await bridges.start(mosquitto, prefix=prefix, shared=True)
    second = await bridges.start(mosquitto, prefix=prefix, shared=True)
    user = await users(mosquitto)
    reply_topic = f"{prefix}/client/reply"
    await user.subscribe(reply_topic)
    await asyncio.gather(
        *(
            user.request(
                first.topics.send,
                {"to": "+491701234567", "text": f"n{n}", "id": f"req-{n}"},
                response_topic=reply_topic,
            )
            for n in range(REQUESTS)
        )
    )
    replies = [await user.receive_json(reply_topic) for _ in range(REQUESTS)]
    assert sorted(r["id"] for r in replies) == sorted(f"req-{n}" for n in range(REQUESTS))
    taken = [r.id for r in first.core.submitted], [r.id for r in second.core.submitted]
    assert len(taken[0]) + len(taken[1]) == REQUESTS
    assert not set(taken[0]) & set(taken[1]), "a request went to both nodes"
    # Mosquitto spreads a shared subscription's messages over its members.
    assert taken[0]
    assert taken[1]


async def test_switching_shared_off_drops_the_shared_subscription(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    """The persistent session keeps subscriptions: a changed ``shared`` must not give both."""
    prefix = f"switch{uuid.uuid4().hex[:6]}"
    shared = await bridges.start(mosquitto, prefix=prefix, shared=True)
    node, core = shared.topics.node, shared.core
    await shared.stop()
    plain = await bridges.start(mosquitto, prefix=prefix, node=node, core=core, shared=False)
    user = await users(mosquitto)
    await user.subscribe(f"{prefix}/reply")
    for n in range(3):
        await user.request(
            plain.topics.send,
            {"to": "+491701234567", "text": "x", "id": f"once-{n}"},
            response_topic=f"{prefix}/reply",
        )
    replies = [await user.receive_json(f"{prefix}/reply") for _ in range(3)]
    assert [r["id"] for r in replies] == ["once-0", "once-1", "once-2"]
    # A sentinel after them: had a second subscription matched, the duplicates came first.
    await user.request(plain.topics.send, {"id": "end"}, response_topic=f"{prefix}/reply")
    assert (await user.receive_json(f"{prefix}/reply"))["id"] == "end"
    assert [r.id for r in core.submitted] == ["once-0", "once-1", "once-2"]
