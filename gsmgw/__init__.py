"""gsmgw: an event-driven SMS gateway for USB GSM/LTE modems, bridged to MQTT."""

__version__ = "0.1.0"
