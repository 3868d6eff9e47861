"""Start-up time, import time, idle CPU and memory of ``gsmgw run`` (issue 7's figures).

    ./dev bench footprint            # idle CPU over a minute
    ./dev bench footprint --quick    # idle CPU over 10 s
    ./dev bench footprint --json     # one JSON object

``gsmgw run`` runs as a subprocess with 4 simulated modems and a private Mosquitto. The modems
live in this process on pseudo-terminals (the daemon opens them by symlink), so the daemon's CPU
and memory are its own. Figures:

- ready_s: from spawning ``python -m gsmgw run`` to ``READY=1`` on a fake ``NOTIFY_SOCKET`` (a
  datagram socket bound here), i.e. modems opened and the broker connected or being retried;
- version_s: wall time of ``gsmgw --version`` (median of several runs);
- import_s: time to ``import gsmgw.cli`` in a fresh interpreter (median of several runs);
- idle_cpu_percent: the daemon's user + system time over the window (/proc/PID/stat), in % of
  one core, with nothing to send;
- rss_mb: the daemon's VmRSS (/proc/PID/status) at the end of the window.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
import os
from pathlib import Path
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from gsmgw.demo import Mosquitto
from gsmgw.sim import Knobs, PtyModem

MODEMS = 4
RUNS = 7
READY_TIMEOUT = 30.0
#: Time after READY before the idle window starts (the modems' first health pings settle).
SETTLE_DELAY = 3.0


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
async def daemon() -> AsyncIterator[tuple[int, float]]:
    """Start ``gsmgw run``; yield its pid and the seconds it took to send READY=1."""
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-fp-") as name:
        folder = Path(name)
        broker = Mosquitto(workdir=folder / "broker")
        broker.workdir.mkdir()
        await asyncio.to_thread(broker.start)
        sims = [
            PtyModem(knobs=Knobs(), link=folder / f"f{n}.tty", name=f"f{n}") for n in range(MODEMS)
        ]
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(folder / "notify.sock"))
        notify.setblocking(False)
        process: asyncio.subprocess.Process | None = None
        try:
            for sim in sims:
                await sim.start()
            env = {**os.environ, "NOTIFY_SOCKET": str(folder / "notify.sock")}
            log = (folder / "daemon.log").open("ab")
            start = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "gsmgw", "run", "-c", str(_config(folder, broker))),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
            log.close()
            await _wait_ready(notify)
            yield process.pid, time.perf_counter() - start
        finally:
            if process is not None and process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), 60)
            notify.close()
            for sim in sims:
                await sim.stop()
            await asyncio.to_thread(broker.stop)


async def _wait_ready(notify: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(READY_TIMEOUT):
        while True:
            datagram = await loop.sock_recv(notify, 4096)
            if b"READY=1" in datagram.split(b"\n"):
                return


def _cpu_seconds(pid: int) -> float:
    # proc(5): utime and stime are fields 14 and 15, after the parenthesised command name.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


async def main(window: float) -> dict[str, float]:
    async with daemon() as (pid, ready):
        await asyncio.sleep(SETTLE_DELAY)
        cpu, start = _cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(window)
        idle = (_cpu_seconds(pid) - cpu) / (time.perf_counter() - start) * 100
        rss = _rss_mb(pid)
    return {
        "ready_s": round(ready, 3),
        "version_s": round(_median_wall([*_gsmgw_command(), "--version"]), 3),
        "import_s": round(_import_time(), 3),
        "idle_cpu_percent": round(idle, 2),
        "rss_mb": round(rss, 1),
        "idle_window_s": window,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="idle CPU over 10 s, not 60 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = asyncio.run(main(10.0 if args.quick else 60.0))
    if args.json:
        print(json.dumps(figures))
        return
    labels = {
        "ready_s": ("start-up to READY=1, 4 modems + MQTT (s)", "< 1.5"),
        "version_s": ("gsmgw --version, median (s)", "< 0.15"),
        "import_s": ("import gsmgw.cli, median (s)", ""),
        "idle_cpu_percent": (
            f"idle CPU over {figures['idle_window_s']:g} s (% of a core)",
            "< 0.5",
        ),
        "rss_mb": ("daemon RSS (MB)", "< 45"),
    }
    for key, (label, target) in labels.items():
        print(f"{label:<48} {figures[key]:>8}   {target}")


if __name__ == "__main__":
    cli()
