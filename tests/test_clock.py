"""The wall-clock jump detector, on injected clocks."""

from __future__ import annotations

import pytest

from gsmgw.clock import JUMP_THRESHOLD, ClockWatch


class Clocks:
    """A wall clock and a monotonic one that a test moves by hand."""

    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.monotonic = 500.0
        #: Seconds the process stalls right after each of the next wall-clock reads.
        self.stalls: list[float] = []

    def run(self, seconds: float) -> None:
        """Let time pass: both clocks advance alike."""
        self.wall += seconds
        self.monotonic += seconds

    def read_wall(self) -> float:
        now = self.wall
        if self.stalls:
            self.run(self.stalls.pop(0))
        return now

    def watch(self) -> ClockWatch:
        return ClockWatch(wall=self.read_wall, monotonic=lambda: self.monotonic)


def test_running_clocks_are_no_jump() -> None:
    clocks = Clocks()
    watch = clocks.watch()
    for _ in range(5):
        clocks.run(1.0)
        assert watch.check() == 0.0


@pytest.mark.parametrize("step", [-3600.0, 86400.0, JUMP_THRESHOLD + 0.1, -JUMP_THRESHOLD - 0.1])
def test_a_step_of_the_wall_clock_is_reported_once_with_its_sign(step: float) -> None:
    clocks = Clocks()
    watch = clocks.watch()
    clocks.run(0.5)
    clocks.wall += step
    assert watch.check() == pytest.approx(step)
    clocks.run(1.0)
    assert watch.check() == 0.0


def test_steps_between_two_checks_add_up() -> None:
    clocks = Clocks()
    watch = clocks.watch()
    clocks.wall -= 3600
    clocks.wall += 86400
    assert watch.check() == pytest.approx(82800)


def test_slewing_never_adds_up_to_a_jump() -> None:
    """NTP slews at most 500 ppm: over a day of checks a second apart that is 43 s, never a jump."""
    clocks = Clocks()
    watch = clocks.watch()
    for _ in range(86400):
        clocks.run(1.0)
        clocks.wall += 0.0005
        assert watch.check() == 0.0


def test_a_small_step_is_taken_as_the_new_normal() -> None:
    clocks = Clocks()
    watch = clocks.watch()
    clocks.wall += JUMP_THRESHOLD / 2
    assert watch.check() == 0.0
    clocks.wall += JUMP_THRESHOLD / 2
    assert watch.check() == 0.0  # measured from the last check, not from the start


def test_a_stall_between_the_reads_is_no_jump() -> None:
    """Preempted for 3 s between reading the wall clock and the monotonic one: read again."""
    clocks = Clocks()
    watch = clocks.watch()
    clocks.stalls = [3.0]
    assert watch.check() == 0.0
    clocks.stalls = [3.0, 3.0, 3.0]  # every try stalls: the midpoint is off by half of one
    assert watch.check() == 0.0
    clocks.run(1.0)
    assert watch.check() == 0.0
