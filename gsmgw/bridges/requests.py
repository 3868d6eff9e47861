"""What every bridge's request parsing shares: strict JSON, USSD requests, error objects, limits.

The send request itself is ``gsmgw.models.SendRequest.from_json``; the error codes are SPEC.md's
rejection codes, the same on MQTT, HTTP and the control socket.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
import math

from gsmgw.errors import RequestError
from gsmgw.validate import ussd_code

__all__ = [
    "MAX_ERROR_MESSAGE",
    "MAX_PAYLOAD",
    "RATE_BURST",
    "RATE_PER_SECOND",
    "error_object",
    "parse_json",
    "parse_ussd",
]

#: Larger payloads are refused before parsing. A full request (39,015 characters of text as
#: JSON escapes, or thousands of recipients) fits comfortably.
MAX_PAYLOAD = 1024 * 1024
#: Per client (MQTT: the reply topic, else the request topic; HTTP: the token): sustained rate
#: and burst (SPEC.md: 100 requests/s with bursts of 10,000).
RATE_PER_SECOND = 100.0
RATE_BURST = 10_000
#: Error messages quote user input; keep replies small.
MAX_ERROR_MESSAGE = 300
USSD_KEYS = frozenset({"code", "modem", "id"})


def error_object(error: RequestError) -> dict[str, str]:
    """Return SPEC.md's rejection object ``{"code", "message"}``, the message shortened."""
    text = error.message
    if len(text) > MAX_ERROR_MESSAGE:
        text = text[: MAX_ERROR_MESSAGE - 1] + "…"
    return {"code": error.code, "message": text}


def parse_ussd(obj: object, *, extra: Iterable[str] = ()) -> tuple[str, str]:
    """Validate a decoded USSD request ``{"modem", "code"}``; return (modem, code).

    ``extra``: fields a bridge allows beyond SPEC.md's (MQTT's ``reply_to``).

    Raises:
        RequestError: ``invalid_request`` naming the field.
    """
    if not isinstance(obj, dict):
        raise RequestError("invalid_request", "a USSD request must be a JSON object")
    unknown = sorted(set(obj) - USSD_KEYS - set(extra))
    if unknown:
        raise RequestError("invalid_request", f"unknown field {unknown[0]!r}")
    code, modem = ussd_code(obj.get("code")), obj.get("modem")
    if not isinstance(modem, str) or not modem:
        raise RequestError("invalid_request", "'modem' must name a modem")
    return modem, code


def parse_json(payload: bytes) -> object:
    """Decode a UTF-8 JSON payload strictly.

    Raises:
        RequestError: ``invalid_json`` for bad UTF-8, bad JSON, NaN/Infinity/1e999, numbers too long
            to convert, nesting too deep, or lone surrogates (which UTF-8 cannot carry on).
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError("invalid_json", f"the payload is not UTF-8 ({exc.reason})") from None
    try:
        obj: object = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise RequestError("invalid_json", "the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() refusing thousands of digits
        raise RequestError("invalid_json", f"not JSON: {exc}") from None
    _check_strings(obj)
    return obj


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON syntax, but no number we can use
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _check_strings(obj: object) -> None:
    """Refuse strings with lone surrogates (valid JSON escapes, but not encodable text)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise RequestError("invalid_json", "a string holds a lone surrogate") from None
