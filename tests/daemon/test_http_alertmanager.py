"""``POST /v1/alertmanager``: text, retries and reminders, and a real Prometheus Alertmanager."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import shutil

import aiohttp
import pytest

from gsmgw.bridges.http import _alertmanager
from gsmgw.bridges.http._alertmanager import Notification, notification_text
from gsmgw.sms import EncodingMode, count_parts
from tests.processes import stop_process

from .conftest import eventually, sim
from .test_http import (
    TOKEN,
    Api,
    api as api,  # the fixtures, for pytest to find here
    start_api as start_api,
)
from .test_http_curl import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
STARTED = "2026-12-01T10:00:00.000Z"


def alert(
    name: str, summary: str = "", *, status: str = "firing", fp: str = ""
) -> dict[str, object]:
    return {
        "status": status,
        "labels": {"alertname": name, "instance": "db1"},
        "annotations": {"summary": summary} if summary else {},
        "startsAt": STARTED,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fp or f"fp-{name}",
    }


def notification(*alerts: dict[str, object], status: str = "firing") -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="x"}',
        "status": status,
        "receiver": "gsmgw",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am",
        "alerts": list(alerts),
    }


# --- the text -----------------------------------------------------------------------------------


def test_text_names_status_alerts_and_summaries() -> None:
    firing = Notification.from_json(
        notification(alert("DiskFull", "/var at 95%"), alert("Up", status="resolved"))
    )
    assert notification_text(firing, max_parts=1) == (
        "FIRING:1 DiskFull\nDiskFull: /var at 95%\nresolved Up"
    )
    resolved = Notification.from_json(
        notification(alert("DiskFull", "/var at 95%", status="resolved"), status="resolved")
    )
    assert notification_text(resolved, max_parts=1) == "RESOLVED: DiskFull\nDiskFull: /var at 95%"


@pytest.mark.parametrize("mode", [EncodingMode.AUTO, EncodingMode.UCS2])
@pytest.mark.parametrize("max_parts", [1, 2, 3])
def test_text_stays_within_max_parts_and_counts_what_it_left_out(
    mode: EncodingMode, max_parts: int
) -> None:
    alerts = [alert(f"Alert{n}", "something is wrong here " * 3, fp=str(n)) for n in range(40)]
    text = notification_text(
        Notification.from_json(notification(*alerts)), max_parts=max_parts, mode=mode
    )
    assert count_parts(text, mode=mode)[1] <= max_parts
    assert text.startswith("FIRING:40 Alert0, Alert1, Alert2, ...\n")
    if (mode, max_parts) != (EncodingMode.UCS2, 1):  # 70 characters: no room for a line
        assert "\nAlert0: something is wrong" in text
    assert text.rsplit("\n", 1)[1].endswith(" more")
    # One huge summary alone is cut, never sent past max_parts.
    huge = Notification.from_json(notification(alert("Big", "x" * 5000)))
    assert count_parts(notification_text(huge, max_parts=max_parts, mode=mode), mode=mode)[1] <= (
        max_parts
    )


def test_the_id_changes_with_status_alerts_and_start_times_only() -> None:
    one = Notification.from_json(notification(alert("A"), alert("B")))
    same = Notification.from_json(notification(alert("B"), alert("A", "new words")))
    resolved = Notification.from_json(notification(alert("A"), alert("B"), status="resolved"))
    later = {**alert("A"), "startsAt": "2026-12-01T11:00:00Z"}
    restarted = Notification.from_json(notification(later, alert("B")))
    assert one.digest() == same.digest()
    assert len({one.digest(), resolved.digest(), restarted.digest()}) == 3


# --- the endpoint ---------------------------------------------------------------------------------


async def test_a_retry_is_not_sent_twice_and_a_reminder_is(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = notification(alert("DiskFull", "/var at 95%"))
    path = "/v1/alertmanager?to=%2B491701234567&to=%2B491702222222"
    status, first = await api.call("POST", path, json=body)
    assert status == 202
    assert [r["state"] for r in first["results"]] == ["queued", "queued"]
    assert first["text"] == "FIRING:1 DiskFull\nDiskFull: /var at 95%"

    # Alertmanager retries (its POST timed out): 9 minutes later, maybe in the next window.
    now = datetime.now(UTC)
    monkeypatch.setattr(_alertmanager, "utc_now", lambda: now + timedelta(minutes=9))
    status, retry = await api.call("POST", path, json=body)
    assert status == 200
    assert retry["id"] == first["id"]
    await eventually(lambda: len(sim("h1").sim.sent) == 2)

    # A reminder after repeat_interval (here 4 hours): sent again.
    monkeypatch.setattr(_alertmanager, "utc_now", lambda: now + timedelta(hours=4))
    status, reminder = await api.call("POST", path, json=body)
    assert status == 202
    assert reminder["id"] != first["id"]
    await eventually(lambda: len(sim("h1").sim.sent) == 4)


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/alertmanager", notification(alert("A")), "invalid_request"),
        ("/v1/alertmanager?to=%2B491701234567&x=1", notification(alert("A")), "invalid_request"),
        ("/v1/alertmanager?to=nonsense", notification(alert("A")), "invalid_number"),
        ("/v1/alertmanager?to=%2B491701234567", {"alerts": "no"}, "invalid_request"),
        (
            "/v1/alertmanager?to=%2B491701234567",
            {**notification(), "status": "x"},
            "invalid_request",
        ),
    ],
)
async def test_what_is_not_a_notification_gets_400(
    api: Api, path: str, body: object, code: str
) -> None:
    status, answer = await api.call("POST", path, json=body)
    assert (status, answer["error"]["code"]) == (400, code)


# --- a real Alertmanager ------------------------------------------------------------------------


@pytest.fixture
async def alertmanager(api: Api, tmp_path: Path) -> AsyncIterator[str]:
    if not Path(ALERTMANAGER).exists():
        pytest.skip("prometheus-alertmanager is not installed (./dev test installs it)")
    port = free_port()
    hook = f"{api.url}/v1/alertmanager?to=%2B491701234567"
    config = {
        "route": {
            "receiver": "gsmgw",
            "group_by": ["alertname"],
            "group_wait": "100ms",
            "group_interval": "1s",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "gsmgw",
                "webhook_configs": [
                    {
                        "url": hook,
                        "send_resolved": True,
                        "http_config": {"basic_auth": {"username": "shop", "password": TOKEN}},
                    }
                ],
            }
        ],
    }
    (tmp_path / "am.yml").write_text(json.dumps(config), encoding="utf-8")  # YAML reads JSON
    with (tmp_path / "am.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            ALERTMANAGER,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # empty: no clustering, no gossip port
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{url}/-/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        yield url
    finally:
        await stop_process(process, 5)


async def test_a_real_alertmanager_fires_and_resolves_through_gsmgw(
    api: Api, alertmanager: str
) -> None:
    fired = {"labels": {"alertname": "DiskFull", "instance": "db1"},
             "annotations": {"summary": "/var at 95% on db1"}}  # fmt: skip
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{alertmanager}/api/v2/alerts", json=[fired]) as response:
            assert response.status == 200
        await eventually(lambda: len(sim("h1").sim.sent) == 1, limit=10)
        ended = {**fired, "endsAt": datetime.now(UTC).isoformat()}
        async with session.post(f"{alertmanager}/api/v2/alerts", json=[ended]) as response:
            assert response.status == 200
        await eventually(lambda: len(sim("h1").sim.sent) == 2, limit=10)
    texts = [m.submit.text for m in sim("h1").sim.sent]
    assert texts == [
        "FIRING:1 DiskFull\nDiskFull: /var at 95% on db1",
        "RESOLVED: DiskFull\nDiskFull: /var at 95% on db1",
    ]
    assert all(m.submit.recipient == "+491701234567" for m in sim("h1").sim.sent)
