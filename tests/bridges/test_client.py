"""The paho/aiomqtt adapter against a real Mosquitto: manual PUBACK, sessions, URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
import signal
import socket
import sys
import textwrap
import uuid

import aiomqtt
import paho.mqtt.client as paho
import pytest

from gsmgw.bridges.mqtt._client import (
    BrokerAddress,
    ClientSettings,
    MqttClient,
    MqttVersion,
    ReceivedPublish,
    _OrderedAcks,
    paho_client_of,
)
from gsmgw.demo import Mosquitto

WAIT_TIMEOUT = 20.0


def settings_for(broker: Mosquitto, client_id: str, version: MqttVersion) -> ClientSettings:
    return ClientSettings(
        address=BrokerAddress.parse(broker.url), client_id=client_id, version=version
    )


async def publish_one(broker: Mosquitto, topic: str, payload: bytes) -> None:
    """Publish as a user would: a separate client at QoS 1."""
    async with aiomqtt.Client("127.0.0.1", broker.port) as user:
        await user.publish(topic, payload, qos=1)


async def next_message(
    client: MqttClient, messages: AsyncIterator[ReceivedPublish]
) -> ReceivedPublish:
    return await asyncio.wait_for(anext(messages), WAIT_TIMEOUT)


# The broker must redeliver what a killed daemon received but never acknowledged. This child
# process is that daemon: it receives one request, says so, and is killed with SIGKILL.
CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from gsmgw.bridges.mqtt import BrokerAddress, ClientSettings, MqttClient, MqttVersion

    async def main() -> None:
        url, client_id, version, topic = sys.argv[1:5]
        client = MqttClient(ClientSettings(address=BrokerAddress.parse(url),
                                           client_id=client_id, version=MqttVersion(version)))
        async with client.connect():
            await client.subscribe(topic)
            print("ready", flush=True)
            async for message in client.messages():
                print("got", message.payload.decode(), flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("version", list(MqttVersion))
async def test_killed_before_ack_is_redelivered_and_acked_is_not(
    mosquitto: Mosquitto, version: MqttVersion
) -> None:
    client_id = f"gsmgw-test-{uuid.uuid4().hex[:8]}"
    topic = f"test/{client_id}/send"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        mosquitto.url,
        client_id,
        version.value,
        topic,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), WAIT_TIMEOUT)
        assert line == b"ready\n"
        await publish_one(mosquitto, topic, b"request-1")
        line = await asyncio.wait_for(child.stdout.readline(), WAIT_TIMEOUT)
        assert line == b"got request-1\n"
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGKILL)
        await child.wait()

    # Same client id: the session (subscription and the unacknowledged message) is still there.
    client = MqttClient(settings_for(mosquitto, client_id, version))
    async with client.connect():
        messages = client.messages()
        again = await next_message(client, messages)
        assert again.payload == b"request-1"
        assert again.qos == 1
        client.ack(again)
        assert client.unacknowledged == 0

    # Acknowledged: the next connection sees only what is published afterwards.
    async with client.connect():
        await publish_one(mosquitto, topic, b"marker")
        messages = client.messages()
        first = await next_message(client, messages)
        assert first.payload == b"marker"
        client.ack(first)


@pytest.mark.parametrize("version", list(MqttVersion))
async def test_disconnect_without_ack_redelivers(
    mosquitto: Mosquitto, version: MqttVersion
) -> None:
    client_id = f"gsmgw-test-{uuid.uuid4().hex[:8]}"
    topic = f"test/{client_id}/send"
    client = MqttClient(settings_for(mosquitto, client_id, version))
    async with client.connect():
        await client.subscribe(topic)
        await publish_one(mosquitto, topic, b"not-committed")
        received = await next_message(client, client.messages())
        assert received.payload == b"not-committed"
    # Acking after the connection ended sends nothing: the broker redelivers instead.
    client.ack(received)
    async with client.connect():
        messages = client.messages()
        again = await next_message(client, messages)
        assert again.payload == b"not-committed"
        assert again.generation == received.generation + 1
        client.ack(again)


async def test_v5_properties_round_trip(mosquitto: Mosquitto) -> None:
    client_id = f"gsmgw-test-{uuid.uuid4().hex[:8]}"
    topic = f"test/{client_id}/props"
    client = MqttClient(settings_for(mosquitto, client_id, MqttVersion.V5))
    async with client.connect():
        await client.subscribe(topic)
        await client.publish(topic, b"{}", correlation_data=b"\x00corr")
        received = await next_message(client, client.messages())
        assert received.correlation_data == b"\x00corr"
        assert received.response_topic is None
        client.ack(received)


async def test_broker_away_raises_mqtt_error() -> None:
    broker = Mosquitto()  # never started: nobody listens on its port
    client = MqttClient(settings_for(broker, "gsmgw-test-away", MqttVersion.V5))
    with pytest.raises(aiomqtt.MqttError):
        async with client.connect():
            pass


async def test_socket_has_nodelay_on_every_connection(mosquitto: Mosquitto) -> None:
    """Nagle stays on in paho 2: small PUBLISH/PUBACK packets would wait for delayed ACKs."""
    client = MqttClient(settings_for(mosquitto, "gsmgw-test-nodelay", MqttVersion.V5))
    for _ in range(2):  # aiomqtt applies socket options per connect: check a reconnect too
        async with client.connect():
            sock = client._paho.socket()
            assert isinstance(sock, socket.socket)
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_paho_internals_we_rely_on_exist() -> None:
    """Fails loudly if an aiomqtt or paho upgrade moves what the adapter reaches into."""
    inner = paho_client_of(aiomqtt.Client("127.0.0.1"))
    assert isinstance(inner, paho.Client)
    client = MqttClient(
        ClientSettings(address=BrokerAddress("127.0.0.1", 1883), client_id="gsmgw-test")
    )
    # paho keeps the flag in this private attribute; _handle_publish skips the PUBACK on it.
    assert client._paho._manual_ack is True
    assert aiomqtt.__version__ == "2.5.1"


def test_ordered_acks_release_in_arrival_order() -> None:
    sent: list[int] = []
    acks = _OrderedAcks(sent.append)
    for delivery, mid in enumerate((5, 6, 7)):
        acks.expect(delivery, mid)
    acks.done(1)
    assert sent == []
    acks.done(0)
    assert sent == [5, 6]
    acks.done(2)
    assert sent == [5, 6, 7]
    assert acks.waiting == 0


def test_acking_twice_does_not_ack_a_reused_mid_early() -> None:
    sent: list[int] = []
    acks = _OrderedAcks(sent.append)
    acks.expect(1, mid=1)
    acks.done(1)
    # The broker reuses packet id 1 at once, behind another message.
    acks.expect(2, mid=2)
    acks.expect(3, mid=1)
    acks.done(1)  # a late second ack of the first message changes nothing
    acks.done(3)
    assert sent == [1]  # the new packet 1 waits for packet 2
    acks.done(2)
    assert sent == [1, 2, 1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", BrokerAddress("127.0.0.1", 1883)),
        ("mqtt://broker.local", BrokerAddress("broker.local", 1883)),
        ("mqtts://broker.local", BrokerAddress("broker.local", 8883, tls=True)),
        ("mqtts://[::1]:8884/", BrokerAddress("::1", 8884, tls=True)),
    ],
)
def test_url_parsing(url: str, expected: BrokerAddress) -> None:
    assert BrokerAddress.parse(url) == expected


@pytest.mark.parametrize(
    "url",
    ["http://host", "mqtt://", "mqtt://host:0", "mqtt://host:99999", "mqtt://host/x", "host:1883"],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"mqtt|port|host"):
        BrokerAddress.parse(url)
