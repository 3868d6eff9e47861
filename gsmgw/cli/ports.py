"""Finding serial ports, telling why one cannot be used, and opening one for a CLI command.

Used by ``scan``, ``probe``, ``at``, ``send --port`` and ``ussd --port``. A ``sim:NAME``
port starts a simulated modem in this process (stopped by :func:`opened_port`'s exit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import enum
import glob
import grp
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gsmgw.modem import Modem
    from gsmgw.modem.port import Port

#: Where USB modems show up, stable names first (our udev rule's, then udev's by-id links):
#: a device reached by several names is listed once, by the name a config should use.
PORT_PATTERNS = (
    "/dev/gsmmodem-*",
    "/dev/serial/by-id/*",
    "/dev/ttyUSB*",
    "/dev/ttyACM*",
)
MODEM_MANAGER = "ModemManager"
PROC = Path("/proc")


class ProblemKind(enum.Enum):
    """Why a port cannot be used."""

    MISSING = "missing"
    PERMISSION = "permission"
    MODEM_MANAGER = "modemmanager"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class PortProblem:
    """What is wrong with a port, in words a person can act on."""

    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class Holder:
    """A process that has a device open."""

    pid: int
    name: str


def candidate_ports() -> list[str]:
    """Return every serial port a modem may be on, one entry per device, stable names first."""
    seen: dict[str, str] = {}
    for pattern in PORT_PATTERNS:
        for path in sorted(glob.glob(pattern)):
            seen.setdefault(os.path.realpath(path), path)
    return sorted(seen.values())


def holders(path: str, *, proc: Path | None = None) -> list[Holder]:
    """Return the processes other than us that have ``path`` open (from /proc/<pid>/fd)."""
    target = os.path.realpath(path)
    found: list[Holder] = []
    for fd_dir in (proc or PROC).glob("[0-9]*/fd"):
        pid = int(fd_dir.parent.name)
        if pid == os.getpid():
            continue
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:
            continue  # another user's process, or it just exited
        if target in links:
            found.append(Holder(pid, _process_name(fd_dir.parent)))
    return found


def _process_name(process: Path) -> str:
    try:
        return (process / "comm").read_text().strip()
    except OSError:
        return "?"


def owning_group(path: str) -> str | None:
    """Return the group that owns a device (``dialout`` on Debian), if it has a name."""
    try:
        return grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        return None


def port_problem(path: str) -> PortProblem | None:
    """Why ``path`` cannot be used; None if it looks fine.

    A port another program merely has open is found by the exclusive open itself
    (see :func:`busy_detail`); ModemManager is named here because it grabs modems on its own.
    """
    if not os.path.exists(path):
        return PortProblem(
            ProblemKind.MISSING, f"{path}: no such device (unplugged? try `gsmgw scan`)"
        )
    if not os.access(path, os.R_OK | os.W_OK):
        group = owning_group(path)
        hint = (
            f"add the user to the group {group!r} (sudo usermod -aG {group} $USER; log in again)"
            if group is not None
            else "check the device's permissions"
        )
        return PortProblem(ProblemKind.PERMISSION, f"{path}: permission denied: {hint}")
    if any(h.name == MODEM_MANAGER for h in holders(path)):
        return PortProblem(
            ProblemKind.MODEM_MANAGER,
            f"{path}: held by ModemManager: stop it (sudo systemctl stop ModemManager) "
            'or make it ignore the modem (udev ENV{ID_MM_DEVICE_IGNORE}="1")',
        )
    return None


def busy_detail(path: str) -> str:
    """Who has ``path`` open, for a "busy" error ("" when nobody we can see)."""
    held = holders(path)
    if not held:
        return ""
    return " (in use by " + ", ".join(f"{h.name} pid {h.pid}" for h in held) + ")"


def wire_sim_ports() -> None:
    """Let ``open_port("sim:NAME")`` start simulated modems (cli may import modem and sim)."""
    from gsmgw.modem.port import register_scheme
    from gsmgw.sim import register_sim_scheme

    register_sim_scheme(register_scheme)


@contextlib.asynccontextmanager
async def opened_port(spec: str) -> AsyncIterator[Port]:
    """Open a device path or ``sim:NAME`` for one command; ModemUnavailable says why not.

    Raises:
        ModemUnavailable: missing, no permission (naming the group), held by ModemManager, busy.
    """
    from gsmgw.errors import ModemUnavailable
    from gsmgw.modem.port import open_port
    from gsmgw.sim import stop_sim

    simulated = spec.startswith("sim:")
    if simulated:
        wire_sim_ports()
    else:
        problem = port_problem(spec)
        if problem is not None:
            raise ModemUnavailable(problem.message)
    try:
        try:
            port = await open_port(spec)
        except ModemUnavailable as exc:
            if "busy" in str(exc) and not simulated:
                raise ModemUnavailable(f"{exc}{busy_detail(spec)}") from exc
            raise
        try:
            yield port
        finally:
            await port.close()
    finally:
        if simulated:
            await stop_sim(spec)


@contextlib.asynccontextmanager
async def opened_modem(spec: str, *, trace: Path | None = None) -> AsyncIterator[Modem]:
    """Open ``spec`` as :func:`opened_port` does and run the modem driver on it (started).

    The driver reads no message on its own. ``trace``: a file that gets every byte in and
    out, with timestamps (:mod:`gsmgw.modem.trace`).
    """
    from gsmgw.modem import Modem
    from gsmgw.modem.trace import TraceWriter

    async with opened_port(spec) as port:
        modem = Modem(port, name=spec)
        writer = TraceWriter(trace, port=spec) if trace is not None else None
        if writer is not None:
            modem.add_tap(writer.write)
        await modem.start()
        try:
            yield modem
        finally:
            await modem.close()
            if writer is not None:
                writer.close()
