"""Receiving: decode what modems deliver, store it, and only then let it go from the SIM.

A ``+CMTI`` index is read with ``AT+CMGR``, a ``+CMT``/``+CDS`` URC carries its PDU; either
way the PDU is decoded here and committed to the store before the SIM copy is deleted
(``AT+CMGD``) or the network's delivery acknowledged (``AT+CNMA``, TS 27.005 §3.4.4), so a
crash in between costs a duplicate the store recognises (by the raw PDU's digest), never a
message; a store that cannot write refuses a direct delivery (``AT+CNMA=2``) so the network
delivers it again. A location is deleted right after it was read in the same step of the
modem's one consumer (``ModemInbox``), or, for a duplicate from an older read, only after a
fresh ``AT+CMGR`` shows the same PDU still there: a slot freed and reused by a new message is
never deleted unread. Status reports update the outbound message they belong to. An inbound
text that is an opt-out keyword puts its sender on the opt-out list in the same transaction.
A PDU we cannot decode is kept raw in the store (and announced on the errors topic) first.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import Protocol

from gsmgw.config import OptOutConfig
from gsmgw.errors import CommandError, ModemTimeout, PduError, StoreError
from gsmgw.models import InboundPart, StatusReport
from gsmgw.modem.events import (
    IncomingSms,
    ModemEvent,
    SmsIndicated,
    StatusReportReceived,
    StoredMessage,
)
from gsmgw.sms import Deliver, StatusReport as ReportPdu, Submit, decode_pdu
from gsmgw.store import Store

LOGGER = logging.getLogger(__package__)

#: Retries of an unmatched status report, REPORT_RETRY_DELAY seconds apart.
REPORT_RETRIES = 5
REPORT_RETRY_DELAY = 0.2


class InboundOutcome(enum.Enum):
    """What became of one PDU; every one means the SIM copy may be deleted."""

    #: A new part or message, committed.
    STORED = "stored"
    #: Seen before (the network repeated it, or a sweep read it again).
    DUPLICATE = "duplicate"
    #: A status report, applied to its outbound message (or matching none).
    REPORT = "report"
    #: Undecodable: kept raw in the store (``gsmgw inbox``, the errors topic).
    KEPT_RAW = "kept_raw"
    #: Of a kind we do not take (an SMS-SUBMIT draft some other software stored).
    SKIPPED = "skipped"


class InboxLink(Protocol):
    """What receiving needs from a modem driver (``gsmgw.modem.driver.Modem`` provides it)."""

    async def read_stored(self) -> list[StoredMessage]:
        """List the stored messages (AT+CMGL)."""
        ...

    async def read(self, index: int) -> bytes | None:
        """Read one stored message (AT+CMGR); None when the location is empty."""
        ...

    async def delete(self, index: int) -> None:
        """Delete one stored message (AT+CMGD)."""
        ...

    async def acknowledge(self, *, positive: bool = True) -> None:
        """Acknowledge (or refuse) the last direct delivery (AT+CNMA, AT+CNMA=2)."""
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
        self.kept_raw = 0

    async def pdu_received(
        self, modem_id: str, pdu: bytes, *, has_smsc: bool = True
    ) -> InboundOutcome:
        """Decode and store one PDU as +CMGR, +CMGL, +CMT or +CDS give it.

        Raises:
            StoreError: nothing was stored; the PDU must stay where it is.
        """
        try:
            message = decode_pdu(pdu, has_smsc=has_smsc)
        except PduError as exc:
            return await self._keep_raw(modem_id, pdu, str(exc))
        if isinstance(message, ReportPdu):
            await self._report(modem_id, message)
            return InboundOutcome.REPORT
        if isinstance(message, Submit):
            # A SUBMIT in the SIM is a draft or a sent copy some other software stored.
            LOGGER.info("%s: stored SMS-SUBMIT skipped", modem_id)
            self.skipped += 1
            return InboundOutcome.SKIPPED
        return await self._deliver(modem_id, message, pdu)

    async def _keep_raw(self, modem_id: str, pdu: bytes, error: str) -> InboundOutcome:
        result = await self._store.store_undecodable(modem_id, pdu, error=error)
        if result.duplicate:
            return InboundOutcome.DUPLICATE
        self.kept_raw += 1
        LOGGER.warning(
            "%s: undecodable PDU kept raw as %s: %s: %s", modem_id, result.id, error, pdu.hex()
        )
        return InboundOutcome.KEPT_RAW

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
        result = await self._store.store_incoming_part(
            modem_id, part, opt_out_keywords=self.opt_out.keywords
        )
        if result.duplicate:
            LOGGER.debug("%s: duplicate part from the network or a sweep", modem_id)
            return InboundOutcome.DUPLICATE
        if result.message is not None:
            self.received += 1
            stored = result.message
            LOGGER.info("%s: SMS %s stored (%d parts)", modem_id, stored.id, stored.parts)
        if result.opted_out:
            LOGGER.info("%s: sender opted out by keyword", modem_id)
        return InboundOutcome.STORED

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
        """Handle a received SMS, status report or indication; return False for other events.

        Call it from one consumer per modem (``ModemInbox``). ``link`` reads, deletes and
        acknowledges; without one (the modem is gone) a stored copy stays for the sweep after
        the modem is back, and a direct delivery goes unacknowledged, so the network repeats it.

        Raises:
            StoreError: nothing was stored; the SIM copy stays, a direct delivery was refused.
        """
        if isinstance(event, SmsIndicated):
            if link is not None:
                await self.indicated(modem_id, link, event.index)
        elif isinstance(event, IncomingSms | StatusReportReceived):
            if event.index is None:
                await self._direct(modem_id, link, event)
            else:
                outcome = await self._event_pdu(modem_id, event)
                if link is not None:
                    # Read before this step: the slot may have been freed and reused since.
                    await self._free(modem_id, link, event.index, event.pdu, outcome, fresh=False)
        else:
            return False
        return True

    async def _event_pdu(
        self, modem_id: str, event: IncomingSms | StatusReportReceived
    ) -> InboundOutcome:
        if isinstance(event, StatusReportReceived):
            return await self.pdu_received(modem_id, event.pdu, has_smsc=event.has_smsc)
        return await self.pdu_received(modem_id, event.pdu)

    async def _direct(
        self, modem_id: str, link: InboxLink | None, event: IncomingSms | StatusReportReceived
    ) -> None:
        """+CMT/+CDS: store, then acknowledge; refuse it when the store cannot write."""
        try:
            await self._event_pdu(modem_id, event)
        except StoreError:
            if link is not None:
                await self._acknowledge(modem_id, link, positive=False)
            raise
        if link is not None:
            await self._acknowledge(modem_id, link, positive=True)

    async def _acknowledge(self, modem_id: str, link: InboxLink, *, positive: bool) -> None:
        try:
            await link.acknowledge(positive=positive)
        except (CommandError, ModemTimeout) as exc:
            # Unacknowledged, the network delivers it again: a duplicate, never a loss.
            LOGGER.warning("%s: AT+CNMA failed (the network repeats the SMS): %s", modem_id, exc)

    async def indicated(self, modem_id: str, link: InboxLink, index: int) -> InboundOutcome | None:
        """+CMTI/+CDSI: read the index, store it, then delete it; None when it was empty."""
        pdu = await link.read(index)
        if pdu is None:
            return None  # taken by a sweep already
        outcome = await self.pdu_received(modem_id, pdu)
        await self._free(modem_id, link, index, pdu, outcome, fresh=True)
        return outcome

    async def sweep(self, modem_id: str, link: InboxLink) -> int:
        """Store what the SIM holds (a missed +CMTI costs latency, not a message); return count."""
        stored = await link.read_stored()
        handled = 0
        for entry in stored:
            if entry.stat in _STORED_MO:
                continue
            outcome = await self.pdu_received(modem_id, entry.pdu)
            # A duplicate is re-read first: only a crash or another program leaves one behind.
            await self._free(modem_id, link, entry.index, entry.pdu, outcome, fresh=False)
            handled += 1
        if handled:
            LOGGER.info("%s: sweep took %d stored messages", modem_id, handled)
        return handled

    async def _free(
        self,
        modem_id: str,
        link: InboxLink,
        index: int,
        pdu: bytes,
        outcome: InboundOutcome,
        *,
        fresh: bool,
    ) -> None:
        """Free the SIM slot of a stored PDU; a duplicate not read just now only if still there.

        ``fresh``: ``pdu`` was read from ``index`` in this step, and only this consumer deletes.
        """
        try:
            if not fresh and outcome is InboundOutcome.DUPLICATE:
                now = await link.read(index)
                if now != pdu:
                    LOGGER.info("%s: index %d holds another message now; kept", modem_id, index)
                    return
            await link.delete(index)
        except (CommandError, ModemTimeout) as exc:
            LOGGER.warning("%s: could not delete index %d (%s): %s", modem_id, index, outcome, exc)
