"""``ModemInbox``: the one consumer of one modem's received work.

Every SIM read and delete of a modem goes through this one queue and task: ``+CMTI``/``+CDSI``
indications, ``+CMT``/``+CDS`` deliveries, sweep requests (periodic, after the modem became
ready, on storage-full). One item is handled at a time, so a sweep's ``AT+CMGL`` snapshot and
an indication's ``AT+CMGR`` can never interleave with a delete: the race of issue 14 (a stale
index deleting a new message nobody stored) has no room to happen. Sweep requests coalesce
into one. An overflow is logged and counted and turns into a sweep, which repairs it; an
overflowing direct delivery goes unacknowledged, and the network repeats it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import logging
from typing import NoReturn

from gsmgw.dispatch._inbound import Inbound, InboxLink
from gsmgw.errors import GsmgwError, StoreError
from gsmgw.modem.events import IncomingSms, SmsIndicated, StatusReportReceived

LOGGER = logging.getLogger(__package__)

#: Items waiting before new ones are dropped (and a sweep requested instead).
WORK_QUEUE_SIZE = 1024
# All of these are in seconds.
#: After the store refused what the SIM keeps (a full disk), sweep again this soon, doubling up
#: to STORE_RETRY_MAX_DELAY while it keeps refusing: the SMS is stored soon after space returns.
STORE_RETRY_DELAY = 2.0
STORE_RETRY_MAX_DELAY = 60.0

#: What the consumer takes from the modem's event stream.
ReceivedWork = IncomingSms | StatusReportReceived | SmsIndicated


class ModemInbox:
    """Queues one modem's received work and handles it, one item at a time, in ``run``."""

    def __init__(
        self,
        inbound: Inbound,
        modem_id: str,
        link: Callable[[], InboxLink | None],
        *,
        size: int = WORK_QUEUE_SIZE,
    ) -> None:
        self._inbound = inbound
        self._modem_id = modem_id
        self._link = link
        self._size = size
        self._queue: deque[ReceivedWork] = deque()
        self._sweep_wanted = False
        self._wake = asyncio.Event()
        self._busy = False
        self._retry: asyncio.TimerHandle | None = None
        self._retry_delay = STORE_RETRY_DELAY
        #: Work dropped because the queue was full (a sweep was requested for it).
        self.dropped = 0
        #: Sweeps done.
        self.sweeps = 0

    def put(self, work: ReceivedWork) -> None:
        """Queue received work (never waits: the modem's event stream must flow)."""
        if len(self._queue) >= self._size:
            self.dropped += 1
            LOGGER.warning(
                "%s: inbound queue full, %r dropped (a sweep repairs it)", self._modem_id, work
            )
            self.request_sweep()
            return
        self._queue.append(work)
        self._wake.set()

    def request_sweep(self) -> None:
        """Ask for a sweep of the SIM (AT+CMGL) after the work queued before it."""
        self._sweep_wanted = True
        self._wake.set()

    @property
    def idle(self) -> bool:
        """True when nothing waits (for tests and shutdown)."""
        return not (self._queue or self._sweep_wanted or self._wake.is_set() or self._busy)

    async def run(self) -> NoReturn:
        """Handle queued work until cancelled; no error of one item stops it."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._busy = True
                try:
                    while self._queue or self._sweep_wanted:
                        if self._queue:
                            await self.step(self._queue.popleft())
                        else:
                            self._sweep_wanted = False
                            await self.sweep()
                finally:
                    self._busy = False
        finally:
            if self._retry is not None:
                self._retry.cancel()

    def _sweep_later(self) -> None:
        """Sweep again soon: the store refused what the SIM keeps (back off while it does)."""
        if self._retry is not None:
            return
        delay, self._retry_delay = (
            self._retry_delay,
            min(self._retry_delay * 2, STORE_RETRY_MAX_DELAY),
        )
        self._retry = asyncio.get_running_loop().call_later(delay, self._retry_due)

    def _retry_due(self) -> None:
        self._retry = None
        self.request_sweep()

    async def step(self, work: ReceivedWork) -> None:
        """Handle one item: store it, then delete or acknowledge it; log what fails."""
        modem_id = self._modem_id
        try:
            await self._inbound.on_event(modem_id, self._link(), work)
        except StoreError as exc:
            if isinstance(work, SmsIndicated) or work.index is not None:
                LOGGER.warning("%s: %s; kept on the SIM for the next sweep", modem_id, exc)
                self._sweep_later()
            else:
                # Refused (AT+CNMA=2) where the modem acknowledges; else the PDU exists only here.
                LOGGER.error("%s: %s; PDU not stored: %s", modem_id, exc, work.pdu.hex().upper())
        except GsmgwError as exc:
            LOGGER.warning("%s: %r not handled (the sweep retries): %s", modem_id, work, exc)
        except Exception:  # a task boundary: one bad item must not stop the modem's receiving
            LOGGER.exception("%s: %r failed", modem_id, work)

    async def sweep(self) -> int:
        """Store what the SIM holds and free it; return how many entries were handled."""
        link = self._link()
        if link is None:
            return 0  # the modem is away; READY requests another
        self.sweeps += 1
        try:
            handled = await self._inbound.sweep(self._modem_id, link)
        except StoreError as exc:
            LOGGER.warning("%s: sweep stopped, the store refused: %s", self._modem_id, exc)
            self._sweep_later()
        except GsmgwError as exc:
            LOGGER.warning("%s: sweep failed (the next one retries): %s", self._modem_id, exc)
        except Exception:  # a task boundary, as in step()
            LOGGER.exception("%s: sweep failed", self._modem_id)
        else:
            self._retry_delay = STORE_RETRY_DELAY
            return handled
        return 0
