"""The OpenAPI paths of the endpoints made for other tools: Kannel's sendsms, Alertmanager's hook.

Kept apart from ``_openapi.py``'s ``/v1`` resources; ``openapi()`` merges both.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compat_paths"]

_TEXT = {"text/html": {"schema": {"type": "string"}}}


def _kannel_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_KANNEL_PARAMETERS = [
    _kannel_parameter("username", "the token's name", {"type": "string"}),
    _kannel_parameter("password", "the token", {"type": "string"}),
    _kannel_parameter("to", "recipients separated by spaces (+ as %2B)", {"type": "string"}),
    _kannel_parameter("text", "the text, in charset", {"type": "string"}),
    _kannel_parameter("charset", "of text (default UTF-8)", {"type": "string"}),
    _kannel_parameter("coding", "0 GSM-7, 2 UCS-2", {"type": "integer", "enum": [0, 2]}),
    _kannel_parameter("priority", "0-3", {"type": "integer", "minimum": 0, "maximum": 3}),
    _kannel_parameter("validity", "minutes", {"type": "integer", "minimum": 1}),
    _kannel_parameter("deferred", "minutes", {"type": "integer", "minimum": 0}),
    _kannel_parameter("smsc", "a modem or group", {"type": "string"}),
    _kannel_parameter("mclass", "0: flash SMS", {"type": "integer"}),
    _kannel_parameter(
        "dlr-mask",
        "1 delivered, 2 failed or expired, 4 queued, 8 sent, 16 refused",
        {"type": "integer", "minimum": 0, "maximum": 31},
    ),
    _kannel_parameter(
        "dlr-url", "called back (GET) with %d %p %A %T %F expanded", {"type": "string"}
    ),
]


def _kannel_operation(operation_id: str, form: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": "Kannel's smsbox interface: queue an SMS per recipient",
        "security": [],
        "parameters": [] if form else _KANNEL_PARAMETERS,
        "responses": {
            "202": {"description": "0: Accepted for delivery", "content": _TEXT},
            "400": {"description": "a field misformed (Kannel's sentence)", "content": _TEXT},
            "403": {"description": "Authorization failed for sendsms", "content": _TEXT},
            "503": {"description": "4: Temporal failure, try again later.", "content": _TEXT},
        },
    }
    if form:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {p["name"]: p["schema"] for p in _KANNEL_PARAMETERS},
                    }
                }
            },
        }
    return operation


_ALERTMANAGER = {
    "operationId": "alertmanager",
    "summary": "A Prometheus Alertmanager (or Grafana) webhook: one SMS per recipient",
    "parameters": [
        {
            "name": "to",
            "in": "query",
            "required": True,
            "description": "a recipient (+ as %2B); repeat for several",
            "schema": {"type": "array", "items": {"type": "string"}},
            "style": "form",
            "explode": True,
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", "alerts"],
                    "properties": {
                        "version": {"type": "string"},
                        "groupKey": {"type": "string"},
                        "status": {"type": "string", "enum": ["firing", "resolved"]},
                        "alerts": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    },
    "responses": {
        "202": {
            "description": "queued: {id, text, results: [{id, state}]}",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "200": {
            "description": "a retry of a notification queued already: its messages' states",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "400": {
            "description": "not a notification, or a bad 'to'",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    },
}


def compat_paths() -> dict[str, Any]:
    """Return the paths of ``/cgi-bin/sendsms`` and ``/v1/alertmanager``."""
    return {
        "/cgi-bin/sendsms": {
            "get": _kannel_operation("kannelSendsms", form=False),
            "post": _kannel_operation("kannelSendsmsForm", form=True),
        },
        "/v1/alertmanager": {"post": _ALERTMANAGER},
    }
