"""Start-up, import time, idle CPU, memory, disk writes and database size of ``gsmgw run``.

    ./dev bench footprint                 # idle CPU 1 min, writes 5 min, 100,000 messages
    ./dev bench footprint --quick         # idle CPU 10 s, writes 75 s, 40,000 messages
    ./dev bench footprint --json          # one JSON object
    ./dev bench footprint --only writes   # one part: startup, writes or size

``gsmgw run`` runs as a subprocess with 4 simulated modems and a private Mosquitto. The modems
live in this process on pseudo-terminals (the daemon opens them by symlink), so the daemon's CPU
and memory are its own. Figures:

- ready_s: from spawning ``python -m gsmgw run`` to ``READY=1`` on a fake ``NOTIFY_SOCKET`` (a
  datagram socket bound here), i.e. modems opened and the broker connected or being retried;
- version_s: wall time of ``gsmgw --version`` (median of several runs);
- import_s: time to ``import gsmgw.cli`` in a fresh interpreter (median of several runs);
- idle_cpu_percent: the daemon's user + system time over the window (/proc/PID/stat), in % of
  one core, with nothing to send;
- rss_mb: the daemon's VmRSS (/proc/PID/status) at the end of the window;
- write_mb_per_hour: what the daemon wrote to storage (``write_bytes`` of /proc/PID/io: every
  page it dirtied, the database, its WAL and anything else; its log goes to a pipe) over the
  window, scaled to an hour, with 4 Huawei modems whose signal changes every second (``^RSSI``
  on each change: a random walk of one +CSQ step, 2 dB, between -99 and -63 dBm). The kernel
  counts whole 4 KiB pages dirtied (a 4,120-byte WAL frame dirties two, and the ``-shm`` index
  one more), which is what reaches the card; wchar_mb_per_hour counts the bytes of the write
  calls themselves (the WAL frames, and the few bytes of AT commands to the modems); also
  db_growth_kb: how much the database file and its WAL grew over the window;
- size_*: the store alone (no daemon), on a fake clock: ``SIZE_DAYS`` days of messages (each
  claimed, encoded into one part and sent) and a tenth as many inbound SMS, ``keep_days`` =
  ``SIZE_KEEP_DAYS``, a retention pass every simulated hour as the daemon makes; the file and
  its WAL after the first expiry, at the end, and the largest in between.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from gsmgw.demo import Mosquitto
from gsmgw.models import InboundPart, SendRequest
from gsmgw.sim import Knobs, PtyModem
from gsmgw.store import Store

if not __package__:  # run as a script (python bench/NAME.py): make bench.* importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.figures import cpu_seconds, rss_mb

MODEMS = 4
RUNS = 7
READY_TIMEOUT = 30.0
#: How long the daemon may take to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 60.0
#: Time after READY before the idle window starts (the modems' first health pings settle).
SETTLE_DELAY = 3.0
#: The signal walks between these +CSQ <rssi> values (-99 and -63 dBm), one step a second.
RSSI_RANGE = (7, 25)
#: The database-size run: days of traffic, and how many days are kept.
SIZE_DAYS = 100
SIZE_KEEP_DAYS = 30
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _config(folder: Path, broker: Mosquitto) -> Path:
    modems = "".join(
        f"[[modem]]\nid = 'f{n}'\nport = '{folder / f'f{n}.tty'}'\n" for n in range(MODEMS)
    )
    path = folder / "gsmgw.toml"
    path.write_text(
        "[gateway]\nnode = 'footprint'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
        f"[mqtt]\nurl = '{broker.url}'\nprefix = 'fp'\nclient_id = 'footprint'\n{modems}",
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def daemon(
    profile: str = "generic",
) -> AsyncIterator[tuple[int, float, list[PtyModem], Path]]:
    """Start ``gsmgw run``; yield its pid, seconds to READY=1, its modems and its folder."""
    # Not in /tmp, which may be a tmpfs: writes there reach no storage and count nothing.
    base = Path(os.environ.get("GSMGW_BENCH_DIR", Path.home() / ".cache"))
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-fp-", dir=base) as name:
        folder = Path(name)
        broker = Mosquitto(workdir=folder / "broker")
        broker.workdir.mkdir()
        await asyncio.to_thread(broker.start)
        sims = [
            PtyModem(profile=profile, knobs=Knobs(), link=folder / f"f{n}.tty", name=f"f{n}")
            for n in range(MODEMS)
        ]
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(folder / "notify.sock"))
        notify.setblocking(False)
        process: asyncio.subprocess.Process | None = None
        drain: asyncio.Task[None] | None = None
        try:
            for sim in sims:
                await sim.start()
            env = {**os.environ, "NOTIFY_SOCKET": str(folder / "notify.sock")}
            start = time.perf_counter()
            # The log goes through a pipe, so that its lines are not the daemon's disk writes.
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "gsmgw", "run", "-c", str(_config(folder, broker))),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            assert process.stderr is not None
            drain = asyncio.create_task(_drain(process.stderr, folder / "daemon.log"))
            await _wait_ready(notify)
            yield process.pid, time.perf_counter() - start, sims, folder
        finally:
            if process is not None and process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
                except TimeoutError:
                    # A bug (once: sd_notify blocked on this unread NOTIFY_SOCKET after 5
                    # minutes of STATUS lines): say so, keep the figures.
                    print(f"the daemon did not stop in {STOP_TIMEOUT:g} s; killed", file=sys.stderr)
                    process.kill()
                    await process.wait()
            if drain is not None:
                await drain
            notify.close()
            for sim in sims:
                await sim.stop()
            await asyncio.to_thread(broker.stop)


async def _drain(stream: asyncio.StreamReader, path: Path) -> None:
    """Keep the daemon's log (the last 1 MB of it is plenty)."""
    tail = bytearray()
    while chunk := await stream.read(65536):
        tail += chunk
        del tail[: max(0, len(tail) - 1_000_000)]
    path.write_bytes(bytes(tail))


async def _wait_ready(notify: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(READY_TIMEOUT):
        while True:
            datagram = await loop.sock_recv(notify, 4096)
            if b"READY=1" in datagram.split(b"\n"):
                return


def _median_wall(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _import_time() -> float:
    code = "import time; t = time.perf_counter(); import gsmgw.cli; print(time.perf_counter() - t)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout)
        for _ in range(RUNS)
    ]
    return statistics.median(times)


def _gsmgw_command() -> list[str]:
    """Return the ``gsmgw`` script beside this interpreter, else ``python -m gsmgw``."""
    script = Path(sys.executable).with_name("gsmgw")
    if script.exists():
        return [str(script)]
    found = shutil.which("gsmgw")
    return [found] if found else [sys.executable, "-m", "gsmgw"]


def _write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/PID/io")


def _wchar(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/PID/io")


def _db_bytes(folder: Path) -> int:
    return sum(
        path.stat().st_size
        for path in (folder / "gsmgw.db", folder / "gsmgw.db-wal")
        if path.exists()
    )


async def startup_and_idle(window: float) -> dict[str, float]:
    async with daemon() as (pid, ready, _, _):
        await asyncio.sleep(SETTLE_DELAY)
        cpu, start = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(window)
        idle = (cpu_seconds(pid) - cpu) / (time.perf_counter() - start) * 100
        rss = rss_mb(pid)
    return {
        "ready_s": round(ready, 3),
        "version_s": round(_median_wall([*_gsmgw_command(), "--version"]), 3),
        "import_s": round(_import_time(), 3),
        "idle_cpu_percent": round(idle, 2),
        "rss_mb": round(rss, 1),
        "idle_window_s": window,
    }


async def writes(window: float) -> dict[str, float]:
    """Disk writes of an idle daemon whose 4 modems' signal changes every second."""
    rng = random.Random(14)
    async with daemon("huawei") as (pid, _, sims, folder):
        await asyncio.sleep(SETTLE_DELAY)
        rssi = [rng.randint(*RSSI_RANGE) for _ in sims]
        written, size, start = _write_bytes(pid), _db_bytes(folder), time.perf_counter()
        calls = _wchar(pid)
        changes = 0
        while time.perf_counter() - start < window:
            for n, sim in enumerate(sims):
                low, high = RSSI_RANGE
                rssi[n] = min(max(rssi[n] + rng.choice((-1, 1)), low), high)
                sim.sim.set_signal(rssi[n])
                changes += 1
            await asyncio.sleep(1.0)
        elapsed = time.perf_counter() - start
        written = _write_bytes(pid) - written
        calls = _wchar(pid) - calls
        growth = _db_bytes(folder) - size
    return {
        "write_mb_per_hour": round(written / elapsed * 3600 / 1e6, 3),
        "wchar_mb_per_hour": round(calls / elapsed * 3600 / 1e6, 3),
        "db_growth_kb": round(growth / 1000, 1),
        "signal_changes": changes,
        "writes_window_s": round(elapsed, 1),
    }


async def database_size(days: int) -> dict[str, float]:
    """Measure the store's file and WAL over ``days`` of traffic, ``SIZE_KEEP_DAYS`` kept."""
    per_day = 1000
    base = Path(os.environ.get("GSMGW_BENCH_DIR", Path.home() / ".cache"))
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-size-", dir=base) as name:
        path = Path(name) / "gsmgw.db"
        sizes: list[int] = []
        async with Store(path) as store:
            for day in range(days):
                await _one_day(store, day, per_day)
                sizes.append(_db_bytes(path.parent))
    first = SIZE_KEEP_DAYS  # the day the first messages are old enough to go
    return {
        "size_messages": days * per_day,
        "size_keep_days": SIZE_KEEP_DAYS,
        "size_mb_at_first_expiry": round(sizes[first] / 1e6, 2),
        "size_mb_at_end": round(sizes[-1] / 1e6, 2),
        "size_mb_max_after_first_expiry": round(max(sizes[first:]) / 1e6, 2),
    }


async def _one_day(store: Store, day: int, count: int) -> None:
    """``count`` messages sent (one part each) and a tenth as many received, hour by hour."""
    per_hour = count // 24 + 1
    for hour in range(24):
        at = T0 + timedelta(days=day, hours=hour)
        ids = [f"d{day}h{hour}n{n}" for n in range(per_hour)]
        texts = [f"Your code is {n:06d}. Valid for 10 minutes." for n in range(per_hour)]
        await store.enqueue(
            [
                SendRequest(to=("+491701234567",), text=t, id=i)
                for i, t in zip(ids, texts, strict=True)
            ],
            now=at,
        )
        claimed = await asyncio.gather(
            *(
                store.claim_next(f"f{n % MODEMS}", encode=lambda _: [("00" * 60, 60)], now=at)
                for n in range(per_hour)
            )
        )
        sent = [(m.id, m.modem or "") for m in claimed if m is not None]
        await asyncio.gather(*(store.begin_part(i, 1, modem, now=at) for i, modem in sent))
        await asyncio.gather(
            *(store.record_part_sent(i, 1, n % 256, m, now=at) for n, (i, m) in enumerate(sent))
        )
        await asyncio.gather(
            *(
                store.store_incoming_part("f0", _inbound(f"{day}-{hour}-{n}", at), now=at)
                for n in range(per_hour // 10)
            )
        )
        await store.purge(before=at - timedelta(days=SIZE_KEEP_DAYS))


def _inbound(key: str, at: datetime) -> InboundPart:
    return InboundPart(
        sender="+4917099",
        text=f"Thanks, received {key}",
        data=None,
        encoding="gsm7",
        smsc=None,
        timestamp=at,
        raw=key.encode() * 4,
    )


async def main(quick: bool, only: str | None) -> dict[str, float]:
    figures: dict[str, float] = {}
    if only in (None, "startup"):
        figures |= await startup_and_idle(10.0 if quick else 60.0)
    if only in (None, "writes"):
        figures |= await writes(75.0 if quick else 300.0)
    if only in (None, "size"):
        figures |= await database_size(SIZE_KEEP_DAYS + 10 if quick else SIZE_DAYS)
    return figures


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows, fewer messages")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", choices=("startup", "writes", "size"), help="one part only")
    args = parser.parse_args()
    figures = asyncio.run(main(args.quick, args.only))
    if args.json:
        print(json.dumps(figures))
        return
    labels = {
        "ready_s": ("start-up to READY=1, 4 modems + MQTT (s)", "< 1.5"),
        "version_s": ("gsmgw --version, median (s)", "< 0.15"),
        "import_s": ("import gsmgw.cli, median (s)", ""),
        "idle_cpu_percent": (
            f"idle CPU over {figures.get('idle_window_s', 0):g} s (% of a core)",
            "< 0.5",
        ),
        "rss_mb": ("daemon RSS (MB)", "< 45"),
        "write_mb_per_hour": ("writes, 4 modems, signal changing every 1 s (MB/h)", "< 1"),
        "wchar_mb_per_hour": ("  of which write() calls (MB/h)", ""),
        "db_growth_kb": (
            f"database + WAL growth over {figures.get('writes_window_s', 0):g} s (kB)",
            "",
        ),
        "size_mb_at_first_expiry": (
            f"database after {SIZE_KEEP_DAYS} days (first expiry) (MB)",
            "",
        ),
        "size_mb_at_end": (
            f"database after {figures.get('size_messages', 0):,} messages (MB)",
            "flat",
        ),
        "size_mb_max_after_first_expiry": ("largest after the first expiry (MB)", "flat"),
    }
    for key, (label, target) in labels.items():
        if key in figures:
            print(f"{label:<56} {figures[key]:>8}   {target}")


if __name__ == "__main__":
    cli()
