"""A modem's health, and when it is worth a publication: changes at once, signal sparingly.

Each publication of ``{prefix}/{node}/modem/{id}`` is a row written to the store's publication
queue and deleted again on the broker's PUBACK: two commits. Huawei modems send ``^RSSI`` and
Quectel ones ``+QIND: "csq"`` on every step of the signal (2 dB), many times a minute, and on a
Raspberry Pi's SD card every commit wears the flash. So a change of state, registration,
operator, identity or error is published at once, and a change of the signal alone only when it
moved at least ``SIGNAL_STEP_DB`` from the value last published, in a batch with the other
modems' moves: batches are at least ``SIGNAL_INTERVAL`` apart, and a modem's signal waits at
least that long after its last publication (a move undone before its batch is not published).
``gsmgw status`` and the metrics read the latest health, not the published one.

The broker's acknowledgement of a health publication is not a commit of its own either: the
row is deleted with the next health publication (``Gateway.ack_publication``). A crash before
that publishes it once more at the next start, before the newer health: harmless for a retained
topic whose last publication is what counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import math
import time

#: A change of the signal alone is published at most this often per modem (seconds).
SIGNAL_INTERVAL = 60.0
#: ... and only when it moved at least this far from the value last published (dB): more than
#: one step of +CSQ's 2 dB scale (TS 27.007 §8.5), so that a signal hovering between two steps
#: publishes nothing.
SIGNAL_STEP_DB = 3
#: A held-back signal change waits this much longer (seconds), so that the modems whose changes
#: fall due within it are published together, in one commit.
HEALTH_GATHER_DELAY = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    """What ``gsmgw status`` and ``{prefix}/{node}/modem/{id}`` say about one modem."""

    state: str = "starting"
    operator: str | None = None
    registration: str | None = None
    #: dBm (TS 27.007 §8.5 +CSQ, converted).
    signal: int | None = None
    identity: Mapping[str, str] = field(default_factory=dict)
    #: What the modem can do (``Capabilities.to_json``: receive, reports, ussd, storage, missing).
    capabilities: Mapping[str, object] = field(default_factory=dict)
    error: str | None = None
    changed_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, object]:
        """Return the retained MQTT payload's health fields (SPEC.md: state, operator...)."""
        return {
            "state": self.state,
            "operator": self.operator,
            "registration": self.registration,
            "signal": self.signal,
            **dict(self.identity),
            "capabilities": dict(self.capabilities),
            "last_error": self.error,
        }


@dataclass(frozen=True, slots=True)
class _Published:
    report: HealthReport
    #: ``time.monotonic()`` of the publication: the interval survives a wall-clock jump.
    at: float


class HealthPolicy:
    """Decides which health changes are published, and when a held-back signal is due."""

    def __init__(self) -> None:
        self._published: dict[str, _Published] = {}
        #: Modem id -> when its held-back signal change may be published (monotonic).
        self._owed: dict[str, float] = {}
        #: When the last batch of signal changes was published: batches are ``SIGNAL_INTERVAL``
        #: apart, so that the signals of all modems cost one commit a minute, not one each.
        self._batch_at = -math.inf

    def publish_now(self, modem_id: str, report: HealthReport, now: float) -> bool:
        """Return True when ``report`` should be published now; else hold a signal move back."""
        last = self._published.get(modem_id)
        if last is None or _without_signal(last.report) != _without_signal(report):
            return True
        if not _moved(last.report.signal, report.signal):
            self._owed.pop(modem_id, None)  # back near the published value: nothing to say
            return False
        if modem_id not in self._owed:
            self._owed[modem_id] = max(last.at, self._batch_at) + SIGNAL_INTERVAL
        return False

    def batch(self, now: float) -> list[str]:
        """Return the modems whose held-back signal change is due by ``now``, as one batch."""
        due = [modem_id for modem_id, at in self._owed.items() if at <= now]
        if due:
            self._batch_at = now
            for modem_id in due:
                del self._owed[modem_id]
            # The others wait for the next batch.
            floor = now + SIGNAL_INTERVAL
            self._owed = {m: max(at, floor) for m, at in self._owed.items()}
        return due

    def published(self, modem_id: str, report: HealthReport, now: float) -> None:
        """Record that ``report`` was queued for publication at ``now``."""
        self._published[modem_id] = _Published(report, now)
        self._owed.pop(modem_id, None)

    def next_due(self) -> float | None:
        """Return when the earliest held-back change is due (None: none is held back)."""
        earliest = min(self._owed.values(), default=None)
        return None if earliest is None else earliest + HEALTH_GATHER_DELAY

    def forget(self, modem_id: str) -> None:
        """Drop a modem that left the config."""
        self._published.pop(modem_id, None)
        self._owed.pop(modem_id, None)


def _without_signal(report: HealthReport) -> HealthReport:
    return replace(report, signal=None, changed_at=0.0)


def _moved(before: int | None, after: int | None) -> bool:
    if before is None or after is None:
        return before != after  # found or lost: worth saying
    return abs(after - before) >= SIGNAL_STEP_DB
