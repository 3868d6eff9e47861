"""Notify as Home Assistant users expect: through routing, named targets, refusals visible."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from gsmgw.bridges.mqtt._node import node_messages
from gsmgw.config import NotifyTarget, parse_config
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto
from gsmgw.errors import ConfigError, RequestError
from gsmgw.models import SendRequest
from tests.bridges.ha import fire, render, render_command

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

TOPICS = Topics("gsmgw", "pi-shed")
ALICE = NotifyTarget(name="Alice", to=("+491701234567",))
FAMILY = NotifyTarget(name="Family & friends", to=("+491701234567", "01712345678"))


def node_configs(
    targets: tuple[NotifyTarget, ...] = (ALICE, FAMILY),
) -> dict[str, dict[str, object]]:
    return {topic: json.loads(payload) for topic, payload in node_messages(TOPICS, targets)}


def config(kind: str, object_id: str) -> dict[str, object]:
    return node_configs()[f"homeassistant/{kind}/gsmgw_pi-shed/{object_id}/config"]


def request(template: object, message: str) -> SendRequest:
    assert isinstance(template, str)
    return SendRequest.from_json(json.loads(render_command(template, message)))


def test_config_reads_named_targets() -> None:
    text = """
[[homeassistant.notify]]
name = "Alice"
to = "+491701234567"

[[homeassistant.notify]]
name = "Family & friends"
to = ["+491701234567", "0171 2345678"]
"""
    targets = parse_config(text).notify_targets
    assert targets == (ALICE, FAMILY)
    assert [t.slug for t in targets] == ["alice", "family_friends"]
    assert parse_config("").notify_targets == ()


@pytest.mark.parametrize(
    ("entry", "key", "problem"),
    [
        ('name = "A"', "homeassistant.notify[0].to", "a number or a list"),
        ('name = "A"\nto = "call me"', "homeassistant.notify[0].to", "not a phone number"),
        ('name = "A"\nto = 5', "homeassistant.notify[0].to", "list of strings"),
        ('to = "+4917012"', "homeassistant.notify[0].name", "1 to 64"),
        ('name = "A"\nto = "+4917012"\nrecipient = "x"', "recipient", "unknown key"),
    ],
)
def test_config_errors_name_the_target(entry: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[[homeassistant.notify]]\n{entry}\n")
    assert key in str(caught.value)
    assert problem in str(caught.value)


def test_two_targets_of_one_name_are_refused() -> None:
    entry = '[[homeassistant.notify]]\nname = "Bob"\nto = "+4917012"\n'
    with pytest.raises(ConfigError, match="second target"):
        parse_config(entry + entry.replace("Bob", "bob"))


def test_the_generic_notify_goes_through_routing() -> None:
    notify = config("notify", "send")
    assert notify["command_topic"] == "gsmgw/pi-shed/send"
    sent = request(notify["command_template"], "+491701234567: internet is down")
    assert (sent.to, sent.text, sent.modem) == (("+491701234567",), "internet is down", None)
    with pytest.raises(RequestError) as refused:  # what a generic blueprint sends
        request(notify["command_template"], "internet is down")
    assert refused.value.code == "invalid_number"


def test_a_named_target_takes_a_plain_message() -> None:
    alice = request(config("notify", "notify_alice")["command_template"], "Door: open: now")
    assert (alice.to, alice.text, alice.modem) == (("+491701234567",), "Door: open: now", None)
    family = request(config("notify", "notify_family_friends")["command_template"], 'say "hi"')
    assert family.to == ("+491701234567", "01712345678")
    assert family.text == 'say "hi"'
    assert config("notify", "notify_alice")["name"] == "SMS Alice"


def test_last_error_sensor_shows_the_refusal() -> None:
    sensor = config("sensor", "last_error")
    assert sensor["state_topic"] == "gsmgw/pi-shed/errors"
    refusal = {"id": None, "error": {"code": "invalid_number", "message": "not a number"}}
    template = sensor["value_template"]
    assert isinstance(template, str)
    assert render(template, json.dumps(refusal)) == "invalid_number: not a number"
    long = {"error": {"code": "x", "message": "y" * 400}}
    assert len(render(template, json.dumps(long))) == 255


async def test_a_refused_notify_is_visible_in_home_assistant(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users
) -> None:
    """A plain message on the generic entity: refused on the errors topic, fired as an event."""
    running = await bridges.start(mosquitto, discovery=True, notify_targets=(ALICE,))
    topics = running.topics
    node_id = f"gsmgw_{topics.node}"
    user = await users(mosquitto)
    await user.subscribe(f"homeassistant/+/{node_id}/#", topics.errors)
    configs: dict[str, dict[str, object]] = {}
    wanted = {f"homeassistant/{c}/{node_id}/{o}/config" for c, o in _NODE_ENTITIES}
    while not wanted <= set(configs):
        message = await user.receive()
        assert isinstance(message.payload, bytes)
        if message.payload:
            configs[message.topic.value] = json.loads(message.payload)
    generic = configs[f"homeassistant/notify/{node_id}/send/config"]
    alice = configs[f"homeassistant/notify/{node_id}/notify_alice/config"]
    for notify, text in ((alice, "dinner is ready"), (generic, "internet is down")):
        template = notify["command_template"]
        assert isinstance(template, str)
        payload = render_command(template, text).encode()
        await user.client.publish(str(notify["command_topic"]), payload, qos=1)
    refusal = await user.receive(topics.errors)
    assert isinstance(refusal.payload, bytes)
    fired = fire(configs[f"homeassistant/event/{node_id}/errors/config"], refusal.payload)
    assert fired is not None
    assert fired[0] == "error"
    assert fired[1]["code"] == "invalid_number"
    [submitted] = running.core.submitted
    assert (submitted.to, submitted.text, submitted.modem) == (
        ("+491701234567",),
        "dinner is ready",
        None,
    )
    for topic in configs:  # clear the retained configs of this test's node
        await user.client.publish(topic, b"", qos=1, retain=True)


_NODE_ENTITIES = (("notify", "send"), ("notify", "notify_alice"), ("event", "errors"))
