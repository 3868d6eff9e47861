"""``[[webhook]]`` and Kannel ``dlr-url`` callbacks: stored, ordered, signed, retried, durable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
import json
from pathlib import Path
import signal
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from gsmgw.bridges.http import _webhooks
from tests.run_daemon import answering, start_run

from .conftest import StartDaemon, config_text, eventually, sim, sim_modem
from .test_http import TOKEN, http_config
from .test_http_curl import free_port

SECRET = "webhook-secret-0123"


def readme_check() -> Callable[[bytes, dict[str, str], bytes], bool]:
    """Return README's ``verified``: the receiver's signature check, run as README shows it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```python\n")[1:] if "def verified" in b)
    namespace: dict[str, Any] = {}
    exec(block.split("```")[0], namespace)
    check: Callable[[bytes, dict[str, str], bytes], bool] = namespace["verified"]
    return check


@dataclass
class Receiver:
    """An HTTP server that records each request and answers as ``script`` says (then 200)."""

    port: int
    script: list[int | str] = field(default_factory=list)
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def bodies(self, event: str | None = None) -> list[dict[str, object]]:
        found = [json.loads(body) for _, headers, body in self.seen if body]
        return [b for b in found if event is None or b["event"] == event]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((str(request.rel_url), dict(request.headers), body))
        answer = self.script.pop(0) if self.script else 200
        if answer == "hang":
            await self.hang.wait()
        return web.Response(status=200 if answer == "hang" else int(answer))


StartReceiver = Callable[..., Awaitable[Receiver]]


@pytest.fixture
async def receivers() -> AsyncIterator[StartReceiver]:
    runners: list[web.AppRunner] = []
    made: list[Receiver] = []

    async def start(*script: int | str, port: int = 0) -> Receiver:
        receiver = Receiver(port=port, script=list(script))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", receiver.handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        receiver.port = runner.addresses[0][1]
        runners.append(runner)
        made.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in made:
            receiver.hang.set()
        for runner in runners:
            await runner.cleanup()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_webhooks, "FIRST_RETRY_DELAY", 0.05)
    # Long enough that a 200 from a busy machine is not taken for the hanging receiver.
    monkeypatch.setattr(_webhooks, "ATTEMPT_TIMEOUT", 2.0)


def webhook(url: str, *, events: str = '["inbox", "state"]', extra: str = "") -> str:
    return f"[[webhook]]\nurl = '{url}'\nevents = {events}\n{extra}\n"


async def send(running: object, message_id: str, to: str = "+491701234567") -> None:
    from gsmgw.models import SendRequest

    daemon = running.daemon  # type: ignore[attr-defined]
    await daemon.gateway.submit(SendRequest(to=(to,), text="hi", id=message_id))


async def test_events_are_posted_in_order_signed_with_the_mqtt_payload(
    start_daemon: StartDaemon, receivers: StartReceiver, tmp_path: Path
) -> None:
    hook = await receivers()
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = config_text(sim_modem("w1")) + webhook(hook.url, extra=f"secret_file = '{secret}'")
    running = await start_daemon(config)
    await send(running, "w-1")
    await eventually(lambda: [b["state"] for b in hook.bodies("state")][-1:] == ["sent"])
    sim("w1").sim.inject_sms("+491706666666", "hello hook")
    await eventually(lambda: len(hook.bodies("inbox")) == 1)

    states = hook.bodies("state")
    assert [b["state"] for b in states] == ["queued", "sending", "sent"]
    assert all(b["id"] == "w-1" for b in states)
    (inbox,) = hook.bodies("inbox")
    assert (inbox["from"], inbox["text"], inbox["modem"]) == ("+491706666666", "hello hook", "w1")
    deliveries = set()
    verified = readme_check()
    for _, headers, body in hook.seen:
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Gsmgw-Event"] == json.loads(body)["event"]
        assert verified(SECRET.encode(), headers, body)
        assert not verified(b"wrong", headers, body)
        assert not verified(SECRET.encode(), headers, body + b" ")
        deliveries.add(headers["X-Gsmgw-Delivery"])
    assert len(deliveries) == len(hook.seen) == 4
    assert await running.daemon.store.delivery_backlog() == {}


async def test_500_a_hang_and_400_then_it_comes_back_in_order(
    start_daemon: StartDaemon, receivers: StartReceiver
) -> None:
    # queued(w-1): 500, then hangs past the timeout, then 200; sending(w-1): 400, final.
    hook = await receivers(500, "hang", 200, 400)
    running = await start_daemon(config_text(sim_modem("w1")) + webhook(hook.url))
    await send(running, "w-1")
    await eventually(lambda: [b["state"] for b in hook.bodies()][-1:] == ["sent"])
    seen = [
        (b["state"], h["X-Gsmgw-Delivery"]) for _, h, raw in hook.seen for b in [json.loads(raw)]
    ]
    queued = {d for state, d in seen[:3]}
    assert [state for state, _ in seen] == ["queued"] * 3 + ["sending", "sent"]
    assert len(queued) == 1  # the same delivery id on every retry
    assert len({d for _, d in seen}) == 3
    consumer = running.daemon.webhooks.consumers[0]  # type: ignore[union-attr]
    assert consumer.outcomes == {"retried": 2, "refused": 1, "delivered": 2}
    assert consumer.last_error == "HTTP 400"


async def test_a_hanging_webhook_does_not_delay_another(
    start_daemon: StartDaemon, receivers: StartReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_webhooks, "ATTEMPT_TIMEOUT", 30.0)
    slow = await receivers("hang")
    fast = await receivers()
    config = config_text(sim_modem("w1")) + webhook(slow.url) + webhook(fast.url)
    running = await start_daemon(config)
    await send(running, "w-1")
    await eventually(lambda: [b["state"] for b in fast.bodies()] == ["queued", "sending", "sent"])
    assert len(slow.seen) == 1  # still on its first event


async def test_dlr_url_is_called_back_per_dlr_mask_with_kannels_escapes(
    start_daemon: StartDaemon, receivers: StartReceiver, tmp_path: Path
) -> None:
    hook = await receivers(503)
    running = await start_daemon(http_config(tmp_path, modems=sim_modem("h1")))
    http = running.daemon.http
    assert http is not None
    await asyncio.wait_for(http.listening.wait(), 10)
    dlr = f"{hook.url}?type=%d&to=%p&state=%A&time=%T&id=%F&literal=%25x"
    params = {"username": "shop", "password": TOKEN, "to": "+491701234567", "text": "t"}
    params |= {"dlr-mask": "12", "dlr-url": dlr}  # 4 queued, 8 sent
    url = f"{http.url}/cgi-bin/sendsms"
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
        assert response.status == 202
        message_id = response.headers["X-Gsmgw-Id"]
    await eventually(lambda: len(hook.seen) == 3)  # 503 retried, then queued and sent
    queries = [path.partition("?")[2].split("&") for path, _, _ in hook.seen]
    assert queries[0] == queries[1]
    assert [q[0] for q in queries] == ["type=4", "type=4", "type=8"]
    assert queries[2][1:3] == ["to=%2B491701234567", "state=sent"]
    assert queries[2][3].removeprefix("time=").isdecimal()
    assert queries[2][4:] == [f"id={message_id}", "literal=%25x"]


@pytest.mark.timeout(60)
async def test_pending_deliveries_survive_sigkill(tmp_path: Path, receivers: StartReceiver) -> None:
    port = free_port()  # nobody listens yet: every attempt fails
    config_file = tmp_path / "gsmgw.toml"
    tokens = tmp_path / "http.tokens"
    tokens.write_text(f"shop:{TOKEN}\n", encoding="utf-8")
    tokens.chmod(0o600)
    api_port = free_port()
    http = f"[http]\nlisten = '127.0.0.1:{api_port}'\ntokens_file = 'http.tokens'\n"
    hook_url = f"http://127.0.0.1:{port}/hook"
    config_file.write_text(
        config_text(sim_modem("k1")) + http + webhook(hook_url, events='["state"]'),
        encoding="utf-8",
    )
    daemon = await start_run(config_file)
    await answering(tmp_path / "c.sock")
    async with aiohttp.ClientSession() as session:
        for n in range(5):
            request = {"to": "+491701234567", "text": f"m{n}", "id": f"k-{n}"}
            headers = {"Authorization": f"Bearer {TOKEN}"}
            url = f"http://127.0.0.1:{api_port}/v1/messages"
            async with session.post(url, json=request, headers=headers) as response:
                assert response.status == 202
    await asyncio.sleep(0.5)  # the daemon tries, fails, retries
    daemon.send_signal(signal.SIGKILL)
    await daemon.wait()

    hook = await receivers(port=port)
    daemon = await start_run(config_file)
    try:
        await answering(tmp_path / "c.sock")
        await eventually(
            lambda: sum(1 for b in hook.bodies() if b["state"] == "sent") == 5, limit=30
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        await daemon.wait()
    by_id: dict[str, list[str]] = {}
    for body in hook.bodies():
        by_id.setdefault(str(body["id"]), []).append(str(body["state"]))
    for states in by_id.values():
        # In order per message, whatever was retried across the restart.
        assert states[0] == "queued"
        assert states[-1] == "sent"
        assert states.index("sending") < states.index("sent")
    assert sorted(by_id) == [f"k-{n}" for n in range(5)]


async def test_status_shows_the_listener_and_each_webhooks_backlog_and_last_error(
    start_daemon: StartDaemon, receivers: StartReceiver, tmp_path: Path
) -> None:
    from gsmgw.cli.control import request
    from gsmgw.cli.status import render

    down = await receivers(*[500] * 1000)
    up = await receivers()
    config = http_config(tmp_path, modems=sim_modem("h1")) + webhook(down.url) + webhook(up.url)
    running = await start_daemon(config)
    http = running.daemon.http
    assert http is not None
    await asyncio.wait_for(http.listening.wait(), 10)
    await send(running, "s-1")
    await eventually(lambda: len(up.seen) == 3 and len(down.seen) >= 2)
    status = await request(str(running.daemon.config.gateway.control), "status")
    assert status["http"] == {"url": http.url, "listening": True}
    hooks = {hook["webhook"]: hook for hook in status["webhooks"]}
    assert hooks[up.url]["backlog"] == 0
    assert hooks[up.url]["delivered"] == 3
    assert hooks[up.url]["last_error"] is None
    assert hooks[down.url]["backlog"] == 3  # queued, sending, sent: all wait behind the first
    assert hooks[down.url]["last_error"] == "HTTP 500"
    assert hooks["dlr-url"]["backlog"] == 0
    text = render(status)
    assert f"HTTP API: {http.url}" in text
    assert any(line.startswith(down.url) and "HTTP 500" in line for line in text.splitlines())


async def test_metrics_count_requests_by_route_and_status_and_deliveries_by_outcome(
    start_daemon: StartDaemon, receivers: StartReceiver, tmp_path: Path
) -> None:
    from .test_metrics import scrape

    hook = await receivers(500, 400)
    port = free_port()
    config = http_config(tmp_path, modems=sim_modem("h1")) + webhook(hook.url)
    config = config.replace(
        "control = 'c.sock'\n", f"control = 'c.sock'\nmetrics = '127.0.0.1:{port}'\n"
    )
    running = await start_daemon(config)
    http = running.daemon.http
    assert http is not None
    await asyncio.wait_for(http.listening.wait(), 10)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        body = {"to": "+491701234567", "text": "m", "id": "m-1"}
        async with session.post(f"{http.url}/v1/messages", json=body) as response:
            assert response.status == 202
        async with session.get(f"{http.url}/v1/messages/nope") as response:
            assert response.status == 404
        async with session.get(f"{http.url}/no/such/path") as response:
            assert response.status == 404
    await eventually(lambda: len(hook.seen) == 4)  # queued: 500 then 400; sending, sent
    samples = await scrape(port)
    requests = "gsmgw_http_requests_total"
    assert samples[requests, (("route", "POST /v1/messages"), ("status", "202"))] == 1
    assert samples[requests, (("route", "GET /v1/messages/{id}"), ("status", "404"))] == 1
    assert samples[requests, (("route", "other"), ("status", "404"))] == 1
    deliveries = "gsmgw_webhook_deliveries_total"
    outcomes = {
        outcome: samples[deliveries, (("outcome", outcome), ("webhook", hook.url))]
        for outcome in ("delivered", "retried", "refused", "dropped")
    }
    assert outcomes == {"delivered": 2, "retried": 1, "refused": 1, "dropped": 0}
    assert samples["gsmgw_webhook_backlog", (("webhook", hook.url),)] == 0
    assert samples["gsmgw_webhook_backlog", (("webhook", "dlr-url"),)] == 0
