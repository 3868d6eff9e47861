"""One ESME's TCP connection: the bind states, the request window, and our own requests.

SPEC.md "SMPP server": a session is OPEN until a bind; a bind names a user of ``users_file``
(``ESME_RINVSYSID``, ``ESME_RINVPASWD``; a second bind ``ESME_RALYBND``). Requests are read in
order, answered at once when no await is needed (binds, ``enquire_link``, ``unbind``) and
otherwise handled in a task each, at most ``window`` at once (the next gets ``ESME_RTHROTTLED``),
so pipelined submits share the store's group commit and may be answered out of order, as SMPP
allows. A framing error gets ``generic_nack`` and the connection is closed; a body that does not
parse gets ``generic_nack`` with its status and the session goes on; an unknown command gets
``generic_nack`` ``ESME_RINVCMDID``. Whatever a client sends ends at most its own session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
import contextlib
from enum import Enum
import hmac
import logging
from typing import TYPE_CHECKING

from gsmgw.errors import SmppError
from gsmgw.smpp import (
    INTERFACE_VERSION,
    NEED_DATA,
    RESPONSE_BIT,
    Bind,
    BindKind,
    BindResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReaderState,
    SmppConnection,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tlvs,
    Unbind,
    UnbindResp,
    UnknownPdu,
    encode,
)

if TYPE_CHECKING:
    from gsmgw.bridges.smpp._server import SmppServer

LOGGER = logging.getLogger(__package__)

#: The system_id gsmgw answers binds with.
SERVER_SYSTEM_ID = "gsmgw"
#: What a session reads at once.
READ_SIZE = 64 * 1024
#: Our own requests (deliver_sm, unbind) are sequenced from here; SMPP 3.4 §5.1.4 allows
#: 0x00000001 to 0x7FFFFFFF.
MAX_SEQUENCE = 0x7FFF_FFFF


class BindState(Enum):
    """Where a session is (SMPP 3.4 §2.2): OPEN until a bind, then bound as one of three."""

    OPEN = "open"
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"
    CLOSED = "closed"


_BOUND = {
    BindKind.TRANSMITTER: BindState.TRANSMITTER,
    BindKind.RECEIVER: BindState.RECEIVER,
    BindKind.TRANSCEIVER: BindState.TRANSCEIVER,
}
#: Requests answered in a task of their own (they wait for the store): the window counts them.
_WINDOWED = (SubmitSm, DataSm, QuerySm, CancelSm)
#: Responses the server may receive to its own requests.
_RESPONSES = (DeliverSmResp, EnquireLinkResp, UnbindResp, GenericNack)


class SessionClosed(Exception):
    """The session closed before the ESME answered our request."""


class Session:
    """One ESME connection; ``run()`` reads and answers until it closes."""

    def __init__(
        self, server: SmppServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.state = BindState.OPEN
        self.system_id: str | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        #: The ESME's requests being handled now (the window SPEC.md caps at 10).
        self.in_flight = 0
        #: Our requests waiting for the ESME's response, by sequence number.
        self.waiting: dict[int, asyncio.Future[Pdu]] = {}
        self._codec = SmppConnection()
        self._sequence = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def bound(self) -> bool:
        """True while bound (in any of the three binds)."""
        return self.state not in (BindState.OPEN, BindState.CLOSED)

    @property
    def receives(self) -> bool:
        """True when this session takes deliver_sm (receiver or transceiver)."""
        return self.state in (BindState.RECEIVER, BindState.TRANSCEIVER)

    @property
    def transmits(self) -> bool:
        """True when this session may submit (transmitter or transceiver)."""
        return self.state in (BindState.TRANSMITTER, BindState.TRANSCEIVER)

    def status(self) -> dict[str, object]:
        """Return what ``gsmgw status`` shows of this session."""
        return {
            "user": self.system_id,
            "bind": self.state.value,
            "peer": self.peer,
            "window": self.in_flight,
            "deliveries_in_flight": len(self.waiting),
        }

    # --- reading ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and answer until the ESME unbinds or goes, or the session idles out."""
        try:
            while self.state is not BindState.CLOSED:
                try:
                    async with asyncio.timeout(self.server.settings.idle_timeout):
                        data = await self.reader.read(READ_SIZE)
                except TimeoutError:
                    LOGGER.info("SMPP %s (%s) idle: closed", self.peer, self.system_id)
                    break
                if not data:
                    break
                self._codec.receive_data(data)
                self._read_pdus()
                await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            LOGGER.info("SMPP %s (%s) lost: %s", self.peer, self.system_id, exc)
        finally:
            self._close()

    def _read_pdus(self) -> None:
        while self.state is not BindState.CLOSED:
            try:
                pdu = self._codec.next_pdu()
            except SmppError as exc:
                LOGGER.info("SMPP %s sent a bad PDU: %s", self.peer, exc)
                self.send(GenericNack(sequence=exc.sequence or 0, status=exc.status))
                if self._codec.state is ReaderState.BROKEN:
                    self.state = BindState.CLOSED  # the framing is lost: nothing more makes sense
                continue
            if pdu is NEED_DATA:
                return
            self._dispatch(pdu)

    def _dispatch(self, pdu: Pdu) -> None:
        if isinstance(pdu, _RESPONSES):
            future = self.waiting.pop(pdu.sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu)
        elif isinstance(pdu, UnknownPdu):
            if not pdu.command_id & RESPONSE_BIT:  # a response is never answered (§4.3.1)
                self.send(GenericNack(sequence=pdu.sequence, status=Status.ESME_RINVCMDID))
        elif isinstance(pdu, Bind):
            self._bind(pdu)
        elif isinstance(pdu, EnquireLink):
            self.send(EnquireLinkResp(sequence=pdu.sequence))
        elif isinstance(pdu, Unbind):
            self._unbind(pdu)
        elif isinstance(pdu, _WINDOWED):
            self._request(pdu)
        elif not pdu.command_id & RESPONSE_BIT:
            # outbind, deliver_sm: what an SMSC sends, not what it takes.
            self.send(GenericNack(sequence=pdu.sequence, status=Status.ESME_RINVCMDID))

    def _bind(self, pdu: Bind) -> None:
        status = Status.ESME_ROK
        if self.state is not BindState.OPEN:
            status = Status.ESME_RALYBND
        else:
            password = self.server.users.get(pdu.system_id)
            if password is None:
                status = Status.ESME_RINVSYSID
            elif not hmac.compare_digest(password.encode(), pdu.password.encode()):
                status = Status.ESME_RINVPASWD
        if status != Status.ESME_ROK:
            LOGGER.warning("SMPP %s bind as %r refused: %s", self.peer, pdu.system_id, status.name)
            self.send(BindResp(kind=pdu.kind, sequence=pdu.sequence, status=status))
            return
        self.state = _BOUND[pdu.kind]
        self.system_id = pdu.system_id
        tlvs = Tlvs.of(sc_interface_version=INTERFACE_VERSION)
        self.send(
            BindResp(kind=pdu.kind, sequence=pdu.sequence, system_id=SERVER_SYSTEM_ID, tlvs=tlvs)
        )
        LOGGER.info("SMPP %s bound as %s (%s)", self.peer, pdu.system_id, self.state.value)
        self.server.session_bound(self)

    def _unbind(self, pdu: Unbind) -> None:
        if not self.bound:
            self.send(UnbindResp(sequence=pdu.sequence, status=Status.ESME_RINVBNDSTS))
            return
        self.send(UnbindResp(sequence=pdu.sequence))
        LOGGER.info("SMPP %s (%s) unbound", self.peer, self.system_id)
        self.state = BindState.CLOSED

    def _request(self, pdu: SubmitSm | DataSm | QuerySm | CancelSm) -> None:
        allowed = self.transmits
        if not allowed:
            self._reply(pdu, refusal(pdu, Status.ESME_RINVBNDSTS))
        elif self.in_flight >= self.server.settings.window:
            self._reply(pdu, refusal(pdu, Status.ESME_RTHROTTLED))
        else:
            self.in_flight += 1
            self.spawn(self._answer(pdu))

    async def _answer(self, pdu: SubmitSm | DataSm | QuerySm | CancelSm) -> None:
        assert self.system_id is not None
        try:
            response = await self.server.answer(pdu, self.system_id)
        finally:
            self.in_flight -= 1
        self._reply(pdu, response)
        if self.state is not BindState.CLOSED:
            await _quietly(self.writer.drain())

    def _reply(self, pdu: SubmitSm | DataSm | QuerySm | CancelSm, response: Pdu) -> None:
        self.server.counts.answered(self.system_id, pdu, response)
        self.send(response)

    # --- writing and our own requests ------------------------------------------------------

    def send(self, pdu: Pdu) -> None:
        """Queue a PDU for the ESME (dropped once the connection is closing)."""
        if not self.writer.is_closing():
            self.writer.write(encode(pdu))

    def next_sequence(self) -> int:
        """Return the sequence number of our next request."""
        self._sequence = self._sequence % MAX_SEQUENCE + 1
        return self._sequence

    async def request(self, pdu: Pdu, *, patience: float) -> Pdu:
        """Send one of our requests and return the ESME's response.

        Raises:
            SessionClosed: the session closed first.
            TimeoutError: no response within ``patience`` seconds.
        """
        if self.state is BindState.CLOSED or self.writer.is_closing():
            raise SessionClosed
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self.waiting[pdu.sequence] = future
        try:
            self.send(pdu)
            async with asyncio.timeout(patience):
                return await future
        finally:
            self.waiting.pop(pdu.sequence, None)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run work for this session in a task it keeps; its failure is logged, never raised."""
        task = asyncio.ensure_future(_logged(work, self))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def unbind(self, *, patience: float) -> None:
        """Unbind from our side (the daemon stops): unbind, wait briefly for unbind_resp, close."""
        if self.bound:
            with contextlib.suppress(SessionClosed, TimeoutError, ConnectionError, OSError):
                await self.request(Unbind(sequence=self.next_sequence()), patience=patience)
        self.state = BindState.CLOSED
        self._close()

    def _close(self) -> None:
        was_bound = self.bound
        self.state = BindState.CLOSED
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(SessionClosed())
        self.waiting.clear()
        if not self.writer.is_closing():
            self.writer.close()
        self.server.session_closed(self, was_bound=was_bound)


def refusal(pdu: SubmitSm | DataSm | QuerySm | CancelSm, status: int) -> Pdu:
    """Return the response of pdu's kind with an error status and an empty body."""
    if isinstance(pdu, SubmitSm):
        return SubmitSmResp(sequence=pdu.sequence, status=status)
    if isinstance(pdu, DataSm):
        return DataSmResp(sequence=pdu.sequence, status=status)
    if isinstance(pdu, QuerySm):
        return QuerySmResp(sequence=pdu.sequence, status=status)
    return CancelSmResp(sequence=pdu.sequence, status=status)


async def _quietly(work: Awaitable[None]) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        await work


async def _logged(work: Awaitable[None], session: Session) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except (ConnectionError, OSError):
        pass
    except Exception:
        LOGGER.exception("SMPP %s (%s): a request failed", session.peer, session.system_id)
