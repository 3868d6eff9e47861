"""The config file (SPEC.md "Config"): TOML read once into frozen dataclasses, validated."""

from gsmgw.config._file import (
    BAUDRATES,
    DEFAULT_CONTROL,
    DEFAULT_DATABASE,
    DEFAULT_PATH,
    ENCODINGS,
    LANGUAGES,
    MQTT_PROTOCOLS,
    Config,
    GatewayConfig,
    HttpConfig,
    ModemConfig,
    MqttConfig,
    OptOutConfig,
    RuleConfig,
    load_config,
    parse_config,
)
from gsmgw.config._webhook import WEBHOOK_EVENTS, WebhookConfig

__all__ = [
    "BAUDRATES",
    "DEFAULT_CONTROL",
    "DEFAULT_DATABASE",
    "DEFAULT_PATH",
    "ENCODINGS",
    "LANGUAGES",
    "MQTT_PROTOCOLS",
    "WEBHOOK_EVENTS",
    "Config",
    "GatewayConfig",
    "HttpConfig",
    "ModemConfig",
    "MqttConfig",
    "OptOutConfig",
    "RuleConfig",
    "WebhookConfig",
    "load_config",
    "parse_config",
]
