"""SPEC.md's MQTT API against a real Mosquitto: requests, replies, errors, USSD, publications."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import json
from typing import TYPE_CHECKING
import uuid

import pytest

from gsmgw.bridges.mqtt import MqttVersion, RequestSettings
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto
from gsmgw.errors import GsmgwError, ModemTimeout, RequestError, StoreError
from gsmgw.models import MessageState

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, RunningBridge, User, Users

VERSIONS = list(MqttVersion)
WAIT_TIMEOUT = 20.0
VALID: dict[str, object] = {"to": "+491701234567", "text": "Your code is 123456", "id": "otp-8f3a"}


async def ask(
    user: User,
    running: RunningBridge,
    payload: bytes | Mapping[str, object],
    *,
    topic: str | None = None,
    correlation: bytes = b"corr-1",
) -> tuple[str, bytes | None]:
    """Publish a request the way each protocol version names its reply topic.

    Returns the reply topic to expect (None if the request cannot name one) and the
    correlation data the reply must carry.
    """
    reply_topic = f"client/{uuid.uuid4().hex[:8]}/reply"
    await user.subscribe(reply_topic, running.topics.errors)
    topic = topic or running.topics.send
    if user.version is MqttVersion.V5:
        await user.request(topic, payload, response_topic=reply_topic, correlation_data=correlation)
        return reply_topic, correlation
    if isinstance(payload, dict):
        await user.request(topic, {**payload, "reply_to": reply_topic})
        return reply_topic, None
    await user.request(topic, payload)
    return running.topics.errors, None


@pytest.mark.parametrize("version", VERSIONS)
async def test_accepted_request_is_submitted_and_answered(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users, version: MqttVersion
) -> None:
    running = await bridges.start(mosquitto, version=version)
    user = await users(mosquitto, version)
    reply_topic, correlation = await ask(user, running, VALID)
    reply = await user.receive(reply_topic)
    assert json.loads(reply.payload) == {"id": "otp-8f3a", "state": "queued"}
    if version is MqttVersion.V5:
        assert getattr(reply.properties, "CorrelationData", None) == correlation
    [request] = running.core.submitted
    assert request.to == ("+491701234567",)
    assert request.text == "Your code is 123456"


@pytest.mark.parametrize("version", VERSIONS)
async def test_node_topic_and_lists_and_existing_state(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users, version: MqttVersion
) -> None:
    running = await bridges.start(mosquitto, version=version)
    running.core.states["batch-1:2"] = MessageState.DELIVERED
    user = await users(mosquitto, version)
    payload = {"to": ["+491701234567", "+491701234568"], "text": "hi", "id": "batch-1"}
    reply_topic, _ = await ask(user, running, payload, topic=running.topics.node_send)
    first = await user.receive_json(reply_topic)
    second = await user.receive_json(reply_topic)
    assert [first, second] == [
        {"id": "batch-1:1", "state": "queued"},
        {"id": "batch-1:2", "state": "delivered"},
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_one_refused_recipient_of_a_list(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users, version: MqttVersion
) -> None:
    running = await bridges.start(mosquitto, version=version)
    running.core.refuse["list-1:2"] = RequestError("destination_blocked", "opted out")
    user = await users(mosquitto, version)
    payload = {"to": ["+491701234567", "+491701234568"], "text": "hi", "id": "list-1"}
    reply_topic, _ = await ask(user, running, payload)
    first = await user.receive_json(reply_topic)
    second = await user.receive_json(reply_topic)
    assert first == {"id": "list-1:1", "state": "queued"}
    assert second == {
        "id": "list-1:2",
        "error": {"code": "destination_blocked", "message": "opted out"},
    }


ERROR_CASES: list[tuple[str, bytes | Mapping[str, object], GsmgwError | None]] = [
    ("invalid_json", b'{"to": "+491701234567", "text": ', None),
    ("invalid_json", b'\xff\xfe{"to": 1}', None),
    ("invalid_json", b'{"to": "+491701234567", "text": "x", "priority": NaN}', None),
    ("invalid_json", b'{"text": "\\ud800", "to": "+491701234567"}', None),
    ("invalid_request", b"[1, 2, 3]", None),
    ("invalid_request", {"to": "+491701234567", "id": "no-text"}, None),
    ("invalid_request", {**VALID, "colour": "red"}, None),
    ("invalid_request", {**VALID, "priority": "high"}, None),
    ("invalid_number", {**VALID, "to": "call me maybe"}, None),
    ("text_too_long", {**VALID, "text": "x" * 40_000}, None),
    ("unknown_modem", {**VALID, "modem": "nope"}, None),
    ("destination_blocked", {**VALID, "marketing": True}, RequestError("destination_blocked", "x")),
    ("queue_full", VALID, RequestError("queue_full", "the outbox holds 1000000 messages")),
    ("internal_error", VALID, StoreError("database or disk is full")),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("code", "payload", "failure"), ERROR_CASES)
async def test_every_error_code_is_answered(
    mosquitto: Mosquitto,
    bridges: BridgeFactory,
    users: Users,
    version: MqttVersion,
    code: str,
    payload: bytes | Mapping[str, object],
    failure: GsmgwError | None,
) -> None:
    running = await bridges.start(mosquitto, version=version)
    running.core.fail_next = failure
    user = await users(mosquitto, version)
    reply_topic, correlation = await ask(user, running, payload)
    reply = await user.receive(reply_topic)
    body = json.loads(reply.payload)
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    expected_id = payload.get("id") if isinstance(payload, dict) else None
    assert body == {"id": expected_id, "error": body["error"]}
    if correlation is not None:
        assert getattr(reply.properties, "CorrelationData", None) == correlation
    assert running.core.submitted == []


async def test_rejection_without_reply_topic_goes_to_errors(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto)
    user = await users(mosquitto)
    await user.subscribe(running.topics.errors)
    await user.request(running.topics.send, {"to": "+491701234567", "id": "x-1"})
    body = await user.receive_json(running.topics.errors)
    assert body["id"] == "x-1"
    assert body["error"]["code"] == "invalid_request"
    # An accepted request without reply topic is answered by its state events only.
    await user.request(running.topics.send, VALID)
    await user.request(running.topics.send, {"to": "+491701234567", "id": "x-2"})
    body = await user.receive_json(running.topics.errors)
    assert body["id"] == "x-2"
    assert [r.id for r in running.core.submitted] == ["otp-8f3a"]


async def test_oversized_payload_is_refused_before_parsing(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto, requests=RequestSettings(max_payload=100))
    user = await users(mosquitto)
    reply_topic, _ = await ask(user, running, {**VALID, "text": "y" * 200})
    body = await user.receive_json(reply_topic)
    assert body["error"]["code"] == "invalid_request"
    assert "limit is 100" in body["error"]["message"]


async def test_rate_limit_per_client_topic(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    settings = RequestSettings(rate=0.001, burst=2)
    running = await bridges.start(mosquitto, requests=settings)
    user = await users(mosquitto)
    reply_topic = f"client/{uuid.uuid4().hex[:8]}/reply"
    await user.subscribe(reply_topic)
    for n in range(3):
        await user.request(
            running.topics.send, {**VALID, "id": f"r-{n}"}, response_topic=reply_topic
        )
    answers = [await user.receive_json(reply_topic) for _ in range(3)]
    assert [a.get("state") for a in answers[:2]] == ["queued", "queued"]
    assert answers[2]["error"]["code"] == "rate_limited"
    # Another client's bucket is its own.
    other_reply, _ = await ask(user, running, {**VALID, "id": "other"})
    assert (await user.receive_json(other_reply)) == {"id": "other", "state": "queued"}


async def test_retained_request_is_refused(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    """A retained request would be taken again on every new subscription: refused."""
    topics = Topics("gsmgw", f"node-{uuid.uuid4().hex[:8]}")
    user = await users(mosquitto)
    await user.subscribe(topics.errors)
    await user.request(topics.node_send, VALID, retain=True)
    running = await bridges.start(mosquitto, node=topics.node)
    body = await user.receive_json(topics.errors)
    assert body["error"]["code"] == "invalid_request"
    assert "retained" in body["error"]["message"]
    await user.client.publish(topics.node_send, b"", qos=1, retain=True)  # clear it
    assert running.core.submitted == []


async def test_reply_topic_that_is_a_request_topic_is_not_used(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto)
    user = await users(mosquitto)
    await user.subscribe(running.topics.errors)
    payload = {"to": "+491701234567", "id": "loop", "reply_to": running.topics.send}
    await user.request(running.topics.send, payload)
    body = await user.receive_json(running.topics.errors)
    assert body["id"] == "loop"


@pytest.mark.parametrize("version", VERSIONS)
async def test_ussd(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users, version: MqttVersion
) -> None:
    running = await bridges.start(mosquitto, version=version)
    user = await users(mosquitto, version)
    reply_topic, _ = await ask(
        user, running, {"code": "*100#", "modem": "sim1"}, topic=running.topics.ussd
    )
    assert (await user.receive_json(reply_topic)) == {
        "id": None,
        "modem": "sim1",
        "code": "*100#",
        "answer": "balance for *100# on sim1: 4.20 EUR",
    }
    running.core.fail_next = ModemTimeout("AT+CUSD", 30.0)
    reply_topic, _ = await ask(
        user, running, {"code": "*100#", "modem": "sim1", "id": "u"}, topic=running.topics.ussd
    )
    body = await user.receive_json(reply_topic)
    assert body["id"] == "u"
    assert body["error"]["code"] == "ussd_failed"
    reply_topic, _ = await ask(
        user, running, {"code": "rm -rf", "modem": "sim1"}, topic=running.topics.ussd
    )
    assert (await user.receive_json(reply_topic))["error"]["code"] == "invalid_request"
    assert running.core.ussd_calls == [("sim1", "*100#")]


async def test_ussd_without_reply_topic_is_refused(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto)
    user = await users(mosquitto)
    await user.subscribe(running.topics.errors)
    await user.request(running.topics.ussd, {"code": "*100#", "modem": "sim1"})
    body = await user.receive_json(running.topics.errors)
    assert "reply topic" in body["error"]["message"]
    assert running.core.ussd_calls == []


async def test_publications_reach_their_topics_and_are_acked(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto)
    user = await users(mosquitto)
    topics = running.topics
    await user.subscribe(topics.inbox, topics.state, topics.modem("sim1"))
    core = running.core
    inbound = {"id": "in-1", "from": "+491701234567", "text": "hello"}
    event = {"id": "otp-8f3a", "state": "sent", "modem": "sim1", "parts": 1}
    modem = {"state": "ready", "signal": -71}
    await core.enqueue(topics.inbox, inbound)
    await core.enqueue(topics.state, event)
    await core.enqueue(topics.modem("sim1"), modem, retain=True)
    await core.enqueue("gsmgw/bad/+/topic", {"never": "published"})
    assert (await user.receive_json(topics.inbox)) == inbound
    assert (await user.receive_json(topics.state)) == event
    message = await user.receive(topics.modem("sim1"))
    assert json.loads(message.payload) == modem
    await core.wait_drained()
    assert sorted(core.acked) == [1, 2, 3, 4]  # the invalid topic is dropped, not stuck


async def test_a_store_that_cannot_write_delays_publications_and_stops_nothing(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    """A full disk refuses reads and acknowledgements for a while (issue 14).

    Proves: the bridge keeps running and answering requests; each entry reaches the broker
    once (no republishing in a loop while its acknowledgement waits); every acknowledgement
    is written once the store takes it, and later publications flow again.
    """
    running = await bridges.start(mosquitto, store_retry_delay=0.01, store_retry_max_delay=0.05)
    user = await users(mosquitto)
    topics, core = running.topics, running.core
    await user.subscribe(topics.inbox)
    core.read_failures, core.ack_failures = 2, 5
    for n in range(3):
        await core.enqueue(topics.inbox, {"id": f"in-{n}"})
    assert [(await user.receive_json(topics.inbox))["id"] for _ in range(3)] == [
        "in-0",
        "in-1",
        "in-2",
    ]
    reply_topic, _ = await ask(user, running, VALID)
    assert (await user.receive_json(reply_topic))["state"] == "queued"
    await core.wait_drained()
    assert sorted(core.acked) == [1, 2, 3]
    assert (core.read_failures, core.ack_failures) == (0, 0)
    await core.enqueue(topics.inbox, {"id": "in-3"})
    assert (await user.receive_json(topics.inbox))["id"] == "in-3"
    await core.wait_drained()
    assert user.inbox.empty(), "an entry was published again"
    assert not running.task.done()


async def test_online_then_offline_on_clean_stop(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto)
    user = await users(mosquitto)
    await user.subscribe(running.topics.availability)
    online = await user.receive(running.topics.availability)
    assert (online.payload, online.retain) == (b"online", True)
    await running.stop()
    offline = await user.receive(running.topics.availability)
    assert offline.payload == b"offline"


async def test_requests_survive_a_bridge_restart(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    """Requests published while the bridge is down wait in its session (none lost)."""
    first = await bridges.start(mosquitto)
    node, core = first.topics.node, first.core
    await first.stop()
    user = await users(mosquitto)
    for n in range(20):
        await user.request(first.topics.send, {**VALID, "id": f"while-away-{n}"})
    second = await bridges.start(mosquitto, node=node, core=core)
    await user.subscribe(second.topics.errors)
    await user.request(second.topics.send, {"to": "+491701234567", "id": "sentinel"})
    assert (await user.receive_json(second.topics.errors))["id"] == "sentinel"
    assert [r.id for r in core.submitted] == [f"while-away-{n}" for n in range(20)]


async def test_broker_restart_reconnects_resubscribes_and_publishes_backlog(
    private_mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(private_mosquitto)
    private_mosquitto.stop()
    # Publications made while the broker is away are kept and published once it is back.
    for n in range(10):
        await running.core.enqueue(running.topics.inbox, {"id": f"in-{n}"})
    await asyncio.wait_for(running.bridge.disconnected.wait(), WAIT_TIMEOUT)
    private_mosquitto.start()
    await running.wait_connected()
    await running.core.wait_drained()
    user = await users(private_mosquitto)
    reply_topic, _ = await ask(user, running, VALID)
    assert (await user.receive_json(reply_topic))["state"] == "queued"
    assert len(running.core.acked) == 10
