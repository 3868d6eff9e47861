"""``gsmgw send --port PORT --to N --text T``: one SMS straight to a modem, part by part.

This is the diagnostic path: no store, no retries, no queue. (Without ``--port`` the
command is meant to queue through the running daemon; that path is wired separately.)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gsmgw.modem import Modem
    from gsmgw.sms import EncodedMessage

ENCODINGS = ("auto", "smart", "ucs2")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw send``."""
    parser.add_argument("--to", required=True, metavar="N", help="destination number")
    parser.add_argument("--text", required=True, metavar="T", help="message text")
    parser.add_argument(
        "--port",
        metavar="PORT",
        help="send straight to this modem (a device path or sim:NAME); "
        "without it the running daemon queues the message",
    )
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default="/etc/gsmgw/config.toml",
        help="without --port: the daemon's config (for its control socket)",
    )
    parser.add_argument("--encoding", choices=ENCODINGS, default="auto", help="default: auto")
    parser.add_argument("--report", action="store_true", help="request a delivery report")
    parser.add_argument("--flash", action="store_true", help="class 0: shown, not stored")
    parser.add_argument(
        "--json", action="store_true", help='print {"parts": N, "references": [...]}'
    )


@dataclass(frozen=True, slots=True)
class SendResult:
    """The network's references of the parts sent, in order."""

    parts: int
    references: tuple[int, ...]


async def run(args: argparse.Namespace) -> int:
    """Encode, send every part, print the references; 1 on any failure."""
    if args.port is None:
        from gsmgw.cli.local import send_through_daemon

        return await send_through_daemon(args)
    from gsmgw.cli.output import error, print_json
    from gsmgw.errors import EncodingError, GsmgwError
    from gsmgw.sms import EncodingMode, encode_submit

    try:
        message = encode_submit(
            args.to,
            args.text,
            mode=EncodingMode(args.encoding),
            report=args.report,
            flash=args.flash,
        )
    except EncodingError as exc:
        error(f"{exc} ({exc.code})")
        return 1
    try:
        result = await send_direct(args.port, message)
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json({"parts": result.parts, "references": list(result.references)})
    else:
        references = ", ".join(str(r) for r in result.references)
        print(f"sent {result.parts} part(s) to {args.to}; references {references}")
    return 0


async def send_direct(spec: str, message: EncodedMessage) -> SendResult:
    """Send every part of ``message`` with the modem driver on ``spec`` (TS 27.005 §3.5.1).

    Raises:
        ModemUnavailable, ModemTimeout: the port or modem failed.
        SimError: the SIM wants a PIN or PUK (never entered here: three tries lock it).
        CommandError: the modem or network refused a part (+CMS ERROR), naming the part.
    """
    from gsmgw.cli.ports import opened_modem

    async with opened_modem(spec) as modem:
        await modem.initialize(pin=None)
        references = await _send_parts(modem, message)
    return SendResult(len(message.parts), references)


async def _send_parts(modem: Modem, message: EncodedMessage) -> tuple[int, ...]:
    from gsmgw.errors import CommandError

    references: list[int] = []
    total = len(message.parts)
    for number, part in enumerate(message.parts, start=1):
        try:
            references.append(await modem.send_pdu(part.hex, part.tpdu_length))
        except CommandError as exc:
            sent = f"; parts sent before it: {references}" if references else ""
            raise CommandError(
                f"part {number}/{total}: {exc.command}",
                kind=exc.kind,
                code=exc.code,
                text=f"{exc.text}{sent}" if exc.text else sent.removeprefix("; "),
            ) from exc
    return tuple(references)
