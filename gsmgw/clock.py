"""Noticing that the wall clock jumped: NTP's first sync on a board without an RTC, or ``date -s``.

The wall clock (``time.time()``) may be stepped; the monotonic clock never is. So their difference
stays put while the wall clock merely runs (NTP slews it by at most 500 ppm, half a millisecond a
second) and changes by the size of a step when one happens. ``ClockWatch`` compares that
difference with its value at the previous check. Pure: no asyncio, no I/O.

The two clocks cannot be read at one instant: a process preempted between the reads (a busy
Raspberry Pi) would see a jump that is not there. So the wall clock is read between two monotonic
reads and compared with their midpoint, and a reading that took long is taken again.
"""

from __future__ import annotations

from collections.abc import Callable
import math
import time

#: A change of the wall clock against the monotonic one, in seconds, that counts as a jump: far
#: above what slewing adds between two checks, far below any step worth correcting for.
JUMP_THRESHOLD = 2.0
#: A reading whose monotonic reads lie further apart than this (seconds) is taken again...
READ_MAX_SPREAD = 0.05
#: ...up to this many times; then the tightest one counts (its error is half its spread).
READ_TRIES = 3


class ClockWatch:
    """Tells by how much the wall clock jumped since the previous ``check``."""

    def __init__(
        self,
        *,
        threshold: float = JUMP_THRESHOLD,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._wall = wall
        self._monotonic = monotonic
        self._offset = self._read()

    def _read(self) -> float:
        """Return the wall clock minus the monotonic one."""
        best_spread, best = math.inf, 0.0
        for _ in range(READ_TRIES):
            before = self._monotonic()
            wall = self._wall()
            after = self._monotonic()
            if after - before < best_spread:
                best_spread, best = after - before, wall - (before + after) / 2
            if best_spread <= READ_MAX_SPREAD:
                break
        return best

    def check(self) -> float:
        """Return the jump in seconds since the last check (negative: set back), or 0.0.

        Compared with the previous check, not with the first: slewing, however long it goes on,
        never adds up to a jump. A change below the threshold is taken as the new normal.
        """
        offset = self._read()
        jump, self._offset = offset - self._offset, offset
        return jump if abs(jump) >= self._threshold else 0.0
