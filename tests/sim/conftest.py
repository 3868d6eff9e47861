"""The host's side of a simulated modem's pty, for driving it with raw bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import os
import tty

import pytest

#: Generous: other helpers' tests share the two cores.
WAIT_TIMEOUT = 10.0


class Host:
    """The host end of a serial line: write bytes, wait for expected bytes."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.received = bytearray()
        self.error: OSError | None = None
        self.eof = False
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self.error = exc
            asyncio.get_running_loop().remove_reader(self.fd)
            data = b""
        if not data:
            self.eof = True
            asyncio.get_running_loop().remove_reader(self.fd)
        self.received += data
        self._changed.set()

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    async def expect(self, marker: bytes, within: float = WAIT_TIMEOUT) -> bytes:
        """Wait until ``marker`` arrived; return everything up to and including it."""
        async with asyncio.timeout(within):
            while (end := self.received.find(marker)) < 0:
                if self.eof:
                    raise EOFError(bytes(self.received))
                self._changed.clear()
                await self._changed.wait()
        taken = bytes(self.received[: end + len(marker)])
        del self.received[: end + len(marker)]
        return taken

    async def command(self, line: str, final: bytes = b"OK\r\n") -> bytes:
        """Send ``line`` + CR and return the answer up to ``final``."""
        self.send(line.encode() + b"\r")
        return await self.expect(final)

    async def wait_closed(self) -> None:
        """Wait until the modem side vanished (EOF or EIO)."""
        async with asyncio.timeout(WAIT_TIMEOUT):
            while not self.eof:
                self._changed.clear()
                await self._changed.wait()

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)


@pytest.fixture
async def open_host() -> AsyncIterator[Callable[[str], Host]]:
    """Open the host side of a pty path; closed after the test."""
    hosts: list[Host] = []

    def open_(path: str) -> Host:
        host = Host(path)
        hosts.append(host)
        return host

    try:
        yield open_
    finally:
        for host in hosts:
            host.close()
