"""Process-wide simulated modems behind ``sim:NAME`` ports.

A config port ``sim:NAME`` (optionally ``sim:NAME?profile=quectel&send_delay=2``) names a
simulated modem in this process, started on first use. ``gsmgw.modem`` must not import this
package (they are sibling layers), so the wiring layer (cli, daemon) passes
``gsmgw.modem.port.register_scheme`` to :func:`register_sim_scheme`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from gsmgw.sim.device import SimModem
from gsmgw.sim.profiles import Identity, Knobs
from gsmgw.sim.pty import PtyModem

SCHEME = "sim"
_FLOAT_KNOBS = ("send_delay", "report_delay", "ussd_delay", "write_delay", "noise")
_INT_KNOBS = ("chunk_size", "capacity", "seed")

_MODEMS: dict[str, PtyModem] = {}

Resolver = Callable[[str], Awaitable[str]]


def parse_sim_spec(spec: str) -> tuple[str, str, Knobs]:
    """``sim:NAME?profile=P&knob=V`` -> (name, profile, knobs); ValueError when malformed."""
    body = spec.removeprefix(f"{SCHEME}:")
    name, _, query = body.partition("?")
    if not name:
        raise ValueError(f"{spec!r}: a simulated modem needs a name, as in sim:sim1")
    options = dict(parse_qsl(query, strict_parsing=bool(query)))
    unknown = set(options) - {"profile", "pin", *_FLOAT_KNOBS, *_INT_KNOBS}
    if unknown:
        raise ValueError(f"{spec!r}: unknown option {sorted(unknown)[0]!r}")
    defaults = Knobs()

    def number(key: str, default: float) -> float:
        return float(options[key]) if key in options else default

    def integer(key: str, default: int) -> int:
        return int(options[key]) if key in options else default

    knobs = Knobs(
        send_delay=number("send_delay", defaults.send_delay),
        report_delay=number("report_delay", defaults.report_delay),
        ussd_delay=number("ussd_delay", defaults.ussd_delay),
        write_delay=number("write_delay", defaults.write_delay),
        noise=number("noise", defaults.noise),
        chunk_size=integer("chunk_size", defaults.chunk_size),
        capacity=integer("capacity", defaults.capacity),
        seed=integer("seed", defaults.seed),
        pin=options.get("pin"),
    )
    return name, options.get("profile", "generic"), knobs


async def start_sim(spec: str) -> PtyModem:
    """Return the simulated modem ``spec`` names, started on first use."""
    name, profile, knobs = parse_sim_spec(spec)
    modem = _MODEMS.get(name)
    if modem is None:
        sim = SimModem(profile, knobs=knobs, identity=Identity().for_name(name))
        modem = PtyModem(sim, name=name)
        await modem.start()
        await modem.settle()  # booted long before anyone opened it, like a real modem
        _MODEMS[name] = modem
    return modem


async def resolve_sim_port(spec: str) -> str:
    """Return the pty path of the simulated modem ``sim:NAME`` (started on first use)."""
    return (await start_sim(spec)).path


def get_sim(name: str) -> PtyModem | None:
    """Return the running simulated modem called ``name``, if any."""
    return _MODEMS.get(name)


async def stop_sim(spec: str) -> None:
    """Stop the simulated modem ``sim:NAME`` names, if it runs."""
    name = parse_sim_spec(spec)[0]
    modem = _MODEMS.pop(name, None)
    if modem is not None:
        await modem.stop()


async def stop_sims() -> None:
    """Stop every simulated modem started through ``sim:NAME``."""
    while _MODEMS:
        _, modem = _MODEMS.popitem()
        await modem.stop()


def register_sim_scheme(register_scheme: Callable[[str, Resolver], None]) -> None:
    """Make ``sim:NAME`` ports work: pass ``gsmgw.modem.port.register_scheme``."""
    register_scheme(SCHEME, resolve_sim_port)
