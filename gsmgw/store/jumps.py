"""Stored deadlines move with the wall clock when it jumps, so a jump neither delays nor expires.

Times are stored as wall-clock milliseconds (schema_v1.sql). A retry's due time and a message's
expiry are "the moment of writing plus a delay", and an incomplete inbound set ages from when its
parts were stored: when the wall clock is stepped by J seconds (``gsmgw.clock``: NTP's first sync
on a Raspberry Pi booted with fake-hwclock's old time, an admin's ``date -s``), each of them moves
by J too. ``send_at`` is a moment the client named and stays. The shift is queued ahead of every
store job that follows the check that saw the jump (the writer runs jobs in order), so no job
compares the new clock with the old deadlines. A jump while the daemon was not running cannot be
seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import functools
import logging
import time

from gsmgw.clock import ClockWatch
from gsmgw.errors import StoreError
from gsmgw.store import inbox, outbox
from gsmgw.store.writer import Transaction, Writer

LOGGER = logging.getLogger(__name__)

#: After a shift failed (the disk is full...), the next try waits at least this long (seconds).
SHIFT_RETRY_DELAY = 5.0


@dataclass(frozen=True, slots=True)
class Shifted:
    """What one shift moved."""

    #: Retry due times and expiries (a retrying message with a ``valid_for`` has both).
    outbound: int
    inbound_parts: int


def shift(tx: Transaction, by_ms: int) -> Shifted:
    """Move every deadline that counts from a past moment by ``by_ms``, in one transaction."""
    return Shifted(outbox.shift_deadlines(tx.conn, by_ms), inbox.shift_waiting(tx.conn, by_ms))


class ClockFollower:
    """Queues a shift of the stored deadlines after a wall-clock jump; retries one that failed."""

    def __init__(self, writer: Writer, watch: ClockWatch, on_shifted: Callable[[], None]) -> None:
        self._writer = writer
        self._watch = watch
        self._on_shifted = on_shifted
        #: Jumped and not yet applied: only a committed shift takes it off, so none counts twice.
        self._owed_ms = 0
        self._in_flight = False
        self._retry_at = 0.0  # time.monotonic()

    def check(self) -> None:
        """Queue the shift now, before any later job, if the clock jumped (or one is owed)."""
        self._owed_ms += round(self._watch.check() * 1000)
        if not self._owed_ms or self._in_flight or time.monotonic() < self._retry_at:
            return
        by_ms = self._owed_ms
        try:
            future = self._writer.put(lambda tx: shift(tx, by_ms))
        except StoreError as exc:  # not open (yet, or any more): never the caller's problem
            self._failed(by_ms, exc)
            return
        self._in_flight = True
        future.add_done_callback(functools.partial(self._done, by_ms))

    def _done(self, by_ms: int, future: asyncio.Future[Shifted]) -> None:
        self._in_flight = False
        error = future.exception()
        if error is not None:  # rolled back: still owed
            self._failed(by_ms, error)
            return
        self._owed_ms -= by_ms
        done = future.result()
        LOGGER.warning(
            "the wall clock jumped by %+.0f s; deadlines shifted (%d outbound, %d inbound parts)",
            by_ms / 1000,
            done.outbound,
            done.inbound_parts,
        )
        self._on_shifted()

    def _failed(self, by_ms: int, error: BaseException) -> None:
        """Leave the jump owed; a check after ``SHIFT_RETRY_DELAY`` tries again."""
        self._retry_at = time.monotonic() + SHIFT_RETRY_DELAY
        LOGGER.warning(
            "the wall clock jumped by %+.0f s; cannot shift deadlines yet (retrying): %s",
            by_ms / 1000,
            error,
        )
