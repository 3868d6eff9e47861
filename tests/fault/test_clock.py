"""The daemon's wall clock jumps (NTP's first sync, ``date -s``) while messages wait.

``gsmgw run`` runs under libfaketime, which offsets only the daemon's wall clock by what a file
says, as ``settimeofday`` would: its monotonic clock runs on untouched
(``FAKETIME_DONT_FAKE_MONOTONIC``). The simulated modem runs in the test, on the real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import glob
import itertools
import os
from pathlib import Path
import re
import signal

import pytest

from gsmgw.cli.control import request
from gsmgw.clock import JUMP_THRESHOLD
from gsmgw.dispatch._send import RETRY_BASE_DELAY, RETRY_JITTER
from gsmgw.models import MessageState
from gsmgw.sim import PtyModem
from tests.run_daemon import answering, start_run

from .conftest import (
    FINAL,
    SimModemFactory,
    check_accounting,
    eventually,
    modem_block,
    outbox,
    write_config,
)

#: How long the daemon may take to see a jump and move its deadlines: a check a second, and
#: slack for two busy cores.
NOTICE_LIMIT = 10.0
#: Beyond the retry's own delay, how late the retry may come after the clock was set back.
RETRY_SLACK = 4.0

#: Every message gets a recipient of its own, so the network's count per recipient is per message.
_NUMBERS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class FakeClock:
    """libfaketime settings for the daemon and the file holding its wall clock's offset."""

    env: dict[str, str]
    offset_file: Path

    def jump(self, seconds: int) -> None:
        """Step the daemon's wall clock to ``seconds`` off the real one (atomically replaced)."""
        new = self.offset_file.with_suffix(".new")
        new.write_text(f"{seconds:+d}\n", encoding="ascii")
        os.replace(new, self.offset_file)


@pytest.fixture
def fake_clock(tmp_path: Path) -> FakeClock:
    """A wall clock for ``gsmgw run`` that the test steps; fails if libfaketime is missing."""
    # The MT variant: the daemon reads clocks from several threads, and the plain library's
    # unsynchronised cache then now and again hands one of them the offset before the last.
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not found:
        pytest.fail("libfaketime is not installed: sudo apt-get install libfaketime")
    offset_file = tmp_path / "faketime.rc"
    offset_file.write_text("+0\n", encoding="ascii")
    env = {
        "LD_PRELOAD": found[0],
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        # Read the file at every call: a change applies at once, not within FAKETIME_CACHE_DURATION.
        "FAKETIME_NO_CACHE": "1",
    }
    return FakeClock(env, offset_file)


async def send(control: Path, message_id: str, **fields: object) -> None:
    """Queue one message through the control socket, to a number of its own."""
    body = {"to": f"+4917055{next(_NUMBERS):05d}", "text": message_id}
    answer = await request(str(control), "send", request={**body, "id": message_id, **fields})
    assert answer, "no answer"
    assert "error" not in answer[0], answer


def state(db: Path, message_id: str) -> MessageState | None:
    message = outbox(db).get(message_id)
    return None if message is None else message.state


def logged(tmp_path: Path, text: str) -> bool:
    """Whether the daemon's log has ``text``."""
    return text in (tmp_path / "daemon.log").read_text(encoding="utf-8", errors="replace")


def jumped(tmp_path: Path, seconds: int) -> bool:
    """Whether the daemon logged that it moved its deadlines for a jump of about ``seconds``.

    About: the daemon measures the jump from its own clock reads, a busy machine may stall it
    between them (``gsmgw.clock``), and libfaketime reads its file inside them.
    """
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"the wall clock jumped by ([+-]\d+) s; deadlines shifted", log)
    return any(abs(int(value) - seconds) <= JUMP_THRESHOLD for value in found)


async def stop(daemon: asyncio.subprocess.Process) -> None:
    if daemon.returncode is None:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0


async def start(
    tmp_path: Path, make_sim_modem: SimModemFactory, fake_clock: FakeClock, *, registered: bool
) -> tuple[PtyModem, asyncio.subprocess.Process]:
    """Start a simulated modem and ``gsmgw run`` on it under the fake clock."""
    pty = await make_sim_modem(name="ck", link=tmp_path / "ck.tty")
    if not registered:
        pty.sim.set_registration(0)  # no network: nothing can be sent until it registers
    config = write_config(tmp_path, modem_block("ck", str(tmp_path / "ck.tty")))
    daemon = await start_run(config, env=fake_clock.env)
    await answering(tmp_path / "c.sock")
    await eventually(lambda: logged(tmp_path, "gsmgw.daemon: ready:"))  # the modem is attached
    return pty, daemon


async def test_clock_set_back_an_hour_does_not_delay_a_retry(
    tmp_path: Path, make_sim_modem: SimModemFactory, fake_clock: FakeClock
) -> None:
    """A send fails with a temporary error; while it waits to retry, the clock goes back 1 h.

    Proves: the retry still comes after its backoff (a few seconds) plus the second it takes to
    notice the jump, not an hour later; the message is sent once and the daemon logs the jump.
    """
    db, control = tmp_path / "gsmgw.db", tmp_path / "c.sock"
    pty, daemon = await start(tmp_path, make_sim_modem, fake_clock, registered=True)
    try:
        pty.sim.fail_next_send(332)  # network timeout: temporary (TS 27.005 §3.2.5)
        await send(control, "back")
        await eventually(lambda: state(db, "back") is MessageState.RETRYING)
        loop = asyncio.get_running_loop()
        began = loop.time()
        fake_clock.jump(-3600)
        limit = RETRY_BASE_DELAY * (1 + RETRY_JITTER) + RETRY_SLACK
        try:
            await eventually(lambda: state(db, "back") is MessageState.SENT, limit=limit)
        except TimeoutError:
            raise AssertionError(f"not sent {limit:.1f} s after the clock went back") from None
        took = loop.time() - began
        assert jumped(tmp_path, -3600)
    finally:
        await stop(daemon)
    assert check_accounting(db, [pty], {"back"}) == 0
    assert len(pty.sim.sent) == 1
    print(f"clock back 1 h: retry sent {took:.2f} s after the jump")


async def test_clock_jumping_a_day_ahead_expires_nothing(
    tmp_path: Path, make_sim_modem: SimModemFactory, fake_clock: FakeClock
) -> None:
    """Messages with ``valid_for=600`` wait for an unregistered modem; the clock jumps 1 day.

    Proves: once the modem registers, every message is sent (none expired by the jump, none
    lost, none sent twice); an idle daemon notices the jump within seconds and logs it.
    """
    db, control = tmp_path / "gsmgw.db", tmp_path / "c.sock"
    pty, daemon = await start(tmp_path, make_sim_modem, fake_clock, registered=False)
    ids = {f"ahead{n}" for n in range(3)}
    try:
        for message_id in sorted(ids):
            await send(control, message_id, valid_for=600)
        await eventually(lambda: all(state(db, i) is MessageState.QUEUED for i in ids))
        await asyncio.sleep(0.5)  # the daemon settles: nothing calls the store until it registers
        fake_clock.jump(86400)
        # Give the daemon the time to notice (a fixed wait without the fix, so that the test
        # then fails on what a jump does to the messages rather than on the missing log line).
        with contextlib.suppress(TimeoutError):
            await eventually(lambda: jumped(tmp_path, 86400), limit=NOTICE_LIMIT)
        noticed_while_idle = jumped(tmp_path, 86400)
        pty.sim.set_registration(1)
        await eventually(lambda: all(state(db, i) in FINAL for i in ids))
        assert {i: state(db, i) for i in ids} == dict.fromkeys(ids, MessageState.SENT)
        assert noticed_while_idle, "the jump was not noticed while nothing else used the store"
    finally:
        await stop(daemon)
    assert check_accounting(db, [pty], ids) == 0
    assert len(pty.sim.sent) == len(ids)
