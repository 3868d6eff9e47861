"""One modem as the dispatcher sees it: readiness, work in hand, send time, limits, counters.

A ``Slot`` is mutable state owned by the event loop (not a value): the dispatcher's sender task
for the modem updates it, and ``view()`` turns it into the frozen ``pool.ModemView`` that
routing decides on. The per-SIM limits (SPEC.md ``per_minute``/``per_day``) count parts by the
monotonic time they were accepted; ``load_counts`` seeds them from the store after a restart.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
import time
from typing import Any

from gsmgw.config import ModemConfig
from gsmgw.models import OutgoingMessage, utc_now
from gsmgw.pool import DAY, DEFAULT_SEND_TIME, MINUTE, ModemView
from gsmgw.sender import ModemLink
from gsmgw.store import RouteFilter, Store

# All of these are in seconds.
#: Upper bound of one rate-limit wait (re-evaluated after it).
LIMIT_MAX_DELAY = 60.0


def route_filter(modem: ModemConfig) -> RouteFilter:
    """Return which stored routes (modem ids / group names; () is any) ``modem`` may serve."""
    names = frozenset((modem.id, *modem.groups))

    def serves(route: tuple[str, ...]) -> bool:
        return not route or not names.isdisjoint(route)

    return serves


@dataclass(slots=True)
class Slot:
    """The dispatcher's live view of one modem (mutable, owned by the event loop)."""

    config: ModemConfig
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    link: ModemLink | None = None
    registered: bool = True
    paused_until: float = 0.0
    #: Parts of the message this modem is sending now.
    busy_parts: int = 0
    #: A message another modem handed over, and one this modem holds for a better modem.
    handed: deque[OutgoingMessage] = field(default_factory=deque)
    held: OutgoingMessage | None = None
    #: The held message waited HOLD_PATIENCE_DELAY with nothing changing: send it here.
    stuck: bool = False
    send_time: float = DEFAULT_SEND_TIME
    samples: int = 0
    #: Monotonic times of the parts sent in the last day (for the limits and the rates).
    sent_times: deque[float] = field(default_factory=deque)
    sent: int = 0
    failed: int = 0
    retried: int = 0
    requeued: int = 0
    last_error: str | None = None
    serves: RouteFilter = field(default=lambda route: True)
    task: asyncio.Task[None] | None = None
    #: The claim of this modem's next message, running while it sends the current one.
    claim: asyncio.Task[OutgoingMessage | None] | None = None
    #: Stopping: the sender gave everything back and waits to be cancelled.
    parked: bool = False
    #: The commit of the last part's TP-MR, still running (``sender.Attempt.pending``).
    pending: asyncio.Future[Any] | None = None

    @property
    def running(self) -> bool:
        """Whether this modem's sender task runs."""
        return self.task is not None and not self.task.done()

    @property
    def id(self) -> str:
        """The modem id."""
        return self.config.id

    def ready(self, now: float) -> bool:
        """Whether this modem can send at all now: attached, registered, not resting."""
        return self.link is not None and self.registered and now >= self.paused_until

    def sent_within(self, window: float, now: float) -> int:
        """Count the parts sent in the last ``window`` seconds."""
        self._trim(now)
        count = 0
        for moment in reversed(self.sent_times):
            if moment <= now - window:
                break
            count += 1
        return count

    def _trim(self, now: float) -> None:
        horizon = DAY if self.config.per_day is not None else MINUTE
        while self.sent_times and self.sent_times[0] <= now - horizon:
            self.sent_times.popleft()

    def record_sent(self, parts: int, now: float) -> None:
        """Count ``parts`` parts sent now."""
        self.sent_times.extend([now] * parts)
        self._trim(now)

    def view(self, now: float) -> ModemView:
        """Return this modem as ``gsmgw.pool`` sees it."""
        queued = self.busy_parts + sum(len(m.unsent_parts()) for m in self.handed)
        limits = self.config.per_minute is not None or self.config.per_day is not None
        return ModemView(
            id=self.id,
            groups=frozenset(self.config.groups),
            ready=self.ready(now),
            queued_parts=queued,
            send_time=self.send_time,
            cost=dict(self.config.cost),
            per_minute=self.config.per_minute,
            per_day=self.config.per_day,
            sent_last_minute=self.sent_within(MINUTE, now) if limits else 0,
            sent_today=self.sent_within(DAY, now) if self.config.per_day else 0,
        )

    def limit_delay(self, parts: int, now: float) -> float:
        """Seconds until ``parts`` more parts fit the SIM's limits (0: they fit now)."""
        view = self.view(now)
        if view.within_limits(parts):
            return 0.0
        if self.config.per_day is not None and view.sent_today + parts > self.config.per_day:
            window = DAY
        else:
            window = MINUTE
        inside = [moment for moment in self.sent_times if moment > now - window]
        oldest = inside[0] if inside else now
        return min(max(oldest + window - now, 0.01), LIMIT_MAX_DELAY)


def slot_status(slot: Slot, now: float) -> dict[str, object]:
    return {
        "id": slot.id,
        "sending": slot.busy_parts > 0,
        "ready": slot.ready(now),
        "registered": slot.registered,
        "waiting": len(slot.handed) + (slot.held is not None),
        "send_time": round(slot.send_time, 3) if slot.samples else None,
        "parts_last_minute": slot.sent_within(MINUTE, now),
        "parts_last_day": slot.sent_within(DAY, now),
        "sent": slot.sent,
        "failed": slot.failed,
        "retried": slot.retried,
        "requeued": slot.requeued,
        "last_send_error": slot.last_error,
    }


async def load_counts(store: Store, slots: Iterable[Slot]) -> None:
    """Seed each modem's sent parts from the store, so limits hold across restarts.

    Parts sent before the restart are counted as sent at the start (a conservative guess).
    """
    now, wall = time.monotonic(), utc_now()
    for slot in slots:
        if slot.config.per_minute is None and slot.config.per_day is None:
            continue
        minute = await store.sent_parts_since(slot.id, wall - timedelta(seconds=MINUTE))
        day = await store.sent_parts_since(slot.id, wall - timedelta(seconds=DAY))
        slot.sent_times.extend([now - MINUTE + 1.0] * (day - minute))
        slot.sent_times.extend([now] * minute)
