"""Home Assistant MQTT discovery payloads, checked against the documented schema."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from gsmgw import __version__
from gsmgw.bridges.mqtt._discovery import (
    SENSORS,
    STATUS_TOPIC,
    Announcer,
    ModemDescription,
    discovery_messages,
)
from gsmgw.bridges.mqtt._node import node_messages
from gsmgw.config import NotifyTarget
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto
from tests.bridges.ha import check_values

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

# https://www.home-assistant.io/integrations/mqtt/#discovery-topic
TOPIC = re.compile(
    r"homeassistant/(sensor|notify|event|device_automation|text)/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/config"
)
COMMON_KEYS = {
    "availability", "availability_mode", "availability_template", "availability_topic",
    "device", "enabled_by_default", "encoding", "entity_category", "icon",
    "json_attributes_template", "json_attributes_topic", "name", "object_id", "origin",
    "payload_available", "payload_not_available", "qos", "unique_id", "platform",
    "default_entity_id",
}  # fmt: skip
# https://www.home-assistant.io/integrations/sensor.mqtt/#configuration-variables
SENSOR_KEYS = COMMON_KEYS | {
    "device_class", "entity_picture", "expire_after", "force_update", "last_reset_value_template",
    "options", "state_class", "state_topic", "suggested_display_precision",
    "unit_of_measurement", "value_template",
}  # fmt: skip
# https://www.home-assistant.io/integrations/notify.mqtt/#configuration-variables
NOTIFY_KEYS = COMMON_KEYS | {"command_template", "command_topic", "retain"}
# https://www.home-assistant.io/integrations/event.mqtt/#configuration-variables
EVENT_KEYS = COMMON_KEYS | {"device_class", "event_types", "state_topic", "value_template"}
# https://www.home-assistant.io/integrations/device_trigger.mqtt/#configuration-variables
TRIGGER_KEYS = {
    "automation_type", "device", "payload", "qos", "subtype", "topic", "type", "value_template",
}  # fmt: skip
# https://www.home-assistant.io/integrations/text.mqtt/#configuration-variables
TEXT_KEYS = COMMON_KEYS | {
    "command_template", "command_topic", "max", "min", "mode", "optimistic", "pattern", "retain",
    "state_topic", "value_template",
}  # fmt: skip
KEYS = {
    "text": TEXT_KEYS,
    "sensor": SENSOR_KEYS,
    "notify": NOTIFY_KEYS,
    "event": EVENT_KEYS,
    "device_automation": TRIGGER_KEYS,
}
REQUIRED = {
    "text": {"command_topic"},
    "sensor": {"state_topic"},
    "notify": {"command_topic"},
    "event": {"state_topic", "event_types"},
    "device_automation": {"automation_type", "device", "subtype", "topic", "type"},
}
DEVICE_KEYS = {
    "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model",
    "model_id", "name", "serial_number", "suggested_area", "sw_version", "via_device",
}  # fmt: skip
TOPICS = Topics("gsmgw", "pi-shed")
MODEM = ModemDescription("sim1", "SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "LE20B04SIM7600M22")


def configs(modem: ModemDescription = MODEM) -> list[tuple[str, dict[str, object]]]:
    return [(topic, json.loads(payload)) for topic, payload in discovery_messages(TOPICS, modem)]


def test_topics_and_keys_follow_the_schema() -> None:
    found = configs()
    components = [TOPIC.fullmatch(topic) for topic, _ in found]
    assert all(components)
    for match, (_, config) in zip(components, found, strict=True):
        assert match is not None
        component = match.group(1)
        assert REQUIRED[component] <= set(config)
        assert set(config) <= KEYS[component]
        if component == "device_automation":
            continue
        assert config["availability_topic"] == "gsmgw/pi-shed/availability"
        assert (config["payload_available"], config["payload_not_available"]) == (
            "online",
            "offline",
        )
        check_values(component, config)
    unique_ids = [config["unique_id"] for _, config in found if "unique_id" in config]
    assert len(set(unique_ids)) == len(unique_ids) == len(found) - 1  # all but the trigger
    assert len({topic for topic, _ in found}) == len(found)
    targets = (NotifyTarget(name="Alice", to=("+491701234567",)),)
    nodes = [(t, json.loads(p)) for t, p in node_messages(TOPICS, targets)]
    for topic, config in nodes:
        match = TOPIC.fullmatch(topic)
        assert match is not None
        assert REQUIRED[match.group(1)] <= set(config) <= KEYS[match.group(1)]
        check_values(match.group(1), config)
    node_ids = {config["unique_id"] for _, config in nodes}
    assert len(node_ids) == len(nodes)
    assert not node_ids & set(unique_ids)


@pytest.mark.parametrize(
    ("component", "config"),
    [
        ("sensor", {"device_class": "signal_strength", "unit_of_measurement": "%"}),
        ("sensor", {"device_class": "signal", "unit_of_measurement": "dBm"}),
        ("sensor", {"device_class": "timestamp", "state_class": "measurement"}),
        ("sensor", {"state_class": "total_increasing", "last_reset_value_template": "{{ 0 }}"}),
        ("sensor", {"state_class": "daily"}),
        ("sensor", {"entity_category": "system"}),
        ("event", {"event_types": [], "state_topic": "t"}),
        ("event", {"event_types": ["sms"], "device_class": "sms"}),
        ("text", {"command_topic": "t", "max": 300}),
        ("phone", {}),
    ],
)
def test_values_home_assistant_refuses_are_caught(
    component: str, config: dict[str, object]
) -> None:
    with pytest.raises(AssertionError):
        check_values(component, config)


def test_one_device_per_modem() -> None:
    devices = [config["device"] for _, config in configs()]
    assert all(device == devices[0] for device in devices)
    device = devices[0]
    assert isinstance(device, dict)
    assert set(device) <= DEVICE_KEYS
    assert device == {
        "identifiers": ["gsmgw_pi-shed_sim1"],
        "name": "gsmgw pi-shed sim1",
        "manufacturer": "SIMCOM INCORPORATED",
        "model": "SIMCOM_SIM7600E-H",
        "sw_version": "LE20B04SIM7600M22",
    }
    other = configs(ModemDescription("sim2"))[0][1]["device"]
    assert isinstance(other, dict)
    assert other["identifiers"] == ["gsmgw_pi-shed_sim2"]
    assert (other["manufacturer"], other["sw_version"]) == ("gsmgw", __version__)


@pytest.mark.parametrize(
    ("key", "device_class", "unit"),
    [("signal", "signal_strength", "dBm"), ("registration", None, None)],
)
def test_sensors_read_the_retained_modem_state(
    key: str, device_class: str | None, unit: str | None
) -> None:
    by_id = {config.get("unique_id"): config for _, config in configs()}
    sensor = by_id[f"gsmgw_pi-shed_sim1_{key}"]
    assert sensor["state_topic"] == "gsmgw/pi-shed/modem/sim1"
    assert sensor["value_template"] == f"{{{{ value_json.{key} }}}}"
    assert sensor.get("device_class") == device_class
    assert sensor.get("unit_of_measurement") == unit


def test_every_asked_for_sensor_exists() -> None:
    keys = {sensor.key for sensor in SENSORS}
    wanted = {"signal", "operator", "registration", "queue_depth", "sent_today", "last_error"}
    assert wanted <= keys


def test_notify_sends_a_request_for_this_modem() -> None:
    [(topic, notify)] = [(t, c) for t, c in configs() if "/notify/" in t]  # the modem's
    assert topic == "homeassistant/notify/gsmgw_pi-shed/sim1_send/config"
    assert notify["command_topic"] == "gsmgw/pi-shed/send"
    template = notify["command_template"]
    assert isinstance(template, str)
    assert "value.split(':', 1)" in template
    assert "'modem': \"sim1\"" in template
    assert template.endswith("| tojson }}")


def test_identity_is_read_leniently() -> None:
    state = {"manufacturer": "Quectel", "model": 7, "revision": ""}
    assert ModemDescription.from_state("q", state) == ModemDescription("q", "Quectel")


def test_announcer_announces_once_per_identity_and_connection() -> None:
    announcer = Announcer(TOPICS)
    state = json.dumps({"state": "ready", "manufacturer": "Quectel"}).encode()
    assert announcer.pending("sim1", state)
    announcer.announced("sim1")
    assert announcer.pending("sim1", state) == []
    assert announcer.pending("sim1", b"{not json") != []  # identity changed: announce again
    announcer.announced("sim1")
    announcer.reset()
    assert announcer.pending("sim1", b"{not json") != []
    assert [modem for modem, _ in announcer.everything()] == ["sim1"]


async def test_bridge_announces_modems_and_again_when_home_assistant_restarts(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto, discovery=True)
    node_id = f"gsmgw_{running.topics.node}"
    user = await users(mosquitto)
    await user.subscribe(f"homeassistant/+/{node_id}/#")
    await running.core.enqueue(
        running.topics.modem("sim1"), {"state": "ready", "model": "EC25"}, retain=True
    )
    topics = running.topics
    expected = {t for t, _ in discovery_messages(topics, MODEM) + node_messages(topics)}

    async def collect() -> dict[str, list[bool]]:
        """Receive until every config came; return each topic's retain flags."""
        seen: dict[str, list[bool]] = {}
        while not expected <= set(seen):
            message = await user.receive()
            seen.setdefault(message.topic.value, []).append(message.retain)
        return seen

    announced = await collect()
    assert set(announced) == expected
    # The modem's configs are live (after its state), not from the store; the node's went
    # out when the bridge connected, perhaps before this user subscribed.
    live = [flags for topic, flags in announced.items() if "/sim1_" in topic]
    assert len(live) == len(discovery_messages(TOPICS, MODEM))
    assert all(flags[0] is False for flags in live)
    components = {topic.split("/")[1] for topic in announced}
    assert components == {"sensor", "notify", "event", "device_automation", "text"}
    await user.client.publish(STATUS_TOPIC, b"online", qos=1)
    assert set(await collect()) == expected
    for topic in announced:  # clear the retained configs of this test's node
        await user.client.publish(topic, b"", qos=1, retain=True)
