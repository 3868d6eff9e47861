"""The peers: Gammu's gammu-smsd (files backend) and smstools3's smsd, as Debian ships them.

Each runs with its documented defaults ("default") or with the settings below ("tuned"), which
are what their manuals offer for speed. Only the paths, the device and a log file are set in
"default"; everything else is the program's built-in default.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from pathlib import Path
import signal
import time

from bench.peers.parsing import Stored, read_gammu_inbox, read_smstools_inbox
from bench.peers.system import System

#: gammu-smsdrc(5): every option that makes gammu-smsd react sooner or do less between sends.
GAMMU_TUNED = {
    "CommTimeout": "0",  # scan the outbox on every loop instead of every 30 s when idle
    "LoopSleep": "0",  # no 1 s sleep per main loop (it busy-waits one core instead)
    "ReceiveFrequency": "1",  # check the SIM for new SMS every second, not every 15 s
    "StatusFrequency": "0",  # no battery/signal refresh every 60 s
    "CheckSecurity": "0",  # no AT+CPIN? before each loop
    "CheckBattery": "0",
    "CheckSignal": "0",
    "CheckNetwork": "0",
}

#: smsd.conf (smstools3 3.1.21 "configure.html"): the global options for speed...
SMSTOOLS_TUNED_GLOBAL = {
    "delaytime": "1",  # sleep 1 s (its minimum) instead of 10 s when there is nothing to do
    "delaytime_mainprocess": "1",  # the outgoing-folder checker likewise
}
#: ...and the per-modem ones.
SMSTOOLS_TUNED_MODEM = {
    "check_network": "0",  # no AT+CREG? before every message
    "pre_init": "no",  # no ATE0 / AT+CMEE=1 before every message
}

_STOP_TIMEOUT = 10.0
#: BENCH_PEERS_VERBOSE=1 makes the peers log every AT command (slower; for finding out why).
_VERBOSE = os.environ.get("BENCH_PEERS_VERBOSE") == "1"
#: What gammu-smsd's files in "standard" format are written in: the locale's character set.
_ENVIRONMENT = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


async def _terminate(process: asyncio.subprocess.Process) -> None:
    """Stop a daemon with SIGTERM, then SIGKILL if it does not go."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _files(folder: Path) -> int:
    return sum(1 for path in folder.iterdir() if path.is_file()) if folder.is_dir() else 0


def _ini(sections: dict[str, dict[str, str]]) -> str:
    lines: list[str] = []
    for name, options in sections.items():
        lines.append(f"[{name}]" if name else "")
        lines.extend(f"{key} = {value}" for key, value in options.items())
        lines.append("")
    return "\n".join(lines).lstrip("\n")


class GammuSmsd(System):
    """gammu-smsd with the files backend: one daemon per modem (it drives one phone only)."""

    def __init__(self, *, tuned: bool) -> None:
        self.key = f"gammu-smsd-{'tuned' if tuned else 'default'}"
        self.tuned = tuned
        # When idle it scans the outbox every CommTimeout seconds (30 by default).
        self.poll_interval = 0.0 if tuned else 30.0
        self.busy_waits = tuned
        self._configs: list[Path] = []
        self._inboxes: list[Path] = []
        self._processes: list[asyncio.subprocess.Process] = []
        self._turns = itertools.count()

    def config_text(self, device: str, directory: Path) -> str:
        """Return the gammu-smsdrc for one modem."""
        smsd = {
            "Service": "files",
            "InboxPath": f"{directory}/inbox/",
            "OutboxPath": f"{directory}/outbox/",
            "SentSMSPath": f"{directory}/sent/",
            "ErrorSMSPath": f"{directory}/error/",
            "LogFile": f"{directory}/smsd.log",
        }
        if self.tuned:
            smsd.update(GAMMU_TUNED)
        if _VERBOSE:
            smsd["DebugLevel"] = "255"
        return _ini({"gammu": {"device": device, "connection": "at"}, "smsd": smsd})

    async def start(self, ports: list[str], workdir: Path) -> None:
        """Start one gammu-smsd per port."""
        for n, port in enumerate(ports):
            directory = workdir / f"gammu{n}"
            for sub in ("inbox", "outbox", "sent", "error"):
                (directory / sub).mkdir(parents=True, exist_ok=True)
            config = directory / "smsdrc"
            config.write_text(self.config_text(port, directory))
            self._configs.append(config)
            self._inboxes.append(directory / "inbox")
            process = await asyncio.create_subprocess_exec(
                "gammu-smsd",
                "-c",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env=_ENVIRONMENT,
            )
            self._processes.append(process)

    async def send(
        self, to: str, text: str, *, modem: int | None = None, unicode: bool = False
    ) -> None:
        """Queue one message with gammu-smsd-inject (``-autolen`` picks the coding by the text).

        Without ``modem`` the daemons take turns, as a user splitting the load by hand would.
        """
        if modem is None:
            modem = next(self._turns)
        config = self._configs[modem % len(self._configs)]
        coding = ["-unicode"] if unicode else []
        argv = ["TEXT", to, "-autolen", str(max(len(text), 1)), *coding, "-text", text]
        process = await asyncio.create_subprocess_exec(
            "gammu-smsd-inject",
            "-c",
            str(config),
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=_ENVIRONMENT,
        )
        _, error = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"gammu-smsd-inject failed: {error.decode(errors='replace')}")

    def inbox(self) -> list[Stored]:
        """Return every message file gammu-smsd stored."""
        return [stored for inbox in self._inboxes for stored in read_gammu_inbox(inbox)]

    def pending(self) -> int:
        """Return the message files still in the outboxes (failed ones go to the error folder)."""
        return sum(_files(inbox.parent / "outbox") for inbox in self._inboxes)

    def alive(self) -> bool:
        """Return True while every daemon runs."""
        return all(p.returncode is None for p in self._processes)

    async def stop(self) -> None:
        """Stop the daemons."""
        await asyncio.gather(*(_terminate(p) for p in self._processes))


class Smstools(System):
    """smstools3's smsd: one daemon drives every modem, all sharing one outgoing folder."""

    def __init__(self, *, tuned: bool) -> None:
        self.key = f"smstools3-{'tuned' if tuned else 'default'}"
        self.tuned = tuned
        # Its outgoing-folder checker and modem processes sleep `delaytime` (10 s) when idle.
        self.poll_interval = 1.0 if tuned else 10.0
        self.busy_waits = False
        self._directory = Path()
        self._sequence = 0
        self._process: asyncio.subprocess.Process | None = None

    def config_text(self, ports: list[str], directory: Path) -> str:
        """Return the smsd.conf for ``ports`` (modems GSM1, GSM2...)."""
        names = [f"GSM{n + 1}" for n in range(len(ports))]
        general = {"devices": ",".join(names)}
        for folder in ("outgoing", "checked", "incoming", "failed", "sent"):
            general[folder] = str(directory / folder)
        general |= {
            "logfile": str(directory / "smsd.log"),
            "infofile": str(directory / "smsd.working"),
            "pidfile": str(directory / "smsd.pid"),
        }
        if self.tuned:
            general |= SMSTOOLS_TUNED_GLOBAL
        if _VERBOSE:
            general["loglevel"] = "7"
        sections = {"": general}
        for name, port in zip(names, ports, strict=True):
            modem = {"device": port, "incoming": "yes"}
            if self.tuned:
                modem |= SMSTOOLS_TUNED_MODEM
            sections[name] = modem
        return _ini(sections)

    async def start(self, ports: list[str], workdir: Path) -> None:
        """Start smsd in the foreground (``-t``) with every port."""
        self._directory = workdir / "smstools"
        for folder in ("outgoing", "checked", "incoming", "failed", "sent", "tmp"):
            (self._directory / folder).mkdir(parents=True, exist_ok=True)
        config = self._directory / "smsd.conf"
        config.write_text(self.config_text(ports, self._directory))
        self._process = await asyncio.create_subprocess_exec(
            "smsd",
            "-t",
            "-c",
            str(config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=_ENVIRONMENT,
            start_new_session=True,  # smsd forks a process per modem: stop them as a group
        )

    async def send(
        self, to: str, text: str, *, modem: int | None = None, unicode: bool = False
    ) -> None:
        """Write a message file and move it into the outgoing folder (atomic, as its docs ask)."""
        self._sequence += 1
        name = f"bench.{os.getpid()}.{self._sequence}.{time.monotonic_ns()}"
        headers = f"To: {to.lstrip('+')}\n" + ("Alphabet: UTF\n" if unicode else "")
        temporary = self._directory / "tmp" / name
        temporary.write_text(f"{headers}\n{text}", encoding="utf-8")
        temporary.rename(self._directory / "outgoing" / name)

    def inbox(self) -> list[Stored]:
        """Return every message file smsd stored."""
        return read_smstools_inbox(self._directory / "incoming")

    def pending(self) -> int:
        """Return the message files still waiting in the outgoing and checked folders."""
        return sum(_files(self._directory / folder) for folder in ("outgoing", "checked"))

    def alive(self) -> bool:
        """Return True while smsd runs."""
        return self._process is not None and self._process.returncode is None

    async def stop(self) -> None:
        """Stop smsd and its modem processes."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        await _terminate(self._process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
