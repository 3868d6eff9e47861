"""Structure-aware MQTT send requests (SPEC.md "Send request"), valid and broken, as bytes.

A payload starts as a valid request built from the schema; mutations then give a field the
wrong type, a huge string, deep nesting, a number JSON allows but we refuse (NaN, 1e999,
thousands of digits), an unknown or missing field, a duplicate key, invalid UTF-8, a lone
surrogate, or cut the bytes short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json

from gsmgw.bridges.mqtt._requests import parse_json
from gsmgw.errors import RequestError
from gsmgw.models import SendRequest
from gsmgw.validate import ENCODING_MODES, MAX_ID_LENGTH, MAX_TEXT_LENGTH, MAX_VALID_FOR
from tests.fuzz.budget import CHECKED
from tests.fuzz.choice import Chooser, chance, pick

#: The codes parse_json and SendRequest.from_json may answer (SPEC.md's reply error codes).
CODES = frozenset(
    {"invalid_json", "invalid_request", "invalid_number", "text_too_long", "unknown_modem"}
)
#: Numbers that are valid in every default region (E.164, or a short code kept as typed).
NUMBERS = ("+491701234567", "+12025550123", "+447911123456", "12345", "+33612345678")
MODEMS = ("sim800", "ec25-a", "pool")
REGIONS = ("", "DE", "US", "GB", "ZZ")
KEYS: tuple[str, ...] = (
    "to",
    "text",
    "id",
    "priority",
    "valid_for",
    "send_at",
    "report",
    "flash",
    "modem",
)
KEYS += ("encoding", "marketing", "reply_to")
#: Values JSON can carry that no field accepts as they are.
HOSTILE: tuple[object, ...] = (
    None, True, False, 0, -1, 1.5, -0.0, 2**63, -(2**63) - 1, 10**300, 1e308, "", " ",
    "\x00", "\u202e", "\ud800", "😀" * 3, "+", "++49", "١٢٣٤٥", "+49" + "9" * 40, [], [[]],
    [None], {}, {"to": "+491701234567"}, "2026-13-45T99:99:99Z", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "2026-11-24T18:00:00", "a/+/b", "#", "AUTO", "utf8",
)  # fmt: skip
#: Number literals JSON's grammar allows (or Python's json module does) but we refuse.
NUMBER_LITERALS: tuple[str, ...] = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1" * 5000,
    "1E400",
)
NUMBER_LITERALS += ("2e-400", "-0", "123456789012345678901234567890", "0.1e1", "-" + "9" * 4400)
BAD_UTF8 = (b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\x80")
HUGE_SIZES = (MAX_TEXT_LENGTH, MAX_TEXT_LENGTH + 1, MAX_ID_LENGTH + 1, 100_000, 300_000)
NESTING = (2, 50, 999, 1_000, 5_000, 100_000)
#: Stands for a raw JSON text in the object until the payload is serialised.
_RAW = "\x00raw{}\x00"


@dataclass(frozen=True, slots=True)
class Payload:
    """Bytes as published to ``{prefix}/{node}/sms/send``, and the bridge's settings."""

    data: bytes
    default_region: str
    known_modems: frozenset[str] | None
    #: True when no mutation touched a valid request: it must be accepted.
    valid: bool
    origin: str


def _iso(c: Chooser) -> str:
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=c.integer(0, 10**8))
    return moment.isoformat().replace("+00:00", pick(c, ("Z", "+00:00", "+01:00", "-05:30")))


def valid_request(c: Chooser, known_modems: frozenset[str] | None) -> dict[str, object]:
    """A request SPEC.md accepts, with any subset of the optional fields."""
    to: object = pick(c, NUMBERS)
    if chance(c, 4):
        to = [pick(c, NUMBERS) for _ in range(c.integer(1, 4))]
    request: dict[str, object] = {"to": to, "text": c.text(None, 200)}
    optional: dict[str, object] = {
        "id": c.text("abcXYZ-_:.0123456789", MAX_ID_LENGTH) or "id",
        "priority": c.integer(-1_000_000, 1_000_000),
        "valid_for": c.integer(1, MAX_VALID_FOR),
        "send_at": _iso(c),
        "report": chance(c, 2),
        "flash": chance(c, 2),
        "modem": pick(c, sorted(known_modems or MODEMS)),
        "encoding": pick(c, ENCODING_MODES),
        "marketing": chance(c, 2),
        "reply_to": pick(c, ("replies/1", "a/b/c", "gsmgw/client")),
    }
    for key, value in optional.items():
        if chance(c, 3):
            request[key] = value
    return request


def _mutate(c: Chooser, request: dict[str, object], raws: list[str]) -> str:
    """Change the request once (raw JSON texts go to raws); return what was done."""
    key = pick(c, KEYS)
    roll = c.integer(1, 7)
    if roll == 1:
        request[key] = value = pick(c, HOSTILE)
        return f"{key} = {value!r:.40}"
    if roll == 2:
        size = pick(c, HUGE_SIZES)
        request[key] = pick(c, ("x", "€", "😀", "9")) * size
        return f"{key} of {size} characters"
    if roll == 3:
        depth = pick(c, NESTING)
        request[key] = _RAW.format(len(raws))
        raws.append(pick(c, ("[", '{"a":')) * depth)  # closed below, where it is used
        return f"{key} nested {depth} deep"
    if roll == 4:
        literal = pick(c, NUMBER_LITERALS)
        request[key] = _RAW.format(len(raws))
        raws.append(literal)
        return f"{key} = {literal:.20}"
    if roll == 5:
        name = pick(c, ("To", "text ", "", "__proto__", "ttl", "retain", "x" * 1000))
        request[name] = pick(c, HOSTILE)
        return f"unknown field {name!r:.20}"
    request.pop(pick(c, ("to", "text")), None)
    return "required field removed"


def _serialise(request: dict[str, object], raws: list[str]) -> bytes:
    text = json.dumps(request)  # NaN and Infinity come out as their literals: keep them
    for index, raw in enumerate(raws):
        closing = "]" * raw.count("[") + "}" * raw.count("{")
        filler = "0" if closing else ""
        text = text.replace(json.dumps(_RAW.format(index)), raw + filler + closing)
    return text.encode("utf-8", "surrogatepass")


def _damage(c: Chooser, data: bytes) -> tuple[bytes, str]:
    """Damage the bytes themselves; return them and what was done."""
    at = c.integer(0, len(data))
    roll = c.integer(1, 5)
    if roll == 1:
        bad = pick(c, BAD_UTF8)
        return data[:at] + bad + data[at:], f"invalid UTF-8 {bad!r} at {at}"
    if roll == 2:
        return data[:at], f"cut at {at}"
    if roll == 3:
        return data[:-1] + b', "to": 12}', "duplicate key"
    if roll == 4:
        extra = pick(c, (b"\xef\xbb\xbf", b" ", b"\x00", b"[", b"{}"))
        if chance(c, 2):
            return extra + data, f"{extra!r} before"
        return data + extra, f"{extra!r} after"
    return data[:at] + c.binary(8) + data[at:], f"random bytes at {at}"


def payload(c: Chooser) -> Payload:
    """A valid request, or one after one to four mutations of the object or its bytes."""
    known_modems = frozenset(MODEMS) if chance(c, 2) else None
    region = pick(c, REGIONS)
    request = valid_request(c, known_modems)
    raws: list[str] = []
    count = 0 if chance(c, 5) else c.integer(1, 3)
    steps = [_mutate(c, request, raws) for _ in range(count)]
    data = _serialise(request, raws)
    if count and chance(c, 3):
        data, step = _damage(c, data)
        steps.append(step)
    return Payload(data, region, known_modems, not steps, "; ".join(steps) or "valid")


def request_from_payload(p: Payload) -> SendRequest:
    """Parse and validate payload bytes as the bridge does (parse_json, then from_json)."""
    obj = parse_json(p.data)
    return SendRequest.from_json(obj, default_region=p.default_region, known_modems=p.known_modems)


def _check_refusal(p: Payload, error: RequestError) -> None:
    assert not p.valid, f"a valid request was refused: {error}"
    assert error.code in CODES, error.code
    assert isinstance(error.message, str)


def check_payload(p: Payload) -> None:
    """A payload gives a valid SendRequest or a RequestError with one of SPEC.md's codes."""
    CHECKED["request"] += 1
    try:
        request = request_from_payload(p)
    except RequestError as exc:
        _check_refusal(p, exc)
        return
    assert request.to
    assert all(isinstance(number, str) and number for number in request.to)
    assert len(request.text) <= MAX_TEXT_LENGTH
    assert request.send_at is None or request.send_at.tzinfo is not None
    assert request.priority is None or isinstance(request.priority, int)
