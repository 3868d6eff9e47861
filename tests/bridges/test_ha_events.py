"""Inbound SMS, failed messages and refused requests as Home Assistant events and triggers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from gsmgw.bridges.mqtt._discovery import ModemDescription, discovery_messages
from gsmgw.bridges.mqtt._node import node_messages
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto
from tests.bridges.ha import fire, render

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

TOPICS = Topics("gsmgw", "pi-shed")
SMS = {
    "id": "in-1",
    "from": "+491701234567",
    "text": "STATUS? \u00e4\u20ac",
    "modem": "sim1",
    "received_at": "2026-12-06T06:01:02+01:00",
    "smsc": "+491770610000",
    "parts": 1,
    "encoding": "ucs2",
}


def by_topic(messages: list[tuple[str, bytes]]) -> dict[str, dict[str, object]]:
    return {topic: json.loads(payload) for topic, payload in messages}


def modem_config(kind: str, object_id: str, modem: str = "sim1") -> dict[str, object]:
    found = by_topic(discovery_messages(TOPICS, ModemDescription(modem)))
    return found[f"homeassistant/{kind}/gsmgw_pi-shed/{object_id}/config"]


def node_config(object_id: str) -> dict[str, object]:
    return by_topic(node_messages(TOPICS))[f"homeassistant/event/gsmgw_pi-shed/{object_id}/config"]


def test_an_inbound_sms_fires_sms_on_its_modem_and_the_node() -> None:
    event = modem_config("event", "sim1_sms")
    assert event["state_topic"] == "gsmgw/pi-shed/inbox"
    assert event["event_types"] == ["sms"]
    attributes = {
        "id": "in-1",
        "from": "+491701234567",
        "text": "STATUS? \u00e4\u20ac",
        "received_at": "2026-12-06T06:01:02+01:00",
        "modem": "sim1",
        "parts": 1,
        "data_hex": None,
    }
    assert fire(event, json.dumps(SMS)) == ("sms", attributes)
    assert fire(node_config("sms"), json.dumps(SMS)) == ("sms", attributes)
    # Another modem's SMS renders nothing on sim1's entity (HA ignores an empty rendering).
    assert fire(modem_config("event", "sim2_sms", "sim2"), json.dumps(SMS)) is None


def test_a_data_sms_fires_with_its_bytes() -> None:
    data = {k: v for k, v in SMS.items() if k != "text"} | {"data_hex": "CAFE"}
    fired = fire(modem_config("event", "sim1_sms"), json.dumps(data))
    assert fired is not None
    assert fired[1]["text"] is None
    assert fired[1]["data_hex"] == "CAFE"


def test_a_failed_or_expired_message_fires_send_failed_and_other_states_nothing() -> None:
    event = modem_config("event", "sim1_send_failed")
    assert event["state_topic"] == "gsmgw/pi-shed/sms/state"
    failed = {"id": "m-1", "state": "failed", "modem": "sim1", "parts": 1, "error": "CMS 500"}
    failed["at"] = "2026-12-06T05:00:00+00:00"
    fired = fire(event, json.dumps(failed))
    assert fired == (
        "send_failed",
        {
            "id": "m-1",
            "state": "failed",
            "modem": "sim1",
            "error": "CMS 500",
            "at": "2026-12-06T05:00:00+00:00",
        },
    )
    expired = failed | {"state": "expired", "modem": None}
    assert fire(event, json.dumps(expired)) is None  # no modem took it: the node's event says it
    assert fire(node_config("send_failed"), json.dumps(expired)) is not None
    for state in ("queued", "sending", "sent", "delivered", "retrying", "cancelled"):
        assert fire(node_config("send_failed"), json.dumps(failed | {"state": state})) is None


def test_a_refused_request_fires_error_on_the_node() -> None:
    event = node_config("errors")
    assert event["state_topic"] == "gsmgw/pi-shed/errors"
    refusal = {"id": None, "error": {"code": "invalid_number", "message": "'hello' is not..."}}
    assert fire(event, json.dumps(refusal)) == (
        "error",
        {"code": "invalid_number", "message": "'hello' is not...", "id": None, "modem": None},
    )
    undecodable = {"error": {"code": "undecodable", "message": "x"}, "id": "u1", "modem": "sim1"}
    fired = fire(event, json.dumps(undecodable))
    assert fired is not None
    assert fired[1]["modem"] == "sim1"


def test_the_device_trigger_matches_only_its_modems_sms() -> None:
    trigger = modem_config("device_automation", "sim1_sms_received")
    assert trigger["automation_type"] == "trigger"
    assert trigger["topic"] == "gsmgw/pi-shed/inbox"
    assert (trigger["type"], trigger["subtype"]) == ("sms_received", "sim1")
    template = trigger["value_template"]
    assert isinstance(template, str)
    assert render(template, json.dumps(SMS)) == trigger["payload"]
    assert render(template, json.dumps(SMS | {"modem": "sim2"})) != trigger["payload"]
    device = trigger["device"]
    assert isinstance(device, dict)
    assert device["identifiers"] == ["gsmgw_pi-shed_sim1"]


async def test_an_sms_through_a_real_broker_fires_the_event(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto, discovery=True)
    topics = running.topics
    node_id = f"gsmgw_{topics.node}"
    user = await users(mosquitto)
    await user.subscribe(f"homeassistant/event/{node_id}/#", topics.inbox)
    await running.core.enqueue(topics.modem("sim1"), {"state": "ready"}, retain=True)
    configs: dict[str, dict[str, object]] = {}
    while f"homeassistant/event/{node_id}/sim1_sms/config" not in configs:
        message = await user.receive()
        assert isinstance(message.payload, bytes)
        configs[message.topic.value] = json.loads(message.payload)
    await running.core.enqueue(topics.inbox, SMS)
    received = await user.receive(topics.inbox)
    assert isinstance(received.payload, bytes)
    event = configs[f"homeassistant/event/{node_id}/sim1_sms/config"]
    assert event["state_topic"] == received.topic.value
    fired = fire(event, received.payload)
    assert fired is not None
    assert fired[1]["from"] == "+491701234567"
    for topic in configs:  # clear the retained configs of this test's node
        await user.client.publish(topic, b"", qos=1, retain=True)
