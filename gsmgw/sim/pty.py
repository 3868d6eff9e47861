"""PtyModem: a SimModem on a pseudo-terminal, so any program can open it as a serial port.

We hold the master side and read it with ``loop.add_reader``; the host opens the slave
(``.path``, e.g. ``/dev/pts/7``). We also keep the slave open ourselves, so that a host that
closes and reopens the port does not make the master read EIO. ``unplug()`` closes both
sides, and the host then reads EOF/EIO exactly as after a USB modem vanishes; ``replug()``
opens a new pseudo-terminal and points the ``link`` symlink at it, as udev re-points
``/dev/serial/by-id/...`` after a USB re-enumeration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
import termios
import tty

from gsmgw.sim.device import SimModem
from gsmgw.sim.profiles import Knobs, Profile

LOGGER = logging.getLogger(__name__)

_READ_SIZE = 4096


class PtyModem:
    """Runs a :class:`SimModem` on a pseudo-terminal; ``path`` is the host's side."""

    def __init__(
        self,
        sim: SimModem | None = None,
        *,
        profile: Profile | str = "generic",
        knobs: Knobs | None = None,
        link: str | Path | None = None,
        name: str = "sim",
    ) -> None:
        self.sim = sim or SimModem(profile, knobs=knobs)
        self.name = name
        self.link = Path(link) if link is not None else None
        #: The slave side the host opens; set by start() and replug().
        self.path = ""
        self._master = -1
        self._slave = -1
        self._pending = bytearray()
        self._has_output = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._writer: asyncio.Task[None] | None = None

    @property
    def plugged(self) -> bool:
        """True while the pseudo-terminal exists."""
        return self._master >= 0

    async def start(self) -> None:
        """Open the pseudo-terminal and power the modem on."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name=f"{self.name}-pty-writer")
        self._open()
        loop = asyncio.get_running_loop()
        self.sim.output = self._queue_output
        self.sim.scheduler = loop.call_later
        self.sim.power_on()

    async def settle(self) -> None:
        """Drop what the modem said so far, as a host that opens a booted modem sees nothing."""
        await self._drained.wait()
        if self.plugged:
            termios.tcflush(self._slave, termios.TCIFLUSH)

    async def replug(self) -> None:
        """Come back after :meth:`unplug`: a new pty (new path), the link re-pointed, a boot."""
        if self.plugged:
            self.unplug()
        await self.start()

    def unplug(self) -> None:
        """Vanish: the host's next read gets EOF or EIO; the link disappears as udev's would."""
        if not self.plugged:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        self.sim.close()
        self._pending.clear()
        self._drained.set()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1
        self._remove_link()
        LOGGER.info("%s: unplugged %s", self.name, self.path)

    async def stop(self) -> None:
        """Unplug for good and stop the writer task."""
        self.unplug()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    def _open(self) -> None:
        master, slave = os.openpty()
        # Raw mode on the slave: no echo, no CR/LF mapping, so bytes pass exactly as sent.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        asyncio.get_running_loop().add_reader(master, self._readable)
        self._point_link()
        LOGGER.info("%s: simulated %s modem on %s", self.name, self.sim.profile.name, self.path)

    def _point_link(self) -> None:
        if self.link is None:
            return
        temporary = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self.path)
        temporary.replace(self.link)  # atomic: a reader never sees the link missing

    def _remove_link(self) -> None:
        if self.link is not None and self.link.is_symlink():
            self.link.unlink(missing_ok=True)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            LOGGER.warning("%s: pty read failed: %s", self.name, exc)
            return
        if data:
            LOGGER.debug("%s: <- %r", self.name, data)
            self.sim.feed(data)

    def _queue_output(self, data: bytes) -> None:
        if self.plugged:
            self._pending += data
            self._drained.clear()
            self._has_output.set()

    async def _write_loop(self) -> None:
        while True:
            await self._has_output.wait()
            self._has_output.clear()
            while self._pending and self.plugged:
                knobs = self.sim.knobs  # read each time: a test may change them while we run
                if knobs.write_delay:
                    await asyncio.sleep(knobs.write_delay)
                size = knobs.chunk_size or len(self._pending)
                written = await self._write_some(bytes(self._pending[:size]))
                del self._pending[:written]
            self._drained.set()

    async def _write_some(self, chunk: bytes) -> int:
        """Write what the pty takes now, waiting while its buffer is full."""
        while self.plugged:
            try:
                written = os.write(self._master, chunk)
            except BlockingIOError:
                await self._writable()
                continue
            except OSError as exc:
                LOGGER.warning("%s: pty write failed: %s", self.name, exc)
                return len(chunk)
            LOGGER.debug("%s: -> %r", self.name, chunk[:written])
            return written
        return len(chunk)

    async def _writable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        master = self._master
        loop.add_writer(master, ready.set_result, None)
        try:
            await asyncio.wait_for(ready, timeout=1.0)
        except TimeoutError:
            pass  # checked again by the caller; an unplug may have closed the fd
        finally:
            loop.remove_writer(master)
