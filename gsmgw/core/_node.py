"""The node's topics and store: where the core queues what the bridges publish."""

from __future__ import annotations

from gsmgw.config import Config
from gsmgw.core._topics import Topics
from gsmgw.store import SmppHooks, Store


def node_topics(config: Config) -> Topics:
    """Return the node's MQTT topics (SPEC.md "MQTT API")."""
    return Topics(config.mqtt.prefix, config.gateway.node)


def make_store(config: Config) -> Store:
    """Return the node's store (not opened): what it queues for the bridges that are on.

    MQTT publications when MQTT is on; webhook events and ``dlr-url`` callbacks for each
    ``[[webhook]]`` and when the HTTP API (which takes ``dlr-url``) is on; SMPP receipts and
    MO SMS when the SMPP server is on.
    """
    region = config.gateway.default_region
    smpp = None
    if config.smpp.enabled:  # receipts and MO SMS queue their deliver_sm in the store
        numbers = {m.id: m.number for m in config.modems if m.number is not None}
        smpp = SmppHooks(mo_users=config.smpp.mo_users(), numbers=numbers)
    webhooks = [(webhook.consumer, webhook.events) for webhook in config.webhooks]
    dlr = config.http.enabled
    if not config.mqtt.enabled:
        return Store(
            config.gateway.database,
            default_region=region,
            smpp=smpp,
            webhooks=webhooks,
            dlr_callbacks=dlr,
        )
    node = node_topics(config)
    return Store(
        config.gateway.database,
        state_topic=node.state,
        inbox_topic=node.inbox,
        errors_topic=node.errors,
        smpp=smpp,
        webhooks=webhooks,
        dlr_callbacks=dlr,
        default_region=region,
    )
