"""A ``gsmgw run`` subprocess on simulated modems of the benchmark's own process.

The modems live in the benchmark (on ptys the daemon opens by their symlinks), so the moment
each ``AT+CMGS=`` reaches one is recorded here: ``cmgs_times``. Used by bench/dispatch.py and
bench/mqtt.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
import sys
import time

from bench.figures import rss_mb
from gsmgw.sim import Knobs, PtyModem


class Node:
    """``count`` simulated modems and a daemon on them, with ``sections`` as its config."""

    def __init__(self, folder: Path, count: int, sections: str, *, send_delay: float = 0.0) -> None:
        self.folder = folder
        self.count = count
        self.sections = sections
        self.send_delay = send_delay
        self.sims: list[PtyModem] = []
        self.cmgs_times: list[float] = []
        self.process: asyncio.subprocess.Process | None = None
        self.control = str(folder / "c.sock")
        self.database = folder / "gsmgw.db"

    def write_config(self) -> Path:
        """Write ``sections`` (``[gateway]``, ``[mqtt]``) and a ``[[modem]]`` per modem."""
        modems = "".join(
            f"[[modem]]\nid = 'b{n}'\nport = '{self.folder / f'b{n}.tty'}'\n"
            for n in range(self.count)
        )
        path = self.folder / "gsmgw.toml"
        path.write_text(f"{self.sections}\n{modems}", encoding="utf-8")
        return path

    async def start(self) -> None:
        """Start the modems, then ``python -m gsmgw run`` logging to ``daemon.log``."""
        for n in range(self.count):
            pty = PtyModem(
                knobs=Knobs(send_delay=self.send_delay, capacity=50),
                link=self.folder / f"b{n}.tty",
                name=f"b{n}",
            )
            await pty.start()
            watch_cmgs(pty, self.cmgs_times.append)
            self.sims.append(pty)
        with (self.folder / "daemon.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "gsmgw", "run", "-c", str(self.write_config())),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def stop(self) -> None:
        """SIGTERM the daemon (it drains), then stop the modems."""
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 60)
        for pty in self.sims:
            await pty.stop()

    def set_send_delay(self, seconds: float) -> None:
        """Make every modem answer each ``AT+CMGS`` after ``seconds`` from now on."""
        self.send_delay = seconds
        for pty in self.sims:
            pty.sim.send_delay = seconds

    def accepted(self) -> int:
        """Parts the simulated network accepted, over all modems."""
        return sum(len(pty.sim.sent) for pty in self.sims)

    def rss_mb(self) -> float:
        """Return the daemon's resident memory in MB."""
        assert self.process is not None
        return rss_mb(self.process.pid)


def watch_cmgs(pty: PtyModem, record: Callable[[float], None]) -> None:
    """Note the moment each AT+CMGS reaches the simulated modem (instrumentation only)."""
    feed = pty.sim.feed

    def feed_and_note(data: bytes) -> None:
        if b"AT+CMGS=" in data:
            record(time.perf_counter())
        feed(data)

    pty.sim.feed = feed_and_note  # type: ignore[method-assign]
