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

from gsmgw.bridges.guards import RateLimiter
from gsmgw.bridges.mqtt._client import ReceivedPublish
from gsmgw.bridges.requests import (
    MAX_PAYLOAD,
    RATE_BURST,
    RATE_PER_SECOND,
    error_object,
    parse_json,
    parse_ussd,
)
from gsmgw.core import Core, SubmitResult, Topics, valid_publish_topic
from gsmgw.errors import GsmgwError, RequestError
from gsmgw.models import SendRequest

__all__ = ["Reply", "RequestHandler", "RequestSettings", "parse_json"]

LOGGER = logging.getLogger(__package__)


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
        payload = {"id": message_id or context.request_id, "error": error_object(error)}
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
        modem, code = parse_ussd(self._decode(message, context), extra=("reply_to",))
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
