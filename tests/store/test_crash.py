"""SIGKILL a process that enqueues: every enqueue it saw return is in the database afterwards."""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

from gsmgw.store import StoreReader

CHILD = """
import asyncio, sys
from gsmgw.models import SendRequest
from gsmgw.store import Store

async def main():
    store = Store(sys.argv[1])
    await store.open()
    async def client(n):
        for k in range(10_000):
            [result] = await store.enqueue([SendRequest(to=("+491701234567",), text="x",
                                                         id=f"c{n}-{k}")])
            print(result.id, flush=True)
    await asyncio.gather(*(client(n) for n in range(8)))

asyncio.run(main())
"""


def test_acknowledged_enqueues_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "gsmgw.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acknowledged = []
    try:
        for line in child.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) == 300:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) == 300
    with StoreReader(path) as reader:
        for message_id in acknowledged:
            assert reader.show_outbox(message_id) is not None, message_id
