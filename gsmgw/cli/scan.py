"""``gsmgw scan``: find modems on this machine's serial ports and say what each is, or why not.

A USB modem often shows several ttys (a Quectel EC25: DM, NMEA, AT, AT/PPP); only some
answer AT. Every port is probed at the same time with a short timeout.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gsmgw.cli.output import JsonValue

#: Seconds per question: a port that says nothing in this time is not an AT port.
SCAN_TIMEOUT = 1.5


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw scan``."""
    parser.add_argument(
        "ports",
        nargs="*",
        metavar="PORT",
        help="ports to look at (default: /dev/ttyUSB*, /dev/ttyACM*, /dev/serial/by-id/*, "
        "/dev/gsmmodem-*)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array")
    parser.add_argument(
        "--timeout", type=float, default=SCAN_TIMEOUT, help="seconds per question (default 1.5)"
    )


@dataclass(frozen=True, slots=True)
class Finding:
    """What one port turned out to be."""

    port: str
    #: "modem", "no answer", "missing", "permission", "modemmanager", "busy" or "error".
    status: str
    detail: str
    facts: dict[str, JsonValue]

    def as_json(self) -> dict[str, JsonValue]:
        """Return the JSON object of one port."""
        device = os.path.realpath(self.port) if not self.port.startswith("sim:") else None
        return {
            "port": self.port,
            "device": device,
            "status": self.status,
            "detail": self.detail,
            **self.facts,
        }


async def run(args: argparse.Namespace) -> int:
    """Probe every port; 0 when at least one modem answered, 1 otherwise."""
    import asyncio

    from gsmgw.cli.output import print_json
    from gsmgw.cli.ports import candidate_ports

    ports = args.ports or candidate_ports()
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(look_at(port, limit=args.timeout)) for port in ports]
    findings = [task.result() for task in tasks]
    if args.json:
        print_json([finding.as_json() for finding in findings])
    elif not findings:
        print("no serial ports found (is the modem plugged in? see `dmesg | tail`)")
    else:
        width = max(len(f.port) for f in findings)
        for finding in findings:
            print(f"{finding.port:<{width}}  {finding.status:<12}  {finding.detail}")
    return 0 if any(f.status == "modem" for f in findings) else 1


async def look_at(port: str, *, limit: float) -> Finding:
    """Say what ``port`` is: a modem (with maker, model, IMEI, SIM state) or why it is not."""
    from gsmgw.cli.ports import port_problem
    from gsmgw.cli.probe import probe_identity
    from gsmgw.cli.session import open_session
    from gsmgw.errors import ModemTimeout, ModemUnavailable

    if not port.startswith("sim:"):
        problem = port_problem(port)
        if problem is not None:
            return Finding(port, problem.kind.value, problem.message, {})
    try:
        async with open_session(port, command_timeout=limit) as session:
            facts = await probe_identity(session, limit=limit)
    except ModemTimeout:
        return Finding(port, "no answer", "no answer to AT: not an AT port, or hung", {})
    except ModemUnavailable as exc:
        status = "busy" if "busy" in str(exc) else "error"
        return Finding(port, status, str(exc), {})
    name = " ".join(str(facts[k]) for k in ("manufacturer", "model") if facts.get(k))
    detail = f"{name or 'AT modem'}, IMEI {facts.get('imei') or '?'}, SIM {facts.get('sim') or '?'}"
    return Finding(port, "modem", detail, facts)
