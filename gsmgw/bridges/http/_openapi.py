"""``GET /v1/openapi.json``: the OpenAPI 3.1 description of the API, enough to generate a client.

Written by hand beside the routes (a test checks that both list the same paths and methods, and
validates the document), so its words are SPEC.md's and not a framework's guesses.
"""

from __future__ import annotations

from typing import Any

import gsmgw
from gsmgw.bridges.http._errors import STATUS
from gsmgw.bridges.http._openapi_compat import compat_paths
from gsmgw.models import MessageState

__all__ = ["openapi"]

_REF = "#/components/schemas/"
_NULLABLE_STRING = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
}


def _errors(*statuses: int) -> dict[str, Any]:
    """Return the error responses of an operation: those named, and 401, 429, 500 always."""
    names = {
        400: "invalid request (invalid_json, invalid_request, invalid_number, text_too_long,"
        " unknown_modem)",
        401: "no valid token (unauthorized)",
        403: "destination_blocked",
        404: "not_found",
        408: "the body did not arrive in time",
        409: "conflict: the message is sending or done",
        413: "the body is over 1 MiB (invalid_request)",
        429: "rate_limited or queue_full",
        500: "internal_error",
        504: "ussd_failed: no answer from the network",
    }
    responses: dict[str, Any] = {}
    for status in sorted({*statuses, 401, 429, 500}):
        responses[str(status)] = _error(names[status])
        if status == 401:
            responses["401"]["headers"] = {
                "WWW-Authenticate": {"description": "the schemes", "schema": {"type": "string"}}
            }
        if status == 429:
            responses["429"]["headers"] = _RETRY_AFTER
    return responses


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


_LIMIT = _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 500,
                                       "default": 50})  # fmt: skip
_CURSOR = _query("cursor", "the next_cursor of the previous page", {"type": "string"})
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

_SCHEMAS: dict[str, Any] = {
    "SendRequest": {
        "type": "object",
        "required": ["to", "text"],
        "additionalProperties": False,
        "properties": {
            "to": {
                "description": "a number, or a list (one message each; ids get ':n')",
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ],
            },
            "text": {"type": "string"},
            "id": {"type": "string", "description": "the idempotency key"},
            "priority": {"type": "integer", "description": "higher goes first"},
            "valid_for": {"type": "integer", "description": "seconds; then expired"},
            "send_at": {"type": "string", "format": "date-time"},
            "report": {"type": "boolean"},
            "flash": {"type": "boolean"},
            "modem": {"type": "string", "description": "a modem id or group name"},
            "encoding": {"type": "string", "enum": ["auto", "smart", "ucs2"]},
            "marketing": {"type": "boolean"},
            "reply_to": {"type": "string", "description": "an MQTT reply topic"},
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "state": {"$ref": _REF + "State"},
            "error": _ref("ErrorDetail"),
        },
    },
    "State": {"type": "string", "enum": [str(state) for state in MessageState]},
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": sorted(STATUS)},
            "message": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["id", "error"],
        "properties": {
            "id": _NULLABLE_STRING,
            "state": _ref("State"),
            "error": _ref("ErrorDetail"),
        },
    },
    "Part": {
        "type": "object",
        "required": ["no", "reference", "state", "attempts", "sent_at"],
        "properties": {
            "no": {"type": "integer"},
            "reference": {"type": ["integer", "null"], "description": "TP-MR"},
            "state": {
                "type": "string",
                "enum": ["pending", "sending", "sent", "delivered", "failed"],
            },
            "attempts": {"type": "integer"},
            "sent_at": _TIME,
        },
    },
    "Message": {
        "type": "object",
        "required": [
            "id",
            "to",
            "state",
            "modem",
            "error",
            "created_at",
            "sent_at",
            "delivered_at",
            "parts",
        ],
        "properties": {
            "id": {"type": "string"},
            "to": {"type": "string"},
            "state": _ref("State"),
            "modem": _NULLABLE_STRING,
            "error": _NULLABLE_STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "sent_at": _TIME,
            "delivered_at": _TIME,
            "parts": {"type": "array", "items": _ref("Part")},
        },
    },
    "MessagePage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref("Message")},
            "next_cursor": _NULLABLE_STRING,
        },
    },
    "InboundMessage": {
        "type": "object",
        "description": "the MQTT inbox payload",
        "required": ["id", "from", "modem", "received_at", "parts", "encoding"],
        "properties": {
            "id": {"type": "string"},
            "from": {"type": "string"},
            "text": {"type": "string"},
            "data_hex": {"type": "string"},
            "modem": {"type": "string"},
            "received_at": {"type": "string", "format": "date-time"},
            "smsc": _NULLABLE_STRING,
            "parts": {"type": "integer"},
            "encoding": {"type": "string"},
            "incomplete": {"type": "boolean"},
        },
    },
    "InboxPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref("InboundMessage")},
            "next_cursor": _NULLABLE_STRING,
        },
    },
    "Modem": {
        "type": "object",
        "description": "the retained MQTT modem payload, with the modem's id",
        "required": ["id", "state"],
        "additionalProperties": True,
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string"},
            "operator": _NULLABLE_STRING,
            "registration": _NULLABLE_STRING,
            "signal": {"type": ["integer", "null"], "description": "dBm"},
            "last_error": _NULLABLE_STRING,
            "queue_depth": {"type": "integer"},
            "sent_today": {"type": "integer"},
        },
    },
    "ModemList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Modem")}},
    },
    "UssdRequest": {
        "type": "object",
        "required": ["modem", "code"],
        "additionalProperties": False,
        "properties": {
            "modem": {"type": "string"},
            "code": {"type": "string", "examples": ["*100#"]},
            "id": {"type": "string"},
        },
    },
    "UssdAnswer": {
        "type": "object",
        "required": ["id", "modem", "code", "answer"],
        "properties": {
            "id": {"type": "string"},
            "modem": {"type": "string"},
            "code": {"type": "string"},
            "answer": {"type": "string"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "modems_ready", "modems"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "modems_ready": {"type": "integer"},
            "modems": {"type": "integer"},
        },
    },
}


def _paths() -> dict[str, Any]:
    send_body = {"required": True, "content": {"application/json": {"schema": _ref("SendRequest")}}}
    accepted = {"oneOf": [_ref("Accepted"), {"type": "array", "items": _ref("Accepted")}]}
    return {
        "/v1/messages": {
            "post": {
                "operationId": "sendMessage",
                "summary": "Queue an SMS (one per recipient); answered after the commit",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "the message id",
                    },
                ],
                "requestBody": send_body,
                "responses": {
                    "202": _json(accepted, "stored: {id, state}, an array for a list 'to'"),
                    "200": _json(accepted, "the id was known: its existing state"),
                    **_errors(400, 403, 408, 413),
                },
            },
            "get": {
                "operationId": "listMessages",
                "summary": "Outbound messages, newest first",
                "parameters": [
                    _query("state", "only this state", _ref("State")),
                    _query("to", "only to this number (+ as %2B)", {"type": "string"}),
                    _LIMIT,
                    _CURSOR,
                ],
                "responses": {"200": _json(_ref("MessagePage"), "a page"), **_errors(400)},
            },
        },
        "/v1/messages/{id}": {
            "parameters": [_ID],
            "get": {
                "operationId": "getMessage",
                "summary": "One outbound message and its parts",
                "responses": {"200": _json(_ref("Message"), "the message"), **_errors(404)},
            },
            "delete": {
                "operationId": "cancelMessage",
                "summary": "Cancel a message that waits (queued or retrying)",
                "responses": {
                    "200": _json(_ref("Accepted"), "cancelled (also when it was already)"),
                    **_errors(404, 409),
                },
            },
        },
        "/v1/inbox": {
            "get": {
                "operationId": "listInbox",
                "summary": "Inbound SMS, newest first",
                "parameters": [
                    _query(
                        "since",
                        "stored at or after (ISO 8601 with zone)",
                        {"type": "string", "format": "date-time"},
                    ),
                    _query("from", "only from this number (+ as %2B)", {"type": "string"}),
                    _query("modem", "only on this modem", {"type": "string"}),
                    _LIMIT,
                    _CURSOR,
                ],
                "responses": {"200": _json(_ref("InboxPage"), "a page"), **_errors(400)},
            },
        },
        "/v1/modems": {
            "get": {
                "operationId": "listModems",
                "summary": "Every modem's health",
                "responses": {"200": _json(_ref("ModemList"), "the modems"), **_errors()},
            },
        },
        "/v1/ussd": {
            "post": {
                "operationId": "ussd",
                "summary": "A USSD request (balance, top-up)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("UssdRequest")}},
                },
                "responses": {
                    "200": _json(_ref("UssdAnswer"), "the network's answer"),
                    **_errors(400, 408, 413, 504),
                },
            },
        },
        "/v1/health": {
            "get": {
                "operationId": "health",
                "summary": "The daemon runs (no token needed)",
                "security": [],
                "responses": {"200": _json(_ref("Health"), "running")},
            },
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": _json({"type": "object"}, "OpenAPI 3.1"),
                    **_errors(),
                },
            },
        },
    }


def openapi() -> dict[str, object]:
    """Return the OpenAPI 3.1 document.

    It names no server: a client resolves the paths against where it fetched the document,
    which stays right behind a reverse proxy.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gsmgw HTTP API",
            "version": gsmgw.__version__,
            "description": "Send and receive SMS through gsmgw's modems (SPEC.md 'HTTP API').",
        },
        "paths": {**_paths(), **compat_paths()},
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "user: the token's name; password: the token",
                },
            },
        },
        "security": [{"bearer": []}, {"basic": []}],
    }
