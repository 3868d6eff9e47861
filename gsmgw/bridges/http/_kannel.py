"""Kannel's ``/cgi-bin/sendsms`` (SPEC.md "HTTP API"), so tools that speak Kannel work unchanged.

playSMS, Zabbix media scripts and many shell scripts send with a GET (or a form-encoded POST) to
Kannel's smsbox and read its plain-text answer: ``0: Accepted for delivery`` with 202, Kannel's
refusal sentences with 4xx/5xx otherwise. Credentials come as ``username``/``password`` (a token's
name and the token); a wrong pair gets Kannel's 403, not the API's 401. The text's bytes are in
``charset`` (default UTF-8), so parameters are parsed here from the raw query and body rather than
by aiohttp, which would decode them as UTF-8. Parameters Kannel knows that gsmgw has no use for
(``from``, ``account``, ``binfo``…) are ignored, as Kannel ignores what its SMSC cannot do.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
import math
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

from aiohttp import hdrs, web

from gsmgw.bridges.guards import RateLimiter
from gsmgw.bridges.http._auth import Tokens
from gsmgw.bridges.http._routes import read_body
from gsmgw.core import Core, SubmitResult
from gsmgw.errors import GsmgwError, RequestError
from gsmgw.models import SendRequest, utc_now
from gsmgw.validate import MAX_VALID_FOR, text_field, to_field

__all__ = ["KANNEL_PATH", "Kannel", "KannelError", "parse_sendsms"]

T = TypeVar("T")

KANNEL_PATH = "/cgi-bin/sendsms"
ACCEPTED = "0: Accepted for delivery"
#: Kannel's ``priority`` 0-3 as gsmgw priorities (SMPP's ``priority_flag`` maps the same way).
PRIORITIES = {"0": 0, "1": 10, "2": 20, "3": 30}
#: Kannel's ``coding``: 0 GSM-7 (look-alikes mapped, as Kannel maps the charset to GSM), 2 UCS-2.
CODINGS = {"0": "smart", "2": "ucs2"}
#: Kannel's ``mclass`` 0 is a flash SMS.
FLASH_CLASS = "0"
#: Every dlr-mask bit SPEC.md names: 1 delivered, 2 failed or expired, 4 queued, 8 sent, 16 refused.
DLR_MASK_ALL = 31
#: Bits that need the network's status report (delivered, failed).
DLR_REPORT_BITS = 3
MAX_DLR_URL = 2048
#: Longest ``deferred`` Kannel-style clients send: a year in minutes.
MAX_DEFERRED = 366 * 24 * 60
#: How a refusal code reads in Kannel's words, with its status.
REFUSALS: Mapping[str, tuple[int, str]] = {
    "invalid_number": (400, "Garbage 'to' field, rejected."),
    "destination_blocked": (403, "Number(s) has/have been denied by white- and/or black-lists."),
    "text_too_long": (400, "Text too long, rejected"),
    "unknown_modem": (400, "Unknown smsc, rejected"),
    "queue_full": (503, "4: Temporal failure, try again later."),
    "rate_limited": (503, "4: Temporal failure, try again later."),
    "internal_error": (503, "Sending failed."),
}


class KannelError(Exception):
    """A refusal answered as Kannel answers: a status and one plain sentence."""

    def __init__(self, status: int, text: str, *, retry_after: int | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.retry_after = retry_after

    @classmethod
    def of(cls, error: RequestError) -> KannelError:
        """Return Kannel's answer to one of SPEC.md's rejection codes."""
        status, text = REFUSALS.get(error.code, (400, f"{error.message}, rejected"))
        return cls(status, text, retry_after=30 if status == 503 else None)

    def response(self) -> web.Response:
        """Return the plain-text answer."""
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return _answer(self.text, status=self.status, headers=headers)


class Kannel:
    """The ``/cgi-bin/sendsms`` handler, over one core, checking its own credentials."""

    def __init__(
        self, core: Core, tokens: Tokens, limiter: RateLimiter, *, default_region: str = ""
    ) -> None:
        self._core = core
        self._tokens = tokens
        self._limiter = limiter
        self._default_region = default_region

    def table(self) -> list[web.RouteDef]:
        """Return the routes: GET with a query, POST with a form body."""
        return [
            web.get(KANNEL_PATH, self.sendsms, allow_head=False),
            web.post(KANNEL_PATH, self.sendsms),
        ]

    async def sendsms(self, request: web.Request) -> web.Response:
        """Queue one message per recipient; ``0: Accepted for delivery`` once committed."""
        try:
            body = await read_body(request) if request.method == hdrs.METH_POST else b""
            params = _params(request.rel_url.raw_query_string, body)
            name = self._authorise(request, params)
            if not self._limiter.allow(name):
                wait = max(1, math.ceil(1 / self._limiter.rate))
                raise KannelError(503, "4: Temporal failure, try again later.", retry_after=wait)
            send = parse_sendsms(params, default_region=self._default_region, now=utc_now())
            try:
                results = await self._core.submit(send)
            except RequestError as exc:
                raise KannelError.of(exc) from None
            except GsmgwError:
                raise KannelError.of(RequestError("internal_error", "not stored")) from None
            return _accepted(results)
        except KannelError as exc:
            return exc.response()

    def _authorise(self, request: web.Request, params: Mapping[str, bytes]) -> str:
        """Return the token's name: from ``username``/``password``, else ``Authorization``."""
        user, password = params.get("username"), params.get("password")
        if user is not None and password is not None:
            name = self._tokens.match(
                user.decode("utf-8", "replace"), password.decode("utf-8", "surrogateescape")
            )
        else:
            name = self._tokens.check(request.headers.get(hdrs.AUTHORIZATION))
        if name is None:
            raise KannelError(403, "Authorization failed for sendsms")
        return name


def parse_sendsms(
    params: Mapping[str, bytes], *, default_region: str, now: datetime
) -> SendRequest:
    """Return the send request Kannel's parameters describe (raw bytes, as percent-decoded).

    Raises:
        KannelError: Kannel's answer to what is missing or misformed.
    """
    to = _text(params, "to")
    if to is None:
        raise KannelError(400, "Missing receiver number, rejected")
    numbers = to.split()
    if not numbers:
        raise KannelError(400, "Empty receiver number not allowed, rejected")
    if params.get("udh"):
        raise KannelError(400, "UDH field misformed, rejected")  # binary messages: not supported
    dlr_mask = _number(params, "dlr-mask", "DLR-Mask", range(DLR_MASK_ALL + 1))
    validity = _number(params, "validity", "Validity", range(1, MAX_VALID_FOR // 60 + 1))
    deferred = _number(params, "deferred", "Deferred", range(MAX_DEFERRED + 1))
    try:
        recipients, to_list = to_field(numbers if len(numbers) > 1 else numbers[0], default_region)
        return SendRequest(
            to=recipients,
            to_list=to_list,
            text=text_field(_message_text(params)),
            priority=_choice(params, "priority", "Priority", PRIORITIES),
            valid_for=None if validity is None else validity * 60,
            send_at=None if deferred is None else now + timedelta(minutes=deferred),
            report=bool((dlr_mask or 0) & DLR_REPORT_BITS),
            flash=_text(params, "mclass") == FLASH_CLASS,
            modem=_text(params, "smsc") or None,
            encoding=_choice(params, "coding", "Coding", CODINGS),
            dlr_mask=dlr_mask,
            dlr_url=_dlr_url(params),
        )
    except RequestError as exc:
        raise KannelError.of(exc) from None


def _params(query: str, body: bytes) -> dict[str, bytes]:
    """Return each parameter's first value as raw bytes: the query's, then a POST body's.

    Percent-decoding through Latin-1 keeps every byte as it came, for ``charset`` to decode.
    """
    found: dict[str, bytes] = {}
    for source in (query, body.decode("latin-1")):
        try:
            pairs = parse_qsl(source, keep_blank_values=True, encoding="latin-1", errors="strict")
            for key, value in pairs:
                found.setdefault(key, value.encode("latin-1"))
        except (UnicodeError, ValueError):
            raise KannelError(400, "Charset or body misformed, rejected") from None
    return found


def _message_text(params: Mapping[str, bytes]) -> str:
    charset = _text(params, "charset") or "UTF-8"
    try:
        codecs.lookup(charset)
        return params.get("text", b"").decode(charset)
    except (LookupError, UnicodeError):
        raise KannelError(400, "Charset or body misformed, rejected") from None


def _text(params: Mapping[str, bytes], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise KannelError(400, f"{key} field misformed, rejected") from None


def _number(params: Mapping[str, bytes], key: str, label: str, allowed: range) -> int | None:
    value = _text(params, key)
    if not value:
        return None
    if not value.isdecimal() or len(value) > 9 or int(value) not in allowed:
        raise KannelError(400, f"{label} field misformed, rejected")
    return int(value)


def _choice(
    params: Mapping[str, bytes], key: str, label: str, choices: Mapping[str, T]
) -> T | None:
    value = _text(params, key)
    if not value:
        return None
    if value not in choices:
        raise KannelError(400, f"{label} field misformed, rejected")
    return choices[value]


def _dlr_url(params: Mapping[str, bytes]) -> str | None:
    url = _text(params, "dlr-url")
    if not url:
        return None
    parts = urlsplit(url)
    if len(url) > MAX_DLR_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise KannelError(400, "DLR-URL field misformed, rejected")
    return url


def _accepted(results: Sequence[SubmitResult]) -> web.Response:
    accepted = [result.id for result in results if result.error is None]
    if not accepted:
        refused = next(result.error for result in results if result.error is not None)
        raise KannelError.of(refused)
    # Not Kannel's, but harmless to its clients: the ids, for GET /v1/messages/{id}.
    return _answer(ACCEPTED, status=202, headers={"X-Gsmgw-Id": " ".join(accepted)})


def _answer(text: str, *, status: int, headers: Mapping[str, str]) -> web.Response:
    # Kannel's smsbox answers text/html; its clients read the status and the first characters.
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)
