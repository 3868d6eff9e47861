"""``kill -9`` of a daemon serving SMPP: nothing acknowledged is lost (SPEC.md "Guarantees").

``gsmgw run`` runs as a subprocess on a simulated modem living in this test process; the test
is the ESME (the bare codec client of smpp_esme.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import signal
import sqlite3

import pytest

from gsmgw.smpp import BindKind, SubmitSm, SubmitSmResp
from gsmgw.store import StoreReader
from tests.run_daemon import answering, start_run as start

from .conftest import SimModemFactory, eventually
from .smpp_esme import USERS, Esme
from .smpp_peers import free_port


def config(tmp_path: Path, smpp_port: int) -> Path:
    users = tmp_path / "smpp.users"
    users.write_text(USERS, encoding="utf-8")
    users.chmod(0o600)
    path = tmp_path / "gsmgw.toml"
    path.write_text(
        "[gateway]\nnode = 'crash'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
        "[mqtt]\nurl = ''\n"
        f"[smpp]\nlisten = '127.0.0.1:{smpp_port}'\nusers_file = '{users}'\n"
        f"[[modem]]\nid = 'k1'\nport = '{tmp_path / 'k1.tty'}'\n",
        encoding="utf-8",
    )
    return path


def waiting_deliveries(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM smpp_delivery").fetchone()[0])


async def connect(port: int) -> Esme:
    async with asyncio.timeout(20):
        while True:
            try:
                return await Esme.connect(port)
            except OSError:
                await asyncio.sleep(0.05)


@pytest.mark.timeout(60)
async def test_sigkill_after_submit_sm_resps_and_with_receipts_pending(
    tmp_path: Path, make_sim_modem: SimModemFactory
) -> None:
    modem = await make_sim_modem(name="k1", link=tmp_path / "k1.tty", send_delay=0.0)
    port = free_port()
    config_file = config(tmp_path, port)
    db = tmp_path / "gsmgw.db"

    # 1. Pipelined submits, every one answered, then kill -9 at once: all of them are stored.
    modem.sim.send_delay = 30.0  # nothing goes out before the kill
    daemon = await start(config_file)
    await answering(str(tmp_path / "c.sock"))
    esme = await connect(port)
    await esme.bind(BindKind.TRANSMITTER)
    submits = [
        SubmitSm(
            sequence=esme.seq(),
            dest_addr_ton=1,
            destination_addr=f"4917012{n:05d}",
            short_message=f"kill {n}".encode(),
            registered_delivery=1,
        )
        for n in range(50)
    ]
    ids = []
    for start_at in range(0, len(submits), 10):  # a window of 10
        await esme.send(*submits[start_at : start_at + 10])
        ids += [(await esme.recv_type(SubmitSmResp)).message_id for _ in range(10)]
    daemon.send_signal(signal.SIGKILL)
    assert await daemon.wait() == -signal.SIGKILL
    await esme.close()
    with StoreReader(db) as reader:
        assert all(reader.show_outbox(message_id) is not None for message_id in ids)

    # 2. They go out and are delivered while no receiver is bound: the receipts wait; kill -9.
    modem.sim.send_delay = 0.0
    daemon = await start(config_file)
    await answering(str(tmp_path / "c.sock"))
    await eventually(lambda: waiting_deliveries(db) == len(ids), limit=40)
    daemon.send_signal(signal.SIGKILL)
    assert await daemon.wait() == -signal.SIGKILL

    # 3. After the restart a receiver gets every receipt.
    daemon = await start(config_file)
    try:
        await answering(str(tmp_path / "c.sock"))
        esme = await connect(port)
        await esme.bind(BindKind.RECEIVER)
        receipted: set[str | None] = set()
        while len(receipted) < len(ids):
            receipt = await esme.next_delivery()
            receipted.add(receipt.tlvs.receipted_message_id)
        assert receipted == set(ids)
        await eventually(lambda: waiting_deliveries(db) == 0)
        await esme.close()
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0
