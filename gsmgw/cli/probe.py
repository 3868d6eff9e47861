"""``gsmgw probe PORT``: identify one modem: maker, model, IMEI, SIM, PIN state, network, signal."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from gsmgw.at.commands import Command
    from gsmgw.cli.output import JsonValue
    from gsmgw.cli.session import AtSession

T = TypeVar("T")

#: Seconds per question; a modem that answers nothing in this time is "not answering".
PROBE_TIMEOUT = 5.0
FIELDS = (
    "manufacturer",
    "model",
    "revision",
    "imei",
    "imsi",
    "iccid",
    "sim",
    "operator",
    "registration",
    "signal",
    "capabilities",
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw probe``."""
    parser.add_argument("port", metavar="PORT", help="a device path or sim:NAME")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout", type=float, default=PROBE_TIMEOUT, help="seconds per question (default 5)"
    )
    parser.add_argument(
        "--trace", metavar="FILE", help="write every byte in and out, with timestamps, to FILE"
    )


async def run(args: argparse.Namespace) -> int:
    """Ask the modem who it is; unanswered questions print as null ("-")."""
    from pathlib import Path

    from gsmgw.cli.output import error, print_fields, print_json
    from gsmgw.cli.session import open_session
    from gsmgw.cli.status import describe_capabilities
    from gsmgw.errors import ModemTimeout, ModemUnavailable

    trace = Path(args.trace) if args.trace else None
    try:
        async with open_session(args.port, command_timeout=args.timeout, trace=trace) as session:
            facts = await probe(session, limit=args.timeout)
    except (ModemUnavailable, ModemTimeout) as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json({"port": args.port, **facts})
    else:
        caps = facts["capabilities"]
        shown = {
            **facts,
            "capabilities": describe_capabilities(caps) if isinstance(caps, dict) else None,
        }
        print_fields([("port", args.port), *((name, shown[name]) for name in FIELDS)])
    return 0


async def probe_identity(session: AtSession, *, limit: float) -> dict[str, JsonValue]:
    """Return maker, model, IMEI and SIM state; ModemTimeout when nothing answers ``AT``."""
    from gsmgw.at import commands as at
    from gsmgw.cli.session import wake

    await wake(session, limit=limit)
    manufacturer = await _ask(session, at.CGMI, limit)
    model = await _ask(session, at.CGMM, limit)
    imei = await _ask(session, at.CGSN, limit)
    pin = await _ask(session, at.CPIN_QUERY, limit)
    return {
        "manufacturer": manufacturer,
        "model": model,
        "imei": imei,
        "sim": pin.value if pin is not None else None,
    }


async def probe(session: AtSession, *, limit: float) -> dict[str, JsonValue]:
    """Return SPEC.md's probe fields; ModemTimeout when the modem does not answer ``AT``."""
    from gsmgw.at import commands as at

    identity = await probe_identity(session, limit=limit)
    registration = await _ask(session, at.CREG_QUERY, limit)
    signal = await _ask(session, at.CSQ, limit)
    operator = await _ask(session, at.COPS_QUERY, limit)
    revision = await _ask(session, at.CGMR, limit)
    imsi = await _ask(session, at.CIMI, limit)
    manufacturer = identity["manufacturer"]
    iccid = await _iccid(session, manufacturer if isinstance(manufacturer, str) else None, limit)
    return {
        **identity,
        "revision": revision,
        "imsi": imsi,
        "iccid": iccid,
        "operator": operator.name if operator is not None else None,
        "registration": registration.state.name.lower() if registration is not None else None,
        "signal": signal.dbm if signal is not None else None,
        "capabilities": await capabilities(session, limit),
    }


async def capabilities(session: AtSession, limit: float) -> dict[str, JsonValue]:
    """Return what the modem offers, from its test commands only (probing sets nothing).

    The same fields as the daemon's ``capabilities``; the daemon, which sets storage and
    indications, may find less than a modem offers here.
    """
    from gsmgw.at import commands as at

    support = await _ask(session, at.CPMS_SUPPORT, limit)
    cnmi = await _ask(session, at.CNMI_SUPPORT, limit)
    ussd = (await session.execute("AT+CUSD=?", limit=limit)).ok
    storage = support.receive[0] if support is not None and support.listed else None
    mts = cnmi.mt if cnmi is not None else frozenset()
    receive = "cmti" if storage and 1 in mts else "cmt" if mts & {2, 3} else "poll"
    if storage is None and receive == "poll":
        receive = "none"
    ds = cnmi.ds if cnmi is not None else frozenset()
    reports = "cds" if 1 in ds else "cdsi" if 2 in ds and storage else "none"
    return {"receive": receive, "reports": reports, "ussd": ussd, "storage": storage}


async def _ask(session: AtSession, command: Command[T], limit: float) -> T | None:
    """Return the parsed answer, or None when the modem refuses or does not answer."""
    from dataclasses import replace

    from gsmgw.errors import CommandError, ModemTimeout, RemoteProtocolError

    try:
        return await session.query(replace(command, timeout=max(limit, 0.1)))
    except (CommandError, ModemTimeout, RemoteProtocolError):
        return None


async def _iccid(session: AtSession, manufacturer: str | None, limit: float) -> str | None:
    """Ask the vendor's ICCID commands (gsmgw.modem.profiles keeps them), first answer wins."""
    from gsmgw.at.commands import Command, parse_iccid
    from gsmgw.modem.profiles import profile_for, unswap_iccid

    profile = profile_for(manufacturer or "")
    for text in profile.iccid_commands:
        raw = await _ask(session, Command(text, parse_iccid), limit)
        if raw is not None:
            return (unswap_iccid(raw) if profile.iccid_swapped else raw).rstrip("F")
    return None
