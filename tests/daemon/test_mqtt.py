"""The daemon with its MQTT bridge: a send request in, state events and inbound SMS out."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiomqtt

from gsmgw.demo import Mosquitto

from .conftest import StartDaemon, config_text, sim, sim_modem


async def test_send_request_to_sent_and_inbox_over_mqtt(
    start_daemon: StartDaemon, mosquitto: Mosquitto
) -> None:
    prefix = "gwd"
    mqtt = f"url = '{mosquitto.url}'\nprefix = '{prefix}'\ndiscovery = false\nclient_id = 'gwd-t'"
    running = await start_daemon(config_text(sim_modem("q1"), mqtt=mqtt))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]

    states: list[dict[str, Any]] = []
    inbox: list[dict[str, Any]] = []
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="test-user") as client:
        await client.subscribe(f"{prefix}/t/sms/state", qos=1)
        await client.subscribe(f"{prefix}/t/inbox", qos=1)
        await client.subscribe(f"{prefix}/t/modem/q1", qos=1)
        request = {"to": "+491701234567", "text": "over mqtt", "id": "mq1"}
        await client.publish(f"{prefix}/send", json.dumps(request), qos=1)
        sim("q1").sim.inject_sms("+491706666666", "hello broker")
        modem_state: dict[str, Any] = {}
        async with asyncio.timeout(20):
            async for message in client.messages:
                payload = json.loads(bytes(message.payload))
                if message.topic.matches(f"{prefix}/t/sms/state"):
                    states.append(payload)
                elif message.topic.matches(f"{prefix}/t/inbox"):
                    inbox.append(payload)
                else:
                    modem_state = payload
                if any(s["state"] == "sent" for s in states) and inbox and modem_state:
                    break

    assert [s["state"] for s in states if s["id"] == "mq1"][:3] == ["queued", "sending", "sent"]
    (received,) = inbox
    assert (received["from"], received["text"], received["modem"]) == (
        "+491706666666",
        "hello broker",
        "q1",
    )
    assert modem_state["state"] == "ready"
    assert modem_state["manufacturer"] == "gsmgw"
    assert await running.stop() == 0
