"""Bridges from the gateway to the outside world (MQTT)."""

from gsmgw.bridges.client import BrokerAddress, ClientSettings, MqttVersion, TlsFiles
from gsmgw.bridges.core import Core, Publication, SubmitResult
from gsmgw.bridges.mqtt import Bridge, BridgeSettings, run, settings_from_config
from gsmgw.bridges.requests import RequestSettings
from gsmgw.bridges.topics import Topics

__all__ = [
    "Bridge",
    "BridgeSettings",
    "BrokerAddress",
    "ClientSettings",
    "Core",
    "MqttVersion",
    "Publication",
    "RequestSettings",
    "SubmitResult",
    "TlsFiles",
    "Topics",
    "run",
    "settings_from_config",
]
