"""Stopping the real programs the tests start (Kannel, Jasmin, Home Assistant, Alertmanager)."""

from __future__ import annotations

import asyncio


async def stop_process(process: asyncio.subprocess.Process, patience: float) -> None:
    """SIGTERM ``process`` and wait up to ``patience`` seconds for it to end; then SIGKILL it."""
    if process.returncode is None:
        process.terminate()
    try:
        async with asyncio.timeout(patience):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
