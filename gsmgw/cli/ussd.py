"""``gsmgw ussd --port PORT CODE``: a USSD request (balance, top-up) straight to a modem."""

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
    parser.add_argument("code", metavar="CODE", help="e.g. *100#")
    parser.add_argument("--port", required=True, metavar="PORT", help="a device path or sim:NAME")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


async def run(args: argparse.Namespace) -> int:
    """Send the request and print the network's answer (decoded by the modem driver)."""
    from gsmgw.cli.output import error, print_json
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
        status = STATUS_NAMES.get(exc.code or 0, str(exc.code))
        if args.json:
            print_json({"code": args.code, "status": status, "text": None})
        else:
            print(f"({status})")
        return 1
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json({"code": args.code, "status": "done", "text": text})
    else:
        print(text)
    return 0
