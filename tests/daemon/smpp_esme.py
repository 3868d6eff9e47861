"""A bare ESME for tests: asyncio streams and gsmgw's own SMPP codec, to send anything at all."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from pathlib import Path
from typing import Any, Self, TypeVar

import pytest

import gsmgw.bridges.smpp._server as smpp_server
from gsmgw.smpp import (
    NEED_DATA,
    Bind,
    BindKind,
    BindResp,
    DeliverSm,
    DeliverSmResp,
    Pdu,
    SmppConnection,
    Status,
    SubmitSm,
    SubmitSmResp,
    encode,
)

from .conftest import Running, StartDaemon, config_text, sim_modem

P = TypeVar("P")
#: A user of every kind: "shop" gets MO SMS, "other" does not.
USERS = "# system_id:password[:mo]\nshop:secret1:mo\nother:pw2\n"
TIMEOUT = 10.0


class Esme:
    """One TCP connection to the SMPP server, PDUs in and out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.codec = SmppConnection()
        self._sequence = 0

    @classmethod
    async def connect(cls, port: int) -> Self:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def seq(self) -> int:
        self._sequence += 1
        return self._sequence

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, *pdus: Pdu) -> None:
        await self.write(b"".join(encode(pdu) for pdu in pdus))

    async def recv(self, patience: float = TIMEOUT) -> Pdu:
        async with asyncio.timeout(patience):
            while True:
                pdu = self.codec.next_pdu()
                if pdu is not NEED_DATA:
                    return pdu
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError("the server closed the connection")
                self.codec.receive_data(data)

    async def recv_type(self, kind: type[P], patience: float = TIMEOUT) -> P:
        """Return the next PDU of ``kind``, skipping others."""
        while True:
            pdu = await self.recv(patience)
            if isinstance(pdu, kind):
                return pdu

    async def closed(self, patience: float = TIMEOUT) -> bool:
        """Return True once the server closed (reading what it still sends)."""
        async with asyncio.timeout(patience):
            while await self.reader.read(65536):
                pass
        return True

    async def bind(
        self, kind: BindKind = BindKind.TRANSCEIVER, user: str = "shop", password: str = "secret1"
    ) -> BindResp:
        await self.send(Bind(kind=kind, sequence=self.seq(), system_id=user, password=password))
        response = await self.recv_type(BindResp)
        return response

    async def submit(self, **fields: Any) -> SubmitSmResp:
        fields.setdefault("dest_addr_ton", 1)
        fields.setdefault("destination_addr", "491701234567")
        fields.setdefault("source_addr", "shop")
        fields.setdefault("source_addr_ton", 5)
        await self.send(SubmitSm(sequence=self.seq(), **fields))
        return await self.recv_type(SubmitSmResp)

    async def next_delivery(self, patience: float = TIMEOUT, *, ack: bool = True) -> DeliverSm:
        pdu = await self.recv_type(DeliverSm, patience)
        if ack:
            await self.send(DeliverSmResp(sequence=pdu.sequence))
        return pdu

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def smpp_config(tmp_path: Path, *, modems: str = "", gateway: str = "", users: str = USERS) -> str:
    users_file = tmp_path / "smpp.users"
    users_file.write_text(users, encoding="utf-8")
    users_file.chmod(0o600)
    smpp = f"[smpp]\nlisten = '127.0.0.1:0'\nusers_file = '{users_file}'\n"
    return config_text(modems or sim_modem("s1"), gateway=gateway) + smpp


StartSmpp = Callable[..., Awaitable[tuple[Running, int]]]


@pytest.fixture
def start_smpp(start_daemon: StartDaemon, tmp_path: Path) -> StartSmpp:
    """Return ``await start(...)``: a daemon with the SMPP server, and the server's port."""

    async def start(**kwargs: Any) -> tuple[Running, int]:
        running = await start_daemon(smpp_config(tmp_path, **kwargs))
        server = running.daemon.smpp
        assert server is not None
        await asyncio.wait_for(server.listening.wait(), TIMEOUT)
        await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
        assert server.port is not None
        return running, server.port

    return start


def ok(status: int) -> bool:
    return status == Status.ESME_ROK


__all__ = ["Esme", "StartSmpp", "ok", "smpp_config", "smpp_server", "start_smpp"]
