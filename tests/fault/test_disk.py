"""The database's disk fills up for a while (a tiny tmpfs), then space comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import signal
import subprocess

import pytest

from gsmgw.cli.control import request
from gsmgw.errors import ControlError
from gsmgw.models import MessageState
from gsmgw.store import StoreReader
from tests.run_daemon import answering, start_run

from .conftest import (
    SimModemFactory,
    eventually,
    modem_block,
    outbox,
    write_config,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for this test (needs root), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; return it."""
    filler = directory / "filler"
    with filler.open("wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


async def send(control: Path, message_id: str) -> bool:
    """Ask the daemon to queue one message; return whether it was accepted."""
    try:
        result = await request(
            str(control), "send", request={"to": "+491701112223", "text": "x", "id": message_id}
        )
    except (ControlError, OSError):
        return False
    return bool(result) and "error" not in result[0]


def unsent(db: Path, ids: list[str]) -> dict[str, str]:
    """Return the ids among ``ids`` that are not ``sent``, with their state."""
    found = outbox(db)
    return {
        i: str(found[i].state) if i in found else "missing"
        for i in ids
        if i not in found or found[i].state is not MessageState.SENT
    }


@pytest.mark.parametrize(
    "restart",
    [True, False],
)
async def test_disk_full_for_a_while_loses_no_committed_message(
    tmp_path: Path, make_sim_modem: SimModemFactory, small_disk: Path, restart: bool
) -> None:
    """SQLite hits ENOSPC mid-queue for a while: the daemon survives or exits non-zero.

    Proves: every message committed before or during the outage ends ``sent`` once space
    is back (``restart``: after the operator's restart; otherwise by the running daemon);
    it never exits 0 on a full disk; every inbound SMS is stored or still on the SIM.
    """
    pty = await make_sim_modem(name="fd", link=tmp_path / "fd.tty", send_delay=0.3)
    config = write_config(
        tmp_path, modem_block("fd", str(tmp_path / "fd.tty")), db=str(small_disk / "gsmgw.db")
    )
    control, db = tmp_path / "c.sock", small_disk / "gsmgw.db"
    daemon = await start_run(config)
    try:
        await answering(control)
        accepted = [f"d{n}" for n in range(10) if await send(control, f"d{n}")]
        assert len(accepted) == 10
        filler = fill(small_disk)
        accepted += [f"e{n}" for n in range(10) if await send(control, f"e{n}")]
        for n in range(3):
            pty.sim.inject_sms("+491705550002", f"during full disk {n}")
        await asyncio.sleep(2.0)
        exited = daemon.returncode
        filler.unlink()
        if exited is not None:
            assert exited != 0, "the daemon said success on a full disk"
        if restart:
            if exited is None:
                daemon.send_signal(signal.SIGTERM)
                await asyncio.wait_for(daemon.wait(), 30)
            daemon = await start_run(config)
            await answering(control)
        try:
            await eventually(lambda: not unsent(db, accepted), limit=10 if not restart else 40)
        except TimeoutError:
            raise AssertionError(
                f"not sent after space came back (exited={exited}): {unsent(db, accepted)}"
            ) from None

        def inbound() -> int:
            with StoreReader(db) as reader:
                return len(reader.list_inbox(limit=100))

        await eventually(lambda: inbound() + len(pty.sim.storage(2)) >= 3)
        print(f"disk full: accepted={len(accepted)} exited={exited} inbound={inbound()}")
    finally:
        if daemon.returncode is None:
            daemon.send_signal(signal.SIGTERM)
            await asyncio.wait_for(daemon.wait(), 30)
