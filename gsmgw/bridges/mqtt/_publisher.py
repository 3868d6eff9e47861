"""Drains the core's publication queue to the broker, acknowledging each entry after PUBACK."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from gsmgw.bridges.mqtt._client import MqttClient
from gsmgw.bridges.mqtt._discovery import Announcer
from gsmgw.core import Core, Publication, Topics, valid_publish_topic

__all__ = ["Publisher"]

LOGGER = logging.getLogger(__package__)

#: Entries published at once; paho sends them in order, and MQTT keeps order per topic.
PUBLISH_BATCH = 100


class Publisher:
    """Publishes inbound SMS, state events and modem state (QoS 1) until the broker has them.

    An entry is acknowledged to the core only after the broker's PUBACK; one that was not (the
    connection dropped) is published again on the next connection: at least once, and
    consumers dedupe on the message id (SPEC.md, "Guarantees").
    """

    def __init__(self, core: Core, topics: Topics, announcer: Announcer | None) -> None:
        self._core = core
        self._topics = topics
        self._announcer = announcer

    async def run(self, client: MqttClient) -> NoReturn:
        """Publish until cancelled; raises `MqttError` when the connection drops."""
        while True:
            batch = await self._core.next_publications(PUBLISH_BATCH)
            async with asyncio.TaskGroup() as group:
                for entry in batch:
                    group.create_task(self._publish(client, entry))

    async def _publish(self, client: MqttClient, entry: Publication) -> None:
        topic = entry.topic
        if not valid_publish_topic(topic):
            # Kept, it would block the queue forever; the store keeps the row for a look.
            LOGGER.error("publication %d has an invalid topic %r; dropped", entry.id, topic)
            await self._core.ack_publication(entry.id)
            return
        await client.publish(topic, entry.payload, retain=entry.retain)
        await self._core.ack_publication(entry.id)
        modem_prefix = self._topics.modem("")
        if self._announcer is not None and topic.startswith(modem_prefix):
            modem_id = topic.removeprefix(modem_prefix)
            for config_topic, config in self._announcer.pending(modem_id, entry.payload):
                await client.publish(config_topic, config, retain=True)
            self._announcer.announced(modem_id)
