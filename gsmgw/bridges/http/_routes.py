"""The ``/v1`` endpoints (SPEC.md "HTTP API"): each turns a request into one call on the core.

Send requests are parsed as on MQTT (``parse_json``, ``SendRequest.from_json``), so fields,
checks and error codes are the same; a 202 comes only after ``Core.submit`` returned, which is
after the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiMapping

from gsmgw.bridges.http._errors import ApiError, json_response
from gsmgw.bridges.http._openapi import openapi
from gsmgw.bridges.requests import MAX_PAYLOAD, error_object, parse_json, parse_ussd
from gsmgw.core import Core, SubmitResult
from gsmgw.errors import GsmgwError, RequestError
from gsmgw.models import MessageState, SendRequest, new_message_id

__all__ = ["Routes"]

#: Seconds a client may take to send its body; a slow one must not hold a handler forever.
BODY_TIMEOUT = 30.0
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Routes:
    """The handlers of ``/v1``, over one core."""

    def __init__(self, core: Core, *, default_region: str = "") -> None:
        self._core = core
        self._default_region = default_region
        self._openapi = openapi()

    def table(self) -> list[web.RouteDef]:
        """Return every route (``GET /v1/openapi.json`` lists the same)."""
        return [
            web.post("/v1/messages", self.post_message),
            web.get("/v1/messages", self.list_messages, allow_head=False),
            web.get("/v1/messages/{id}", self.get_message, allow_head=False),
            web.delete("/v1/messages/{id}", self.cancel_message),
            web.get("/v1/inbox", self.list_inbox, allow_head=False),
            web.get("/v1/modems", self.list_modems, allow_head=False),
            web.post("/v1/ussd", self.ussd),
            web.get("/v1/health", self.health, allow_head=False),
            web.get("/v1/openapi.json", self.openapi_document, allow_head=False),
        ]

    # --- messages ------------------------------------------------------------------------------

    async def post_message(self, request: web.Request) -> web.Response:
        """``POST /v1/messages``: 202 once committed, 200 for an id known already."""
        obj = parse_json(await read_body(request))
        key = request.headers.get("Idempotency-Key")
        message_id = obj.get("id") if isinstance(obj, dict) else None
        if key is not None and isinstance(obj, dict):
            if message_id is not None and message_id != key:
                raise ApiError(
                    RequestError("invalid_request", "the body's 'id' differs from Idempotency-Key")
                )
            obj = {**obj, "id": key}
            message_id = key
        known = message_id if isinstance(message_id, str) else None
        try:
            parsed = SendRequest.from_json(obj, default_region=self._default_region)
            results = await self._core.submit(parsed)
        except RequestError as exc:
            raise ApiError(exc, message_id=known) from None
        except GsmgwError as exc:
            error = RequestError("internal_error", "the request could not be stored")
            raise ApiError(error, message_id=known) from exc
        created = any(result.created for result in results)
        if parsed.to_list:
            return json_response([_result(r) for r in results], status=202 if created else 200)
        (result,) = results
        if result.error is not None:
            raise ApiError(result.error, message_id=result.id)
        return json_response(_result(result), status=202 if created else 200)

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /v1/messages/{id}``: the message and its parts."""
        message_id = request.match_info["id"]
        view = await self._core.message(message_id)
        if view is None:
            raise _not_found(message_id)
        return json_response(view.to_json())

    async def list_messages(self, request: web.Request) -> web.Response:
        """``GET /v1/messages``: a page, newest first."""
        query = _Query(request.query, {"state", "to", "limit", "cursor"})
        state_name = query.text("state")
        try:
            state = None if state_name is None else MessageState(state_name)
        except ValueError:
            raise _invalid(f"'state' must be one of {', '.join(MessageState)}") from None
        limit = query.limit()
        found = await self._core.messages(
            state=state, to=query.text("to"), limit=limit + 1, before=query.cursor()
        )
        cursor = str(found[limit - 1].seq) if len(found) > limit else None
        return _page([view.to_json() for view in found[:limit]], cursor)

    async def cancel_message(self, request: web.Request) -> web.Response:
        """``DELETE /v1/messages/{id}``: cancel a waiting message; 409 once sending or done."""
        message_id = request.match_info["id"]
        state = await self._core.cancel(message_id)
        if state is None:
            raise _not_found(message_id)
        if state is not MessageState.CANCELLED:
            error = RequestError("conflict", f"the message is {state}: too late to cancel it")
            raise ApiError(error, message_id=message_id, extra={"state": str(state)})
        return json_response({"id": message_id, "state": str(state)})

    # --- inbox, modems, USSD, health -------------------------------------------------------------

    async def list_inbox(self, request: web.Request) -> web.Response:
        """``GET /v1/inbox``: inbound SMS as MQTT publishes them, newest first."""
        query = _Query(request.query, {"since", "from", "modem", "limit", "cursor"})
        limit = query.limit()
        found = await self._core.inbox(
            since=query.moment("since"),
            sender=query.text("from"),
            modem=query.text("modem"),
            limit=limit + 1,
            before=query.cursor(),
        )
        cursor = str(found[limit - 1].seq) if len(found) > limit else None
        return _page([message.to_json() for message in found[:limit]], cursor)

    async def list_modems(self, request: web.Request) -> web.Response:
        """``GET /v1/modems``: every modem's health."""
        _Query(request.query, set())
        return json_response({"items": list(self._core.modems())})

    async def ussd(self, request: web.Request) -> web.Response:
        """``POST /v1/ussd``: the network's answer; 504 ``ussd_failed`` when none came."""
        obj = parse_json(await read_body(request))
        modem, code = parse_ussd(obj)
        given = obj.get("id") if isinstance(obj, dict) else None
        request_id = given if isinstance(given, str) and given else new_message_id()
        try:
            answer = await self._core.ussd(modem, code)
        except RequestError as exc:
            raise ApiError(exc, message_id=request_id) from None
        except GsmgwError as exc:
            raise ApiError(RequestError("ussd_failed", str(exc)), message_id=request_id) from exc
        return json_response({"id": request_id, "modem": modem, "code": code, "answer": answer})

    async def openapi_document(self, request: web.Request) -> web.Response:
        """``GET /v1/openapi.json``: the OpenAPI 3.1 description of these routes."""
        return json_response(self._openapi)

    async def health(self, request: web.Request) -> web.Response:
        """``GET /v1/health`` (no token): the daemon runs; how many modems are ready."""
        node = self._core.node_health()
        body = {"status": "ok", "modems_ready": node.modems_ready, "modems": node.modems}
        return json_response(body)


async def read_body(request: web.Request) -> bytes:
    """Read the whole body: 413 beyond ``MAX_PAYLOAD``, 408 when it does not come in time."""
    if request.content_length is not None and request.content_length > MAX_PAYLOAD:
        raise _too_large(request.content_length)  # refused before a byte of it is read
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(None) from None
    except TimeoutError:
        error = RequestError("invalid_request", f"the body took longer than {BODY_TIMEOUT:g} s")
        raise ApiError(error, status=408, headers={"Connection": "close"}) from None


def _too_large(size: int | None) -> ApiError:
    said = f"{size} bytes" if size is not None else "larger"
    message = f"the body is {said}; the limit is {MAX_PAYLOAD}"
    return ApiError(
        RequestError("invalid_request", message), status=413, headers={"Connection": "close"}
    )


def _result(result: SubmitResult) -> dict[str, object]:
    if result.error is not None:
        return {"id": result.id, "error": error_object(result.error)}
    return {"id": result.id, "state": str(result.state)}


def _page(items: Sequence[object], cursor: str | None) -> web.Response:
    """Return ``{"items", "next_cursor"}``; the cursor is the last item's ``seq`` if more follow."""
    return json_response({"items": list(items), "next_cursor": cursor})


def _not_found(message_id: str) -> ApiError:
    return ApiError(RequestError("not_found", "no such message"), message_id=message_id)


def _invalid(message: str) -> ApiError:
    return ApiError(RequestError("invalid_request", message))


class _Query:
    """A query string's parameters, checked: unknown or repeated ones are refused."""

    def __init__(self, query: MultiMapping[str], known: set[str]) -> None:
        for key in query:
            if key not in known:
                raise _invalid(f"unknown parameter {key!r}")
            if len(query.getall(key)) > 1:
                raise _invalid(f"{key!r} given more than once")
        self._query: Mapping[str, str] = query

    def text(self, key: str) -> str | None:
        value = self._query.get(key)
        return value or None

    def limit(self) -> int:
        value = self._query.get("limit")
        if value is None:
            return DEFAULT_LIMIT
        if not value.isdecimal() or len(value) > 3 or not 1 <= int(value) <= MAX_LIMIT:
            raise _invalid(f"'limit' must be 1 to {MAX_LIMIT}")
        return int(value)

    def cursor(self) -> int | None:
        value = self._query.get("cursor")
        if value is None or value == "":
            return None
        if not value.isdecimal() or len(value) > 19:
            raise _invalid("'cursor' must be a next_cursor this API returned")
        return int(value)

    def moment(self, key: str) -> datetime | None:
        value = self._query.get(key)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _invalid(f"{key!r} is not ISO 8601 (like 2026-11-24T18:00:00Z)") from None
        if moment.tzinfo is None:
            raise _invalid(f"{key!r} needs a time zone (Z or +01:00)")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise _invalid(f"{key!r} is out of range") from None
