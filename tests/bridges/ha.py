"""Home Assistant's side of MQTT discovery, as far as the tests need it: templates rendered.

HA renders ``value_template`` with Jinja2 in a sandbox, with ``value`` (the payload as text)
and ``value_json`` (the payload parsed, when it is JSON) (``MqttValueTemplate`` in
``homeassistant/components/mqtt/models.py``); an event entity then ignores an empty rendering
and otherwise needs a JSON object with ``event_type`` (``homeassistant/components/mqtt/event.py``).
"""

from __future__ import annotations

import contextlib
import json

import jinja2.sandbox

_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment()


def render(template: str, payload: bytes | str) -> str:
    """Render a value template against a received payload, as HA does."""
    value = payload.decode() if isinstance(payload, bytes) else payload
    variables: dict[str, object] = {"value": value}
    with contextlib.suppress(ValueError):
        variables["value_json"] = json.loads(value)
    return _ENV.from_string(template).render(variables)


def render_command(template: str, value: str) -> str:
    """Render a command template (notify, text) for the value HA passes."""
    return _ENV.from_string(template).render(value=value)


def fire(config: dict[str, object], payload: bytes | str) -> tuple[str, dict[str, object]] | None:
    """Return the (event_type, attributes) an MQTT event entity fires for a payload, or None."""
    template = config.get("value_template")
    rendered = render(template, payload) if isinstance(template, str) else str(payload)
    if not rendered or rendered in ("None", "{}"):
        return None
    attributes = json.loads(rendered)
    assert isinstance(attributes, dict), rendered
    event_type = str(attributes.pop("event_type"))
    event_types = config["event_types"]
    assert isinstance(event_types, list)
    assert event_type in event_types, f"{event_type!r} is not one of {event_types}"
    return event_type, attributes
