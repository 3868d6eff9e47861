"""The health policy in a running daemon: a Huawei modem's ^RSSI on every step costs no commits."""

from __future__ import annotations

import asyncio

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
