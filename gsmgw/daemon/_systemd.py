"""systemd integration: sd_notify over the stdlib, journal logging when systemd-python is there.

sd_notify is a datagram to the socket named by ``$NOTIFY_SOCKET`` (sd_notify(3)); a few lines of
stdlib spare every install the systemd-python dependency. The journal handler needs
systemd-python (the ``journal`` extra); without it we log plain lines to stderr, which
systemd also puts in the journal, only without structured fields.
"""

from __future__ import annotations

import logging
import os
import socket

LOGGER = logging.getLogger(__package__)


class Notifier:
    """Sends sd_notify messages; does nothing when not run by systemd with ``Type=notify``."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self._address: str | bytes | None = None
        if address:
            # A leading "@" names a socket in the abstract namespace (sd_notify(3)).
            self._address = b"\0" + address[1:].encode() if address.startswith("@") else address
        self._socket: socket.socket | None = None
        #: True while the reader's queue is full (said once, not at every notification).
        self._full = False

    @property
    def enabled(self) -> bool:
        """Whether a notification socket was given."""
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (``READY=1``, ``STATUS=...``); return whether they were sent.

        Never waits: it runs on the event loop. A datagram the reader has no room for is dropped.
        """
        if self._address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
                # The reader's queue holds net.unix.max_dgram_qlen datagrams (10 by default):
                # a blocking sendto to a reader that stopped reading (a benchmark that waits
                # for READY=1 only, a hung systemd) would stop the event loop for ever, and
                # with it the shutdown on SIGTERM.
                self._socket.setblocking(False)
            self._socket.sendto(message.encode(), self._address)
        except BlockingIOError:
            if not self._full:
                LOGGER.warning(
                    "sd_notify to %r: its queue is full, nobody reads it; dropping"
                    " notifications until it has room",
                    self._address,
                )
            self._full = True
            return False
        except OSError as exc:
            LOGGER.warning("sd_notify to %r failed: %s", self._address, exc)
            return False
        if self._full:
            self._full = False
            LOGGER.info("sd_notify to %r: delivered again", self._address)
        return True

    def ready(self, status: str) -> bool:
        """Tell systemd start-up is complete."""
        return self.notify(ready=1, status=status)

    def status(self, status: str) -> bool:
        """Update the one-line status shown by ``systemctl status``."""
        return self.notify(status=status)

    def watchdog(self) -> bool:
        """Ping the service watchdog."""
        return self.notify(watchdog=1)

    def stopping(self, status: str = "stopping") -> bool:
        """Tell systemd we are shutting down."""
        return self.notify(stopping=1, status=status)

    def close(self) -> None:
        """Close the socket."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_interval() -> float | None:
    """Return how often to ping the watchdog (half of ``$WATCHDOG_USEC``), or None when off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2_000_000, 0.1)
    except ValueError:
        return None


def under_systemd() -> bool:
    """Whether stderr goes to the journal (systemd sets ``$JOURNAL_STREAM``)."""
    return bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))


def setup_logging(level: int) -> None:
    """Log to the journal with structured fields under systemd, readable lines on a terminal."""
    root = logging.getLogger()
    root.setLevel(level)
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if under_systemd():
        try:
            from systemd.journal import JournalHandler
        except ImportError:
            handler = logging.StreamHandler()
            # The journal adds its own time stamp.
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
            LOGGER.info("systemd-python is not installed: logging plain lines to the journal")
            return
        handler = JournalHandler(SYSLOG_IDENTIFIER="gsmgw")
        root.addHandler(handler)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root.addHandler(handler)
