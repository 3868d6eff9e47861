"""The health policy in a running daemon: a Huawei modem's ^RSSI on every step costs no commits."""

from __future__ import annotations

import asyncio
import json

import aiomqtt

from gsmgw.demo import Mosquitto

from .conftest import StartDaemon, config_text, eventually, sim, sim_modem


async def test_signal_urcs_on_every_step_are_not_each_a_commit(
    start_daemon: StartDaemon, mosquitto: Mosquitto
) -> None:
    mqtt = f"url = '{mosquitto.url}'\nprefix = 'hd'\ndiscovery = false\nclient_id = 'gwd-health'"
    running = await start_daemon(
        config_text(sim_modem("hw1", "").replace("sim:hw1", "sim:hw1?profile=huawei"), mqtt=mqtt)
    )
    gateway = running.daemon.gateway
    assert gateway is not None
    await eventually(lambda: gateway.health["hw1"].state == "ready")
    await asyncio.sleep(0.5)  # the start's own publications settle
    commits = running.daemon.store.commits
    for step in range(40):
        sim("hw1").sim.set_signal(10 + 5 * (step % 2))  # 10 dB up and down: each is "a move"
        await asyncio.sleep(0.02)
    await eventually(lambda: gateway.health["hw1"].signal == -113 + 2 * 15)
    await asyncio.sleep(0.3)
    # Before: 40 publications, each a commit with fsync and a second one for its PUBACK.
    assert running.daemon.store.commits - commits <= 2


async def ready_modems(port: int, topics: str, count: int) -> None:
    """Wait until ``count`` retained modem health payloads under ``topics`` say ``ready``."""
    states: dict[str, str] = {}
    async with aiomqtt.Client("127.0.0.1", port, identifier="hr-watch") as client:
        await client.subscribe(topics, qos=1)
        async with asyncio.timeout(15):
            async for message in client.messages:
                states[str(message.topic)] = json.loads(bytes(message.payload))["state"]
                if sum(state == "ready" for state in states.values()) == count:
                    return


async def test_every_modem_that_becomes_ready_at_once_is_published_ready(
    start_daemon: StartDaemon, mosquitto: Mosquitto
) -> None:
    """Four modems ready at once: each retained health says ``ready``.

    Publication ids were reused after a delete, and health acknowledgements are deleted late,
    in the next health commit: two such commits deleted a fresh ``ready`` that had taken an
    acknowledged id, and the publisher skipped one whose id was still marked acknowledged.
    """
    modems = "".join(sim_modem(f"r{n}") for n in range(4))
    for start in range(3):  # it took one or two starts to lose one; a prefix each, no retained
        prefix = f"hr{start}"
        mqtt = f"url = '{mosquitto.url}'\nprefix = '{prefix}'\ndiscovery = false"
        running = await start_daemon(config_text(modems, mqtt=mqtt + f"\nclient_id = '{prefix}'"))
        await ready_modems(mosquitto.port, f"{prefix}/+/modem/+", 4)
        await running.stop()
