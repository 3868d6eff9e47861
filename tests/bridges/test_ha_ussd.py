"""USSD from Home Assistant: a text entity per modem and a sensor with the last answer."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from gsmgw.bridges.mqtt._discovery import ModemDescription, discovery_messages
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto
from tests.bridges.ha import render, render_command

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users


def entities(topics: Topics) -> dict[str, dict[str, object]]:
    messages = discovery_messages(topics, ModemDescription("sim1"))
    return {topic: json.loads(payload) for topic, payload in messages}


def test_the_code_pattern_takes_codes_only() -> None:
    found = entities(Topics("gsmgw", "pi-shed"))
    text = found["homeassistant/text/gsmgw_pi-shed/sim1_ussd/config"]
    pattern = text["pattern"]
    assert isinstance(pattern, str)
    assert re.fullmatch(pattern, "*100#")
    assert not re.fullmatch(pattern, "hello")
    answer = found["homeassistant/sensor/gsmgw_pi-shed/sim1_ussd_answer/config"]
    template = answer["value_template"]
    assert isinstance(template, str)
    refusal = {"id": None, "error": {"code": "ussd_failed", "message": "no answer"}}
    assert render(template, json.dumps(refusal)) == "ussd_failed: no answer"
    assert len(render(template, json.dumps({"answer": "x" * 300}))) == 255


async def test_a_code_entered_in_home_assistant_gets_its_answer(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    running = await bridges.start(mosquitto)
    topics = running.topics
    found = entities(topics)
    node_id = f"gsmgw_{topics.node}"
    text = found[f"homeassistant/text/{node_id}/sim1_ussd/config"]
    answer = found[f"homeassistant/sensor/{node_id}/sim1_ussd_answer/config"]
    user = await users(mosquitto)
    await user.subscribe(str(answer["state_topic"]))
    template = text["command_template"]
    assert isinstance(template, str)
    payload = render_command(template, "*100#").encode()
    await user.client.publish(str(text["command_topic"]), payload, qos=1)
    reply = await user.receive(str(answer["state_topic"]))
    assert isinstance(reply.payload, bytes)
    assert running.core.ussd_calls == [("sim1", "*100#")]
    shown = answer["value_template"]
    assert isinstance(shown, str)
    assert render(shown, reply.payload) == "balance for *100# on sim1: 4.20 EUR"
