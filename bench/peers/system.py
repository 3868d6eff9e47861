"""What the workloads need from a system under test (gsmgw, gammu-smsd, smstools3)."""

from __future__ import annotations

import abc
from pathlib import Path

from bench.peers.parsing import Stored


class System(abc.ABC):
    """One SMS daemon set-up, started on some simulated modems' stable paths."""

    #: The JSON key, e.g. "gammu-smsd-tuned".
    key: str
    #: Seconds between its looks at the queue when idle (0: it reacts at once or busy-waits).
    poll_interval: float
    #: True when it spins a CPU core while idle (then its samples are taken one at a time).
    busy_waits: bool

    @abc.abstractmethod
    async def start(self, ports: list[str], workdir: Path) -> None:
        """Start on ``ports`` (symlinks to ptys), keeping its files under ``workdir``."""

    @abc.abstractmethod
    async def send(
        self, to: str, text: str, *, modem: int | None = None, unicode: bool = False
    ) -> None:
        """Queue one message as its users do; ``modem`` picks the daemon where each has its own."""

    @abc.abstractmethod
    def inbox(self) -> list[Stored]:
        """Return the inbound messages it has stored or published so far."""

    @abc.abstractmethod
    def pending(self) -> int:
        """Return how many queued messages it still holds, neither sent nor given up."""

    @abc.abstractmethod
    def alive(self) -> bool:
        """Return True while its processes run."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop it and everything it started."""
