"""When a modem's health is published (issue 14, defect 8): changes at once, signal sparingly.

Every publication is two commits (queued, then acknowledged); a Huawei ``^RSSI`` or Quectel
``+QIND: "csq"`` on every step of the signal made that two commits, with fsync, a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from gsmgw.config import OptOutConfig, parse_config
from gsmgw.daemon import Gateway, _health as health
from gsmgw.dispatch import Dispatcher, Inbound
from gsmgw.store import Store

TOPIC = "gsmgw/t/modem/sim1"


def make_config(tmp_path: Path, mqtt: bool = True) -> Any:
    url = "mqtt://127.0.0.1:1" if mqtt else ""
    return parse_config(
        f"[gateway]\nnode = 't'\ndatabase = 'gsmgw.db'\n[mqtt]\nurl = '{url}'\n"
        "[[modem]]\nid = 'sim1'\nport = '/dev/null'\n[[modem]]\nid = 'sim2'\nport = '/dev/null'\n",
        base=tmp_path,
    )


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    config = make_config(tmp_path)
    async with Store(config.gateway.database) as store:
        yield Gateway(store, Dispatcher(store, config), Inbound(store, OptOutConfig()), config)


@pytest.fixture
def short_interval(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(health, "SIGNAL_INTERVAL", 0.5)
    monkeypatch.setattr(health, "HEALTH_GATHER_DELAY", 0.05)
    return 0.5


async def published(gateway: Gateway) -> list[dict[str, Any]]:
    """Return the payloads queued for the modem's retained topic, oldest first."""
    rows = await gateway.store.next_publications(1000)
    assert all(row.retain for row in rows if row.topic == TOPIC)
    return [json.loads(row.payload) for row in rows if row.topic == TOPIC]


async def eventually(check: Callable[[], Any], limit: float = 5.0) -> None:
    async with asyncio.timeout(limit):
        while not await check():  # noqa: ASYNC110 - a test helper polling the store
            await asyncio.sleep(0.02)


async def test_signal_steps_publish_at_most_once_per_interval(
    gateway: Gateway, short_interval: float
) -> None:
    await gateway.set_health("sim1", state="ready", signal=-80)
    assert [p["signal"] for p in await published(gateway)] == [-80]
    # ^RSSI on every 2 dB step, many a second: within the interval nothing more goes out.
    for _ in range(20):
        for dbm in (-78, -76, -74, -76):
            await gateway.set_health("sim1", signal=dbm)
    assert [p["signal"] for p in await published(gateway)] == [-80]
    assert gateway.health["sim1"].signal == -76  # gsmgw status sees the latest at once
    # Once the interval is over the move that still stands is published, once.
    runner = asyncio.create_task(gateway.run_health())
    try:
        await eventually(lambda: _count(gateway, 2))
        await asyncio.sleep(short_interval * 2)
        assert [p["signal"] for p in await published(gateway)] == [-80, -76]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_signal_that_moved_less_than_the_step_is_never_published(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "SIGNAL_INTERVAL", 0.0)
    monkeypatch.setattr(health, "HEALTH_GATHER_DELAY", 0.0)
    await gateway.set_health("sim1", state="ready", signal=-80)
    runner = asyncio.create_task(gateway.run_health())
    try:
        for dbm in (-78, -82, -78, -81):  # within 2 dB of what was published
            await gateway.set_health("sim1", signal=dbm)
            await asyncio.sleep(0.05)
        await gateway.set_health("sim1", signal=-77)  # 3 dB: worth saying
        await eventually(lambda: _count(gateway, 2))
        await gateway.set_health("sim1", signal=None)  # lost: worth saying
        await eventually(lambda: _count(gateway, 3))
        assert [p["signal"] for p in await published(gateway)] == [-80, -77, None]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_the_signals_of_all_modems_go_in_one_batch(
    gateway: Gateway, short_interval: float
) -> None:
    await gateway.set_health("sim1", state="ready", signal=-80)
    await gateway.set_health("sim2", state="ready", signal=-80)
    runner = asyncio.create_task(gateway.run_health())
    try:
        await asyncio.sleep(short_interval / 2)
        await gateway.set_health("sim1", signal=-70)
        await asyncio.sleep(short_interval)  # sim1's move is due: the batch goes out
        await gateway.set_health("sim2", signal=-70)  # waits for the next batch
        await gateway.set_health("sim1", signal=-60)
        commits = gateway.store.commits
        await asyncio.sleep(short_interval * 2.5)
        assert gateway.store.commits == commits + 1  # the second batch: both modems at once
        rows = await gateway.store.next_publications(100)
        signals = [(row.topic[-4:], json.loads(row.payload)["signal"]) for row in rows]
        assert signals[2] == ("sim1", -70)
        assert sorted(signals[3:]) == [("sim1", -60), ("sim2", -70)]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_move_undone_before_the_interval_ends_is_not_published(
    gateway: Gateway, short_interval: float
) -> None:
    await gateway.set_health("sim1", state="ready", signal=-80)
    runner = asyncio.create_task(gateway.run_health())
    try:
        await gateway.set_health("sim1", signal=-70)
        await gateway.set_health("sim1", signal=-79)
        await asyncio.sleep(short_interval * 2)
        assert [p["signal"] for p in await published(gateway)] == [-80]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


@pytest.mark.parametrize(
    "change",
    [
        {"state": "failed", "error": "no answer"},
        {"registration": "roaming"},
        {"operator": "Other"},
        {"identity": {"imei": "490154203237518"}},
    ],
)
async def test_other_changes_are_published_at_once(
    gateway: Gateway, short_interval: float, change: dict[str, Any]
) -> None:
    await gateway.set_health("sim1", state="ready", registration="home", operator="Net", signal=-80)
    await gateway.set_health("sim1", signal=-70)  # held back
    await gateway.set_health("sim1", **change)
    payloads = await published(gateway)
    assert len(payloads) == 2
    assert payloads[1]["signal"] == -70  # the held-back signal goes with it
    for key, value in change.items():
        if key == "identity":
            assert payloads[1]["imei"] == value["imei"]
        else:
            assert payloads[1]["last_error" if key == "error" else key] == value


async def test_health_is_queued_without_fsync(gateway: Gateway) -> None:
    durable: list[bool] = []
    writer = gateway.store._writer
    put = writer.put

    def spy(run: Any, **kwargs: Any) -> Any:
        durable.append(kwargs.get("durable", True))
        return put(run, **kwargs)

    writer.put = spy  # type: ignore[method-assign]
    await gateway.set_health("sim1", state="ready")
    assert durable == [False]
    assert len(await published(gateway)) == 1


async def test_a_store_error_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path)
    store = Store(config.gateway.database)
    await store.open()
    gateway = Gateway(store, Dispatcher(store, config), Inbound(store, OptOutConfig()), config)
    await store.close()  # every write now fails with StoreError
    with caplog.at_level(logging.WARNING, logger="gsmgw.daemon"):
        await gateway.set_health("sim1", state="ready")
    assert gateway.health["sim1"].state == "ready"
    assert "cannot queue the health of sim1" in caplog.text
    # Not recorded as published: the next change (the store back) publishes again.
    async with store:
        await gateway.set_health("sim1", state="ready", signal=-90)
        assert [p["signal"] for p in await published(gateway)] == [-90]


async def test_without_mqtt_nothing_is_queued(tmp_path: Path) -> None:
    config = make_config(tmp_path, mqtt=False)
    async with Store(config.gateway.database) as store:
        gateway = Gateway(store, Dispatcher(store, config), Inbound(store, OptOutConfig()), config)
        await gateway.set_health("sim1", state="ready", signal=-80)
        assert await store.next_publications(10) == []
        assert gateway.health["sim1"].signal == -80


async def _count(gateway: Gateway, n: int) -> bool:
    return len(await published(gateway)) >= n


async def test_a_health_acknowledgement_is_deleted_with_the_next_health(gateway: Gateway) -> None:
    await gateway.store.enqueue_publication("gsmgw/t/sms/state", b"{}")  # not health
    await gateway.set_health("sim1", state="ready")
    first = await gateway.next_publications(10)
    assert [entry.topic for entry in first] == ["gsmgw/t/sms/state", TOPIC]
    commits = gateway.store.commits
    for entry in first:
        await gateway.ack_publication(entry.id)
    # The state event's removal is a commit; the health's waits for the next health.
    assert gateway.store.commits == commits + 1
    assert [row.topic for row in await gateway.store.next_publications(10)] == [TOPIC]
    waiting = asyncio.create_task(gateway.next_publications(10))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the acknowledged health is not handed out again
    await gateway.set_health("sim1", state="failed")
    (latest,) = await waiting
    assert json.loads(latest.payload)["state"] == "failed"
    assert [row.id for row in await gateway.store.next_publications(10)] == [latest.id]
