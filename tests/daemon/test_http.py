"""The HTTP API (SPEC.md "HTTP API") against a daemon on simulated modems, via aiohttp's client."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
import dataclasses
from datetime import UTC, datetime, timedelta
import io
import json
from pathlib import Path
import ssl
from typing import Any

import aiohttp
import pytest

import gsmgw.bridges.http
from gsmgw.bridges.http import HttpApi, HttpSettings
from gsmgw.config import Config

from .conftest import Running, StartDaemon, config_text, eventually, sim, sim_modem

TOKEN = "s3cret-token-0123456789"
OTHER = "other-token-9876543210"
LATER = (datetime.now(UTC) + timedelta(days=1)).isoformat()


def basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def http_config(tmp_path: Path, *, extra: str = "", modems: str = "") -> str:
    tokens = tmp_path / "http.tokens"
    tokens.write_text(f"# name:token\nshop:{TOKEN}\nops:{OTHER}\n", encoding="utf-8")
    tokens.chmod(0o600)
    http = f"[http]\nlisten = '127.0.0.1:0'\ntokens_file = '{tokens}'\n{extra}\n"
    return config_text(modems or sim_modem("h1"), gateway="") + http


class Api:
    """A running daemon's HTTP API and a client session with a valid token."""

    def __init__(self, running: Running, session: aiohttp.ClientSession) -> None:
        self.running = running
        self.session = session
        http = running.daemon.http
        assert http is not None
        self.url = http.url

    def request(self, method: str, path: str, *, token: str | None = TOKEN, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.url + path, headers=headers, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.request(method, path, **kwargs) as response:
            body = await response.read()
            return response.status, json.loads(body) if body else None


StartApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def start_api(start_daemon: StartDaemon, tmp_path: Path) -> AsyncIterator[StartApi]:
    sessions: list[aiohttp.ClientSession] = []

    async def start(extra: str = "", *, trust: ssl.SSLContext | None = None) -> Api:
        running = await start_daemon(http_config(tmp_path, extra=extra))
        http = running.daemon.http
        assert http is not None
        await asyncio.wait_for(http.listening.wait(), 10)
        await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust or True))
        sessions.append(session)
        return Api(running, session)

    try:
        yield start
    finally:
        for session in sessions:
            await session.close()


@pytest.fixture
async def api(start_api: StartApi) -> Api:
    return await start_api()


async def message_state(api: Api, message_id: str) -> str:
    status, body = await api.call("GET", f"/v1/messages/{message_id}")
    assert status == 200
    return str(body["state"])


# --- sending -------------------------------------------------------------------------------------


async def test_post_is_committed_sent_and_shown_with_its_parts(api: Api) -> None:
    request = {"to": "+491701234567", "text": "over http", "id": "h-1"}
    status, body = await api.call("POST", "/v1/messages", json=request)
    assert (status, body) == (202, {"id": "h-1", "state": "queued"})
    # 202 means committed: the store has it, whatever happens next.
    assert await api.running.daemon.store.view_message("h-1") is not None

    states: list[str] = []

    async def sent() -> bool:
        states.append(await message_state(api, "h-1"))
        return states[-1] == "sent"

    async with asyncio.timeout(10):
        while not await sent():  # noqa: ASYNC110 - polling the API is what is tested
            await asyncio.sleep(0.02)
    status, shown = await api.call("GET", "/v1/messages/h-1")
    assert shown["to"] == "+491701234567"
    assert shown["modem"] == "h1"
    assert shown["sent_at"] is not None
    assert shown["delivered_at"] is None
    (part,) = shown["parts"]
    assert part["no"] == 1
    assert part["state"] == "sent"
    assert part["attempts"] == 1
    assert isinstance(part["reference"], int)
    assert part["sent_at"] is not None
    assert sim("h1").sim.sent  # the simulated network took it

    # The same id again: 200 with the existing state, the body otherwise ignored.
    again = {"to": "+491709999999", "text": "other text", "id": "h-1"}
    assert await api.call("POST", "/v1/messages", json=again) == (
        200,
        {"id": "h-1", "state": "sent"},
    )


async def test_idempotency_key_is_the_id_and_a_different_body_id_is_refused(api: Api) -> None:
    request = {"to": "+491701234567", "text": "keyed", "send_at": LATER}
    headers = {"Idempotency-Key": "order-77"}
    status, body = await api.call("POST", "/v1/messages", json=request, headers=headers)
    assert (status, body) == (202, {"id": "order-77", "state": "queued"})
    status, body = await api.call("POST", "/v1/messages", json=request, headers=headers)
    assert (status, body) == (200, {"id": "order-77", "state": "queued"})
    clash = {**request, "id": "order-78"}
    status, body = await api.call("POST", "/v1/messages", json=clash, headers=headers)
    assert status == 400
    assert body["error"]["code"] == "invalid_request"


async def test_a_list_of_recipients_gives_an_array(api: Api) -> None:
    request = {
        "to": ["+491701111111", "+491702222222"],
        "text": "both",
        "id": "l",
        "send_at": LATER,
    }
    status, body = await api.call("POST", "/v1/messages", json=request)
    assert status == 202
    assert body == [{"id": "l:1", "state": "queued"}, {"id": "l:2", "state": "queued"}]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b'{"to": "+491701234567", "text": NaN}', 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_request"),
        (b'{"text": "no recipient"}', 400, "invalid_request"),
        (b'{"to": "+491701234567", "text": "x", "colour": "red"}', 400, "invalid_request"),
        (b'{"to": "12ab", "text": "x"}', 400, "invalid_number"),
        (b'{"to": "+491701234567", "text": "x", "modem": "nope"}', 400, "unknown_modem"),
        (('{"to": "+491701234567", "text": "' + "x" * 40000 + '"}').encode(), 400, "text_too_long"),
    ],
)
async def test_bad_requests_get_the_mqtt_error_codes(
    api: Api, body: bytes, status: int, code: str
) -> None:
    got, answer = await api.call("POST", "/v1/messages", data=body)
    assert (got, answer["error"]["code"]) == (status, code)
    assert set(answer) == {"id", "error"}
    assert answer["error"]["message"]


# --- reading and cancelling ----------------------------------------------------------------------


async def test_messages_are_paged_newest_first_with_a_cursor(api: Api) -> None:
    for n in range(5):
        request = {"to": "+491701234567", "text": f"m{n}", "id": f"p{n}", "send_at": LATER}
        assert (await api.call("POST", "/v1/messages", json=request))[0] == 202
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        status, page = await api.call("GET", f"/v1/messages?limit=2&cursor={cursor}")
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == ["p4", "p3", "p2", "p1", "p0"]
    assert pages == 3
    status, page = await api.call("GET", "/v1/messages?state=sent")
    assert (status, page) == (200, {"items": [], "next_cursor": None})
    status, page = await api.call("GET", "/v1/messages?to=%2B491701234567&state=queued&limit=1")
    assert [item["id"] for item in page["items"]] == ["p4"]
    assert page["next_cursor"]
    for query in ("limit=0", "limit=501", "limit=x", "state=lost", "cursor=-1", "colour=red"):
        status, answer = await api.call("GET", f"/v1/messages?{query}")
        assert (status, answer["error"]["code"]) == (400, "invalid_request"), query


async def test_delete_cancels_a_waiting_message_and_refuses_a_sent_one(api: Api) -> None:
    waiting = {"to": "+491701234567", "text": "later", "id": "w", "send_at": LATER}
    await api.call("POST", "/v1/messages", json=waiting)
    assert await api.call("DELETE", "/v1/messages/w") == (200, {"id": "w", "state": "cancelled"})
    assert await api.call("DELETE", "/v1/messages/w") == (200, {"id": "w", "state": "cancelled"})

    await api.call("POST", "/v1/messages", json={"to": "+491701234567", "text": "now", "id": "n"})
    async with asyncio.timeout(10):
        while await message_state(api, "n") != "sent":  # noqa: ASYNC110 - polls the API
            await asyncio.sleep(0.02)
    status, body = await api.call("DELETE", "/v1/messages/n")
    assert (status, body["error"]["code"], body["state"]) == (409, "conflict", "sent")
    status, body = await api.call("DELETE", "/v1/messages/nothing")
    assert (status, body) == (
        404,
        {"id": "nothing", "error": {"code": "not_found", "message": "no such message"}},
    )
    assert (await api.call("GET", "/v1/messages/nothing"))[0] == 404


async def test_inbox_lists_what_came_in_newest_first(api: Api) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    sim("h1").sim.inject_sms("+491706666666", "first")
    await eventually(lambda: api.running.daemon.gateway.receiver.received >= 1)  # type: ignore[union-attr]
    sim("h1").sim.inject_sms("+491707777777", "second")
    await eventually(lambda: api.running.daemon.gateway.receiver.received >= 2)  # type: ignore[union-attr]
    status, page = await api.call("GET", "/v1/inbox")
    assert status == 200
    assert [(m["from"], m["text"], m["modem"]) for m in page["items"]] == [
        ("+491707777777", "second", "h1"),
        ("+491706666666", "first", "h1"),
    ]
    status, page = await api.call("GET", "/v1/inbox?from=%2B491706666666")
    assert [m["text"] for m in page["items"]] == ["first"]
    since = before.isoformat().replace("+00:00", "Z")
    assert len((await api.call("GET", f"/v1/inbox?since={since}"))[1]["items"]) == 2
    assert (await api.call("GET", f"/v1/inbox?since={LATER.replace('+', '%2B')}"))[1] == {
        "items": [],
        "next_cursor": None,
    }
    status, page = await api.call("GET", "/v1/inbox?limit=1")
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    status, rest = await api.call("GET", f"/v1/inbox?limit=1&cursor={page['next_cursor']}")
    assert [m["text"] for m in rest["items"]] == ["first"]
    assert (await api.call("GET", "/v1/inbox?since=yesterday"))[0] == 400
    assert (await api.call("GET", "/v1/inbox?since=2026-01-01T00:00:00"))[0] == 400  # no zone


async def test_modems_health_and_ussd(api: Api) -> None:
    status, body = await api.call("GET", "/v1/modems")
    (modem,) = body["items"]
    assert status == 200
    assert modem["id"] == "h1"
    assert modem["state"] == "ready"
    status, health = await api.call("GET", "/v1/health", token=None)
    assert (status, health) == (200, {"status": "ok", "modems_ready": 1, "modems": 1})

    status, body = await api.call("POST", "/v1/ussd", json={"modem": "h1", "code": "*100#"})
    assert status == 200
    assert body["answer"] == "Your balance is 12.34 EUR."
    assert body["modem"] == "h1"
    assert body["code"] == "*100#"
    assert body["id"]
    status, body = await api.call("POST", "/v1/ussd", json={"modem": "h1", "code": "*999#"})
    assert (status, body["error"]["code"]) == (504, "ussd_failed")
    status, body = await api.call("POST", "/v1/ussd", json={"modem": "zz", "code": "*100#"})
    assert (status, body["error"]["code"]) == (400, "unknown_modem")
    status, body = await api.call("POST", "/v1/ussd", json={"modem": "h1", "code": "abc"})
    assert (status, body["error"]["code"]) == (400, "invalid_request")


# --- authentication and guards -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/messages", "/v1/messages/x", "/v1/modems", "/nowhere", "/v1/health/"]
)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789", f"Bearer {TOKEN}x", f"Token {TOKEN}", "Basic !!"],
)
async def test_no_valid_token_gets_401_on_any_path(
    api: Api, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with api.request("GET", path, token=None, headers=headers) as response:
        assert response.status == 401
        assert "Bearer" in response.headers["WWW-Authenticate"]
        body = await response.json()
    assert body["error"]["code"] == "unauthorized"


async def test_basic_auth_takes_the_token_name_and_the_token(api: Api) -> None:
    good = basic("shop", TOKEN)
    assert (await api.call("GET", "/v1/modems", token=None, headers=good))[0] == 200
    assert (await api.call("GET", "/v1/modems", token=None, headers=basic("ops", OTHER)))[0] == 200
    for user, password in (("ops", TOKEN), ("shop", OTHER), ("shop", "")):
        headers = basic(user, password)
        assert (await api.call("GET", "/v1/modems", token=None, headers=headers))[0] == 401


async def test_no_token_reaches_the_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    await api.call("GET", "/v1/modems")
    await api.call("GET", "/v1/modems", token="Bearer-but-wrong-0000000")
    await api.call("GET", "/v1/modems", token=None, headers=basic("shop", TOKEN))
    assert "GET /v1/modems 200 (shop)" in caplog.text
    assert TOKEN not in caplog.text
    assert OTHER not in caplog.text
    assert "Bearer-but-wrong" not in caplog.text
    assert TOKEN not in repr(api.running.daemon.config)


async def test_rate_limit_per_token_answers_429_with_retry_after(
    start_api: StartApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = gsmgw.bridges.http.settings_from_config

    def slow(config: Config) -> HttpSettings:
        return dataclasses.replace(real(config), rate=0.5, burst=3)

    monkeypatch.setattr(gsmgw.bridges.http, "settings_from_config", slow)
    api = await start_api()
    statuses = [(await api.call("GET", "/v1/modems"))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    async with api.request("GET", "/v1/modems") as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert (await response.json())["error"]["code"] == "rate_limited"
    # Another token has its own bucket; health needs none.
    assert (await api.call("GET", "/v1/modems", token=OTHER))[0] == 200
    assert (await api.call("GET", "/v1/health", token=None))[0] == 200


# --- hostile requests ----------------------------------------------------------------------------


async def test_hostile_requests_get_4xx_and_the_daemon_stays_up(api: Api) -> None:
    huge = b'{"to": "+491701234567", "text": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, body = await api.call("POST", "/v1/messages", data=io.BytesIO(huge))
    assert (status, body["error"]["code"]) == (413, "invalid_request")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 600_000  # chunked: no Content-Length to refuse up front

    status, body = await api.call("POST", "/v1/messages", data=chunks())
    assert (status, body["error"]["code"]) == (413, "invalid_request")

    async with api.request("GET", "/v1/modems", headers={"X-Big": "y" * 20_000}) as response:
        assert 400 <= response.status < 500
    for path in (
        "/v1/messages/..%2F..%2Fetc%2Fpasswd",
        "/v1/messages/%00",
        "/v1/../../etc/passwd",
        "/v1/messages/" + "a" * 5000,
    ):
        async with api.request("GET", path) as response:
            assert response.status == 404, path
    status, body = await api.call("PUT", "/v1/messages")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    status, body = await api.call("POST", "/v1/messages", data=b"[" * 100_000)
    assert (status, body["error"]["code"]) == (400, "invalid_json")
    assert (await api.call("GET", "/v1/health", token=None))[0] == 200


async def test_a_slow_client_does_not_hold_up_others(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gsmgw.bridges.http._routes.BODY_TIMEOUT", 0.5)
    port = api.running.daemon.http.port  # type: ignore[union-attr]
    # One client sends half a request line and stops; another promises a body it never sends.
    _stalled_reader, stalled = await asyncio.open_connection("127.0.0.1", port)
    stalled.write(b"GET /v1/mod")
    await stalled.drain()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + TOKEN.encode()
        + b'\r\nContent-Length: 100\r\n\r\n{"to":'
    )
    await writer.drain()
    assert (await api.call("GET", "/v1/health", token=None))[0] == 200
    async with asyncio.timeout(5):
        status_line = await reader.readline()
    assert status_line.startswith(b"HTTP/1.1 408")
    for stream in (writer, stalled):
        stream.close()
    assert (await api.call("GET", "/v1/modems"))[0] == 200


# --- TLS -----------------------------------------------------------------------------------------


async def test_https_when_a_certificate_is_set(start_api: StartApi, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl = await asyncio.create_subprocess_exec(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", str(key), "-out", str(cert),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await openssl.wait() == 0
    trust = ssl.create_default_context(cafile=str(cert))
    extra = f"tls_cert_file = '{cert}'\ntls_key_file = '{key}'"
    api = await start_api(extra, trust=trust)
    assert api.url.startswith("https://127.0.0.1:")
    assert (await api.call("GET", "/v1/modems"))[0] == 200
    plain = api.url.replace("https://", "http://")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(plain + "/v1/health") as response:
                await response.read()


async def test_an_address_in_use_stops_the_daemon_with_a_config_error(
    api: Api, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    port = api.running.daemon.http.port  # type: ignore[union-attr]
    other = tmp_path / "other"
    other.mkdir()
    text = http_config(other, modems=sim_modem("h2")).replace("127.0.0.1:0", f"127.0.0.1:{port}")
    text = text.replace("gsmgw.db", "other.db").replace("c.sock", "other.sock")
    config_file = other / "gsmgw.toml"
    config_file.write_text(text, encoding="utf-8")
    from gsmgw.config import load_config
    from gsmgw.daemon import Daemon
    from gsmgw.errors import ConfigError

    daemon = Daemon(load_config(config_file))
    with pytest.raises(ExceptionGroup) as caught:
        await asyncio.wait_for(daemon.run(), 10)
    assert caught.group_contains(ConfigError, match="http.listen")
    assert isinstance(api.running.daemon.http, HttpApi)


# --- OpenAPI -------------------------------------------------------------------------------------


async def test_openapi_document_is_valid_and_lists_exactly_the_routes(api: Api) -> None:
    from openapi_spec_validator import validate

    status, document = await api.call("GET", "/v1/openapi.json")
    assert status == 200
    validate(document)
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    http = api.running.daemon.http
    assert http is not None
    served = {
        (route.method, route.resource.canonical)
        for route in http.app.router.routes()
        if route.resource is not None
    }
    assert documented == served
    # Every operation names its responses, and every $ref resolves.
    schemas = document["components"]["schemas"]
    for reference in _refs(document):
        assert reference.removeprefix("#/components/schemas/") in schemas
    assert (await api.call("GET", "/v1/openapi.json", token=None))[0] == 401


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []
