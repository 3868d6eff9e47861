"""Retention in the daemon: a pass at start (and hourly), and the database's size in status."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gsmgw.cli.control import request
from gsmgw.cli.status import render
from gsmgw.daemon import _retention
from gsmgw.models import SendRequest, utc_now
from gsmgw.store import Store, StoreReader

from .conftest import StartDaemon, config_text, eventually, sim_modem


async def fill(path: Path) -> None:
    """One message cancelled 100 days ago, one 10 days ago, and one waiting."""
    now = utc_now()
    async with Store(path) as store:
        for name, age in (("old", 100), ("young", 10)):
            moment = now - timedelta(days=age)
            await store.enqueue([SendRequest(to=("+4917011",), text="hi", id=name)], now=moment)
            await store.cancel(name, now=moment)
        send_at = now + timedelta(days=1)
        await store.enqueue([SendRequest(to=("+4917011",), text="hi", id="later", send_at=send_at)])


def ids(path: Path) -> set[str]:
    with StoreReader(path) as reader:
        return {message.id for message in reader.list_outbox()}


async def test_old_messages_go_at_start_and_status_shows_the_size(
    start_daemon: StartDaemon, tmp_path: Path
) -> None:
    await fill(tmp_path / "gsmgw.db")
    running = await start_daemon(config_text(sim_modem("sim1"), gateway="keep_days = 30"))
    await eventually(lambda: ids(tmp_path / "gsmgw.db") == {"young", "later"})
    status = await request(running.control, "status")
    database = status["database"]
    assert database["bytes"] > 0
    assert set(database) == {"bytes", "wal_bytes", "free_bytes"}
    assert "database: " in render(status)


@pytest.mark.parametrize("keep_days", [0, 365])
async def test_keep_days_0_or_long_keeps_them(tmp_path: Path, keep_days: int) -> None:
    path = tmp_path / "gsmgw.db"
    await fill(path)
    async with Store(path) as store:
        await _retention.purge_once(store, keep_days)
    assert ids(path) == {"old", "young", "later"}


async def test_a_failed_pass_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "gsmgw.db")  # never opened: every job fails with StoreError
    assert await _retention.purge_once(store, 30) is None
    assert "retention: cannot delete old messages" in caplog.text


async def test_events_of_removed_webhooks_go_once_a_day_old(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, now = tmp_path / "gsmgw.db", utc_now()
    old, kept = "https://old.example/hook", "https://kept.example/hook"
    async with Store(path, webhooks=[(old, {"state"}), (kept, {"state"})]) as store:
        for name, age in (("aged", timedelta(days=2)), ("fresh", timedelta(hours=1))):
            request = SendRequest(to=("+4917011",), text="hi", id=name)
            await store.enqueue([request], now=now - age)  # its "queued" event, for each webhook
        assert await store.delivery_backlog() == {old: (2, None), kept: (2, None)}

    async with Store(path, webhooks=[(kept, {"state"})]) as store:  # the old webhook removed
        assert await _retention.drop_orphans_once(store, now=now) == 1
        # The fresh one stays a day, as an undelivered event would (the default retry_for); the
        # configured webhook keeps both of its own.
        assert await store.delivery_backlog() == {old: (1, None), kept: (2, None)}
        assert await _retention.drop_orphans_once(store, now=now + timedelta(days=1)) == 1
        assert await store.delivery_backlog() == {kept: (2, None)}
    assert "dropped 1 undelivered events of webhooks" in caplog.text


async def test_a_failed_drop_of_removed_webhooks_events_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "gsmgw.db")  # never opened: every job fails with StoreError
    assert await _retention.drop_orphans_once(store) is None
    assert "retention: cannot drop events of removed webhooks" in caplog.text
