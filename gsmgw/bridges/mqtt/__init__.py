"""The MQTT bridge: requests in, publications out, manual PUBACK after the commit (SPEC.md)."""

from gsmgw.bridges.mqtt._bridge import Bridge, BridgeSettings, run, settings_from_config
from gsmgw.bridges.mqtt._client import (
    BrokerAddress,
    ClientSettings,
    MqttClient,
    MqttConnectError,
    MqttError,
    MqttVersion,
    ReceivedPublish,
    TlsFiles,
    client_settings,
    make_client,
)
from gsmgw.bridges.mqtt._requests import RequestSettings

__all__ = [
    "Bridge",
    "BridgeSettings",
    "BrokerAddress",
    "ClientSettings",
    "MqttClient",
    "MqttConnectError",
    "MqttError",
    "MqttVersion",
    "ReceivedPublish",
    "RequestSettings",
    "TlsFiles",
    "client_settings",
    "make_client",
    "run",
    "settings_from_config",
]
