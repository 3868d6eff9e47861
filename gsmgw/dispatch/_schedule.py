"""The dispatcher's clocks: what comes due at a moment, wall-clock jumps, periodic upkeep.

Sending is woken by events (new work, a modem's change); only what is due at a moment needs a
timer. ``Schedule.run`` keeps three: one for the earliest ``send_at``/retry due time (planned again
whenever ``changed`` is set), a once-a-second check of the wall clock while the store is idle (the
store moves its deadlines after a jump, ``gsmgw.store.jumps``; the timer may have read a due time
just before it and measured it against the clock just after, so it plans again), and the expiry of
waiting messages past ``valid_for`` with the flush of incomplete inbound sets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from typing import NoReturn

from gsmgw.errors import StoreError
from gsmgw.models import utc_now
from gsmgw.store import Store

LOGGER = logging.getLogger(__package__)

# All of these are in seconds.
#: Longest wait of the due-time timer without a change (a safety net, not the mechanism).
TIMER_MAX_INTERVAL = 60.0
#: After waking modems for due messages, look again this soon (they may all be busy).
DUE_RECHECK_INTERVAL = 1.0
#: How often waiting messages past ``valid_for`` are expired and stale inbound sets flushed.
MAINTENANCE_INTERVAL = 30.0
#: How often the wall clock is checked for a jump while nothing else calls the store.
CLOCK_CHECK_INTERVAL = 1.0
#: How long the timer waits before reading the schedule again when the store cannot.
STORE_RETRY_DELAY = 5.0


class Schedule:
    """The timers of one dispatcher; set ``changed`` when a due time may have moved."""

    def __init__(
        self,
        store: Store,
        wake: Callable[[], None],
        incomplete_after: Callable[[], float],
    ) -> None:
        """``wake`` sets every modem's wake-up; ``incomplete_after`` reads the current config."""
        self.changed = asyncio.Event()
        self._store = store
        self._wake = wake
        self._incomplete_after = incomplete_after

    async def run(self) -> NoReturn:
        """Run the timers until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._timer(), name="dispatch-timer")
            group.create_task(self._maintenance(), name="dispatch-maintenance")
            group.create_task(self._follow_clock(), name="dispatch-clock")
        raise AssertionError("the schedule's tasks never end")  # pragma: no cover

    async def _timer(self) -> NoReturn:
        """Wake the modems when the earliest ``send_at`` or retry comes due."""
        while True:
            self.changed.clear()
            try:
                due = await self._store.next_due_at()
            except StoreError as exc:  # e.g. the disk is full: the queue waits, nothing is lost
                LOGGER.warning("cannot read the schedule (retrying): %s", exc)
                await wait(self.changed, STORE_RETRY_DELAY)
                continue
            delay = TIMER_MAX_INTERVAL
            if due is not None:
                delay = min((due - utc_now()).total_seconds(), TIMER_MAX_INTERVAL)
                if delay <= 0:
                    self._wake()
                    delay = DUE_RECHECK_INTERVAL
            await wait(self.changed, delay)

    async def _follow_clock(self) -> NoReturn:
        """Check the wall clock; once the store moved the deadlines, plan again."""
        shifted = self._store.deadlines_shifted
        while True:
            self._store.check_clock()
            if await wait(shifted, CLOCK_CHECK_INTERVAL):
                shifted.clear()
                self.changed.set()
                self._wake()

    async def _maintenance(self) -> NoReturn:
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL)
            try:
                expired = await self._store.expire_due()
                flushed = await self._store.flush_incomplete(older_than=self._incomplete_after())
            except Exception:
                LOGGER.exception("periodic expiry and inbound flush failed")
                continue
            if expired or flushed:
                LOGGER.info(
                    "expired %d messages, flushed %d incomplete", len(expired), len(flushed)
                )


async def wait(event: asyncio.Event, limit: float | None) -> bool:
    """Wait for ``event`` or ``limit`` seconds (None: no limit); return whether it was set."""
    if limit is None:
        await event.wait()
        return True
    try:
        async with asyncio.timeout(max(limit, 0.0)):
            await event.wait()
    except TimeoutError:
        return False
    return True
