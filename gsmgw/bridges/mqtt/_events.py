"""Home Assistant MQTT ``event`` entities and device triggers over the node's own topics.

An inbound SMS, a message that failed and a refused request become HA events without any
topic of their own: each entity listens to the SPEC.md topic that carries the fact (``inbox``,
``sms/state``, ``errors``) and its ``value_template`` renders the ``{"event_type": ...}`` JSON
that HA's MQTT event platform wants, or nothing for a message that is not its concern (another
modem's SMS, a state that is not a failure): HA ignores an empty rendering quietly
(``homeassistant/components/mqtt/event.py``). So the events are exactly as durable as the
topics they read: an SMS is published until the broker has it, and HA sees it then.
"""

from __future__ import annotations

import json

from gsmgw.core import Topics

__all__ = [
    "ERROR_EVENT",
    "FAILED_STATES",
    "SEND_FAILED_EVENT",
    "SMS_EVENT",
    "TRIGGER_TYPE",
    "error_event",
    "send_failed_event",
    "sms_event",
    "sms_trigger",
]

SMS_EVENT = "sms"
SEND_FAILED_EVENT = "send_failed"
ERROR_EVENT = "error"
#: Outbound states that end a message without delivery: each fires ``send_failed``.
FAILED_STATES = ("failed", "expired")
#: The device trigger's type; its subtype is the modem id.
TRIGGER_TYPE = "sms_received"


def _only_modem(modem_id: str | None, body: str, condition: str = "true") -> str:
    """Wrap ``body`` in a test of ``condition`` and, for one modem, of the payload's modem."""
    if modem_id is not None:
        condition = f"({condition}) and m.modem == {json.dumps(modem_id)}"
    return f"{{% set m = value_json %}}{{% if {condition} %}}{body}{{% endif %}}"


def _event(event_type: str, attributes: dict[str, str]) -> str:
    """Return a Jinja expression printing ``{"event_type": ..., <attributes>}`` as JSON."""
    items = ", ".join(f"{json.dumps(k)}: {v}" for k, v in attributes.items())
    return f"{{{{ {{{json.dumps('event_type')}: {json.dumps(event_type)}, {items}}} | tojson }}}}"


def sms_event(topics: Topics, modem_id: str | None) -> dict[str, object]:
    """Return an ``event`` config firing ``sms`` for each inbound SMS (of one modem, or all)."""
    body = _event(
        SMS_EVENT,
        {
            "id": "m.get('id')",
            "from": "m.get('from')",
            "text": "m.get('text')",
            "received_at": "m.get('received_at')",
            "modem": "m.get('modem')",
            "parts": "m.get('parts')",
            "data_hex": "m.get('data_hex')",
        },
    )
    return {
        "state_topic": topics.inbox,
        "value_template": _only_modem(modem_id, body),
        "event_types": [SMS_EVENT],
        "qos": 1,
        "icon": "mdi:message-arrow-left",
    }


def send_failed_event(topics: Topics, modem_id: str | None) -> dict[str, object]:
    """Return an ``event`` config firing ``send_failed`` when a message fails or expires."""
    body = _event(
        SEND_FAILED_EVENT,
        {
            "id": "m.get('id')",
            "state": "m.get('state')",
            "modem": "m.get('modem')",
            "error": "m.get('error')",
            "at": "m.get('at')",
        },
    )
    return {
        "state_topic": topics.state,
        "value_template": _only_modem(modem_id, body, f"m.state in {list(FAILED_STATES)!r}"),
        "event_types": [SEND_FAILED_EVENT],
        "qos": 1,
        "icon": "mdi:message-alert",
    }


def error_event(topics: Topics) -> dict[str, object]:
    """Return an ``event`` config firing ``error`` for each entry of ``{prefix}/{node}/errors``."""
    body = _event(
        ERROR_EVENT,
        {
            "code": "e.get('code')",
            "message": "e.get('message')",
            "id": "m.get('id')",
            "modem": "m.get('modem')",
        },
    )
    pick = "{% set e = m.get('error') if m.get('error') is mapping else {} %}"
    return {
        "state_topic": topics.errors,
        "value_template": _only_modem(None, pick + body),
        "event_types": [ERROR_EVENT],
        "qos": 1,
        "icon": "mdi:alert-circle-outline",
    }


def sms_trigger(topics: Topics, modem_id: str) -> dict[str, object]:
    """Return a device trigger ("SMS received") config for one modem.

    HA's MQTT trigger compares the rendered ``value_template`` with ``payload``; the automation
    gets the whole inbox payload as ``trigger.payload_json``.
    """
    return {
        "automation_type": "trigger",
        "topic": topics.inbox,
        "type": TRIGGER_TYPE,
        "subtype": modem_id,
        "value_template": "{{ value_json.modem }}",
        "payload": modem_id,
        "qos": 1,
    }
