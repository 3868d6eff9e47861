"""Send and USSD requests from MQTT: guards, validation, the core's answer, and the replies.

Every request gets exactly one outcome: accepted (a reply per message when the client named a
reply topic) or rejected (one error reply, to the reply topic or else to
``{prefix}/{node}/errors``).
The caller publishes the replies and only then acknowledges the request (SPEC.md, "Guarantees").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import json
import logging
import math

from gsmgw.bridges.guards import RateLimiter
from gsmgw.bridges.mqtt._client import ReceivedPublish
from gsmgw.core import Core, SubmitResult, Topics, valid_publish_topic
from gsmgw.errors import GsmgwError, RequestError
from gsmgw.models import SendRequest
from gsmgw.validate import ussd_code

__all__ = ["Reply", "RequestHandler", "RequestSettings"]

LOGGER = logging.getLogger(__package__)

#: Larger payloads are refused before parsing. A full request (39,015 characters of text as
#: JSON escapes, or thousands of recipients) fits comfortably.
MAX_PAYLOAD = 1024 * 1024
#: Per client topic (the reply topic, else the request topic): sustained rate and burst.
RATE_PER_SECOND = 100.0
RATE_BURST = 10_000
#: Error messages quote user input; keep replies small.
MAX_ERROR_MESSAGE = 300
USSD_KEYS = frozenset({"code", "modem", "id", "reply_to"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSettings:
    """Validation and guard settings for incoming requests."""

    default_region: str = ""
    #: Modem ids and group names a request may name (None: any; the core decides).
    known_modems: frozenset[str] | None = None
    max_payload: int = MAX_PAYLOAD
    rate: float = RATE_PER_SECOND
    burst: int = RATE_BURST


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply to publish (QoS 1, not retained)."""

    topic: str
    payload: bytes
    correlation_data: bytes | None = None


@dataclass(slots=True)
class _Context:
    """What we learn about a request while handling it, for its reply."""

    reply_topic: str | None
    correlation_data: bytes | None
    request_id: str | None = None

    def reply(self, topic: str, payload: Mapping[str, object]) -> Reply:
        data = json.dumps(payload, ensure_ascii=False).encode()
        return Reply(topic, data, self.correlation_data)


class RequestHandler:
    """Turns one received request into the core's action and the replies to publish."""

    def __init__(self, core: Core, topics: Topics, settings: RequestSettings) -> None:
        self._core = core
        self._topics = topics
        self._settings = settings
        self._limiter = RateLimiter(rate=settings.rate, burst=settings.burst)

    async def handle(self, message: ReceivedPublish) -> list[Reply]:
        """Handle a request; return its replies (none for an accepted one without reply topic)."""
        context = _Context(self._reply_topic(message.response_topic), message.correlation_data)
        try:
            if message.topic == self._topics.ussd:
                return [await self._ussd(message, context)]
            return await self._send(message, context)
        except RequestError as exc:
            LOGGER.info("request on %s refused: %s", message.topic, exc)
            return [self._rejection(context, exc)]
        except Exception:
            # A task boundary: a bug met by one hostile request must not crash-loop the daemon
            # on the broker's redelivery (SPEC.md: bad input never stops the daemon).
            LOGGER.exception("request on %s failed; answered internal_error", message.topic)
            error = RequestError("internal_error", "the gateway failed on this request")
            return [self._rejection(context, error)]

    def _rejection(
        self, context: _Context, error: RequestError, message_id: str | None = None
    ) -> Reply:
        text = error.message
        if len(text) > MAX_ERROR_MESSAGE:
            text = text[: MAX_ERROR_MESSAGE - 1] + "…"
        error_json = {"code": error.code, "message": text}
        payload = {"id": message_id or context.request_id, "error": error_json}
        return context.reply(context.reply_topic or self._topics.errors, payload)

    async def _send(self, message: ReceivedPublish, context: _Context) -> list[Reply]:
        obj = self._decode(message, context)
        settings = self._settings
        request = SendRequest.from_json(
            obj, default_region=settings.default_region, known_modems=settings.known_modems
        )
        self._check_rate(message, context)
        try:
            results = await self._core.submit(request)
        except RequestError:
            raise
        except GsmgwError as exc:
            LOGGER.error("a send request could not be stored: %s", exc)
            raise RequestError("internal_error", "the request could not be stored") from exc
        return self._accepted(results, context)

    def _accepted(self, results: Sequence[SubmitResult], context: _Context) -> list[Reply]:
        # SPEC.md: {"id": "...", "state": "queued"}, one per message (a list of recipients
        # gives one message each); a recipient refused on its own gets its error.
        replies = []
        for result in results:
            if result.error is not None:
                replies.append(self._rejection(context, result.error, result.id))
            elif context.reply_topic is not None:
                payload = {"id": result.id, "state": str(result.state)}
                replies.append(context.reply(context.reply_topic, payload))
        return replies

    async def _ussd(self, message: ReceivedPublish, context: _Context) -> Reply:
        obj = self._decode(message, context)
        if not isinstance(obj, dict):
            raise RequestError("invalid_request", "a USSD request must be a JSON object")
        unknown = sorted(set(obj) - USSD_KEYS)
        if unknown:
            raise RequestError("invalid_request", f"unknown field {unknown[0]!r}")
        code, modem = ussd_code(obj.get("code")), obj.get("modem")
        if not isinstance(modem, str) or not modem:
            raise RequestError("invalid_request", "'modem' must name a modem")
        if context.reply_topic is None:
            raise RequestError(
                "invalid_request", "a USSD request needs a reply topic (response topic or reply_to)"
            )
        self._check_rate(message, context)
        try:
            answer = await self._core.ussd(modem, code)
        except RequestError:
            raise
        except GsmgwError as exc:
            raise RequestError("ussd_failed", str(exc)) from exc
        payload = {"id": context.request_id, "modem": modem, "code": code, "answer": answer}
        return context.reply(context.reply_topic, payload)

    def _decode(self, message: ReceivedPublish, context: _Context) -> object:
        """Guard and parse a payload; learn the request's id and ``reply_to`` for the reply."""
        if message.retain:
            # A retained request would be taken again on every resubscription.
            raise RequestError(
                "invalid_request", "retained requests are refused; publish unretained"
            )
        size, limit = len(message.payload), self._settings.max_payload
        if size > limit:
            raise RequestError(
                "invalid_request", f"the payload is {size} bytes; the limit is {limit}"
            )
        obj = parse_json(message.payload)
        if isinstance(obj, dict):
            request_id, reply_to = obj.get("id"), obj.get("reply_to")
            if isinstance(request_id, str):
                context.request_id = request_id
            if context.reply_topic is None and isinstance(reply_to, str):
                context.reply_topic = self._reply_topic(reply_to)
        return obj

    def _reply_topic(self, topic: str | None) -> str | None:
        """Return a usable reply topic: publishable and never one we take requests on."""
        if topic is None or not valid_publish_topic(topic) or self._topics.is_request_topic(topic):
            return None
        return topic

    def _check_rate(self, message: ReceivedPublish, context: _Context) -> None:
        key = context.reply_topic or message.topic
        if not self._limiter.allow(key):
            raise RequestError(
                "rate_limited", f"more than {self._limiter.rate:g} requests/s from {key!r}"
            )


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
