"""The serial port's writes: at once when the port takes them, buffered when it does not.

A bare pty stands for the modem: its master end is read (or not) by the test itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import importlib.metadata
import os
import tty

import pytest

from gsmgw.errors import ModemUnavailable
from gsmgw.modem.port import SerialPort

WAIT_TIMEOUT = 15.0


@pytest.fixture
async def pty_port() -> AsyncIterator[tuple[int, SerialPort]]:
    """Return (master fd, a SerialPort on the pty's other end)."""
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    port = await SerialPort.open(path)
    os.close(slave)  # the port has its own descriptor
    os.set_blocking(master, False)
    try:
        yield master, port
    finally:
        await port.close()
        with contextlib.suppress(OSError):  # a test closed it
            os.close(master)


def drain_master(master: int) -> bytes:
    """Return what the port wrote so far (never blocks)."""
    got = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except BlockingIOError:
            return got
        if not chunk:
            return got
        got += chunk


def test_the_pinned_pyserial_asyncio_still_has_what_the_port_uses() -> None:
    # The port's transport subclasses SerialTransport and uses its public ``serial``,
    # ``is_closing`` and ``get_write_buffer_size``: a new release must be checked first.
    import serial_asyncio

    assert importlib.metadata.version("pyserial-asyncio") == "0.6"
    for name in ("serial", "is_closing", "get_write_buffer_size", "write"):
        assert hasattr(serial_asyncio.SerialTransport, name), name


async def test_a_write_reaches_the_port_before_the_loop_turns(
    pty_port: tuple[int, SerialPort],
) -> None:
    master, port = pty_port
    await asyncio.sleep(0.05)  # the transport is set up (connection_made)
    transport = port._writer.transport
    transport.write(b"AT+CMGS=23\r")
    # No await in between: pyserial-asyncio alone would only have asked the loop to tell it
    # when the port is writable.
    assert drain_master(master) == b"AT+CMGS=23\r"
    assert transport.get_write_buffer_size() == 0


async def test_what_the_port_cannot_take_now_is_written_later_in_order(
    pty_port: tuple[int, SerialPort],
) -> None:
    master, port = pty_port
    # Far more than a pty buffers: the first write is partial, then EAGAIN; the rest waits
    # in the transport until the other end reads.
    data = bytes(range(256)) * 2048  # 512 KiB
    writing = asyncio.ensure_future(port.write(data))
    await asyncio.sleep(0.1)
    assert not writing.done()  # flow control holds the writer: nothing was dropped
    received = b""
    async with asyncio.timeout(WAIT_TIMEOUT):
        while len(received) < len(data):
            received += drain_master(master)
            await asyncio.sleep(0.001)
        await writing
    assert received == data
    await port.write(b"AT\r")  # and the direct path is back once the buffer is empty
    assert drain_master(master) == b"AT\r"


async def test_a_write_to_a_port_that_went_away_is_an_error(
    pty_port: tuple[int, SerialPort],
) -> None:
    master, port = pty_port
    os.close(master)  # the modem is unplugged: writes fail with EIO

    async def write_until_it_fails() -> None:
        async with asyncio.timeout(WAIT_TIMEOUT):
            while True:
                await port.write(b"AT\r")
                await asyncio.sleep(0.01)

    with pytest.raises(ModemUnavailable):
        await write_until_it_fails()
