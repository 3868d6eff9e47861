"""``gsmgw ussd --modem ID CODE``: a USSD request (balance, top-up) on one of the daemon's modems.

``--port PORT`` sends it straight to a modem instead, without a daemon.
"""

from __future__ import annotations

import argparse

#: <m> of +CUSD (TS 27.007 §7.15).
STATUS_NAMES = {
    0: "done",
    1: "further action required",
    2: "terminated by the network",
    3: "answered by another client",
    4: "operation not supported",
    5: "network timeout",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw ussd``."""
    from gsmgw.cli.local import DEFAULT_CONFIG

    parser.add_argument("code", metavar="CODE", help="e.g. *100#")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--modem", metavar="ID", help="a modem of the running daemon")
    where.add_argument("--port", metavar="PORT", help="straight to a modem: path or sim:NAME")
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=DEFAULT_CONFIG,
        help=f"with --modem: the daemon's config (default {DEFAULT_CONFIG})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


async def run(args: argparse.Namespace) -> int:
    """Send the request and print the network's answer (decoded by the modem driver)."""
    if args.modem is not None:
        return await _through_daemon(args)
    from gsmgw.cli.output import error
    from gsmgw.cli.ports import opened_modem
    from gsmgw.errors import CommandError, GsmgwError

    try:
        async with opened_modem(args.port) as modem:
            await modem.initialize(pin=None)
            text = await modem.ussd(args.code)
    except ValueError as exc:
        error(str(exc))
        return 2
    except CommandError as exc:
        if exc.kind != "CUSD":
            error(str(exc))
            return 1
        # +CUSD: <m> without text: the network ended or refused the session (TS 27.007 §7.15).
        return _print(args, exc.code or 0, None)
    except GsmgwError as exc:
        error(str(exc))
        return 1
    return _print(args, 0, text)


async def _through_daemon(args: argparse.Namespace) -> int:
    from gsmgw.cli.control import request
    from gsmgw.cli.local import load
    from gsmgw.cli.output import error
    from gsmgw.errors import GsmgwError

    try:
        control = str(load(args).gateway.control)
        answer = await request(control, "ussd", modem=args.modem, code=args.code)
    except GsmgwError as exc:
        error(str(exc))
        return 1
    return _print(args, int(answer["status"]), answer["text"])


def _print(args: argparse.Namespace, status: int, text: str | None) -> int:
    """Print the answer, or the end status of a session without one (then exit 1)."""
    from gsmgw.cli.output import print_json

    name = STATUS_NAMES.get(status, str(status))
    if args.json:
        print_json({"code": args.code, "status": name, "text": text})
    else:
        print(text if text is not None else f"({name})")
    return 0 if text is not None else 1
