"""The node's topics and store: where the core queues what the bridges publish."""

from __future__ import annotations

from gsmgw.config import Config
from gsmgw.core._topics import Topics
from gsmgw.store import Store


def node_topics(config: Config) -> Topics:
    """Return the node's MQTT topics (SPEC.md "MQTT API")."""
    return Topics(config.mqtt.prefix, config.gateway.node)


def make_store(config: Config) -> Store:
    """Return the node's store (not opened), queueing MQTT publications when MQTT is on."""
    region = config.gateway.default_region
    if not config.mqtt.enabled:
        return Store(config.gateway.database, default_region=region)
    node = node_topics(config)
    return Store(
        config.gateway.database,
        state_topic=node.state,
        inbox_topic=node.inbox,
        default_region=region,
    )
