"""The daemon in tests: start it, wait for it, clean up.

``gsmgw run`` as a subprocess serves the tests that kill it; ``InLoop`` runs ``Daemon.run`` as a
task of the test's event loop. A subprocess daemon logs to ``daemon.log`` next to its config.
Every process started here is killed at the end of its test if it still runs (see
``kill_leftovers`` in tests/conftest.py), so a test that fails half-way never leaves a daemon
holding its ptys and sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
import contextlib
import os
from pathlib import Path
import sys
from typing import TYPE_CHECKING, Self

from gsmgw.cli.control import request
from gsmgw.errors import ControlError

if TYPE_CHECKING:
    from gsmgw.daemon import Daemon

_STARTED: list[asyncio.subprocess.Process] = []


async def start_run(
    config_file: Path, *, env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start ``gsmgw run -c config_file``, logging to ``daemon.log`` beside it.

    ``env`` adds to this process's environment (``LD_PRELOAD`` of libfaketime, say).
    """
    with (config_file.parent / "daemon.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gsmgw",
            "run",
            "-c",
            str(config_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, **env} if env is not None else None,
        )
    _STARTED.append(process)
    return process


async def answering(control: Path | str, *, limit: float = 60.0) -> float:
    """Wait until the daemon answers on its control socket; return the seconds it took.

    A killed daemon leaves its socket file behind, so the file alone proves nothing.
    """
    loop = asyncio.get_running_loop()
    begun = loop.time()
    async with asyncio.timeout(limit):
        while True:
            try:
                await request(str(control), "status")
            except ControlError:
                await asyncio.sleep(0.05)
            else:
                return loop.time() - begun


def kill_leftovers() -> None:
    """Kill every daemon started here that still runs."""
    while _STARTED:
        process = _STARTED.pop()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


class InLoop:
    """A daemon running as a task of this event loop."""

    def __init__(self, daemon: Daemon, task: asyncio.Task[int], patience: float) -> None:
        self.daemon = daemon
        self.task = task
        self.patience = patience

    @classmethod
    async def start(cls, daemon: Daemon, *, patience: float) -> Self:
        """Run ``daemon``; wait until it has started, or ``patience`` seconds at most."""
        task = asyncio.create_task(daemon.run())
        async with asyncio.timeout(patience):
            await daemon.started.wait()
        return cls(daemon, task, patience)

    async def stop(self) -> int:
        """Stop the daemon as SIGTERM would; return its exit code."""
        self.daemon.stop()
        async with asyncio.timeout(self.patience):
            return await self.task


async def stop_all(running: Iterable[InLoop]) -> None:
    """Stop every daemon that still runs, whatever state a failed test left it in."""
    for daemon in running:
        if not daemon.task.done():
            with contextlib.suppress(Exception):
                await daemon.stop()
