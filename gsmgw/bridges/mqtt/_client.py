"""The one adapter over aiomqtt and its paho-mqtt client: sessions, TLS and manual PUBACK.

Theory of operation. SPEC.md promises that a send request is acknowledged (PUBACK) only after
it is committed. aiomqtt acknowledges inside paho as soon as a message is queued, so we reach
into its paho client (``aiomqtt.Client._client``, pinned aiomqtt 2.5.1) once, here, and call
``manual_ack_set(True)``; `MqttClient.ack` later sends the PUBACK. MQTT 3.1.1 §4.6 and MQTT 5
§4.6 require PUBACKs in the order the PUBLISH packets arrived, so acks are released in order.

The session is persistent (clean start off, session expiry set), so the broker keeps requests
published while we are away and redelivers those we never acknowledged. A message from an
earlier connection is never acknowledged on a later one: the broker redelivers it instead, and
any copy still in aiomqtt's queue is skipped (each message is tagged with its connection).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
import logging
import socket
from typing import Self, cast
from urllib.parse import unquote, urlsplit
import weakref

import aiomqtt
import aiomqtt.exceptions as aiomqtt_exceptions
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gsmgw.config import Config
from gsmgw.errors import ConfigError

__all__ = [
    "BrokerAddress",
    "ClientSettings",
    "MqttClient",
    "MqttConnectError",
    "MqttError",
    "MqttVersion",
    "ReceivedPublish",
    "TlsFiles",
    "client_settings",
    "make_client",
]

LOGGER = logging.getLogger(__package__)

#: How long the broker keeps our session (and requests for us) while we are away: a week.
SESSION_EXPIRY_INTERVAL = 7 * 24 * 3600
#: MQTT 5 Receive Maximum: unacknowledged QoS 1 requests the broker may send us at once.
RECEIVE_MAXIMUM = 100
KEEPALIVE_INTERVAL = 30
#: Waiting for CONNACK, SUBACK or a PUBACK of ours.
BROKER_TIMEOUT = 10.0
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
#: aiomqtt warns of "pending publish calls" above this many calls awaiting the broker; its
#: default (10) fires on every publication batch (100) and burst of request replies.
PENDING_CALLS_WARNING = 400

MqttError = aiomqtt.MqttError
#: The broker refused the CONNECT (bad credentials, not authorised).
MqttConnectError = aiomqtt_exceptions.MqttConnectError


class MqttVersion(StrEnum):
    """The MQTT protocol version spoken to the broker."""

    V5 = "5"
    V311 = "3.1.1"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker listens, parsed from ``mqtt://host:port`` or ``mqtts://host:port``."""

    host: str
    port: int
    tls: bool = False

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("the broker URL names no host")
        if not 0 < self.port < 65536:
            raise ValueError(f"the broker port {self.port} is out of range")

    @classmethod
    def parse(cls, url: str) -> Self:
        """Parse a broker URL.

        Raises:
            ValueError: the scheme is not mqtt/mqtts, or host or port are missing or invalid.
        """
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError(f"{url!r}: the scheme must be mqtt:// or mqtts://")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{url!r}: a broker URL has no path, query or fragment")
        try:
            port = parts.port
        except ValueError as exc:  # urllib says "Port out of range" or "could not convert"
            raise ValueError(f"{url!r}: {exc}") from None
        if port is None:
            port = DEFAULT_PORTS[parts.scheme]
        return cls(host=unquote(parts.hostname or ""), port=port, tls=parts.scheme == "mqtts")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """CA bundle and client certificate for ``mqtts://`` (None: the system's CAs, no cert)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    """Everything needed to connect; built once from the config."""

    address: BrokerAddress
    client_id: str
    version: MqttVersion = MqttVersion.V5
    username: str | None = None
    password: str | None = None
    tls: TlsFiles = field(default_factory=TlsFiles)
    #: Last Will: published by the broker (retained, QoS 1) when we vanish.
    will_topic: str | None = None
    will_payload: bytes = b"offline"
    keepalive: int = KEEPALIVE_INTERVAL
    session_expiry: int = SESSION_EXPIRY_INTERVAL
    receive_maximum: int = RECEIVE_MAXIMUM
    timeout: float = BROKER_TIMEOUT
    #: Keep the session (and the requests queued for us) while we are away. Only the daemon's
    #: own client id may: ``gsmgw doctor`` connects with a clean session of its own.
    persistent: bool = True

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("the MQTT client id must not be empty")
        if self.receive_maximum < 1:
            raise ValueError("receive_maximum must be at least 1")


@dataclass(frozen=True, slots=True)
class ReceivedPublish:
    """One message from the broker; acknowledge QoS 1 ones with `MqttClient.ack`."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    #: MQTT 5 Response Topic and Correlation Data (None on 3.1.1).
    response_topic: str | None = None
    correlation_data: bytes | None = None
    #: Which connection delivered it (counts up from 1).
    generation: int = 0
    #: Its number among all deliveries of this client (packet ids are reused).
    delivery: int = 0


def client_settings(
    config: Config,
    *,
    client_id: str | None = None,
    will_topic: str | None = None,
    persistent: bool = True,
    timeout: float = BROKER_TIMEOUT,
) -> ClientSettings:
    """Return the settings to reach ``config``'s broker, as the daemon (default) or a tool.

    Raises:
        ConfigError: the broker URL cannot be used.
    """
    mqtt = config.mqtt
    try:
        address = BrokerAddress.parse(mqtt.url)
    except ValueError as exc:
        raise ConfigError(config.file, "mqtt.url", str(exc)) from None
    return ClientSettings(
        address=address,
        client_id=client_id or mqtt.client_id or f"gsmgw-{config.gateway.node}",
        version=MqttVersion(mqtt.protocol),
        username=mqtt.username,
        password=mqtt.password,
        tls=TlsFiles(
            ca_file=str(mqtt.ca_file) if mqtt.ca_file else None,
            cert_file=str(mqtt.cert_file) if mqtt.cert_file else None,
            key_file=str(mqtt.key_file) if mqtt.key_file else None,
        ),
        will_topic=will_topic,
        keepalive=mqtt.keepalive,
        persistent=persistent,
        timeout=timeout,
    )


class _TaggedQueue(asyncio.Queue[aiomqtt.Message]):
    """aiomqtt's incoming queue, remembering which connection delivered each message."""

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.generation_of: weakref.WeakKeyDictionary[aiomqtt.Message, int] = (
            weakref.WeakKeyDictionary()
        )

    def _put(self, item: aiomqtt.Message) -> None:
        self.generation_of[item] = self.generation
        super()._put(item)


class _OrderedAcks:
    """Releases PUBACKs in arrival order (MQTT 3.1.1 §4.6, MQTT 5 §4.6).

    Messages are known by their delivery number, not their packet id: once acknowledged, a
    packet id may come back on another message at once.
    """

    def __init__(self, send: Callable[[int], None]) -> None:
        self._send = send
        self._order: deque[tuple[int, int]] = deque()  # (delivery, mid)
        self._waiting: set[int] = set()
        self._done: set[int] = set()

    def expect(self, delivery: int, mid: int) -> None:
        self._order.append((delivery, mid))
        self._waiting.add(delivery)

    def done(self, delivery: int) -> None:
        """Mark a delivery handled; a second call, or an unknown delivery, does nothing."""
        if delivery not in self._waiting:
            return
        self._waiting.discard(delivery)
        self._done.add(delivery)
        while self._order and self._order[0][0] in self._done:
            first, mid = self._order.popleft()
            self._done.discard(first)
            self._send(mid)

    @property
    def waiting(self) -> int:
        """Messages handed out but not yet acknowledged to the broker."""
        return len(self._order)


class MqttClient:
    """A reusable connection to one broker with manual, ordered PUBACKs."""

    def __init__(self, settings: ClientSettings) -> None:
        """Create the client (needs a running event loop, as aiomqtt does)."""
        self.settings = settings
        self._queue = _TaggedQueue()
        self._client = make_client(settings, queue=self._queue)
        self._client.pending_calls_threshold = PENDING_CALLS_WARNING
        self._paho = paho_client_of(self._client)
        # The reason this module exists: PUBACK only when `ack` says the request is committed.
        self._paho.manual_ack_set(True)
        self._acks = _OrderedAcks(self._send_puback)
        self._deliveries = 0

    @property
    def generation(self) -> int:
        """The number of the current (or last) connection."""
        return self._queue.generation

    @property
    def unacknowledged(self) -> int:
        """QoS 1 messages of this connection handed out and not yet acknowledged."""
        return self._acks.waiting

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[Self]:
        """Connect for the duration of the block; raises `MqttError` if the broker is away."""
        self._queue.generation += 1
        self._acks = _OrderedAcks(self._send_puback)
        async with self._client:
            LOGGER.info(
                "connected to %s:%d as %s (MQTT %s)",
                self.settings.address.host,
                self.settings.address.port,
                self.settings.client_id,
                self.settings.version,
            )
            yield self

    async def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1; on MQTT 5, retained messages only for a new subscription."""
        if self.settings.version is MqttVersion.V5:
            options = SubscribeOptions(
                qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB
            )
            await self._client.subscribe(topic, options=options, timeout=self.settings.timeout)
        else:
            await self._client.subscribe(topic, qos=1, timeout=self.settings.timeout)

    async def unsubscribe(self, topic: str) -> None:
        """Drop a subscription (kept by a persistent session) if there is one."""
        await self._client.unsubscribe(topic, timeout=self.settings.timeout)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        correlation_data: bytes | None = None,
    ) -> None:
        """Publish at QoS 1 and return once the broker's PUBACK arrived.

        Raises:
            MqttError: not connected, or no PUBACK within the timeout.
        """
        properties = None
        if correlation_data is not None and self.settings.version is MqttVersion.V5:
            properties = _properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation_data
        await self._client.publish(
            topic,
            payload,
            qos=1,
            retain=retain,
            properties=properties,
            timeout=self.settings.timeout,
        )

    async def messages(self) -> AsyncIterator[ReceivedPublish]:
        """Yield this connection's messages; raises `MqttError` when the connection drops."""
        generation = self._queue.generation
        async for message in self._client.messages:
            if self._queue.generation_of.get(message) != generation:
                # Left over from an earlier connection: the broker redelivers it on this one.
                continue
            self._deliveries += 1
            received = _received(message, generation, self._deliveries)
            if received.qos == 1:
                self._acks.expect(received.delivery, received.mid)
            yield received

    def ack(self, message: ReceivedPublish) -> None:
        """Acknowledge a QoS 1 message (PUBACK once every earlier one is acknowledged too)."""
        if message.qos != 1 or message.generation != self._queue.generation:
            return
        self._acks.done(message.delivery)

    def _send_puback(self, mid: int) -> None:
        rc = self._paho.ack(mid, 1)
        if rc != paho.MQTT_ERR_SUCCESS:
            # Lost connection: the broker keeps the message in our session and redelivers it.
            LOGGER.debug("PUBACK for mid %d not sent (rc %s); the broker will redeliver", mid, rc)


def paho_client_of(client: aiomqtt.Client) -> paho.Client:
    """Return the paho client inside aiomqtt (a private attribute; tests/bridges checks it)."""
    inner = client._client
    if not isinstance(inner, paho.Client):  # an aiomqtt upgrade changed its insides
        raise TypeError(f"aiomqtt.Client._client is {type(inner)!r}, not a paho client")
    return inner


def make_client(
    settings: ClientSettings, *, queue: asyncio.Queue[aiomqtt.Message] | None = None
) -> aiomqtt.Client:
    """Return the aiomqtt client for ``settings``: the one place gsmgw builds one.

    ``queue`` replaces aiomqtt's message queue (``MqttClient`` tags each message with its
    connection); without it aiomqtt makes its own.
    """
    v5 = settings.version is MqttVersion.V5
    connect_properties = None
    if v5:
        connect_properties = _properties(PacketTypes.CONNECT)
        if settings.persistent:
            connect_properties.SessionExpiryInterval = settings.session_expiry
        connect_properties.ReceiveMaximum = settings.receive_maximum
    will = None
    if settings.will_topic is not None:
        will = aiomqtt.Will(settings.will_topic, settings.will_payload, qos=1, retain=True)
    tls = settings.tls
    # aiomqtt builds its queue with queue_type(maxsize=...): hand it ours when given one.
    queue_type = None if queue is None else (lambda maxsize: queue)
    return aiomqtt.Client(
        settings.address.host,
        settings.address.port,
        identifier=settings.client_id,
        username=settings.username,
        password=settings.password,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        # MQTT 5 says it with clean start, 3.1.1 with clean session; paho refuses any
        # clean_start but its default on 3.1.1.
        clean_start=(not settings.persistent) if v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
        clean_session=None if v5 else not settings.persistent,
        properties=connect_properties,
        will=will,
        keepalive=settings.keepalive,
        timeout=settings.timeout,
        # Requests, replies and PUBACKs are small: Nagle's algorithm would hold each one back
        # until the previous one is acknowledged (tens of ms with delayed ACKs).
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        max_inflight_messages=RECEIVE_MAXIMUM,
        tls_params=(
            aiomqtt.TLSParameters(
                ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file
            )
            if settings.address.tls
            else None
        ),
        queue_type=cast("type[asyncio.Queue[aiomqtt.Message]] | None", queue_type),
    )


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho ships no hints here


def _received(message: aiomqtt.Message, generation: int, delivery: int) -> ReceivedPublish:
    properties = message.properties
    response_topic = getattr(properties, "ResponseTopic", None)
    correlation_data = getattr(properties, "CorrelationData", None)
    return ReceivedPublish(
        topic=message.topic.value,
        payload=bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b"",
        qos=message.qos,
        retain=message.retain,
        mid=message.mid,
        response_topic=response_topic if isinstance(response_topic, str) else None,
        correlation_data=bytes(correlation_data) if correlation_data is not None else None,
        generation=generation,
        delivery=delivery,
    )
