"""The I/O seam under the driver: a small Port protocol and one opener for every kind of port.

``open_port("/dev/ttyUSB2")`` (or a ``/dev/serial/by-id/...`` link) opens a serial device with
pyserial 3.5 + pyserial-asyncio 0.6 (pyserial-asyncio-fast 0.16 spins at 100 % CPU after a
partial write). Other schemes, such as the simulated modem's ``sim:NAME``, are resolved to
a device path by a resolver registered with :func:`register_scheme`; this module never
imports the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import contextlib
import errno
import functools
import grp
import logging
import os
import re
from typing import Protocol

from gsmgw.errors import ModemUnavailable

LOGGER = logging.getLogger(__name__)

# All of these are in seconds.
CLOSE_TIMEOUT = 2.0
READ_SIZE = 4096

Resolver = Callable[[str], Awaitable[str]]
_SCHEMES: dict[str, Resolver] = {}
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):(?!/)", re.IGNORECASE)


class Port(Protocol):
    """A byte stream to one modem."""

    @property
    def name(self) -> str:
        """The device path or spec, for log lines and error messages."""
        ...

    async def read(self) -> bytes:
        """Return the next bytes; b"" at end of stream; ModemUnavailable when the port is gone."""
        ...

    async def write(self, data: bytes) -> None:
        """Write all of data; ModemUnavailable when the port is gone."""
        ...

    async def close(self) -> None:
        """Close the port; safe to call twice."""
        ...


def register_scheme(scheme: str, resolver: Resolver) -> None:
    """Make ``open_port("<scheme>:...")`` call ``resolver(spec)`` for the device path."""
    _SCHEMES[scheme.lower()] = resolver


async def open_port(spec: str, *, baudrate: int = 115200) -> Port:
    """Open a serial device path or a registered ``scheme:...`` spec.

    Raises:
        ModemUnavailable: the device is missing, busy, not permitted, or the scheme unknown.
    """
    path = spec
    match = _SCHEME.match(spec)
    if match:
        resolver = _SCHEMES.get(match.group(1).lower())
        if resolver is None:
            raise ModemUnavailable(f"{spec}: unknown port scheme {match.group(1)!r}")
        path = await resolver(spec)
    return await SerialPort.open(path, baudrate=baudrate, label=spec)


def describe_os_error(path: str, exc: BaseException) -> str:
    """Return a message that says what is wrong with a device and what to do about it."""
    code = getattr(exc, "errno", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    text = str(exc)
    if code == errno.EIO or "Input/output error" in text or "returned no data" in text:
        return f"{path}: the modem went away (unplugged or reset)"
    if code == errno.ENOENT or (code is None and not os.path.exists(path)):
        return f"{path}: no such device (unplugged? try `gsmgw scan`)"
    if code in (errno.EACCES, errno.EPERM):
        return f"{path}: permission denied: {_group_hint(path)}"
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text:
        return f"{path}: busy: another program has it open (ModemManager? try `gsmgw doctor`)"
    return f"{path}: {exc}"


def _group_hint(path: str) -> str:
    try:
        group = grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        return "add the user to the group that owns the device"
    return f"add the user to the group {group!r} that owns it (usermod -aG {group} USER)"


@contextlib.contextmanager
def map_errors(path: str) -> Iterator[None]:
    """Turn OSError and pyserial's SerialException into ModemUnavailable, chained."""
    import serial

    try:
        yield
    except (OSError, serial.SerialException) as exc:
        raise ModemUnavailable(describe_os_error(path, exc)) from exc


class SerialPort:
    """A serial device through pyserial-asyncio's streams."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, path: str, label: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._path = path
        self._label = label
        self._closed = False

    @classmethod
    async def open(
        cls, path: str, *, baudrate: int = 115200, label: str | None = None
    ) -> SerialPort:
        """Open ``path`` exclusively (a second opener gets "busy"), raw, 8N1."""
        import serial

        with map_errors(path):
            if not os.path.exists(path):
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
            device = serial.serial_for_url(
                path, baudrate=baudrate, exclusive=True, rtscts=False, dsrdtr=False
            )
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport = _direct_write_transport()(loop, protocol, device)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        LOGGER.debug("%s: opened %s at %d baud", label or path, path, baudrate)
        return cls(reader, writer, path=path, label=label or path)

    @property
    def name(self) -> str:
        """The spec the port was opened with."""
        return self._label

    async def read(self) -> bytes:
        """Return the next bytes, b"" at end of stream."""
        if self._closed:
            raise ModemUnavailable(f"{self._label}: port closed")
        with map_errors(self._path):
            return await self._reader.read(READ_SIZE)

    async def write(self, data: bytes) -> None:
        """Write and drain."""
        if self._closed or self._writer.is_closing():
            raise ModemUnavailable(f"{self._label}: port closed")
        with map_errors(self._path):
            self._writer.write(data)
            await self._writer.drain()

    async def close(self) -> None:
        """Close the device (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()


@functools.cache
def _direct_write_transport() -> Callable[..., asyncio.Transport]:
    """pyserial-asyncio's transport, writing at once when nothing waits to be written.

    Its own ``write`` always waits for the loop to report the port writable: two ``epoll_ctl``
    calls and one more loop turn per AT command line, for a port that nearly always takes the
    bytes at once. This writes them at once; what the port does not take (``EAGAIN``, a partial
    write) goes to the transport's buffer and its own writer, as before. ``os.write``, not
    ``Serial.write``: pyserial's loops on ``EAGAIN`` when the port is non-blocking (that spin is
    what pyserial-asyncio-fast does after a partial write). Reaches only into the public
    ``serial`` and ``get_write_buffer_size`` of pyserial-asyncio 0.6 (pinned);
    tests/modem/test_port.py guards it.
    """
    import serial_asyncio

    class DirectWriteTransport(serial_asyncio.SerialTransport):  # type: ignore[misc]
        def write(self, data: bytes) -> None:
            if data and not self.is_closing() and self.get_write_buffer_size() == 0:
                try:
                    written = os.write(self.serial.fileno(), data)
                except OSError:  # EAGAIN: later; another error: the buffered write reports it
                    written = 0
                if written == len(data):
                    return
                data = data[written:]
            super().write(data)

    return DirectWriteTransport
