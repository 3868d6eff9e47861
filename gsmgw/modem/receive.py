"""Receiving for the driver: +CMT/+CDS carry their PDU, +CMTI/+CDSI only an index.

The driver reads and deletes nothing on its own: an indication becomes an ``SmsIndicated``
event and the one consumer of the modem's received work (``gsmgw.dispatch.ModemInbox``) reads
the index with ``Modem.read``, stores it and deletes it with ``Modem.delete``, so no read or
delete of a SIM location ever interleaves with another. A message routed straight to us
(+CMT, +CDS) becomes an event with its PDU and, with AT+CSMS=1, is acknowledged only when the
consumer calls ``Modem.acknowledge`` after its commit (TS 27.005 §3.4.4): a crash before that
leaves it unacknowledged and the network delivers it again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gsmgw.at.events import (
    MessageDelivered,
    NewMessageIndication,
    StatusReportDelivered,
    StatusReportIndication,
)
from gsmgw.modem.events import IncomingSms, SmsIndicated, StatusReportReceived

if TYPE_CHECKING:
    from gsmgw.modem.driver import Modem

LOGGER = logging.getLogger(__name__)


class Receiver:
    """The receiving side of one Modem: URCs to events, PDU lines to bytes."""

    def __init__(self, modem: Modem) -> None:
        self._modem = modem

    def delivered(self, urc: MessageDelivered | StatusReportDelivered) -> None:
        """+CMT or +CDS: the PDU came with the URC (TS 27.005 §3.4.1)."""
        modem = self._modem
        pdu = self.pdu_bytes(urc.pdu, urc.PREFIX)
        if pdu is None:
            # Not even hex, so nothing to store; left unacknowledged (AT+CSMS=1), the network
            # delivers it again, usually without the line noise that garbled it.
            return
        if isinstance(urc, MessageDelivered):
            modem.emit(IncomingSms(modem.name, pdu, None))
        else:
            # Some modems give +CDS without the SMSC field: its length then equals <length>.
            modem.emit(StatusReportReceived(modem.name, pdu, None, has_smsc=len(pdu) != urc.length))

    def indicated(self, urc: NewMessageIndication | StatusReportIndication) -> None:
        """+CMTI or +CDSI: a message was stored; the consumer reads it."""
        report = isinstance(urc, StatusReportIndication)
        self._modem.emit(SmsIndicated(self._modem.name, urc.index, urc.storage, report=report))

    def pdu_bytes(self, pdu: str | None, where: str) -> bytes | None:
        """Return a PDU line as bytes, or None (logged, counted) when it is not hex."""
        try:
            return bytes.fromhex(pdu or "") or None
        except ValueError:
            self._modem.garbage += 1
            LOGGER.warning("%s: %s: not a PDU, skipped: %r", self._modem.name, where, pdu)
            return None
