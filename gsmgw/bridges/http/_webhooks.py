"""Webhooks and Kannel ``dlr-url`` callbacks (SPEC.md "HTTP API"): stored events, delivered.

One worker per consumer (each ``[[webhook]]``, and one for every ``dlr-url``), each with its own
aiohttp client session, so a slow or dead receiver delays only its own events, never another's
nor MQTT. A worker delivers its consumer's oldest stored event, and only then the next: in order
per webhook. A network error, a timeout, 408, 429 or 5xx is retried after 1 s, doubling to at
most 10 minutes, until a 2xx or ``retry_for`` has passed; another status is final for that event.
Both end the event's row; a crash before that sends it again with the same ``X-Gsmgw-Delivery``
(at least once).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import hashlib
import hmac
import logging
import time
from typing import ClassVar

import aiohttp

from gsmgw.config import WebhookConfig
from gsmgw.core import Core
from gsmgw.errors import StoreError
from gsmgw.store import DLR_CONSUMER, Delivery

__all__ = ["Consumer", "Webhooks", "sign"]

LOGGER = logging.getLogger(__package__)

# All of these are in seconds.
#: One attempt's limit: connect, send, and the answer's status line and headers.
ATTEMPT_TIMEOUT = 10.0
FIRST_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 600.0
#: After the store failed to be read or written.
STORE_RETRY_DELAY = 1.0
#: ``dlr-url`` callbacks are retried as long as webhooks by default.
DLR_RETRY_FOR = 86_400.0
#: What became of attempts: delivered, retried, refused (a final 4xx), dropped (``retry_for``).
OUTCOMES = ("delivered", "retried", "refused", "dropped")
#: Statuses worth another attempt; any other non-2xx is the receiver's final word.
RETRIABLE = frozenset({408, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return ``X-Gsmgw-Signature``: ``sha256=`` and the HMAC-SHA256 of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@dataclass(slots=True, kw_only=True)
class Consumer:
    """One worker's target and what it has done: its outcomes and its last error."""

    name: str
    #: A webhook's URL; None for ``dlr``, whose deliveries carry their own.
    url: str | None
    secret: str | None = field(default=None, repr=False)
    retry_for: float = DLR_RETRY_FOR
    #: delivered, retried, refused (a final 4xx), dropped (``retry_for`` passed).
    outcomes: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None

    @property
    def label(self) -> str:
        """Return what logs, status and metrics call it."""
        return self.url or "dlr-url"


class Webhooks:
    """Every consumer's worker; ``run()`` delivers until cancelled."""

    OUTCOMES: ClassVar[tuple[str, ...]] = OUTCOMES

    def __init__(
        self,
        core: Core,
        webhooks: Sequence[WebhookConfig],
        *,
        dlr_callbacks: bool,
        timeout: float | None = None,
    ) -> None:
        self._core = core
        self._timeout = ATTEMPT_TIMEOUT if timeout is None else timeout
        self.consumers = [
            Consumer(name=w.consumer, url=w.url, secret=w.secret, retry_for=w.retry_for)
            for w in webhooks
        ]
        if dlr_callbacks:
            self.consumers.append(Consumer(name=DLR_CONSUMER, url=None))

    def status(self, backlog: Mapping[str, tuple[int, str | None]]) -> list[dict[str, object]]:
        """Return each consumer's backlog (from the store), outcomes and last error."""
        found: list[dict[str, object]] = []
        for consumer in self.consumers:
            waiting, oldest_error = backlog.get(consumer.name, (0, None))
            found.append(
                {
                    "webhook": consumer.label,
                    "backlog": waiting,
                    "last_error": oldest_error or consumer.last_error,
                    **{o: consumer.outcomes[o] for o in OUTCOMES},
                }
            )
        return found

    async def run(self) -> None:
        """Run one worker per consumer until cancelled."""
        async with asyncio.TaskGroup() as group:
            for consumer in self.consumers:
                group.create_task(self._worker(consumer), name=f"webhook {consumer.label}")

    async def _worker(self, consumer: Consumer) -> None:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    await self._deliver_next(session, consumer)
                except StoreError as exc:
                    LOGGER.warning("webhook %s: the store failed: %s", consumer.label, exc)
                    await asyncio.sleep(STORE_RETRY_DELAY)

    async def _deliver_next(self, session: aiohttp.ClientSession, consumer: Consumer) -> None:
        delivery = await self._core.next_delivery(consumer.name)
        wait = (delivery.due_at - datetime.now(UTC)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        error, final = await self._attempt(session, consumer, delivery)
        if error is None:
            consumer.outcomes["delivered"] += 1
            await self._core.finish_delivery(delivery.pk)
            return
        consumer.last_error = error
        now = datetime.now(UTC)
        if final:
            consumer.outcomes["refused"] += 1
            LOGGER.error("webhook %s: %s refused for good: %s", consumer.label, delivery.id, error)
            await self._core.finish_delivery(delivery.pk)
        elif now - delivery.created_at >= timedelta(seconds=consumer.retry_for):
            consumer.outcomes["dropped"] += 1
            LOGGER.error(
                "webhook %s: %s dropped after %g s of retries: %s",
                *(consumer.label, delivery.id, consumer.retry_for, error),
            )
            await self._core.finish_delivery(delivery.pk)
        else:
            consumer.outcomes["retried"] += 1
            delay = min(FIRST_RETRY_DELAY * 2**delivery.attempts, MAX_RETRY_DELAY)
            LOGGER.warning(
                "webhook %s: %s failed (%s); again in %g s",
                *(consumer.label, delivery.id, error, delay),
            )
            await self._core.postpone_delivery(delivery.pk, now + timedelta(seconds=delay), error)

    async def _attempt(
        self, session: aiohttp.ClientSession, consumer: Consumer, delivery: Delivery
    ) -> tuple[str | None, bool]:
        """Make one attempt; return (None, _) when delivered, else (why, whether it is final)."""
        try:
            if consumer.url is None:  # a dlr-url callback: a GET, as Kannel makes it
                assert delivery.url is not None
                request = session.get(delivery.url, allow_redirects=False)
            else:
                request = session.post(
                    consumer.url,
                    data=delivery.body or b"",
                    headers=_headers(consumer, delivery),
                    allow_redirects=False,
                )
            async with request as response:
                status = response.status
        except TimeoutError:
            return f"no answer within {self._timeout:g} s", False
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return f"{exc.__class__.__name__}: {exc}", False
        if 200 <= status < 300:
            return None, False
        final = status not in RETRIABLE and status < 500
        return f"HTTP {status}", final


def _headers(consumer: Consumer, delivery: Delivery) -> dict[str, str]:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Gsmgw-Event": delivery.event,
        "X-Gsmgw-Delivery": delivery.id,
        "X-Gsmgw-Timestamp": timestamp,
    }
    if consumer.secret is not None:
        headers["X-Gsmgw-Signature"] = sign(consumer.secret, timestamp, delivery.body or b"")
    return headers
