"""Receiving without +CMTI: list the storage's unread messages at a modest interval.

A modem that stores SMS but accepts no AT+CNMI setting (or only one that never announces
them) still receives: every ``POLL_INTERVAL`` AT+CMGL=0 lists the messages received unread,
and each becomes an :class:`IncomingSms` with its index, exactly as a +CMTI read would.
Listing marks them read (TS 27.005 §3.4.2), so each is reported once; the caller deletes it
once stored, and its periodic full sweep (AT+CMGL=4) finds any report that was lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gsmgw.at import commands as at
from gsmgw.errors import CommandError, ModemTimeout, ModemUnavailable, RemoteProtocolError
from gsmgw.modem.events import IncomingSms

if TYPE_CHECKING:
    from gsmgw.modem.driver import Modem

LOGGER = logging.getLogger(__name__)

#: Seconds between two listings: a message waits at most this long, and the modem is asked
#: twice a minute, which an old modem on 9600 baud serves in well under a second.
POLL_INTERVAL = 30.0
CMGL_UNREAD = at.Command("AT+CMGL=0", at.parse_cmgl, timeout=at.LIST_TIMEOUT)


async def poll_storage(modem: Modem, interval: float) -> None:
    """Report unread stored messages every ``interval`` seconds until the port is gone."""
    while True:
        await asyncio.sleep(interval)
        try:
            entries = await modem.execute(CMGL_UNREAD)
        except ModemUnavailable:
            return
        except (CommandError, ModemTimeout, RemoteProtocolError) as exc:
            LOGGER.warning("%s: polling the storage failed: %s", modem.name, exc)
            continue
        for entry in entries:
            try:
                pdu = bytes.fromhex(entry.pdu or "")
            except ValueError:
                pdu = b""
            if entry.index is None or not pdu:
                modem.garbage += 1
                LOGGER.warning("%s: polled entry without a PDU: %r", modem.name, entry)
                continue
            modem.emit(IncomingSms(modem.name, pdu, entry.index, modem.storage))
