"""The MQTT bridge: one reconnecting connection carrying SPEC.md's MQTT API.

Per connection it subscribes to the request topics, says ``online`` (retained; the Last Will
says ``offline``), then runs two loops until the connection drops: requests in (each PUBACKed
only once the core committed it, or once its rejection reply reached the broker) and the
core's publication queue out. Then it waits ``min(base * 1.8**tries, max)`` and reconnects
(aiomqtt docs/reconnection.md); the persistent session keeps what arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
import logging
from typing import NoReturn

from gsmgw.bridges.mqtt._client import (
    ClientSettings,
    MqttClient,
    MqttConnectError,
    MqttError,
    ReceivedPublish,
    client_settings,
)
from gsmgw.bridges.mqtt._discovery import STATUS_TOPIC, Announcer
from gsmgw.bridges.mqtt._node import node_messages
from gsmgw.bridges.mqtt._publisher import STORE_RETRY_DELAY, STORE_RETRY_MAX_DELAY, Publisher
from gsmgw.bridges.mqtt._requests import RequestHandler, RequestSettings
from gsmgw.bridges.mqtt._status import STATUS_INTERVAL, NodeStatus
from gsmgw.config import Config, NotifyTarget
from gsmgw.core import Core, Topics
from gsmgw.errors import ConfigError

__all__ = ["Bridge", "BridgeSettings", "run", "settings_from_config"]

LOGGER = logging.getLogger(__package__)

RECONNECT_DELAY = 1.0
RECONNECT_MAX_DELAY = 60.0
RECONNECT_FACTOR = 1.8
#: Requests handled at once (the store commits them as a group).
HANDLER_CONCURRENCY = 64
#: How long a clean shutdown waits to say ``offline``.
OFFLINE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeSettings:
    """What the bridge does on its connection."""

    topics: Topics
    #: Take ``{prefix}/send`` as an MQTT 5 shared subscription with the other nodes.
    shared: bool = False
    #: Home Assistant MQTT discovery.
    discovery: bool = True
    #: ``[[homeassistant.notify]]``: a notify entity each.
    notify_targets: tuple[NotifyTarget, ...] = ()
    requests: RequestSettings = field(default_factory=RequestSettings)
    reconnect_delay: float = RECONNECT_DELAY
    reconnect_max_delay: float = RECONNECT_MAX_DELAY
    concurrency: int = HANDLER_CONCURRENCY
    #: Backoff of the publisher while the store cannot write (a full disk) or be read.
    store_retry_delay: float = STORE_RETRY_DELAY
    store_retry_max_delay: float = STORE_RETRY_MAX_DELAY
    #: Shortest time between two node status publications (``{prefix}/{node}/status``).
    status_interval: float = STATUS_INTERVAL

    def backoff(self, tries: int) -> float:
        """Return the wait before reconnect attempt ``tries`` (0 after a working connection)."""
        return min(self.reconnect_delay * RECONNECT_FACTOR**tries, self.reconnect_max_delay)


def settings_from_config(config: Config) -> tuple[BridgeSettings, ClientSettings]:
    """Build the bridge's settings from a loaded config (``config.mqtt.enabled`` must be true).

    Raises:
        ConfigError: the broker URL or the prefix cannot be used.
    """
    mqtt, node = config.mqtt, config.gateway.node
    try:
        topics = Topics(mqtt.prefix, node)
    except ValueError as exc:
        raise ConfigError(config.file, "mqtt.prefix", str(exc)) from None
    client = client_settings(config, will_topic=topics.availability)
    requests = RequestSettings(
        default_region=config.gateway.default_region,
        known_modems=config.names() if config.modems else None,
    )
    bridge = BridgeSettings(
        topics=topics,
        shared=mqtt.shared,
        discovery=mqtt.discovery,
        notify_targets=config.notify_targets,
        requests=requests,
    )
    return bridge, client


class Bridge:
    """The MQTT side of one node; `run` it in the daemon's TaskGroup."""

    def __init__(self, core: Core, settings: BridgeSettings, client: ClientSettings) -> None:
        self.settings = settings
        self._client_settings = client
        self._topics = settings.topics
        self._requests = RequestHandler(core, settings.topics, settings.requests)
        self._announcer = (
            Announcer(settings.topics, node_messages(settings.topics, settings.notify_targets))
            if settings.discovery
            else None
        )
        self.status = NodeStatus(core, settings.topics, interval=settings.status_interval)
        self._publisher = Publisher(
            core,
            settings.topics,
            self._announcer,
            retry_delay=settings.store_retry_delay,
            retry_max_delay=settings.store_retry_max_delay,
            on_published=self.status.changed,
        )
        #: Set while connected and subscribed, and while not (for status and tests).
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.disconnected.set()

    async def run(self) -> NoReturn:
        """Connect, serve, and reconnect with backoff, until cancelled."""
        client = MqttClient(self._client_settings)
        tries = 0
        while True:
            try:
                async with client.connect():
                    tries = 0
                    await self._serve(client)
            except* MqttError as group:
                delay = self.settings.backoff(tries)
                tries += 1
                error = group.exceptions[0]
                # A refused CONNECT (bad password, client certificate) is the operator's to fix.
                level = logging.ERROR if isinstance(error, MqttConnectError) else logging.WARNING
                LOGGER.log(level, "MQTT: %s; reconnecting in %.1f s", error, delay)
                await asyncio.sleep(delay)

    async def _serve(self, client: MqttClient) -> NoReturn:
        await self._subscribe(client)
        await client.publish(self._topics.availability, b"online", retain=True)
        self.disconnected.clear()
        self.connected.set()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive(client))
                group.create_task(self._publisher.run(client))
                group.create_task(self.status.run(client))
                if self._announcer is not None:
                    # Retained configs may have been cleared meanwhile: announce them again.
                    self._announcer.reset()
                    group.create_task(self._announce_all(client))
        except asyncio.CancelledError:
            await self._say_offline(client)
            raise
        finally:
            self.connected.clear()
            self.disconnected.set()
        raise AssertionError("the receive and publish loops never end")  # pragma: no cover

    async def _subscribe(self, client: MqttClient) -> None:
        shared = self.settings.shared
        # The session remembers subscriptions: drop the other form of {prefix}/send, or a
        # node switched to shared would still get every request.
        await client.unsubscribe(self._topics.send if shared else self._topics.shared_send)
        for topic in self._topics.subscriptions(shared=shared):
            await client.subscribe(topic)
        if self._announcer is not None:
            await client.subscribe(STATUS_TOPIC)

    async def _receive(self, client: MqttClient) -> NoReturn:
        slots = asyncio.Semaphore(self.settings.concurrency)
        async with asyncio.TaskGroup() as handlers:
            async for message in client.messages():
                if not self._topics.is_request_topic(message.topic):
                    # Home Assistant's birth message, or a subscription an earlier config left
                    # in the persistent session (another prefix): nothing to answer.
                    client.ack(message)
                    if message.topic == STATUS_TOPIC and message.payload == b"online":
                        if self._announcer is not None:
                            handlers.create_task(self._announce_all(client))
                    else:
                        LOGGER.debug("ignored a message on %s", message.topic)
                    continue
                await slots.acquire()
                handlers.create_task(self._handle(client, message, slots))
        raise MqttError("the message stream ended")

    async def _handle(
        self, client: MqttClient, message: ReceivedPublish, slots: asyncio.Semaphore
    ) -> None:
        ussd = message.topic == self._topics.ussd
        try:
            if ussd:
                # USSD is at most once: a top-up code run twice after a crash is worse than a
                # lost one, and a slow network answer must not hold back the PUBACKs (sent in
                # order) of the send requests behind it.
                client.ack(message)
            for reply in await self._requests.handle(message):
                await client.publish(
                    reply.topic, reply.payload, correlation_data=reply.correlation_data
                )
            if not ussd:
                # Committed, or its rejection is with the broker: the broker may forget it.
                client.ack(message)
        finally:
            slots.release()

    async def _announce_all(self, client: MqttClient) -> None:
        assert self._announcer is not None
        for topic, payload in self._announcer.node():
            await client.publish(topic, payload, retain=True)
        for modem_id, messages in self._announcer.everything():
            for topic, payload in messages:
                await client.publish(topic, payload, retain=True)
            self._announcer.announced(modem_id)

    async def _say_offline(self, client: MqttClient) -> None:
        """Say ``offline`` on a clean shutdown (a clean DISCONNECT does not fire the Will)."""
        with contextlib.suppress(MqttError, TimeoutError):
            await asyncio.wait_for(
                client.publish(self._topics.availability, b"offline", retain=True),
                OFFLINE_TIMEOUT,
            )


async def run(core: Core, settings: BridgeSettings, client: ClientSettings) -> NoReturn:
    """Run the MQTT bridge until cancelled (a task of the daemon's TaskGroup)."""
    await Bridge(core, settings, client).run()
