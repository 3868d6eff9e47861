"""kill -9 between receipt and commit: the broker delivers the request again, the Will fires."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from typing import TYPE_CHECKING
import uuid

import pytest

from gsmgw.bridges.mqtt import MqttVersion
from gsmgw.demo import Mosquitto

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

WAIT_TIMEOUT = 20.0

# A daemon whose store never commits: it prints the request it holds, then waits to be killed.
CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from gsmgw.bridges.mqtt import (
        Bridge, BridgeSettings, BrokerAddress, ClientSettings, MqttVersion,
    )
    from gsmgw.core import Topics

    class StuckCore:
        async def submit(self, request):
            print("submitting", request.id, flush=True)
            await asyncio.Event().wait()

        async def ussd(self, modem, code):
            raise AssertionError

        async def next_publications(self, limit):
            await asyncio.Event().wait()

        async def node_status(self):
            return {}

        async def ack_publication(self, publication_id):
            raise AssertionError

    async def main() -> None:
        url, node, version = sys.argv[1:4]
        topics = Topics("gsmgw", node)
        client = ClientSettings(address=BrokerAddress.parse(url), client_id=f"gsmgw-{node}",
                                version=MqttVersion(version), will_topic=topics.availability)
        bridge = Bridge(StuckCore(), BridgeSettings(topics=topics, discovery=False), client)
        task = asyncio.create_task(bridge.run())
        await bridge.connected.wait()
        print("ready", flush=True)
        await task

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("version", list(MqttVersion))
async def test_request_held_by_a_killed_daemon_is_delivered_again(
    mosquitto: Mosquitto, bridges: BridgeFactory, users: Users, version: MqttVersion
) -> None:
    node = f"crash-{uuid.uuid4().hex[:8]}"
    user = await users(mosquitto)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, mosquitto.url, node, version.value,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), WAIT_TIMEOUT) == b"ready\n"
        await user.subscribe(f"gsmgw/{node}/availability")
        assert (await user.receive()).payload == b"online"
        request = {"to": "+491701234567", "text": "Your code is 123456", "id": "otp-crash"}
        await user.request(f"gsmgw/{node}/send", request)
        line = await asyncio.wait_for(child.stdout.readline(), WAIT_TIMEOUT)
        assert line == b"submitting otp-crash\n"
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGKILL)
        await child.wait()
    # The broker saw the connection die: the Last Will says so.
    will = await user.receive()
    assert (will.topic.value, will.payload) == (f"gsmgw/{node}/availability", b"offline")
    # The daemon comes back with the same client id: the request was never acknowledged.
    running = await bridges.start(mosquitto, node=node, version=version)
    await user.subscribe(running.topics.errors)
    await user.request(running.topics.send, {"id": "sentinel"})
    assert (await user.receive_json(running.topics.errors))["id"] == "sentinel"
    assert [r.id for r in running.core.submitted] == ["otp-crash"]
