"""A line-based control interface for a running simulated modem.

One command per line, one answer line back: ``ok`` (maybe followed by a value) or
``error: <why>``. ``gsmgw simulate --control PATH`` serves it on a Unix socket and on
standard input; ``help`` lists the commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import json
import logging
import shlex

from gsmgw.errors import GsmgwError
from gsmgw.sim.pty import PtyModem

LOGGER = logging.getLogger(__name__)

HELP = """\
sms SENDER TEXT...          an SMS arrives (stored, +CMTI; or +CMT as AT+CNMI says)
sms-direct SENDER TEXT...   an SMS arrives as +CMT, not stored
report MR [STATUS]          a status report for message reference MR (TP-ST, default 0)
signal RSSI                 AT+CSQ's <rssi>, 0-31 or 99
registration STAT           registration <stat>: 0 none, 1 home, 2 searching, 3 denied, 5 roaming
fail-next-send CODE         the next AT+CMGS answers +CMS ERROR: CODE
hang-after-next-send        the next message is accepted, then the modem hangs unanswered
send-delay SECONDS          seconds the network takes to accept a message
hang | unhang               stop answering / answer again
noise HEX                   raw bytes on the line
unplug | replug             the USB device vanishes / comes back (new pty, --link re-pointed)
sent                        the messages sent so far, as JSON
stored                      the messages in storage, as JSON
path                        the current pty path
help                        this text"""


Handler = Callable[[PtyModem, list[str]], Awaitable[str]]

#: Command name -> (arguments it needs at least, handler).
_COMMANDS: dict[str, tuple[int, Handler]] = {}


def control(name: str, *, needs: int = 0) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the control command ``name``."""

    def register(handler: Handler) -> Handler:
        _COMMANDS[name] = (needs, handler)
        return handler

    return register


async def execute(modem: PtyModem, line: str) -> str:
    """Run one control command; return its answer line(s)."""
    try:
        args = shlex.split(line)
    except ValueError as exc:
        return f"error: {exc}"
    if not args:
        return ""
    name, rest = args[0].lower(), args[1:]
    if name not in _COMMANDS:
        return f"error: unknown command {name!r} (try: help)"
    needs, handler = _COMMANDS[name]
    if len(rest) < needs:
        return "error: missing arguments (try: help)"
    try:
        answer = await handler(modem, rest)
    except (ValueError, GsmgwError) as exc:
        return f"error: {exc}"
    return f"ok {answer}".rstrip()


@control("sms", needs=2)
async def _sms(modem: PtyModem, args: list[str]) -> str:
    indices = modem.sim.inject_sms(args[0], " ".join(args[1:]))
    return " ".join(str(i) for i in indices)


@control("sms-direct", needs=2)
async def _sms_direct(modem: PtyModem, args: list[str]) -> str:
    modem.sim.inject_sms(args[0], " ".join(args[1:]), direct=True)
    return ""


@control("report", needs=1)
async def _report(modem: PtyModem, args: list[str]) -> str:
    modem.sim.inject_status_report(int(args[0]), int(args[1]) if len(args) > 1 else 0)
    return ""


@control("signal", needs=1)
async def _signal(modem: PtyModem, args: list[str]) -> str:
    modem.sim.set_signal(int(args[0]))
    return ""


@control("registration", needs=1)
async def _registration(modem: PtyModem, args: list[str]) -> str:
    modem.sim.set_registration(int(args[0]))
    return ""


@control("fail-next-send", needs=1)
async def _fail_next_send(modem: PtyModem, args: list[str]) -> str:
    modem.sim.fail_next_send(int(args[0]))
    return ""


@control("hang-after-next-send")
async def _hang_after_next_send(modem: PtyModem, args: list[str]) -> str:
    modem.sim.hang_after_next_send()
    return ""


@control("send-delay", needs=1)
async def _send_delay(modem: PtyModem, args: list[str]) -> str:
    modem.sim.send_delay = max(0.0, float(args[0]))
    return ""


@control("hang")
async def _hang(modem: PtyModem, args: list[str]) -> str:
    modem.sim.hang()
    return ""


@control("unhang")
async def _unhang(modem: PtyModem, args: list[str]) -> str:
    modem.sim.unhang()
    return ""


@control("noise", needs=1)
async def _noise(modem: PtyModem, args: list[str]) -> str:
    modem.sim.send_noise(bytes.fromhex("".join(args)))
    return ""


@control("unplug")
async def _unplug(modem: PtyModem, args: list[str]) -> str:
    modem.unplug()
    return ""


@control("replug")
async def _replug(modem: PtyModem, args: list[str]) -> str:
    await modem.replug()
    return modem.path


@control("sent")
async def _sent(modem: PtyModem, args: list[str]) -> str:
    sent = [
        {
            "reference": m.reference,
            "to": m.submit.recipient,
            "text": m.submit.text,
            "report": m.submit.status_report_request,
            "at": m.at.isoformat(),
        }
        for m in modem.sim.sent
    ]
    return json.dumps(sent, ensure_ascii=False)


@control("stored")
async def _stored(modem: PtyModem, args: list[str]) -> str:
    stored = {
        name: [{"index": i, "stat": e.stat.value, "pdu": e.pdu.hex().upper()} for i, e in s.items()]
        for name, s in modem.sim.storages.items()
    }
    return json.dumps(stored)


@control("path")
async def _path(modem: PtyModem, args: list[str]) -> str:
    return modem.path


@control("help")
async def _help(modem: PtyModem, args: list[str]) -> str:
    return "\n" + HELP


async def serve_control(modem: PtyModem, path: str) -> asyncio.Server:
    """Serve the control commands on the Unix socket ``path``."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                answer = await execute(modem, line.decode("utf-8", "replace"))
                writer.write(answer.encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_unix_server(client, path=path)
