"""Home Assistant MQTT discovery: a device for the node and one per modem, with their entities.

Follows https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery: retained configs on
``homeassistant/<component>/<node_id>/<object_id>/config`` with ``unique_id``, a ``device``
block, availability, and value templates reading the node's SPEC.md topics. A modem has its
sensors, a notify entity (``"<number>: <text>"`` through that modem), ``event`` entities for an
inbound SMS and a failed message, and an "SMS received" device trigger; the node has the same
events over all modems and one for refused requests (``_events.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
import re

from gsmgw import __version__
from gsmgw.bridges.mqtt._events import send_failed_event, sms_event, sms_trigger
from gsmgw.core import Topics

__all__ = [
    "DISCOVERY_PREFIX",
    "ModemDescription",
    "Sensor",
    "discovery_messages",
]

DISCOVERY_PREFIX = "homeassistant"
#: Home Assistant publishes ``online`` here when it (re)starts: configs are sent again then.
STATUS_TOPIC = f"{DISCOVERY_PREFIX}/status"
#: One discovery config: its component (``sensor``, ``event``...), object id and payload.
Entity = tuple[str, str, dict[str, object]]
#: node_id and object_id may hold only these (Home Assistant's discovery topic pattern).
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class Sensor:
    """One sensor, reading ``key`` of the modem state JSON (or of the node status)."""

    key: str
    name: str
    device_class: str | None = None
    unit: str | None = None
    state_class: str | None = None
    icon: str | None = None
    diagnostic: bool = False
    #: A counter of the node status (``{prefix}/{node}/status``), kept current as the queue
    #: moves, rather than a field of the modem state, published only when health changes.
    counter: bool = False
    #: The value template, when not ``value_json.<key>``.
    template: str | None = None


#: dBm to percent as 3GPP TS 27.007 §8.5 +CSQ spans it: 0 at -113 dBm, 100 at -51 dBm.
SIGNAL_PERCENT = (
    "{% set s = value_json.signal %}"
    "{{ none if s is none else [[((s + 113) * 100 / 62) | round | int, 0] | max, 100] | min }}"
)
#: A daily total (``state_class: total``) is reset at the node's local midnight: HA's statistics
#: read the new cycle from ``last_reset``, never a fall of the value as a meter swap.
DAY_STARTED = "{{ value_json.day_started_at }}"

#: The sensors of a modem's device.
SENSORS = (
    Sensor("state", "State", icon="mdi:sim"),
    Sensor(
        "signal",
        "Signal",
        device_class="signal_strength",
        unit="dBm",
        state_class="measurement",
        diagnostic=True,
    ),
    Sensor("operator", "Operator", icon="mdi:radio-tower"),
    Sensor("registration", "Registration", icon="mdi:network", diagnostic=True),
    Sensor(
        "signal_percent",
        "Signal level",
        unit="%",
        state_class="measurement",
        icon="mdi:signal",
        diagnostic=True,
        template=SIGNAL_PERCENT,
    ),
    Sensor(
        "queue_depth",
        "Queue depth",
        unit="messages",
        state_class="measurement",
        icon="mdi:tray-full",
        counter=True,
    ),
    Sensor(
        "sent_today",
        "Sent today",
        unit="parts",
        state_class="total",
        icon="mdi:message-arrow-right",
        counter=True,
    ),
    Sensor("last_error", "Last error", icon="mdi:alert-circle-outline", diagnostic=True),
)


@dataclass(frozen=True, slots=True)
class ModemDescription:
    """Who a modem is, as Home Assistant's device registry shows it."""

    id: str
    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None

    @classmethod
    def from_state(cls, modem_id: str, state: Mapping[str, object]) -> ModemDescription:
        """Read identity from a modem state payload (missing or odd values are left out)."""

        def text(key: str) -> str | None:
            value = state.get(key)
            return value if isinstance(value, str) and value else None

        return cls(modem_id, text("manufacturer"), text("model"), text("revision"))


def safe(name: str) -> str:
    """Return ``name`` with what a discovery topic level may not hold replaced by ``_``."""
    return _UNSAFE.sub("_", name)


def node_device(topics: Topics) -> dict[str, object]:
    """Return the device block of the node (the gateway itself) that the modems hang off."""
    return {
        "identifiers": [f"gsmgw_{safe(topics.node)}"],
        "name": f"gsmgw {topics.node}",
        "manufacturer": "gsmgw",
        "model": "SMS gateway",
        "sw_version": __version__,
    }


def modem_device(topics: Topics, modem: ModemDescription) -> dict[str, object]:
    """Return the device block of one modem."""
    return {
        "identifiers": [f"gsmgw_{safe(topics.node)}_{safe(modem.id)}"],
        "name": f"gsmgw {topics.node} {modem.id}",
        "manufacturer": modem.manufacturer or "gsmgw",
        "model": modem.model or "GSM modem",
        "sw_version": modem.revision or __version__,
    }


def common(topics: Topics, device: dict[str, object], object_id: str) -> dict[str, object]:
    """Return the keys every entity of this node has: unique id, device, availability."""
    return {
        "unique_id": f"gsmgw_{safe(topics.node)}_{object_id}",
        "device": device,
        "availability_topic": topics.availability,
        "payload_available": "online",
        "payload_not_available": "offline",
        "origin": {"name": "gsmgw", "sw_version": __version__},
    }


def sensor_config(topics: Topics, modem: ModemDescription, sensor: Sensor) -> dict[str, object]:
    """Return the discovery config of one sensor."""
    object_id = f"{safe(modem.id)}_{sensor.key}"
    template = sensor.template or f"{{{{ value_json.{sensor.key} }}}}"
    if sensor.counter:
        # Of the node status: "None" (HA: unknown) until this modem's counters are in it.
        counters = f"(value_json.modems.get({json.dumps(modem.id)}) or {{}})"
        template = f"{{{{ {counters}.get({json.dumps(sensor.key)}) }}}}"
    config = common(topics, modem_device(topics, modem), object_id) | {
        "name": sensor.name,
        "state_topic": topics.status if sensor.counter else topics.modem(modem.id),
        "value_template": template,
    }
    if sensor.state_class == "total":
        config["last_reset_value_template"] = DAY_STARTED
    optional = {
        "device_class": sensor.device_class,
        "unit_of_measurement": sensor.unit,
        "state_class": sensor.state_class,
        "icon": sensor.icon,
        "entity_category": "diagnostic" if sensor.diagnostic else None,
    }
    config |= {key: value for key, value in optional.items() if value is not None}
    if sensor.key == "state":
        # Every field of the modem state (IMEI, counters...) as attributes of this entity.
        config["json_attributes_topic"] = topics.modem(modem.id)
    return config


def notify_config(topics: Topics, modem: ModemDescription) -> dict[str, object]:
    """Return the discovery config of the notify entity that sends an SMS through this modem."""
    object_id = f"{safe(modem.id)}_send"
    modem_json = json.dumps(modem.id)
    # notify.send_message's message is "<number>: <text>"; the template makes a SPEC.md request.
    template = (
        "{% set p = value.split(':', 1) %}"
        "{{ {'to': p[0] | trim, 'text': (p[1] if p | count > 1 else '') | trim, "
        f"'modem': {modem_json}}} | tojson }}}}"
    )
    return common(topics, modem_device(topics, modem), object_id) | {
        "name": "Send SMS",
        "command_topic": topics.node_send,
        "command_template": template,
        "qos": 1,
        "icon": "mdi:message-text",
    }


def config_topic(component: str, topics: Topics, object_id: str) -> str:
    """Return ``homeassistant/<component>/<node_id>/<object_id>/config``."""
    return f"{DISCOVERY_PREFIX}/{component}/gsmgw_{safe(topics.node)}/{safe(object_id)}/config"


def encode(topics: Topics, entities: list[Entity]) -> list[tuple[str, bytes]]:
    return [
        (config_topic(component, topics, object_id), json.dumps(config).encode())
        for component, object_id, config in entities
    ]


#: A USSD code as the text entity accepts it (TS 22.030 §6.5.2: digits, * and #).
USSD_PATTERN = r"^[0-9*#+]{2,40}$"
#: The answer, or the refusal's message, cut to HA's 255 characters (the whole as attributes).
USSD_ANSWER_TEMPLATE = (
    "{% set e = value_json.get('error') %}"
    "{{ (value_json.get('answer') if e is none else e.get('code') ~ ': ' ~ e.get('message'))"
    " | string | truncate(255, true, '') }}"
)


def ussd_entities(topics: Topics, modem: ModemDescription) -> list[Entity]:
    """Return a modem's USSD ``text`` entity and the sensor of its last answer."""
    device = modem_device(topics, modem)
    answer = topics.ussd_answer(modem.id)
    command = {"code": "value", "modem": json.dumps(modem.id), "reply_to": json.dumps(answer)}
    template = "{{ {" + ", ".join(f"'{k}': {v}" for k, v in command.items()) + "} | tojson }}"
    code = common(topics, device, f"{safe(modem.id)}_ussd") | {
        "name": "USSD code",
        "command_topic": topics.ussd,
        "command_template": template,
        "pattern": USSD_PATTERN,
        "min": 2,
        "max": 40,
        "qos": 1,
        "icon": "mdi:dialpad",
    }
    sensor = common(topics, device, f"{safe(modem.id)}_ussd_answer") | {
        "name": "USSD answer",
        "state_topic": answer,
        "value_template": USSD_ANSWER_TEMPLATE,
        "json_attributes_topic": answer,
        "icon": "mdi:message-reply-text",
    }
    return [("text", f"{modem.id}_ussd", code), ("sensor", f"{modem.id}_ussd_answer", sensor)]


def discovery_messages(topics: Topics, modem: ModemDescription) -> list[tuple[str, bytes]]:
    """Return every (topic, payload) to publish, retained, for one modem."""
    device = modem_device(topics, modem)
    entities: list[Entity] = [
        ("sensor", f"{modem.id}_{sensor.key}", sensor_config(topics, modem, sensor))
        for sensor in SENSORS
    ]
    entities += [
        ("notify", f"{modem.id}_send", notify_config(topics, modem)),
        (
            "event",
            f"{modem.id}_sms",
            common(topics, device, f"{safe(modem.id)}_sms")
            | {"name": "SMS received"}
            | sms_event(topics, modem.id),
        ),
        (
            "event",
            f"{modem.id}_send_failed",
            common(topics, device, f"{safe(modem.id)}_send_failed")
            | {"name": "Send failed"}
            | send_failed_event(topics, modem.id),
        ),
        (
            "device_automation",
            f"{modem.id}_sms_received",
            {"device": device} | sms_trigger(topics, modem.id),
        ),
        *ussd_entities(topics, modem),
    ]
    return encode(topics, entities)


class Announcer:
    """Publishes discovery configs for every modem whose state went by, once per connection."""

    def __init__(self, topics: Topics, node: list[tuple[str, bytes]] | None = None) -> None:
        self._topics = topics
        #: The node device's configs (``_node.node_messages``), announced on every connection.
        self._node = node or []
        self._modems: dict[str, ModemDescription] = {}
        self._announced: dict[str, ModemDescription] = {}

    @property
    def modems(self) -> tuple[str, ...]:
        """The modem ids seen so far."""
        return tuple(self._modems)

    def reset(self) -> None:
        """Forget what was announced (a new connection announces everything again)."""
        self._announced.clear()

    def pending(self, modem_id: str, state_payload: bytes) -> list[tuple[str, bytes]]:
        """Return the configs to publish after a modem state (none if already announced)."""
        try:
            state = json.loads(state_payload)
        except ValueError:
            state = {}
        description = ModemDescription.from_state(
            modem_id, state if isinstance(state, dict) else {}
        )
        self._modems[modem_id] = description
        if self._announced.get(modem_id) == description:
            return []
        return discovery_messages(self._topics, description)

    def announced(self, modem_id: str) -> None:
        """Record that a modem's configs reached the broker."""
        self._announced[modem_id] = self._modems[modem_id]

    def node(self) -> list[tuple[str, bytes]]:
        """Return the node device's configs (announced on every connection)."""
        return list(self._node)

    def everything(self) -> list[tuple[str, list[tuple[str, bytes]]]]:
        """Return every known modem's configs (after Home Assistant restarted, or a reconnect)."""
        return [(m, discovery_messages(self._topics, d)) for m, d in self._modems.items()]
