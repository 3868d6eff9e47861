"""Which modem takes which message: SPEC.md's routing rule as pure functions.

Among the modems a message may use (the request's ``modem`` id or group, then the rules,
then all), those that are registered, within their limits and not failing are *ready*; the
cheapest for the destination goes first, then the one that will finish soonest (its queue and
its measured send time). Nothing here awaits or touches a device: the dispatcher takes a
snapshot of every modem, asks `best_modem`, and does the I/O afterwards (the shape of
httpcore's connection pool, which assigns requests in one synchronous step).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Send time assumed for a modem that has not sent anything yet (seconds per part).
DEFAULT_SEND_TIME = 3.0
#: Weight of the newest sample in the moving average of a modem's send time.
SEND_TIME_WEIGHT = 0.2
MINUTE = 60.0
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A snapshot of one modem, as routing sees it."""

    id: str
    groups: frozenset[str] = frozenset()
    #: Supervisor says READY and the modem is registered (home or roaming).
    ready: bool = True
    #: Parts already handed to this modem and not yet finished (including one in progress).
    queued_parts: int = 0
    #: Measured seconds per part (moving average).
    send_time: float = DEFAULT_SEND_TIME
    #: Price per part by destination prefix; the longest matching prefix wins.
    cost: Mapping[str, float] = field(default_factory=dict)
    per_minute: int | None = None
    per_day: int | None = None
    sent_last_minute: int = 0
    sent_today: int = 0

    def price(self, destination: str) -> float:
        """Return the price per part to ``destination`` (0 when no prefix matches)."""
        best = ""
        for prefix in self.cost:
            if destination.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.cost.get(best, 0.0)

    def within_limits(self, parts: int) -> bool:
        """Whether sending ``parts`` more parts keeps this SIM within ``per_minute``/``per_day``."""
        # A message longer than the whole per-minute budget may go out on an idle minute.
        if (
            self.per_minute is not None
            and self.sent_last_minute + parts > self.per_minute
            and (self.sent_last_minute > 0 or parts <= self.per_minute)
        ):
            return False
        return self.per_day is None or self.sent_today + parts <= self.per_day

    def finish_time(self, parts: int) -> float:
        """Estimated seconds until this modem would have sent ``parts`` more parts."""
        return (self.queued_parts + parts) * self.send_time


def allowed_modems(modems: Iterable[Candidate], names: Sequence[str] | None) -> list[Candidate]:
    """Return the modems a message may use: those named by id or group, or all when unnamed."""
    if not names:
        return list(modems)
    wanted = set(names)
    return [m for m in modems if m.id in wanted or wanted & m.groups]


def rank(modems: Iterable[Candidate], destination: str, parts: int) -> list[Candidate]:
    """Return the ready modems within their limits, best first: cheapest, then soonest done."""
    usable = [m for m in modems if m.ready and m.within_limits(parts)]
    return sorted(usable, key=lambda m: (m.price(destination), m.finish_time(parts), m.id))


def best_modem(
    modems: Iterable[Candidate], destination: str, parts: int, names: Sequence[str] | None
) -> Candidate | None:
    """Return the modem that should send this message now, or None when none is ready."""
    ranked = rank(allowed_modems(modems, names), destination, parts)
    return ranked[0] if ranked else None


def updated_send_time(average: float, sample: float, *, first: bool) -> float:
    """Return the moving average of a modem's send time after one more sample."""
    if first:
        return sample
    return average + SEND_TIME_WEIGHT * (sample - average)
