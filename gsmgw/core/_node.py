"""The node's topics and store: where the core queues what the bridges publish."""

from __future__ import annotations

from gsmgw.config import Config
from gsmgw.core._topics import Topics
from gsmgw.store import Store


def node_topics(config: Config) -> Topics:
    """Return the node's MQTT topics (SPEC.md "MQTT API")."""
    return Topics(config.mqtt.prefix, config.gateway.node)


def make_store(config: Config) -> Store:
    """Return the node's store (not opened), queueing MQTT publications when MQTT is on.

    Webhook events and ``dlr-url`` callbacks are stored for each ``[[webhook]]``, and when the
    HTTP API (which takes ``dlr-url``) is on.
    """
    webhooks = [(webhook.consumer, webhook.events) for webhook in config.webhooks]
    dlr = config.http.enabled
    if not config.mqtt.enabled:
        return Store(config.gateway.database, webhooks=webhooks, dlr_callbacks=dlr)
    node = node_topics(config)
    return Store(
        config.gateway.database,
        state_topic=node.state,
        inbox_topic=node.inbox,
        errors_topic=node.errors,
        webhooks=webhooks,
        dlr_callbacks=dlr,
    )
