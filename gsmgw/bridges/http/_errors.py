"""HTTP answers: JSON bodies, and SPEC.md's rejection object with its status code."""

from __future__ import annotations

from collections.abc import Mapping
import json

from aiohttp import web

from gsmgw.bridges.requests import error_object
from gsmgw.errors import RequestError

__all__ = ["STATUS", "ApiError", "json_response"]

#: SPEC.md "HTTP API": the status of each rejection code (413 is ``invalid_request`` too).
STATUS = {
    "invalid_json": 400,
    "invalid_request": 400,
    "invalid_number": 400,
    "text_too_long": 400,
    "unknown_modem": 400,
    "unauthorized": 401,
    "destination_blocked": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "rate_limited": 429,
    "queue_full": 429,
    "internal_error": 500,
    "ussd_failed": 504,
}
#: Seconds a client told ``queue_full`` waits before trying again (the queue drains meanwhile).
QUEUE_FULL_RETRY_AFTER = 30


class ApiError(Exception):
    """A refusal to answer with SPEC.md's rejection object."""

    def __init__(
        self,
        error: RequestError,
        *,
        status: int | None = None,
        message_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status or STATUS.get(error.code, 400)
        self.message_id = message_id
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        if error.code == "queue_full":
            self.headers.setdefault("Retry-After", str(QUEUE_FULL_RETRY_AFTER))

    def response(self) -> web.Response:
        """Return the JSON answer: ``{"id", "error": {"code", "message"}}``."""
        body = {"id": self.message_id, **self.extra, "error": error_object(self.error)}
        return json_response(body, status=self.status, headers=self.headers)


def json_response(
    body: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return ``body`` as compact UTF-8 JSON."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return web.Response(text=text, status=status, content_type="application/json", headers=headers)
