"""Run a private Mosquitto broker on a free loopback port (for ``gsmgw demo`` and the tests).

We use Debian's ``mosquitto`` binary rather than an in-process Python broker: the one
candidate, amqtt, speaks only MQTT 3.1.1 and drops offline messages, and gsmgw relies on
MQTT 5 and persistent sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path
import shutil
import socket
import subprocess
import tempfile
import time

from gsmgw.errors import GsmgwError

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
INSTALL_HINT = "install Debian's broker with: sudo apt-get install mosquitto mosquitto-clients"


class MosquittoMissing(GsmgwError):
    """The mosquitto binary is not installed."""


def find_mosquitto() -> str:
    """Return the mosquitto binary, or raise `MosquittoMissing` saying how to install it."""
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )
    if found is None:
        raise MosquittoMissing(f"the mosquitto binary was not found; {INSTALL_HINT}")
    return found


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mosquitto:
    """A mosquitto process with its own config and data folder; restartable on the same port."""

    port: int = field(default_factory=free_port)
    #: Extra lines for mosquitto.conf (TLS listeners, password files...).
    extra_config: str = ""
    #: Keep messages on disk across restarts, as a real broker with persistence does.
    persistence: bool = True
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gsmgw-mosquitto-")))
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The ``mqtt://`` URL of the listener."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def config_text(self) -> str:
        """Return the mosquitto.conf that `start` writes."""
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            # Run as root, mosquitto would switch to its own user, who cannot write our folder.
            lines.append("user root")
        return "\n".join(lines) + "\n" + self.extra_config

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            return
        binary = find_mosquitto()
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        log = (self.workdir / "mosquitto.log").open("ab")
        self._process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise GsmgwError(f"mosquitto exited at start: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise GsmgwError(f"mosquitto did not listen on port {self.port} within {START_TIMEOUT:g} s")

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL), saving its persistent state."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop and start again on the same port, keeping persisted sessions and messages."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the broker and remove its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the broker's log, for error messages."""
        path = self.workdir / "mosquitto.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
