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
        caps = modem.get("capabilities")
        if isinstance(caps, dict) and caps:
            lines.append("           " + describe_capabilities(caps))
    smpp = status.get("smpp")
    if isinstance(smpp, dict):
        lines += render_smpp(smpp)
    lines += render_http(status)
    return "\n".join(lines)


def render_smpp(smpp: Mapping[str, Any]) -> list[str]:
    """Return the SMPP sessions (user, bind, window use) and the deliveries waiting per user."""
    pending: Mapping[str, int] = smpp.get("pending_deliveries") or {}
    lines = ["", f"{'SMPP USER':<16} {'BIND':<12} {'WINDOW':>6} {'PENDING':>8}  PEER"]
    for session in smpp.get("sessions") or []:
        user = session.get("user") or "-"
        lines.append(
            f"{user:<16} {session.get('bind', '-'):<12} {session.get('window', 0):>6} "
            f"{pending.get(user, 0):>8}  {session.get('peer', '-')}"
        )
    bound = {session.get("user") for session in smpp.get("sessions") or []}
    for user, count in sorted(pending.items()):
        if user not in bound:  # receipts waiting for a user with no session
            lines.append(f"{user:<16} {'-':<12} {'-':>6} {count:>8}  (not bound)")
    return lines


def render_http(status: Mapping[str, Any]) -> list[str]:
    """Return the HTTP listener's line and one line per webhook (none when both are off)."""
    lines: list[str] = []
    http = status.get("http")
    if isinstance(http, dict):
        where = http.get("url") if http.get("listening") else "starting"
        lines += ["", f"HTTP API: {where}"]
    webhooks = status.get("webhooks") or []
    if webhooks:
        lines += ["", f"{'WEBHOOK':<40} {'BACKLOG':>7} {'DELIVERED':>9} {'REFUSED':>7}  LAST ERROR"]
    for hook in webhooks:
        lines.append(
            f"{str(hook.get('webhook'))[:40]:<40} {hook.get('backlog', 0):>7} "
            f"{hook.get('delivered', 0):>9} {hook.get('refused', 0):>7}  "
            f"{hook.get('last_error') or '-'}"
        )
    return lines


def describe_capabilities(caps: dict[str, object]) -> str:
    """One line: how the modem receives, gets reports, USSD, and what it lacks."""
    missing = caps.get("missing") or []
    lacks = (
        f"; lacks {', '.join(map(str, missing))}" if isinstance(missing, list) and missing else ""
    )
    ussd = "yes" if caps.get("ussd") else "no"
    return (
        f"receive {caps.get('receive')}, reports {caps.get('reports')}, ussd {ussd}, "
        f"storage {caps.get('storage') or '-'}{lacks}"
    )
