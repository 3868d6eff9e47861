"""Sensors that are true: counters from the node status, current, coalesced, read right by HA."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest

from gsmgw.bridges.mqtt._discovery import ModemDescription, discovery_messages
from gsmgw.bridges.mqtt._node import node_messages
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto
from tests.bridges.ha import render

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

TOPICS = Topics("gsmgw", "pi-shed")
STATUS = {
    "node": "pi-shed",
    "started_at": "2026-12-06T05:00:00+01:00",
    "uptime": 3600,
    "mqtt": "connected",
    "http": "off",
    "queue": {"queued": 3, "sending": 1, "retrying": 2, "sent": 9, "failed": 0},
    "queue_depth": 6,
    "sent_today": 14,
    "day_started_at": "2026-12-06T00:00:00+01:00",
    "modems_ready": 1,
    "modems": {"sim1": {"queue_depth": 4, "sent_today": 11}},
}


def sensors(messages: list[tuple[str, bytes]]) -> dict[str, dict[str, object]]:
    return {
        topic.split("/")[3]: json.loads(payload)
        for topic, payload in messages
        if topic.startswith("homeassistant/sensor/")
    }


def value(config: dict[str, object], payload: object) -> str:
    template = config["value_template"]
    assert isinstance(template, str)
    return render(template, json.dumps(payload))


def test_modem_counters_read_the_node_status() -> None:
    found = sensors(discovery_messages(TOPICS, ModemDescription("sim1")))
    depth, sent = found["sim1_queue_depth"], found["sim1_sent_today"]
    assert depth["state_topic"] == sent["state_topic"] == "gsmgw/pi-shed/status"
    assert (value(depth, STATUS), value(sent, STATUS)) == ("4", "11")
    assert value(depth, STATUS | {"modems": {}}) == "None"  # HA: unknown, not an error
    # A daily total: HA's statistics take the new cycle from last_reset, not a fall as a reset.
    assert (depth["state_class"], sent["state_class"]) == ("measurement", "total")
    template = sent["last_reset_value_template"]
    assert isinstance(template, str)
    assert render(template, json.dumps(STATUS)) == "2026-12-06T00:00:00+01:00"


@pytest.mark.parametrize(("dbm", "percent"), [(-113, "0"), (-51, "100"), (-80, "53"), (-40, "100")])
def test_signal_in_percent(dbm: int, percent: str) -> None:
    sensor = sensors(discovery_messages(TOPICS, ModemDescription("sim1")))["sim1_signal_percent"]
    assert sensor["state_topic"] == "gsmgw/pi-shed/modem/sim1"
    assert sensor["unit_of_measurement"] == "%"
    assert value(sensor, {"signal": dbm}) == percent
    assert value(sensor, {"signal": None}) == "None"


def test_the_node_device_has_its_counters() -> None:
    found = sensors(node_messages(TOPICS))
    rendered = {key: value(config, STATUS) for key, config in found.items() if key != "last_error"}
    assert rendered == {
        "queue_depth": "6",
        "queue_queued": "3",
        "queue_retrying": "2",
        "queue_sending": "1",
        "sent_today": "14",
        "started": "2026-12-06T05:00:00+01:00",
        "modems_ready": "1",
        "mqtt": "connected",
        "http": "off",
    }
    assert found["started"]["device_class"] == "timestamp"
    assert found["sent_today"]["state_class"] == "total"
    attributes = found["queue_depth"]["json_attributes_template"]
    assert isinstance(attributes, str)
    assert json.loads(render(attributes, json.dumps(STATUS))) == STATUS["queue"]


async def test_counters_follow_the_queue_coalesced(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    """Before: queue depth and sent today moved only with a modem's health; now with each event."""
    running = await bridges.start(mosquitto, status_interval=0.5)
    topics, core = running.topics, running.core
    user = await users(mosquitto)
    await user.subscribe(topics.status)
    first = await user.receive(topics.status)
    assert first.retain  # published on connect, kept for HA's restart
    core.status = dict(STATUS)
    reads = core.status_reads
    for n in range(30):  # a burst of state events
        await core.enqueue(topics.state, {"id": f"m{n}", "state": "sent"})
    await core.wait_drained()
    while True:
        message = await user.receive(topics.status)
        assert isinstance(message.payload, bytes)
        if json.loads(message.payload) == STATUS:
            break
    await asyncio.sleep(1.2)  # what a burst may still cause: one more, no more
    assert core.status_reads - reads <= 3
