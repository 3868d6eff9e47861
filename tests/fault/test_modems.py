"""Modems that vanish, hang, talk garbage or fill their SIM while a queue is going out."""

from __future__ import annotations

import asyncio
from pathlib import Path
import time

import pytest

from gsmgw.sim import PtyModem

from .conftest import (
    FINAL,
    SLOW,
    WAIT_TIMEOUT,
    InProcess,
    SimModemFactory,
    StartDaemon,
    check_accounting,
    eventually,
    modem_block,
    outbox,
    requests,
    scaled,
    write_config,
)


@pytest.fixture(autouse=True)
def short_send_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hung modem's AT+CMGS gives up after 3 s instead of the network's 60 s."""
    monkeypatch.setattr("gsmgw.at.commands.SEND_TIMEOUT", 3.0)


async def two_modems(
    tmp_path: Path, make_sim_modem: SimModemFactory, start_daemon: StartDaemon
) -> tuple[list[PtyModem], InProcess]:
    sims = [
        await make_sim_modem(name=n, link=tmp_path / f"{n}.tty", send_delay=0.02)
        for n in ("fa", "fb")
    ]
    config = write_config(
        tmp_path, "".join(modem_block(s.name, str(tmp_path / f"{s.name}.tty")) for s in sims)
    )
    return sims, await start_daemon(config)


async def recovery(pty: PtyModem, running: InProcess, prefix: str, ids: set[str]) -> float:
    """Keep queueing a little work; return the seconds until ``pty`` sends again."""
    before = len(pty.sim.sent)
    begun = time.monotonic()
    n = 0
    async with asyncio.timeout(WAIT_TIMEOUT):
        while len(pty.sim.sent) == before:
            batch = requests(f"{prefix}{n}-", 2, long_every=1000)
            ids |= {one.id or "" for one in batch}
            await running.submit(batch)
            n += 1
            await asyncio.sleep(0.1)
    return time.monotonic() - begun


@pytest.mark.parametrize("rounds", [1, pytest.param(scaled(10), marks=SLOW)])
async def test_unplug_mid_queue_loses_nothing_and_recovers(
    tmp_path: Path, make_sim_modem: SimModemFactory, start_daemon: StartDaemon, rounds: int
) -> None:
    """Unplug/replug a modem mid-queue: nothing lost, duplicates only flagged, it is used again.

    Proves: every message ends ``sent``; a part twice on the network only if its message
    says the earlier outcome was unknown; the replugged modem sends within 15 s.
    """
    (a, b), running = await two_modems(tmp_path, make_sim_modem, start_daemon)
    ids: set[str] = set()
    worst = 0.0
    for r in range(rounds):
        batch = requests(f"u{r}-", 40)
        ids |= {one.id or "" for one in batch}
        await running.submit(batch)
        await sent_more(a, 3)
        a.unplug()
        await asyncio.sleep(0.5)
        await a.replug()
        worst = max(worst, await recovery(a, running, f"u{r}r", ids))
    await eventually(lambda: check_or_false(tmp_path, [a, b], ids), limit=40)
    print(f"unplug: rounds={rounds} messages={len(ids)} worst recovery {worst:.2f}s")
    assert worst < 15
    assert await running.stop() == 0


async def sent_more(pty: PtyModem, count: int) -> None:
    """Wait until ``pty`` has sent ``count`` more parts."""
    floor = len(pty.sim.sent) + count
    await eventually(lambda: len(pty.sim.sent) >= floor)


def check_or_false(tmp_path: Path, sims: list[PtyModem], ids: set[str]) -> bool:
    """Return True once every message is final (then the accounting must hold)."""
    found = outbox(tmp_path / "gsmgw.db")
    if not all(i in found and found[i].state in FINAL for i in ids):
        return False
    check_accounting(tmp_path / "gsmgw.db", sims, ids)
    return True


@pytest.mark.parametrize("hold", [1.0, pytest.param(10.0, marks=SLOW)])
async def test_hang_mid_queue_fails_over_and_recovers(
    tmp_path: Path, make_sim_modem: SimModemFactory, start_daemon: StartDaemon, hold: float
) -> None:
    """A modem that stops answering mid-queue: the other modem takes the queue, nothing lost.

    Proves: the hung modem's in-flight message goes back to the queue (SPEC.md Guarantees);
    every message ends ``sent``; the modem sends again within 20 s of answering again.
    """
    (a, b), running = await two_modems(tmp_path, make_sim_modem, start_daemon)
    batch = requests("h", 60)
    ids = {one.id or "" for one in batch}
    await running.submit(batch)
    await eventually(lambda: len(a.sim.sent) >= 3)
    a.sim.hang()
    await eventually(lambda: len(b.sim.sent) >= 30)  # the queue goes on without it
    await asyncio.sleep(hold)
    a.sim.unhang()
    took = await recovery(a, running, "hr", ids)
    await eventually(lambda: check_or_false(tmp_path, [a, b], ids), limit=40)
    print(f"hang: held {hold}s, messages={len(ids)}, recovery {took:.2f}s")
    assert took < 20
    assert await running.stop() == 0


@pytest.mark.parametrize(
    ("seconds", "answers"),
    [
        (2.0, True),
        (3.0, False),
        pytest.param(60.0, False, marks=SLOW),
    ],
    ids=["between-answers", "only-garbage", "only-garbage-a-minute"],
)
async def test_garbage_for_a_while_then_recovers(
    tmp_path: Path,
    make_sim_modem: SimModemFactory,
    start_daemon: StartDaemon,
    seconds: float,
    answers: bool,
) -> None:
    """A modem that puts line noise on the wire for a while, between its answers or instead.

    Without answers it puts out nothing but noise (it answers no command), up to a minute long.

    Proves: the daemon keeps running, the other modem takes the queue, nothing is lost, every
    message ends ``sent``, and the noisy modem sends again once it answers again.
    """
    (a, b), running = await two_modems(tmp_path, make_sim_modem, start_daemon)
    batch = requests("g", 40)
    ids = {one.id or "" for one in batch}
    await running.submit(batch)
    # Mid-queue, once it has a measured send time: routing gives an unmeasured modem work only
    # when the measured ones fall behind, which these fast modems never do.
    await eventually(lambda: len(a.sim.sent) >= 3)
    if not answers:
        a.sim.hang()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        a.sim.send_noise(b'\x00\xff+CMS ERR\r\n\xfe}garbage \x1a\r\n+CMTI: "SM",x\r\n')
        await asyncio.sleep(0.01)
    a.sim.unhang()
    later = requests("g2-", 20)
    ids |= {one.id or "" for one in later}
    await running.submit(later)
    took = await recovery(a, running, "gr", ids)
    await eventually(lambda: check_or_false(tmp_path, [a, b], ids), limit=40)
    print(f"garbage: {seconds:.0f}s, answers={answers}, messages={len(ids)}, recovery {took:.2f}s")
    assert not running.task.done()
    assert await running.stop() == 0


async def test_sim_full_inbound_flows_once_space_is_freed(
    tmp_path: Path, make_sim_modem: SimModemFactory, start_daemon: StartDaemon
) -> None:
    """A SIM filled while the daemon is away: what the network held back arrives afterwards.

    Proves: every SMS the network tried to deliver is stored by the daemon once it reads
    and deletes the stored ones (TS 27.005 §3.2.5 memory full); none lost, none twice.
    """
    a = await make_sim_modem(name="ff", link=tmp_path / "ff.tty", capacity=3)
    texts = [f"inbound {n}" for n in range(12)]
    for text in texts:
        a.sim.inject_sms("+491705550000", text)
    assert a.sim.storage(2).full
    config = write_config(tmp_path, modem_block("ff", str(tmp_path / "ff.tty")))
    running = await start_daemon(config)

    from gsmgw.store import StoreReader

    def stored() -> list[str]:
        with StoreReader(tmp_path / "gsmgw.db") as reader:
            return sorted(m.text or "" for m in reader.list_inbox(limit=100))

    await eventually(lambda: len(stored()) >= len(texts), limit=40)
    assert stored() == sorted(texts)
    assert not a.sim.network_queue
    assert await running.stop() == 0
