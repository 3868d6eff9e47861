"""Home Assistant's side of MQTT discovery, as far as the tests need it: templates rendered.

HA renders ``value_template`` with Jinja2 in a sandbox, with ``value`` (the payload as text)
and ``value_json`` (the payload parsed, when it is JSON) (``MqttValueTemplate`` in
``homeassistant/components/mqtt/models.py``); an event entity then ignores an empty rendering
and otherwise needs a JSON object with ``event_type`` (``homeassistant/components/mqtt/event.py``).

``check_values`` holds a discovery config to the values HA accepts; the lists below are copied
from Home Assistant 2025.4.4 (the release tests/daemon/test_home_assistant.py runs), each from the
file named beside it.
"""

from __future__ import annotations

import contextlib
import json

import jinja2.sandbox

_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment()

# HA 2025.4.4, homeassistant/components/sensor/const.py: SensorDeviceClass, SensorStateClass,
# NON_NUMERIC_DEVICE_CLASSES, DEVICE_CLASS_UNITS (None: no unit) and DEVICE_CLASS_STATE_CLASSES.
SENSOR_DEVICE_CLASSES = frozenset(
    {
        "apparent_power",
        "aqi",
        "area",
        "atmospheric_pressure",
        "battery",
        "blood_glucose_concentration",
        "carbon_dioxide",
        "carbon_monoxide",
        "conductivity",
        "current",
        "data_rate",
        "data_size",
        "date",
        "distance",
        "duration",
        "energy",
        "energy_distance",
        "energy_storage",
        "enum",
        "frequency",
        "gas",
        "humidity",
        "illuminance",
        "irradiance",
        "moisture",
        "monetary",
        "nitrogen_dioxide",
        "nitrogen_monoxide",
        "nitrous_oxide",
        "ozone",
        "ph",
        "pm1",
        "pm10",
        "pm25",
        "power",
        "power_factor",
        "precipitation",
        "precipitation_intensity",
        "pressure",
        "reactive_power",
        "signal_strength",
        "sound_pressure",
        "speed",
        "sulphur_dioxide",
        "temperature",
        "timestamp",
        "volatile_organic_compounds",
        "volatile_organic_compounds_parts",
        "voltage",
        "volume",
        "volume_flow_rate",
        "volume_storage",
        "water",
        "weight",
        "wind_direction",
        "wind_speed",
    }
)
STATE_CLASSES = frozenset({"measurement", "measurement_angle", "total", "total_increasing"})
NON_NUMERIC_DEVICE_CLASSES = frozenset({"date", "enum", "timestamp"})
DEVICE_CLASS_UNITS: dict[str, frozenset[str | None]] = {
    "apparent_power": frozenset({"VA"}),
    "aqi": frozenset({None}),
    "area": frozenset({"ac", "cm²", "ft²", "ha", "in²", "km²", "mi²", "mm²", "m²", "yd²"}),
    "atmospheric_pressure": frozenset(
        {"Pa", "bar", "cbar", "hPa", "inHg", "kPa", "mbar", "mmHg", "psi"}
    ),
    "battery": frozenset({"%"}),
    "blood_glucose_concentration": frozenset({"mg/dL", "mmol/L"}),
    "carbon_dioxide": frozenset({"ppm"}),
    "carbon_monoxide": frozenset({"ppm"}),
    "conductivity": frozenset({"S/cm", "mS/cm", "µS/cm"}),
    "current": frozenset({"A", "mA"}),
    "data_rate": frozenset(
        {
            "B/s",
            "GB/s",
            "Gbit/s",
            "GiB/s",
            "KiB/s",
            "MB/s",
            "Mbit/s",
            "MiB/s",
            "bit/s",
            "kB/s",
            "kbit/s",
        }
    ),
    "data_size": frozenset(
        {
            "B",
            "EB",
            "EiB",
            "GB",
            "Gbit",
            "GiB",
            "KiB",
            "MB",
            "Mbit",
            "MiB",
            "PB",
            "PiB",
            "TB",
            "TiB",
            "YB",
            "YiB",
            "ZB",
            "ZiB",
            "bit",
            "kB",
            "kbit",
        }
    ),
    "distance": frozenset({"cm", "ft", "in", "km", "m", "mi", "mm", "nmi", "yd"}),
    "duration": frozenset({"d", "h", "min", "ms", "s", "μs"}),
    "energy": frozenset(
        {
            "GJ",
            "GWh",
            "Gcal",
            "J",
            "MJ",
            "MWh",
            "Mcal",
            "TWh",
            "Wh",
            "cal",
            "kJ",
            "kWh",
            "kcal",
            "mWh",
        }
    ),
    "energy_distance": frozenset({"kWh/100km", "km/kWh", "mi/kWh"}),
    "energy_storage": frozenset(
        {
            "GJ",
            "GWh",
            "Gcal",
            "J",
            "MJ",
            "MWh",
            "Mcal",
            "TWh",
            "Wh",
            "cal",
            "kJ",
            "kWh",
            "kcal",
            "mWh",
        }
    ),
    "frequency": frozenset({"GHz", "Hz", "MHz", "kHz"}),
    "gas": frozenset({"CCF", "ft³", "m³"}),
    "humidity": frozenset({"%"}),
    "illuminance": frozenset({"lx"}),
    "irradiance": frozenset({"BTU/(h⋅ft²)", "W/m²"}),
    "moisture": frozenset({"%"}),
    "nitrogen_dioxide": frozenset({"µg/m³"}),
    "nitrogen_monoxide": frozenset({"µg/m³"}),
    "nitrous_oxide": frozenset({"µg/m³"}),
    "ozone": frozenset({"µg/m³"}),
    "ph": frozenset({None}),
    "pm1": frozenset({"µg/m³"}),
    "pm10": frozenset({"µg/m³"}),
    "pm25": frozenset({"µg/m³"}),
    "power": frozenset({"GW", "MW", "TW", "W", "kW", "mW"}),
    "power_factor": frozenset({"%", None}),
    "precipitation": frozenset({"cm", "in", "mm"}),
    "precipitation_intensity": frozenset({"in/d", "in/h", "mm/d", "mm/h"}),
    "pressure": frozenset({"Pa", "bar", "cbar", "hPa", "inHg", "kPa", "mbar", "mmHg", "psi"}),
    "reactive_power": frozenset({"var"}),
    "signal_strength": frozenset({"dB", "dBm"}),
    "sound_pressure": frozenset({"dB", "dBA"}),
    "speed": frozenset(
        {
            "Beaufort",
            "ft/s",
            "in/d",
            "in/h",
            "in/s",
            "km/h",
            "kn",
            "m/s",
            "mm/d",
            "mm/h",
            "mm/s",
            "mph",
        }
    ),
    "sulphur_dioxide": frozenset({"µg/m³"}),
    "temperature": frozenset({"K", "°C", "°F"}),
    "volatile_organic_compounds": frozenset({"µg/m³"}),
    "volatile_organic_compounds_parts": frozenset({"ppb", "ppm"}),
    "voltage": frozenset({"MV", "V", "kV", "mV", "µV"}),
    "volume": frozenset({"CCF", "L", "fl. oz.", "ft³", "gal", "mL", "m³"}),
    "volume_flow_rate": frozenset({"L/min", "ft³/min", "gal/min", "mL/s", "m³/h"}),
    "volume_storage": frozenset({"CCF", "L", "fl. oz.", "ft³", "gal", "mL", "m³"}),
    "water": frozenset({"CCF", "L", "ft³", "gal", "m³"}),
    "weight": frozenset({"g", "kg", "lb", "mg", "oz", "st", "µg"}),
    "wind_direction": frozenset({"°"}),
    "wind_speed": frozenset({"Beaufort", "ft/s", "in/s", "km/h", "kn", "m/s", "mm/s", "mph"}),
}
DEVICE_CLASS_STATE_CLASSES: dict[str, frozenset[str]] = {
    "apparent_power": frozenset({"measurement"}),
    "aqi": frozenset({"measurement"}),
    "area": frozenset({"measurement", "measurement_angle", "total", "total_increasing"}),
    "atmospheric_pressure": frozenset({"measurement"}),
    "battery": frozenset({"measurement"}),
    "blood_glucose_concentration": frozenset({"measurement"}),
    "carbon_dioxide": frozenset({"measurement"}),
    "carbon_monoxide": frozenset({"measurement"}),
    "conductivity": frozenset({"measurement"}),
    "current": frozenset({"measurement"}),
    "data_rate": frozenset({"measurement"}),
    "data_size": frozenset({"measurement", "measurement_angle", "total", "total_increasing"}),
    "date": frozenset(),
    "distance": frozenset({"measurement", "measurement_angle", "total", "total_increasing"}),
    "duration": frozenset({"measurement", "measurement_angle", "total", "total_increasing"}),
    "energy": frozenset({"total", "total_increasing"}),
    "energy_distance": frozenset({"measurement"}),
    "energy_storage": frozenset({"measurement"}),
    "enum": frozenset(),
    "frequency": frozenset({"measurement"}),
    "gas": frozenset({"total", "total_increasing"}),
    "humidity": frozenset({"measurement"}),
    "illuminance": frozenset({"measurement"}),
    "irradiance": frozenset({"measurement"}),
    "moisture": frozenset({"measurement"}),
    "monetary": frozenset({"total"}),
    "nitrogen_dioxide": frozenset({"measurement"}),
    "nitrogen_monoxide": frozenset({"measurement"}),
    "nitrous_oxide": frozenset({"measurement"}),
    "ozone": frozenset({"measurement"}),
    "ph": frozenset({"measurement"}),
    "pm1": frozenset({"measurement"}),
    "pm10": frozenset({"measurement"}),
    "pm25": frozenset({"measurement"}),
    "power": frozenset({"measurement"}),
    "power_factor": frozenset({"measurement"}),
    "precipitation": frozenset({"measurement", "measurement_angle", "total", "total_increasing"}),
    "precipitation_intensity": frozenset({"measurement"}),
    "pressure": frozenset({"measurement"}),
    "reactive_power": frozenset({"measurement"}),
    "signal_strength": frozenset({"measurement"}),
    "sound_pressure": frozenset({"measurement"}),
    "speed": frozenset({"measurement"}),
    "sulphur_dioxide": frozenset({"measurement"}),
    "temperature": frozenset({"measurement"}),
    "timestamp": frozenset(),
    "volatile_organic_compounds": frozenset({"measurement"}),
    "volatile_organic_compounds_parts": frozenset({"measurement"}),
    "voltage": frozenset({"measurement"}),
    "volume": frozenset({"total", "total_increasing"}),
    "volume_flow_rate": frozenset({"measurement"}),
    "volume_storage": frozenset({"measurement"}),
    "water": frozenset({"total", "total_increasing"}),
    "weight": frozenset({"measurement", "total", "total_increasing"}),
    "wind_direction": frozenset({"measurement_angle"}),
    "wind_speed": frozenset({"measurement"}),
}
# HA 2025.4.4, homeassistant/components/event/__init__.py: EventDeviceClass.
EVENT_DEVICE_CLASSES = frozenset({"button", "doorbell", "motion"})
# HA 2025.4.4, homeassistant/const.py: EntityCategory.
ENTITY_CATEGORIES = frozenset({"config", "diagnostic"})
# HA 2025.4.4, homeassistant/components/mqtt/const.py: SUPPORTED_COMPONENTS (the discovery
# topic's <component>).
COMPONENTS = frozenset(
    {
        "alarm_control_panel",
        "binary_sensor",
        "button",
        "camera",
        "climate",
        "cover",
        "device_automation",
        "device_tracker",
        "event",
        "fan",
        "humidifier",
        "image",
        "lawn_mower",
        "light",
        "lock",
        "notify",
        "number",
        "scene",
        "select",
        "sensor",
        "siren",
        "switch",
        "tag",
        "text",
        "update",
        "vacuum",
        "valve",
        "water_heater",
    }
)
# HA 2025.4.4, homeassistant/components/text/const.py: TextMode.
TEXT_MODES = frozenset({"password", "text"})
# HA 2025.4.4, homeassistant/components/mqtt/device_trigger.py: TRIGGER_DISCOVERY_SCHEMA.
AUTOMATION_TYPES = frozenset({"trigger"})


def check_values(component: str, config: dict[str, object]) -> None:
    """Assert that a discovery config's values are ones HA 2025.4.4 accepts for ``component``.

    Mirrors ``validate_sensor_state_and_device_class_config`` in
    ``homeassistant/components/mqtt/sensor.py`` and ``SensorEntity``'s checks in
    ``homeassistant/components/sensor/__init__.py`` (a non-numeric device class has neither unit
    nor state class; a unit must be one of its device class's).
    """
    assert component in COMPONENTS, component
    category = config.get("entity_category")
    assert category is None or category in ENTITY_CATEGORIES, category
    if component == "sensor":
        _check_sensor(config)
    elif component == "event":
        device_class = config.get("device_class")
        assert device_class is None or device_class in EVENT_DEVICE_CLASSES, device_class
        types = config["event_types"]
        assert isinstance(types, list), types
        assert types, "event_types is empty"
        assert all(isinstance(t, str) and t for t in types), types
        assert len(set(types)) == len(types), types
    elif component == "text":
        assert config.get("mode", "text") in TEXT_MODES
        low, high = config.get("min", 0), config.get("max", 255)
        assert isinstance(low, int), low
        assert isinstance(high, int), high
        assert 0 <= low <= high <= 255, (low, high)  # HA's text: MAX_LENGTH_STATE_STATE
    elif component == "device_automation":
        assert config["automation_type"] in AUTOMATION_TYPES
        assert all(isinstance(config[k], str) and config[k] for k in ("type", "subtype"))


def _check_sensor(config: dict[str, object]) -> None:
    device_class = config.get("device_class")
    state_class = config.get("state_class")
    unit = config.get("unit_of_measurement")
    assert device_class is None or device_class in SENSOR_DEVICE_CLASSES, device_class
    assert state_class is None or state_class in STATE_CLASSES, state_class
    if "last_reset_value_template" in config:
        assert state_class == "total", "last_reset_value_template needs state_class total"
    if "options" in config:
        assert device_class == "enum", "options need device_class enum"
        assert (state_class, unit) == (None, None), "options take no state class nor unit"
    if not isinstance(device_class, str):
        return
    if device_class in NON_NUMERIC_DEVICE_CLASSES:
        assert (unit, state_class) == (None, None), (device_class, unit, state_class)
        return
    if device_class in DEVICE_CLASS_UNITS:
        assert unit in DEVICE_CLASS_UNITS[device_class], (device_class, unit)
    if state_class is not None and device_class in DEVICE_CLASS_STATE_CLASSES:
        assert state_class in DEVICE_CLASS_STATE_CLASSES[device_class], (device_class, state_class)


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
