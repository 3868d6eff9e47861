"""``gsmgw at PORT [COMMAND...]``: raw AT commands, or an interactive AT terminal.

Each command's answer is printed as the modem sent it (its echo left out). A command that
gets the ``> `` prompt (AT+CMGS, AT+CMGW) takes the next COMMAND, or the next line typed,
as its PDU and ends it with Ctrl-Z; an empty line sends ESC instead. In the interactive
terminal, unsolicited codes (+CMTI, RING...) are printed as they come.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gsmgw.cli.session import Answer, AtSession

#: Seconds to wait for a command's final result (AT+COPS=? may need --timeout 120).
COMMAND_TIMEOUT = 10.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw at``."""
    parser.add_argument("port", metavar="PORT", help="a device path or sim:NAME")
    parser.add_argument("commands", nargs="*", metavar="COMMAND", help="e.g. AT+CSQ")
    parser.add_argument(
        "--timeout", type=float, default=COMMAND_TIMEOUT, help="seconds per command (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array")


async def run(args: argparse.Namespace) -> int:
    """Run the commands given, or an interactive terminal; 1 if any command failed."""
    from gsmgw.cli.output import error, print_json
    from gsmgw.cli.session import open_session
    from gsmgw.errors import ModemUnavailable

    try:
        async with open_session(
            args.port,
            command_timeout=args.timeout,
            on_unsolicited=lambda line: print(line, flush=True),
        ) as session:
            if args.commands:
                answers = await _batch(session, args.commands)
            else:
                answers = await _interactive(session)
    except ModemUnavailable as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json([{"command": a.command, "answer": list(a.lines), "ok": a.ok} for a in answers])
    elif args.commands:
        for answer in answers:
            print("\n".join(answer.lines))
    return 0 if all(a.ok for a in answers) else 1


async def _batch(session: AtSession, commands: list[str]) -> list[Answer]:
    answers: list[Answer] = []
    prompt = False
    for command in commands:
        answer = await session.execute(command, data=prompt)
        answers.append(answer)
        prompt = answer.prompt
        if not answer.ok and session.closed:
            break
    if prompt:  # a prompt with no PDU after it: leave the modem clean
        answers.append(await session.execute("", data=True))
    return answers


async def _interactive(session: AtSession) -> list[Answer]:
    import asyncio

    loop = asyncio.get_running_loop()
    answers: list[Answer] = []
    prompt = False
    print("gsmgw AT terminal: type commands, end with Ctrl-D", file=sys.stderr)
    while not session.closed:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = line.strip()
        if not command and not prompt:
            continue
        answer = await session.execute(command, data=prompt)
        prompt = answer.prompt
        answers.append(answer)
        print("\n".join(answer.lines), flush=True)
    return answers
