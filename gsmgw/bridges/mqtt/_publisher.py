"""Drains the core's publication queue to the broker, acknowledging each entry after PUBACK."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from typing import NoReturn

from gsmgw.bridges.mqtt._client import MqttClient
from gsmgw.bridges.mqtt._discovery import Announcer
from gsmgw.core import Core, Publication, Topics, valid_publish_topic
from gsmgw.errors import StoreError

__all__ = ["Publisher"]

LOGGER = logging.getLogger(__package__)

#: Entries published at once; paho sends them in order, and MQTT keeps order per topic.
PUBLISH_BATCH = 100
# All of these are in seconds: the waits after the store failed (a full disk), doubling.
STORE_RETRY_DELAY = 0.5
STORE_RETRY_MAX_DELAY = 10.0


class Publisher:
    """Publishes inbound SMS, state events and modem state (QoS 1) until the broker has them.

    An entry is acknowledged to the core only after the broker's PUBACK; one that was not (the
    connection dropped) is published again on the next connection: at least once, and
    consumers dedupe on the message id (SPEC.md, "Guarantees").

    A store that cannot write (a full disk) stops nothing: an acknowledgement it refuses is
    kept here and written again, with backoff, before the next batch is taken; one still
    unwritten when the daemon stops costs a second publication of its entry, which QoS 1 and
    the entry's ``id`` allow. A store that cannot be read is asked again with the same backoff.
    """

    def __init__(
        self,
        core: Core,
        topics: Topics,
        announcer: Announcer | None,
        *,
        retry_delay: float = STORE_RETRY_DELAY,
        retry_max_delay: float = STORE_RETRY_MAX_DELAY,
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self._core = core
        #: Told after each entry: the node status's counters may have moved.
        self._on_published = on_published
        self._topics = topics
        self._announcer = announcer
        self._retry_delay = retry_delay
        self._retry_max_delay = retry_max_delay
        #: Entries the broker has (or that were dropped) whose acknowledgement the store refused.
        #: Kept across connections: the next batch waits for them, or the store would hand the
        #: same entries out again at once, to be published in a tight loop.
        self._unacked: list[int] = []

    async def run(self, client: MqttClient) -> NoReturn:
        """Publish until cancelled; raises `MqttError` when the connection drops."""
        while True:
            await self._write_acks()
            batch = await self._next_batch()
            async with asyncio.TaskGroup() as group:
                for entry in batch:
                    group.create_task(self._publish(client, entry))

    async def _next_batch(self) -> list[Publication]:
        tries = 0
        while True:
            try:
                return list(await self._core.next_publications(PUBLISH_BATCH))
            except StoreError as exc:
                delay = self._backoff(tries)
                tries += 1
                LOGGER.warning("publication queue unreadable (%s); again in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def _write_acks(self) -> None:
        """Write the acknowledgements the store refused, backing off until it takes them all."""
        tries = 0
        while self._unacked:
            delay = self._backoff(tries)
            tries += 1
            LOGGER.warning(
                "%d publications sent but not marked so (the store cannot write); again in %.1f s",
                len(self._unacked),
                delay,
            )
            await asyncio.sleep(delay)
            try:
                while self._unacked:
                    await self._core.ack_publication(self._unacked[0])
                    del self._unacked[0]
            except StoreError as exc:
                LOGGER.debug("acknowledgement refused again: %s", exc)
        if tries:
            LOGGER.info("the store writes again; publishing resumes")

    def _backoff(self, tries: int) -> float:
        return min(self._retry_delay * 2.0**tries, self._retry_max_delay)

    async def _ack(self, entry: Publication) -> None:
        try:
            await self._core.ack_publication(entry.id)
        except StoreError as exc:
            LOGGER.debug("publication %d: acknowledgement refused: %s", entry.id, exc)
            self._unacked.append(entry.id)

    async def _publish(self, client: MqttClient, entry: Publication) -> None:
        topic = entry.topic
        if not valid_publish_topic(topic):
            # Kept, it would block the queue forever; the store keeps the row for a look.
            LOGGER.error("publication %d has an invalid topic %r; dropped", entry.id, topic)
            await self._ack(entry)
            return
        await client.publish(topic, entry.payload, retain=entry.retain)
        await self._ack(entry)
        if self._on_published is not None:
            self._on_published()
        modem_prefix = self._topics.modem("")
        if self._announcer is not None and topic.startswith(modem_prefix):
            modem_id = topic.removeprefix(modem_prefix)
            for config_topic, config in self._announcer.pending(modem_id, entry.payload):
                await client.publish(config_topic, config, retain=True)
            self._announcer.announced(modem_id)
