"""The ``gsmgw`` command line: argparse, one module per command.

Each command module defines ``configure(parser)`` to add its arguments and
``async def run(args) -> int`` to do the work; ``main`` runs it with ``asyncio.run``.
Command modules import heavy dependencies (serial, MQTT, SQLite) inside ``run`` so that
``gsmgw --version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import importlib
import sys

from gsmgw import __version__

#: Command name -> (module, one-line help). The order is the order of ``--help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("gsmgw.cli.run", "the daemon"),
    "demo": (
        "gsmgw.cli.demo",
        "the whole gateway on two simulated modems with its own Mosquitto; no hardware",
    ),
    "status": ("gsmgw.cli.status", "the running daemon: modems, queue depths, rates, last errors"),
    "outbox": ("gsmgw.cli.outbox", "outbound messages: list, show, retry, cancel"),
    "inbox": ("gsmgw.cli.inbox", "inbound messages: list, show, export as JSON lines"),
    "optout": ("gsmgw.cli.optout", "list, add, remove numbers on the opt-out list"),
    "pdu": ("gsmgw.cli.pdu", "encode or decode SMS PDUs"),
    "at": ("gsmgw.cli.at", "raw AT commands, or an interactive AT terminal without COMMAND"),
    "probe": (
        "gsmgw.cli.probe",
        "identify one modem: maker, model, IMEI, SIM, PIN state, operator, registration, signal",
    ),
    "scan": ("gsmgw.cli.scan", "find modems on this machine's serial ports and say what each is"),
    "send": ("gsmgw.cli.send", "send an SMS (--port PORT: straight to a modem)"),
    "ussd": ("gsmgw.cli.ussd", "a USSD request (balance, top-up)"),
    "simulate": (
        "gsmgw.cli.simulate",
        "a simulated modem on a pseudo-terminal, for testing any SMS software",
    ),
    "doctor": (
        "gsmgw.cli.doctor",
        "checks: permissions, ModemManager holding a port, broker reachable, SIM state",
    ),
}

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every command."""
    parser = argparse.ArgumentParser(
        prog="gsmgw", description="An SMS gateway for USB GSM/LTE modems, bridged to MQTT."
    )
    parser.add_argument("--version", action="version", version=f"gsmgw {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: raw AT traffic)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command_parser)
        command_parser.set_defaults(_module=module_name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (0 ok, 1 failure, 2 usage error)."""
    args = build_parser().parse_args(argv)  # --version and --help end here, before asyncio loads
    import asyncio
    import logging

    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(args._module)
    try:
        code: int = asyncio.run(module.run(args))
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # `gsmgw inbox --json | head` closes our stdout early; that is not a failure.
        sys.stderr.close()
        return EXIT_OK
    return code
