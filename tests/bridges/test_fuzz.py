"""Hostile and malformed payloads: each answered, the bridge stays up, valid ones go through."""

from __future__ import annotations

import asyncio
from collections import Counter
import json
import random
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from gsmgw.bridges.mqtt import ReceivedPublish
from gsmgw.bridges.mqtt._requests import RequestHandler, RequestSettings
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

#: One request in this many is valid.
VALID_EVERY = 10
WAIT_TIMEOUT = 120.0


def _valid(rng: random.Random, n: int) -> dict[str, object]:
    request: dict[str, object] = {"to": f"+4917{rng.randrange(10**7, 10**8)}", "text": f"code {n}"}
    request["id"] = f"valid-{n}"
    if rng.random() < 0.5:
        request["priority"] = rng.randrange(-5, 5)
    if rng.random() < 0.3:
        request["send_at"] = "2026-11-24T18:00:00+01:00"
    return request


def _hostile_value(rng: random.Random) -> object:
    return rng.choice(
        [
            None, True, 0, -1, 2**70, 1.5, -0.0, 1e308, "", "x" * rng.randrange(1, 5000),
            [], [1, "a", None], {}, {"nested": {"deeper": [1, 2]}}, "\u0000", "\U0001f600" * 50,
            "+49" + "9" * 40, "١٢٣٤٥٦٧٨٩", "-- DROP TABLE outbox;",
        ]
    )  # fmt: skip


def hostile_payload(rng: random.Random) -> bytes:
    """One malformed or hostile payload (never a valid request)."""
    kind = rng.randrange(12)
    base = {"to": "+491701234567", "text": "hi"}
    if kind == 0:  # truncated JSON
        text = json.dumps({**base, "id": "t"})
        return text[: rng.randrange(len(text) - 1)].encode()
    if kind == 1:  # random bytes, usually not UTF-8
        return rng.randbytes(rng.randrange(1, 200))
    if kind == 2:  # invalid UTF-8 inside otherwise fine JSON
        bad = rng.choice(
            [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80"]
        )
        return b'{"to": "+491701234567", "text": "' + bad + b'"}'
    if kind == 3:  # a wrong type for a known field
        field = rng.choice(["to", "text", "id", "priority", "valid_for", "send_at", "report",
                            "flash", "modem", "encoding", "marketing", "reply_to"])  # fmt: skip
        value = _hostile_value(rng)
        return json.dumps({**base, field: value}).encode()[:-1] + b', "to": 12}'
    if kind == 4:  # unknown fields
        return json.dumps({**base, f"field{rng.randrange(99)}": _hostile_value(rng)}).encode()
    if kind == 5:  # invalid numbers
        number = rng.choice(["NaN", "Infinity", "-Infinity", "1" * 5000, "1e999", "0x10", "01"])
        return f'{{"to": "+491701234567", "text": "hi", "priority": {number}}}'.encode()
    if kind == 6:  # huge strings
        return json.dumps({**base, "text": "y" * rng.choice([40_000, 100_000])}).encode()
    if kind == 7:  # deep nesting
        depth = rng.choice([1000, 50_000])
        return b"[" * depth + b"]" * depth
    if kind == 8:  # not an object
        return json.dumps(rng.choice([[base], "send", 42, None, True])).encode()
    if kind == 9:  # bad numbers and ids
        return json.dumps({**base, "to": rng.choice(["", "abc", "+", "++49", "1" * 30])}).encode()
    if kind == 10:  # lone surrogates and control characters
        return rng.choice([b'{"to": "+491701234567", "text": "\\udc00"}', b'{"to": "\\u0000"}'])
    return rng.choice([b"", b" ", b"null", b"{}", b'{"to": null, "text": null}', b"\x00" * 64])


def payloads(count: int, seed: int = 6) -> list[tuple[bytes, str | None]]:
    """``count`` payloads, one in ``VALID_EVERY`` valid: (payload, id of a valid one)."""
    rng = random.Random(seed)
    result: list[tuple[bytes, str | None]] = []
    for n in range(count):
        if n % VALID_EVERY == 0:
            request = _valid(rng, n)
            result.append((json.dumps(request).encode(), str(request["id"])))
        else:
            result.append((hostile_payload(rng), None))
    return result


async def run_fuzz(mosquitto: Mosquitto, bridges: BridgeFactory, users: Users, count: int) -> None:
    prefix = f"fuzz{random.randrange(10**6)}"
    running = await bridges.start(mosquitto, prefix=prefix)
    user = await users(mosquitto)
    reply_topic = f"{prefix}/client/reply"
    await user.subscribe(reply_topic)
    corpus = payloads(count)
    for index, (payload, _) in enumerate(corpus):
        await user.request(
            running.topics.send,
            payload,
            response_topic=reply_topic,
            correlation_data=index.to_bytes(4, "big"),
        )
    answers: dict[int, dict[str, object]] = {}
    while len(answers) < count:
        message = await asyncio.wait_for(user.inbox.get(), WAIT_TIMEOUT)
        correlation = getattr(message.properties, "CorrelationData", b"")
        assert isinstance(message.payload, bytes)
        index = int.from_bytes(correlation, "big")
        assert index not in answers, "one request, one answer"
        answers[index] = json.loads(message.payload)
    valid_ids = [valid_id for _, valid_id in corpus if valid_id is not None]
    for index, (_, valid_id) in enumerate(corpus):
        if valid_id is not None:
            assert answers[index] == {"id": valid_id, "state": "queued"}
        else:
            assert set(answers[index]) == {"id", "error"}, answers[index]
    assert [r.id for r in running.core.submitted] == valid_ids
    codes = Counter(str(a["error"]["code"]) for a in answers.values() if "error" in a)  # type: ignore[index]
    assert set(codes) <= {"invalid_json", "invalid_request", "invalid_number", "text_too_long"}
    assert running.bridge.connected.is_set()
    assert not running.task.done()


async def test_2000_hostile_payloads(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    await run_fuzz(mosquitto, bridges, users, 2000)


@pytest.mark.slow
async def test_10000_hostile_payloads(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    await run_fuzz(mosquitto, bridges, users, 10_000)


class _NoCore:
    """A core that must not be reached: arbitrary bytes are never a valid request here."""

    async def submit(self, request: object) -> list[object]:
        raise AssertionError(f"submitted {request!r}")

    async def ussd(self, modem: str, code: str) -> str:
        raise AssertionError("ussd")

    async def next_publications(self, limit: int) -> list[object]:
        raise AssertionError("not used")

    async def ack_publication(self, publication_id: int) -> None:
        raise AssertionError("not used")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=8), children, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    ussd=st.booleans(),
    retain=st.booleans(),
)
def test_any_payload_gets_exactly_one_well_formed_answer(
    payload: bytes, ussd: bool, retain: bool
) -> None:
    topics = Topics("gsmgw", "fuzz")
    handler = RequestHandler(_NoCore(), topics, RequestSettings())  # type: ignore[arg-type]
    topic = topics.ussd if ussd else topics.send
    message = ReceivedPublish(topic, payload, qos=1, retain=retain, mid=1, response_topic="r/1")
    try:
        replies = asyncio.run(handler.handle(message))
    except AssertionError:
        # Hypothesis may build a valid request ({"to": "0", "text": ""}): then the core is asked.
        obj = json.loads(payload)
        assert isinstance(obj, dict)
        assert {"to", "text"} <= set(obj) or {"code", "modem"} <= set(obj)
        return
    [reply] = replies
    assert reply.topic == "r/1"
    body = json.loads(reply.payload)
    assert set(body) == {"id", "error"}
    assert set(body["error"]) == {"code", "message"}
