"""Kannel's ``/cgi-bin/sendsms`` (SPEC.md "HTTP API") against a daemon on a simulated modem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from yarl import URL

from .conftest import eventually, sim
from .test_http import (
    TOKEN,
    Api,
    api as api,  # the fixtures, for pytest to find here
    start_api as start_api,
)

AUTH = {"username": "shop", "password": TOKEN}


async def sendsms(api: Api, method: str = "GET", **kwargs: Any) -> tuple[int, str, Any]:
    async with api.request(method, "/cgi-bin/sendsms", token=None, **kwargs) as response:
        return response.status, await response.text(), response.headers


async def test_get_is_accepted_like_kannel_sent_and_keeps_its_dlr(api: Api) -> None:
    params = {
        **AUTH,
        "to": "+491701234567",
        "text": "from kannel",
        "dlr-mask": "31",
        "dlr-url": "http://127.0.0.1:9/dlr?id=%F&s=%d",
    }
    status, text, headers = await sendsms(api, params=params)
    assert (status, text) == (202, "0: Accepted for delivery")
    (message_id,) = headers["X-Gsmgw-Id"].split()
    store = api.running.daemon.store
    message = await store.get_message(message_id)
    assert message is not None
    assert (message.to, message.text, message.report) == ("+491701234567", "from kannel", True)
    assert await store.dlr_of(message_id) == (31, "http://127.0.0.1:9/dlr?id=%F&s=%d")
    await eventually(lambda: len(sim("h1").sim.sent) == 1)


async def test_a_form_post_with_several_recipients_queues_one_message_each(api: Api) -> None:
    form = {**AUTH, "to": "+491701111111 +491702222222", "text": "both", "priority": "2"}
    status, text, headers = await sendsms(api, "POST", data=form)
    assert (status, text) == (202, "0: Accepted for delivery")
    ids = headers["X-Gsmgw-Id"].split()
    assert [i.rsplit(":", 1)[1] for i in ids] == ["1", "2"]
    store = api.running.daemon.store
    messages = [await store.get_message(i) for i in ids]
    assert [(m.to, m.priority) for m in messages if m] == [
        ("+491701111111", 20),
        ("+491702222222", 20),
    ]
    assert await store.dlr_of(ids[0]) == (None, None)


async def test_charset_coding_validity_deferred_smsc_and_flash(api: Api) -> None:
    text = "Grüße €".encode("iso-8859-15")
    query = (
        f"username=shop&password={TOKEN}&to=%2B491701234567&text={quote_from_bytes(text)}"
        "&charset=ISO-8859-15&coding=2&validity=90&deferred=60&smsc=h1&mclass=0"
    )
    before = datetime.now(UTC)
    # As written: aiohttp would re-encode a dict of parameters as UTF-8.
    url = URL(f"{api.url}/cgi-bin/sendsms?{query}", encoded=True)
    async with api.session.get(url) as response:
        status, headers = response.status, response.headers
    assert status == 202, await response.text()
    message = await api.running.daemon.store.get_message(headers["X-Gsmgw-Id"])
    assert message is not None
    assert (message.text, message.encoding, message.flash) == ("Grüße €", "ucs2", True)
    assert message.route == ("h1",)
    assert message.send_at is not None
    assert message.expires_at is not None
    assert timedelta(minutes=59) < message.send_at - before < timedelta(minutes=61)
    assert timedelta(minutes=89) < message.expires_at - before < timedelta(minutes=91)


@pytest.mark.parametrize(
    ("params", "status", "answer"),
    [
        ({"username": "shop", "password": "wrong"}, 403, "Authorization failed for sendsms"),
        ({"username": "ops", "password": TOKEN}, 403, "Authorization failed for sendsms"),
        ({}, 403, "Authorization failed for sendsms"),
        ({**AUTH}, 400, "Missing receiver number, rejected"),
        ({**AUTH, "to": " "}, 400, "Empty receiver number not allowed, rejected"),
        ({**AUTH, "to": "hello"}, 400, "Garbage 'to' field, rejected."),
        ({**AUTH, "to": "+491701234567", "dlr-mask": "99"}, 400, "DLR-Mask field misformed"),
        ({**AUTH, "to": "+491701234567", "validity": "x"}, 400, "Validity field misformed"),
        ({**AUTH, "to": "+491701234567", "deferred": "-1"}, 400, "Deferred field misformed"),
        ({**AUTH, "to": "+491701234567", "coding": "1"}, 400, "Coding field misformed"),
        ({**AUTH, "to": "+491701234567", "priority": "7"}, 400, "Priority field misformed"),
        ({**AUTH, "to": "+491701234567", "charset": "nope"}, 400, "Charset or body misformed"),
        ({**AUTH, "to": "+491701234567", "dlr-url": "ftp://x/"}, 400, "DLR-URL field misformed"),
        ({**AUTH, "to": "+491701234567", "smsc": "nope"}, 400, "Unknown smsc, rejected"),
    ],
)
async def test_refusals_are_kannels_answers(
    api: Api, params: dict[str, str], status: int, answer: str
) -> None:
    got_status, text, _ = await sendsms(api, params=params)
    assert (got_status, text.startswith(answer)) == (status, True), text
    assert not await api.running.daemon.store.view_messages(
        state=None, to=None, limit=1, before=None
    )


async def test_a_text_too_long_for_any_sms_is_refused(api: Api) -> None:
    form = {**AUTH, "to": "+491701234567", "text": "x" * 40000}
    status, text, _ = await sendsms(api, "POST", data=form)
    assert (status, text) == (400, "Text too long, rejected")


async def test_a_bearer_token_is_accepted_too_and_the_rest_of_the_api_still_wants_one(
    api: Api,
) -> None:
    params = {"to": "+491701234567", "text": "t"}
    async with api.request("GET", "/cgi-bin/sendsms", params=params) as response:
        assert response.status == 202
    # Only Kannel's own path checks its own credentials: elsewhere they are no token.
    status, _ = await api.call("GET", "/v1/modems", token=None, params=AUTH)
    assert status == 401
