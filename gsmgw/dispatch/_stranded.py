"""Messages left ``sending`` when the store could not record what became of them.

A store write can fail while the daemon runs (the disk is full, the file system went read-only).
If it fails between a claim and the end of a send, the message stays ``sending`` in the database
with nobody working on it: only the start-up's ``requeue_in_flight`` would free it. The
dispatcher hands such messages here instead; this keeps asking the store to queue them again
(a part recorded as being sent counts as of unknown outcome, as after a crash) until a write
succeeds, then wakes the modems.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from typing import Any, NoReturn

from gsmgw.errors import StoreError
from gsmgw.store import Store

LOGGER = logging.getLogger(__package__)

#: Seconds between attempts while the store cannot write.
RETRY_DELAY = 2.0


class Stranded:
    """Requeues messages whose state could not be written, as soon as the store writes again."""

    def __init__(self, store: Store, requeued: Callable[[], None]) -> None:
        self._store = store
        self._requeued = requeued
        self._ids: set[str] = set()
        self._added = asyncio.Event()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, message_id: str) -> None:
        """Remember ``message_id`` (its sender let it go) until it is queued again."""
        LOGGER.warning("%s: state not recorded; queued again once the store writes", message_id)
        self._ids.add(message_id)
        self._added.set()

    def watch(self, message_id: str, write: asyncio.Future[Any]) -> None:
        """Add ``message_id`` if ``write`` (a commit nobody else checks) fails on the store."""

        def done(future: asyncio.Future[Any]) -> None:
            if not future.cancelled() and isinstance(future.exception(), StoreError):
                self.add(message_id)

        write.add_done_callback(done)

    async def run(self) -> NoReturn:
        """Requeue what was added, retrying while the store fails."""
        while True:
            await self._added.wait()
            self._added.clear()
            for message_id in sorted(self._ids):
                try:
                    await self._store.release(message_id, error="the store could not write")
                except StoreError as exc:
                    LOGGER.debug("%s: still cannot requeue: %s", message_id, exc)
                    self._added.set()
                    await asyncio.sleep(RETRY_DELAY)
                    break
                self._ids.discard(message_id)
                LOGGER.info("%s: queued again after a store error", message_id)
                self._requeued()
