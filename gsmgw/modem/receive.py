"""Receiving for the driver: +CMT/+CDS delivered directly, +CMTI/+CDSI read with AT+CMGR.

Indications that need a command of their own go through a bounded queue to a worker task,
so the reader never waits for the modem. A stored message is reported with its index and
stays on the SIM until the caller, having stored it, calls ``Modem.delete(index)``; a lost
indication costs latency only, since the caller's sweep (``Modem.read_stored``) finds it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gsmgw.at import commands as at
from gsmgw.at.events import (
    MessageDelivered,
    NewMessageIndication,
    StatusReportDelivered,
    StatusReportIndication,
)
from gsmgw.errors import CommandError, ModemTimeout, ModemUnavailable, RemoteProtocolError
from gsmgw.modem.events import IncomingSms, StatusReportReceived

if TYPE_CHECKING:
    from gsmgw.modem.driver import Modem

LOGGER = logging.getLogger(__name__)

WORK_QUEUE_SIZE = 1024

_Work = MessageDelivered | StatusReportDelivered | NewMessageIndication | StatusReportIndication


class Receiver:
    """The receiving side of one Modem."""

    def __init__(self, modem: Modem) -> None:
        self._modem = modem
        self._work: asyncio.Queue[_Work] = asyncio.Queue(WORK_QUEUE_SIZE)

    def delivered(self, urc: MessageDelivered | StatusReportDelivered) -> None:
        """+CMT or +CDS: the PDU came with the URC (TS 27.005 §3.4.1)."""
        modem = self._modem
        pdu = self.pdu_bytes(urc.pdu, urc.PREFIX)
        if pdu is not None and isinstance(urc, MessageDelivered):
            modem.emit(IncomingSms(modem.name, pdu, None))
        elif pdu is not None:
            # Some modems give +CDS without the SMSC field: its length then equals <length>.
            modem.emit(StatusReportReceived(modem.name, pdu, None, has_smsc=len(pdu) != urc.length))
        if modem.profile.ack_direct:
            self._queue(urc)

    def indicated(self, urc: NewMessageIndication | StatusReportIndication) -> None:
        """+CMTI or +CDSI: a message was stored; read it in the worker."""
        self._queue(urc)

    def _queue(self, urc: _Work) -> None:
        try:
            self._work.put_nowait(urc)
        except asyncio.QueueFull:
            self._modem.dropped_events += 1
            LOGGER.warning("%s: %r dropped (the sweep finds it)", self._modem.name, urc)

    async def run(self) -> None:
        """Work through the queue until the port is gone."""
        while True:
            urc = await self._work.get()
            try:
                await self._work_on(urc)
            except ModemUnavailable:
                return
            except (CommandError, ModemTimeout, RemoteProtocolError) as exc:
                LOGGER.warning("%s: %r failed: %s (the sweep retries)", self._modem.name, urc, exc)

    async def _work_on(self, urc: _Work) -> None:
        modem = self._modem
        if isinstance(urc, MessageDelivered | StatusReportDelivered):
            await modem.execute(at.cnma())  # TS 27.005 §3.4.4, needed with AT+CSMS=1
            return
        stored = await modem.execute(at.cmgr(urc.index))
        pdu = self.pdu_bytes(stored.pdu if stored else None, f"{urc.PREFIX} {urc.index}")
        if pdu is None:
            return
        if isinstance(urc, NewMessageIndication):
            modem.emit(IncomingSms(modem.name, pdu, urc.index, urc.storage))
        else:
            modem.emit(StatusReportReceived(modem.name, pdu, urc.index))

    def pdu_bytes(self, pdu: str | None, where: str) -> bytes | None:
        """Return a PDU line as bytes, or None (logged, counted) when it is not hex."""
        try:
            return bytes.fromhex(pdu or "") or None
        except ValueError:
            self._modem.garbage += 1
            LOGGER.warning("%s: %s: not a PDU, skipped: %r", self._modem.name, where, pdu)
            return None
