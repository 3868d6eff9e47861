"""Receiving: decode what modems deliver, store it, and only then let it go from the SIM.

STYLE.md "Data flow / Receive": a ``+CMTI`` index is read with ``AT+CMGR``, a ``+CMT``/``+CDS``
URC carries its PDU; either way the PDU is decoded here and committed to the store before the
SIM copy is deleted (``AT+CMGD``), so a crash in between costs a duplicate the store recognises
(by the raw PDU's digest), never a message. Status reports update the outbound message they
belong to (matched on modem and TP-MR). An inbound text that is an opt-out keyword puts its
sender on the opt-out list. A PDU we cannot decode is logged with its raw hex and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import enum
import logging
from typing import Protocol

from gsmgw.config import OptOutConfig
from gsmgw.errors import CommandError, ModemTimeout, PduError
from gsmgw.models import InboundPart, IncomingMessage, StatusReport
from gsmgw.modem.events import IncomingSms, ModemEvent, StatusReportReceived, StoredMessage
from gsmgw.sms import Deliver, StatusReport as ReportPdu, Submit, decode_pdu
from gsmgw.store import Store

LOGGER = logging.getLogger(__package__)

#: Retries of an unmatched status report, REPORT_RETRY_DELAY seconds apart.
REPORT_RETRIES = 5
REPORT_RETRY_DELAY = 0.2


class InboundOutcome(enum.Enum):
    """What became of one PDU; all but ``KEEP`` mean the SIM copy may be deleted."""

    #: A new part or message, committed.
    STORED = "stored"
    #: Seen before (the network repeated it, or a sweep read it again).
    DUPLICATE = "duplicate"
    #: A status report, applied to its outbound message (or matching none).
    REPORT = "report"
    #: Undecodable or of a kind we do not take (logged with its raw hex).
    SKIPPED = "skipped"


class InboxLink(Protocol):
    """What receiving needs from a modem driver (``gsmgw.modem.driver.Modem`` provides it)."""

    async def read_stored(self) -> list[StoredMessage]:
        """List the stored messages (AT+CMGL)."""
        ...

    async def delete(self, index: int) -> None:
        """Delete one stored message (AT+CMGD)."""
        ...


#: <stat> of AT+CMGL entries that are drafts or sent copies (TS 27.005 §3.1): not received.
_STORED_MO = (2, 3)


class Inbound:
    """Turns PDUs from the modems into stored messages and report updates."""

    def __init__(self, store: Store, opt_out: OptOutConfig) -> None:
        self._store = store
        self.opt_out = opt_out
        self.received = 0
        self.reports = 0
        self.skipped = 0

    async def pdu_received(
        self, modem_id: str, pdu: bytes, *, has_smsc: bool = True
    ) -> InboundOutcome:
        """Decode and store one PDU as +CMGR, +CMGL, +CMT or +CDS give it."""
        try:
            message = decode_pdu(pdu, has_smsc=has_smsc)
        except PduError as exc:
            LOGGER.warning("%s: undecodable PDU %s skipped: %s", modem_id, pdu.hex().upper(), exc)
            self.skipped += 1
            return InboundOutcome.SKIPPED
        if isinstance(message, ReportPdu):
            await self._report(modem_id, message)
            return InboundOutcome.REPORT
        if isinstance(message, Submit):
            # A SUBMIT in the SIM is a draft or a sent copy some other software stored.
            LOGGER.info("%s: stored SMS-SUBMIT skipped", modem_id)
            self.skipped += 1
            return InboundOutcome.SKIPPED
        return await self._deliver(modem_id, message, pdu)

    async def _deliver(self, modem_id: str, message: Deliver, pdu: bytes) -> InboundOutcome:
        concat = message.concat
        text = message.text if message.data is None else None
        part = InboundPart(
            sender=message.sender,
            text="" if text is None and message.data is None else text,
            data=message.data,
            encoding=str(message.encoding),
            smsc=message.smsc,
            timestamp=message.timestamp,
            raw=pdu,
            concat=None if concat is None else (concat.ref, concat.part, concat.total),
        )
        result = await self._store.store_incoming_part(modem_id, part)
        if result.duplicate:
            LOGGER.debug("%s: duplicate part from the network or a sweep", modem_id)
            return InboundOutcome.DUPLICATE
        if result.message is not None:
            self.received += 1
            stored = result.message
            LOGGER.info("%s: SMS %s stored (%d parts)", modem_id, stored.id, stored.parts)
            await self.check_opt_out(result.message)
        return InboundOutcome.STORED

    async def check_opt_out(self, message: IncomingMessage) -> None:
        """Put the sender on the opt-out list when the text is one of the keywords."""
        if message.text is None or not self.opt_out.matches(message.text):
            return
        if await self._store.opt_out_add(message.sender, source="keyword"):
            LOGGER.info("%s: sender opted out by keyword", message.modem)

    async def _report(self, modem_id: str, pdu: ReportPdu) -> None:
        self.reports += 1
        report = StatusReport(
            modem=modem_id,
            reference=pdu.reference,
            status=pdu.status,
            recipient=pdu.recipient,
            discharge_time=pdu.discharge_time,
        )
        match = await self._store.match_status_report(report)
        for _ in range(REPORT_RETRIES):
            if match is not None:
                break
            # A fast SMSC's report can overtake the commit of the part's TP-MR.
            await asyncio.sleep(REPORT_RETRY_DELAY)
            match = await self._store.match_status_report(report)
        if match is None:
            LOGGER.info("%s: status report for unknown TP-MR %d", modem_id, pdu.reference)
        elif match.event is not None:
            LOGGER.info("%s: %s is %s", modem_id, match.message_id, match.event.state)

    async def on_event(self, modem_id: str, link: InboxLink | None, event: ModemEvent) -> bool:
        """Handle a received SMS or status report; return False for other events.

        ``link`` deletes the SIM copy once stored; without one (the modem is gone) the copy
        stays, and the sweep after the modem is back finds it as a duplicate.
        """
        if isinstance(event, IncomingSms):
            outcome = await self.pdu_received(modem_id, event.pdu)
        elif isinstance(event, StatusReportReceived):
            outcome = await self.pdu_received(modem_id, event.pdu, has_smsc=event.has_smsc)
        else:
            return False
        if event.index is not None and link is not None:
            await self._delete(modem_id, link, event.index, outcome)
        return True

    async def sweep(self, modem_id: str, link: InboxLink) -> int:
        """Store what the SIM holds (a missed +CMTI costs latency, not a message); return count."""
        stored: Sequence[StoredMessage] = await link.read_stored()
        handled = 0
        for entry in stored:
            if entry.stat in _STORED_MO:
                continue
            outcome = await self.pdu_received(modem_id, entry.pdu)
            await self._delete(modem_id, link, entry.index, outcome)
            handled += 1
        if handled:
            LOGGER.info("%s: sweep took %d stored messages", modem_id, handled)
        return handled

    async def _delete(
        self, modem_id: str, link: InboxLink, index: int, outcome: InboundOutcome
    ) -> None:
        """Free the SIM slot: the PDU is stored (or logged raw, when undecodable)."""
        try:
            await link.delete(index)
        except (CommandError, ModemTimeout) as exc:
            LOGGER.warning("%s: could not delete index %d (%s): %s", modem_id, index, outcome, exc)
