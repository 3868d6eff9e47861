"""``gsmgw simulate``: a simulated modem on a pseudo-terminal, for testing any SMS software."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from gsmgw.sim import PtyModem

PROFILE_NAMES = (
    *("generic", "simcom", "quectel", "huawei"),
    *("wavecom", "huawei-e1752", "qualcomm", "nokia-phone", "minimal", "no-cnmi"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw simulate``."""
    parser.add_argument("--link", metavar="PATH", help="make PATH a symlink to the pty")
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="generic", help="personality")
    parser.add_argument(
        "--send-delay",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds the network takes to accept a message (default 2)",
    )
    parser.add_argument(
        "--report-delay",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds until a requested status report arrives (default 5)",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="answer from a trace (gsmgw probe --trace, run --trace-dir)",
    )
    parser.add_argument("--pin", help="lock the SIM with this PIN")
    parser.add_argument("--capacity", type=int, default=20, help="SIM storage locations")
    parser.add_argument(
        "--control",
        metavar="PATH",
        help="serve control commands on this Unix socket (also read from stdin; 'help' lists them)",
    )
    parser.add_argument(
        "--json", action="store_true", help="first line: a JSON object with path, link, control"
    )


async def run(args: argparse.Namespace) -> int:
    """Run the simulated modem until SIGINT or SIGTERM."""
    import asyncio

    from gsmgw.cli.output import error, print_json
    from gsmgw.sim import Knobs, PtyModem, SimModem
    from gsmgw.sim.control import serve_control

    try:
        knobs = Knobs(
            send_delay=args.send_delay,
            report_delay=args.report_delay,
            ussd_delay=0.5,
            pin=args.pin,
            capacity=args.capacity,
        )
    except ValueError as exc:
        error(str(exc))
        return 2
    sim = SimModem(args.profile, knobs=knobs)
    if args.replay:
        from pathlib import Path

        from gsmgw.sim.replay import ReplayModem

        try:
            sim = ReplayModem(Path(args.replay))
        except (OSError, ValueError) as exc:
            error(f"cannot replay {args.replay}: {exc}")
            return 1
    modem = PtyModem(sim, link=args.link, name="simulate")
    try:
        await modem.start()
    except OSError as exc:
        error(f"cannot create the pseudo-terminal or link: {exc}")
        return 1
    server = None
    if args.control:  # listening before the first line: a script may use it as soon as it reads it
        with contextlib.suppress(FileNotFoundError):
            os.unlink(args.control)
        try:
            server = await serve_control(modem, args.control)
        except OSError as exc:
            await modem.stop()
            error(f"cannot serve the control socket {args.control}: {exc}")
            return 1
    if args.json:
        info = {"path": modem.path, "link": args.link, "control": args.control}
        print_json({**info, "profile": args.profile})
        sys.stdout.flush()
    else:
        print(modem.path, flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        _read_stdin(loop, modem)
        await stop.wait()
    finally:
        if server is not None:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(args.control)
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sys.stdin.fileno())
        await modem.stop()
    return 0


def _read_stdin(loop: asyncio.AbstractEventLoop, modem: PtyModem) -> None:
    """Take control commands typed on standard input (a terminal or a pipe)."""
    from gsmgw.sim.control import execute

    try:
        fd = sys.stdin.fileno()
    except (ValueError, OSError):
        return
    buffer = bytearray()
    pending: set[asyncio.Task[None]] = set()

    async def answer(line: str) -> None:
        print(await execute(modem, line), flush=True)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:  # end of input: keep running, stop listening
            loop.remove_reader(fd)
            return
        buffer.extend(data)
        while (end := buffer.find(b"\n")) >= 0:
            line = buffer[:end].decode("utf-8", "replace")
            del buffer[: end + 1]
            task = loop.create_task(answer(line))
            pending.add(task)
            task.add_done_callback(pending.discard)

    try:
        loop.add_reader(fd, readable)
    except (PermissionError, ValueError, OSError):
        return  # stdin is a regular file or /dev/null: nothing to watch
