"""``gsmgw status``: the running daemon's modems, queue depths, rates and last errors."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from gsmgw.cli.local import add_config_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw status``."""
    parser.add_argument("--socket", metavar="PATH", help="the control socket (default: config's)")
    add_config_argument(parser)


async def run(args: argparse.Namespace) -> int:
    """Ask the daemon for its status and print it."""
    from gsmgw.cli.control import request
    from gsmgw.cli.local import load
    from gsmgw.cli.output import error, print_json
    from gsmgw.errors import GsmgwError

    try:
        path = args.socket or str(load(args).gateway.control)
        status = await request(path, "status")
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json(status)
    else:
        print(render(status))
    return 0


def _database(size: Mapping[str, int] | None) -> str:
    if not size:
        return "database: -"
    mib = 1024 * 1024
    return (
        f"database: {size.get('bytes', 0) / mib:.1f} MiB"
        f" ({size.get('free_bytes', 0) / mib:.1f} MiB free inside,"
        f" WAL {size.get('wal_bytes', 0) / mib:.1f} MiB)"
    )


def render(status: Mapping[str, Any]) -> str:
    """Return the status as lines for a person."""
    queue = status.get("queue", {})
    waiting = ", ".join(f"{state} {count}" for state, count in queue.items() if count)
    lines = [
        f"node {status.get('node')}: up {status.get('uptime')} s, MQTT {status.get('mqtt')}",
        f"outbox: {waiting or 'empty'}",
        f"inbox: {status.get('inbox', {}).get('received', 0)} received since start",
        _database(status.get("database")),
        "",
        f"{'MODEM':<10} {'STATE':<12} {'SIGNAL':>6} {'OPERATOR':<14} {'/MIN':>5} "
        f"{'SENT':>6} {'FAILED':>6}  LAST ERROR",
    ]
    for modem in status.get("modems", []):
        signal = "-" if modem.get("signal") is None else modem["signal"]
        lines.append(
            f"{modem['id']:<10} {str(modem.get('state'))[:12]:<12} {signal:>6} "
            f"{str(modem.get('operator') or '-')[:14]:<14} {modem.get('parts_last_minute', 0):>5} "
            f"{modem.get('sent', 0):>6} {modem.get('failed', 0):>6}  "
            f"{modem.get('last_error') or modem.get('last_send_error') or '-'}"
        )
    return "\n".join(lines)
