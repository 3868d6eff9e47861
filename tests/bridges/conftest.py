"""A recording core, a running bridge and a user's MQTT client, for the bridge tests.

The core here records submissions and keeps publications in memory: the bridge tests check the
MQTT side; the end-to-end tests with the real store and dispatcher live with the daemon.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
import itertools
import json
import socket
from typing import Any
import uuid

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
import pytest

from gsmgw.bridges.mqtt import (
    Bridge,
    BridgeSettings,
    BrokerAddress,
    ClientSettings,
    MqttVersion,
    RequestSettings,
    TlsFiles,
)
from gsmgw.core import MessageView, NodeHealth, SmppOrigin, SubmitResult, Topics
from gsmgw.demo import Mosquitto
from gsmgw.errors import GsmgwError, RequestError, StoreError
from gsmgw.models import IncomingMessage, MessageState, SendRequest
from gsmgw.store import Delivery

#: Generous: other helpers' tests share the two cores.
WAIT_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class Entry:
    """One publication of the in-memory queue."""

    id: int
    topic: str
    payload: bytes
    retain: bool = False


class RecordingCore:
    """Implements `gsmgw.core._seam.Core` in memory and records what the bridge asks."""

    def __init__(self) -> None:
        self.submitted: list[SendRequest] = []
        self.states: dict[str, MessageState] = {}
        #: Raised by the next submit or ussd call (then cleared), to test error replies.
        self.fail_next: GsmgwError | None = None
        #: Message ids refused on their own (a recipient on the opt-out list, say).
        self.refuse: dict[str, RequestError] = {}
        self.ussd_calls: list[tuple[str, str]] = []
        self.pending: dict[int, Entry] = {}
        self.acked: list[int] = []
        #: How many of the next next_publications / ack_publication calls fail as a full
        #: disk does (StoreError), to test that the bridge rides it out.
        self.read_failures = 0
        self.ack_failures = 0
        #: What node_status returns, and how often it was asked.
        self.status: dict[str, object] = {"queue_depth": 0, "modems": {}}
        self.status_reads = 0
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    def _maybe_fail(self) -> None:
        error, self.fail_next = self.fail_next, None
        if error is not None:
            raise error

    async def submit(
        self, request: SendRequest, *, origin: SmppOrigin | None = None
    ) -> Sequence[SubmitResult]:
        self._maybe_fail()
        request = request.with_id()
        self.submitted.append(request)
        results = []
        for message_id in request.message_ids():
            if message_id in self.refuse:
                results.append(SubmitResult(message_id, None, self.refuse[message_id]))
                continue
            state = self.states.setdefault(message_id, MessageState.QUEUED)
            results.append(SubmitResult(message_id, state))
        return results

    async def ussd(self, modem: str, code: str) -> str:
        self._maybe_fail()
        self.ussd_calls.append((modem, code))
        return f"balance for {code} on {modem}: 4.20 EUR"

    async def next_publications(self, limit: int) -> Sequence[Entry]:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self.pending))
            if self.read_failures:
                self.read_failures -= 1
                raise StoreError("database or disk is full")
            return sorted(self.pending.values(), key=lambda e: e.id)[:limit]

    async def ack_publication(self, publication_id: int) -> None:
        async with self._changed:
            if self.ack_failures:
                self.ack_failures -= 1
                raise StoreError("database or disk is full")
            del self.pending[publication_id]
            self.acked.append(publication_id)
            self._changed.notify_all()

    # The read side of the seam (the HTTP API's); MQTT never asks for it.

    async def next_delivery(self, consumer: str) -> Delivery:
        await asyncio.Event().wait()  # the MQTT bridge never asks
        raise AssertionError("unreachable")

    async def finish_delivery(self, pk: int) -> None:
        pass

    async def postpone_delivery(self, pk: int, due: datetime, error: str) -> None:
        pass

    async def message(self, message_id: str) -> MessageView | None:
        return None

    async def messages(
        self, *, state: MessageState | None, to: str | None, limit: int, before: int | None
    ) -> Sequence[MessageView]:
        return []

    async def cancel(self, message_id: str) -> MessageState | None:
        return self.states.get(message_id)

    async def inbox(
        self,
        *,
        since: datetime | None,
        sender: str | None,
        modem: str | None,
        limit: int,
        before: int | None,
    ) -> Sequence[IncomingMessage]:
        return []

    def modems(self) -> Sequence[Mapping[str, object]]:
        return []

    def node_health(self) -> NodeHealth:
        return NodeHealth(0, 0)

    async def node_status(self) -> Mapping[str, object]:
        self.status_reads += 1
        return dict(self.status)

    async def enqueue(self, topic: str, payload: object, *, retain: bool = False) -> int:
        """Add a publication, as the store does when it commits an SMS or an event."""
        async with self._changed:
            entry = Entry(next(self._ids), topic, json.dumps(payload).encode(), retain)
            self.pending[entry.id] = entry
            self._changed.notify_all()
            return entry.id

    async def wait_drained(self) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: not self.pending), WAIT_TIMEOUT)


@dataclass
class RunningBridge:
    bridge: Bridge
    core: RecordingCore
    topics: Topics
    task: asyncio.Task[None]
    broker: Mosquitto

    async def wait_connected(self) -> None:
        await asyncio.wait_for(self.bridge.connected.wait(), WAIT_TIMEOUT)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@dataclass
class BridgeFactory:
    """Starts bridges (cancelled at the end of the test)."""

    running: list[RunningBridge] = field(default_factory=list)

    async def start(
        self,
        broker: Mosquitto,
        *,
        core: RecordingCore | None = None,
        node: str | None = None,
        prefix: str = "gsmgw",
        version: MqttVersion = MqttVersion.V5,
        client_id: str | None = None,
        url: str | None = None,
        tls: TlsFiles | None = None,
        **settings: Any,
    ) -> RunningBridge:
        node = node or f"node-{uuid.uuid4().hex[:8]}"
        topics = Topics(prefix, node)
        requests = settings.pop(
            "requests", RequestSettings(known_modems=frozenset({"sim1", "otp"}))
        )
        bridge_settings = BridgeSettings(
            topics=topics,
            requests=requests,
            reconnect_delay=0.05,
            reconnect_max_delay=0.5,
            **{"discovery": False, **settings},
        )
        client_settings = ClientSettings(
            address=BrokerAddress.parse(url or broker.url),
            tls=tls or TlsFiles(),
            client_id=client_id or f"gsmgw-{node}",
            version=version,
            will_topic=topics.availability,
        )
        core = core or RecordingCore()
        bridge = Bridge(core, bridge_settings, client_settings)
        task: asyncio.Task[None] = asyncio.create_task(bridge.run())
        running = RunningBridge(bridge, core, topics, task, broker)
        self.running.append(running)
        await running.wait_connected()
        return running


@pytest.fixture
async def bridges() -> AsyncIterator[BridgeFactory]:
    factory = BridgeFactory()
    try:
        yield factory
    finally:
        for running in factory.running:
            await running.stop()


class User:
    """Someone's MQTT client: subscribes, publishes requests, collects what arrives."""

    def __init__(self, client: aiomqtt.Client, version: MqttVersion) -> None:
        self.client = client
        self.version = version
        self.inbox: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.client.messages:
            await self.inbox.put(message)

    async def subscribe(self, *topics: str) -> None:
        for topic in topics:
            await self.client.subscribe(topic, qos=1)

    async def request(
        self,
        topic: str,
        payload: bytes | Mapping[str, object],
        *,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
        retain: bool = False,
    ) -> None:
        data = json.dumps(payload).encode() if isinstance(payload, Mapping) else payload
        properties = None
        if response_topic is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.ResponseTopic = response_topic
            if correlation_data is not None:
                properties.CorrelationData = correlation_data
        await self.client.publish(topic, data, qos=1, retain=retain, properties=properties)

    async def receive(self, topic: str | None = None) -> aiomqtt.Message:
        """Return the next message (on ``topic``, skipping others)."""
        while True:
            message = await asyncio.wait_for(self.inbox.get(), WAIT_TIMEOUT)
            if topic is None or message.topic.value == topic:
                return message

    async def receive_json(self, topic: str | None = None) -> Any:
        message = await self.receive(topic)
        assert isinstance(message.payload, bytes)
        return json.loads(message.payload)


#: ``user = await users(broker)`` or ``await users(broker, MqttVersion.V311)``.
Users = Callable[..., Awaitable[User]]


@pytest.fixture
async def users() -> AsyncIterator[Users]:
    """Users connected to a broker on demand, disconnected after the test."""
    stack = contextlib.AsyncExitStack()

    async def connect(broker: Mosquitto, version: MqttVersion = MqttVersion.V5) -> User:
        protocol = (
            aiomqtt.ProtocolVersion.V5
            if version is MqttVersion.V5
            else aiomqtt.ProtocolVersion.V311
        )
        # TCP_NODELAY as the bridge sets it: otherwise each PUBACK waits for a delayed ACK.
        nodelay = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = aiomqtt.Client(
            "127.0.0.1", broker.port, protocol=protocol, socket_options=[nodelay]
        )
        await stack.enter_async_context(client)
        user = User(client, version)
        stack.push_async_callback(_cancel, user._reader)
        return user

    async with stack:
        yield connect


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await task
