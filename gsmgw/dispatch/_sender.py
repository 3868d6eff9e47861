"""One modem as the dispatcher sees it: its state, the message in hand, send time, limits.

A ``Sender`` is mutable state owned by the event loop (not a value): the dispatcher's task for
the modem moves it through ``SenderState`` with ``enter`` (every change is checked against
``TRANSITIONS``, as h11's ``_state.py`` checks its own), and ``view()`` turns it into the frozen
``Candidate`` that routing decides on. Two operations may overlap a state and are kept as
futures, not flags: the claim of the next message made while one is sent, and the commit of
the last part's TP-MR. The per-SIM limits (SPEC.md ``per_minute``/``per_day``) count parts by
the monotonic time they were accepted; ``load_counts`` seeds them from the store after a
restart.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
import enum
import time
from typing import Any

from gsmgw.config import ModemConfig
from gsmgw.dispatch._pool import DAY, DEFAULT_SEND_TIME, MINUTE, Candidate
from gsmgw.dispatch._send import ModemLink
from gsmgw.errors import LocalProtocolError
from gsmgw.models import OutgoingMessage, utc_now
from gsmgw.store import RouteFilter, Store

# All of these are in seconds.
#: Upper bound of one rate-limit wait (re-evaluated after it).
LIMIT_MAX_DELAY = 60.0


class SenderState(enum.Enum):
    """What one modem's sender is doing."""

    #: Nothing in hand: waits for work or a change.
    IDLE = "idle"
    #: Asking the store for the best message this modem may send.
    CLAIMING = "claiming"
    #: A message in hand, going out part by part.
    SENDING = "sending"
    #: A message in hand, kept for a better modem that is busy with one handed to it already.
    HOLDING = "holding"
    #: May not send now: detached, unregistered, resting after a failure or at its limits.
    RESTING = "resting"
    #: Shutting down: everything given back, nothing more taken. Final.
    STOPPED = "stopped"


_S = SenderState
#: Every change a sender may make; anything else is a bug in the dispatcher.
TRANSITIONS: frozenset[tuple[SenderState, SenderState]] = frozenset(
    {
        # Looking for work (a claim, or the message another modem handed over).
        (_S.IDLE, _S.CLAIMING),
        (_S.RESTING, _S.CLAIMING),
        # Nothing found or handed on; sent here; kept for a busy, better modem.
        (_S.CLAIMING, _S.IDLE),
        (_S.CLAIMING, _S.SENDING),
        (_S.CLAIMING, _S.HOLDING),
        (_S.SENDING, _S.IDLE),
        # A held message is sent here after all, held again when routed again, or handed on.
        (_S.HOLDING, _S.SENDING),
        (_S.HOLDING, _S.HOLDING),
        (_S.HOLDING, _S.IDLE),
        # Any state but the last may have to rest (gone, a failure, its limits) or stop.
        *((state, _S.RESTING) for state in SenderState if state is not _S.STOPPED),
        *((state, _S.STOPPED) for state in SenderState),
    }
)
#: States in which the sender has a message in hand.
_IN_HAND = (SenderState.SENDING, SenderState.HOLDING)


def advance(current: SenderState, new: SenderState) -> SenderState:
    """Return ``new`` if a sender may go there from ``current``.

    Raises:
        LocalProtocolError: the change is not in ``TRANSITIONS``.
    """
    if (current, new) not in TRANSITIONS:
        raise LocalProtocolError(f"a sender cannot go from {current.name} to {new.name}")
    return new


def route_filter(modem: ModemConfig) -> RouteFilter:
    """Return which stored routes (modem ids / group names; () is any) ``modem`` may serve."""
    names = frozenset((modem.id, *modem.groups))

    def serves(route: tuple[str, ...]) -> bool:
        return not route or not names.isdisjoint(route)

    return serves


@dataclass(slots=True)
class Sender:
    """The dispatcher's live view of one modem (mutable, owned by the event loop)."""

    config: ModemConfig
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    state: SenderState = SenderState.IDLE
    link: ModemLink | None = None
    registered: bool = True
    paused_until: float = 0.0
    #: The message being sent (SENDING) or kept for a better modem (HOLDING).
    message: OutgoingMessage | None = None
    #: A message another modem handed over; at most one waits.
    handed: OutgoingMessage | None = None
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
    #: The claim of this modem's next message, made while it sends the current one.
    claim_ahead: asyncio.Task[OutgoingMessage | None] | None = None
    #: The commit of the last part's TP-MR, still running (``Attempt.pending``).
    last_commit: asyncio.Future[Any] | None = None

    def enter(self, state: SenderState, message: OutgoingMessage | None = None) -> None:
        """Move to ``state``, with ``message`` in hand for SENDING and HOLDING (checked)."""
        if (state in _IN_HAND) != (message is not None):
            raise LocalProtocolError(f"{state.name} needs a message in hand, and only it does")
        self.state = advance(self.state, state)
        self.message = message

    @property
    def running(self) -> bool:
        """Whether this modem's sender task runs."""
        return self.task is not None and not self.task.done()

    @property
    def id(self) -> str:
        """The modem id."""
        return self.config.id

    @property
    def busy_parts(self) -> int:
        """Parts of the message this modem is sending now."""
        if self.state is SenderState.SENDING and self.message is not None:
            return len(self.message.unsent_parts())
        return 0

    @property
    def waiting(self) -> int:
        """Messages this modem has in hand but is not sending (held or handed to it)."""
        return (self.handed is not None) + (self.state is SenderState.HOLDING)

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

    def view(self, now: float) -> Candidate:
        """Return this modem as ``gsmgw.dispatch._pool`` sees it."""
        handed = len(self.handed.unsent_parts()) if self.handed is not None else 0
        queued = self.busy_parts + handed
        limits = self.config.per_minute is not None or self.config.per_day is not None
        return Candidate(
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

    def limit_delay(self, parts: int, now: float, *, capped: bool = True) -> float:
        """Seconds until ``parts`` more parts fit the SIM's limits (0: they fit now).

        ``capped``: at most LIMIT_MAX_DELAY, for a wait that looks again after it.
        """
        view = self.view(now)
        if view.within_limits(parts):
            return 0.0
        if self.config.per_day is not None and view.sent_today + parts > self.config.per_day:
            window = DAY
        else:
            window = MINUTE
        inside = [moment for moment in self.sent_times if moment > now - window]
        oldest = inside[0] if inside else now
        delay = max(oldest + window - now, 0.01)
        return min(delay, LIMIT_MAX_DELAY) if capped else delay


def sender_status(sender: Sender, now: float) -> dict[str, object]:
    return {
        "id": sender.id,
        "sending": sender.busy_parts > 0,
        "ready": sender.ready(now),
        "registered": sender.registered,
        "sender": sender.state.value,
        "waiting": sender.waiting,
        "send_time": round(sender.send_time, 3) if sender.samples else None,
        "parts_last_minute": sender.sent_within(MINUTE, now),
        "parts_last_day": sender.sent_within(DAY, now),
        "sent": sender.sent,
        "failed": sender.failed,
        "retried": sender.retried,
        "requeued": sender.requeued,
        "last_send_error": sender.last_error,
    }


async def load_counts(store: Store, senders: Iterable[Sender]) -> None:
    """Seed each modem's sent parts from the store, so limits hold across restarts.

    Parts sent before the restart are counted as sent at the start (a conservative guess).
    """
    now, wall = time.monotonic(), utc_now()
    for sender in senders:
        if sender.config.per_minute is None and sender.config.per_day is None:
            continue
        minute = await store.sent_parts_since(sender.id, wall - timedelta(seconds=MINUTE))
        day = await store.sent_parts_since(sender.id, wall - timedelta(seconds=DAY))
        sender.sent_times.extend([now - MINUTE + 1.0] * (day - minute))
        sender.sent_times.extend([now] * minute)
