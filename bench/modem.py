"""Sends per second through the modem driver over a pty, against the simulated modem.

The simulated modem runs in a child process (``gsmgw simulate --send-delay 0``), so the CPU
time measured here is the driver's own: codec, AT+CMGS round trip, PDU hex. Usage:

    ./dev bench modem [--sends 500] [--profile quectel] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
import sys
import time

from gsmgw.modem.driver import Modem
from gsmgw.modem.port import open_port
from gsmgw.sms import encode_submit

ROOT = Path(__file__).resolve().parent.parent


async def _start_simulator(profile: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gsmgw",
        "simulate",
        "--profile",
        profile,
        "--send-delay",
        "0",
        "--report-delay",
        "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    return process, line.decode().strip()


async def bench(sends: int, profile: str) -> dict[str, float | int | str]:
    """Run ``sends`` single-part sends and return the figures."""
    process, path = await _start_simulator(profile)
    try:
        modem = Modem(await open_port(path), name="bench")
        await modem.start()
        await modem.initialize()
        part = encode_submit("+491701234567", "Your code is 123456").parts[0]
        for _ in range(10):  # warm-up
            await modem.send_pdu(part.hex, part.tpdu_length)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(sends):
            await modem.send_pdu(part.hex, part.tpdu_length)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await modem.close()
    finally:
        process.terminate()
        await process.wait()
    return {
        "profile": profile,
        "sends": sends,
        "sends_per_second": round(sends / wall, 1),
        "wall_ms_per_send": round(1000 * wall / sends, 3),
        "driver_cpu_ms_per_send": round(1000 * cpu / sends, 3),
    }


def main() -> None:
    """Parse arguments, run, print a table or one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--profile", default="generic")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(bench(args.sends, args.profile))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<24} {value}")


if __name__ == "__main__":
    main()
