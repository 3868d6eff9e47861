"""The node's own Home Assistant device: events over all modems, notify entities, sensors.

The notify entities go through gsmgw's routing (no ``modem`` in the request): the generic one
takes ``"<number>: <text>"``, and each ``[[homeassistant.notify]]`` target a plain message, as
the removed ``sms`` integration's named notify services did. A request gsmgw refuses lands on
``{prefix}/{node}/errors``, which the "Errors" event and the "Last error" sensor show in HA.
"""

from __future__ import annotations

import json

from gsmgw.bridges.mqtt._discovery import DAY_STARTED, Entity, common, encode, node_device
from gsmgw.bridges.mqtt._events import error_event, send_failed_event, sms_event
from gsmgw.config import NotifyTarget
from gsmgw.core import Topics

__all__ = ["GENERIC_TEMPLATE", "node_messages", "target_template"]

#: notify.send_message's message is "<number>: <text>"; this makes a SPEC.md send request of it.
GENERIC_TEMPLATE = (
    "{% set p = value.split(':', 1) %}"
    "{{ {'to': p[0] | trim, 'text': (p[1] if p | count > 1 else '') | trim} | tojson }}"
)
#: The last refusal as one line; an HA state holds at most 255 characters.
LAST_ERROR_TEMPLATE = (
    "{% set e = value_json.get('error') if value_json is mapping else none %}"
    "{{ ((e.get('code') ~ ': ' ~ e.get('message')) if e is mapping else value)[:255] }}"
)


_QUEUE_STATE: dict[str, object] = {
    "unit_of_measurement": "messages",
    "state_class": "measurement",
    "icon": "mdi:tray",
}
#: The node's counters: (key, name, value template, extra config), from the node status.
_COUNTERS: tuple[tuple[str, str, str, dict[str, object]], ...] = (
    (
        "queue_depth",
        "Queue depth",
        "{{ value_json.queue_depth }}",
        {
            "unit_of_measurement": "messages",
            "state_class": "measurement",
            "icon": "mdi:tray-full",
            # Every state's count as attributes.
            "json_attributes_template": "{{ value_json.queue | tojson }}",
        },
    ),
    *(
        (
            f"queue_{state}",
            f"Queue {state}",
            f"{{{{ value_json.queue.{state} }}}}",
            _QUEUE_STATE,
        )
        for state in ("queued", "retrying", "sending")
    ),
    (
        "sent_today",
        "Sent today",
        "{{ value_json.sent_today }}",
        {
            "unit_of_measurement": "parts",
            "state_class": "total",
            "last_reset_value_template": DAY_STARTED,
            "icon": "mdi:message-arrow-right",
        },
    ),
    (
        "started",
        "Started",
        "{{ value_json.started_at }}",
        {"device_class": "timestamp", "entity_category": "diagnostic"},
    ),
    (
        "modems_ready",
        "Modems ready",
        "{{ value_json.modems_ready }}",
        {"state_class": "measurement", "icon": "mdi:sim"},
    ),
    ("mqtt", "MQTT", "{{ value_json.mqtt }}", {"entity_category": "diagnostic", "icon": "mdi:lan"}),
    (
        "http",
        "HTTP API",
        "{{ value_json.http }}",
        {"entity_category": "diagnostic", "icon": "mdi:api"},
    ),
)


def target_template(target: NotifyTarget) -> str:
    """Return the command template sending a plain message to a named target's numbers."""
    to = json.dumps(target.to[0] if len(target.to) == 1 else list(target.to))
    return f"{{{{ {{'to': {to}, 'text': value}} | tojson }}}}"


def _notify(topics: Topics, object_id: str, name: str, template: str) -> Entity:
    config = common(topics, node_device(topics), object_id) | {
        "name": name,
        "command_topic": topics.node_send,
        "command_template": template,
        "qos": 1,
        "icon": "mdi:message-text",
    }
    return ("notify", object_id, config)


def node_messages(
    topics: Topics, targets: tuple[NotifyTarget, ...] = ()
) -> list[tuple[str, bytes]]:
    """Return every (topic, payload) to publish, retained, for the node's own device."""
    device = node_device(topics)

    def entity(component: str, object_id: str, name: str, config: dict[str, object]) -> Entity:
        return (component, object_id, common(topics, device, object_id) | {"name": name} | config)

    entities: list[Entity] = [
        entity("event", "sms", "SMS received", sms_event(topics, None)),
        entity("event", "send_failed", "Send failed", send_failed_event(topics, None)),
        entity("event", "errors", "Errors", error_event(topics)),
        entity(
            "sensor",
            "last_error",
            "Last error",
            {
                "state_topic": topics.errors,
                "value_template": LAST_ERROR_TEMPLATE,
                "json_attributes_topic": topics.errors,
                "icon": "mdi:alert-circle-outline",
                "entity_category": "diagnostic",
            },
        ),
        _notify(topics, "send", "Send SMS", GENERIC_TEMPLATE),
    ]
    for key, name, template, extra in _COUNTERS:
        config = {"state_topic": topics.status, "value_template": template} | extra
        if "json_attributes_template" in extra:
            config["json_attributes_topic"] = topics.status
        entities.append(entity("sensor", key, name, config))
    entities += [
        _notify(topics, f"notify_{target.slug}", f"SMS {target.name}", target_template(target))
        for target in targets
    ]
    return encode(topics, entities)
