"""Retention in the running daemon: at start and hourly, what is older than ``keep_days`` goes.

The store deletes in small batches (``gsmgw.store.retention``), each its own transaction, so
sends and received SMS wait for one batch at most. A failed pass (the disk is full...) is logged
and tried again at the next hour; nothing depends on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import logging
from typing import NoReturn, TypeVar

from gsmgw.config import DEFAULT_RETRY_FOR
from gsmgw.errors import StoreError
from gsmgw.models import utc_now
from gsmgw.store import Purged, Store

LOGGER = logging.getLogger(__package__)

T = TypeVar("T")

#: Seconds between two retention passes (the first runs at start).
RETENTION_INTERVAL = 3600.0


async def run_retention(store: Store, keep_days: Callable[[], int]) -> NoReturn:
    """Purge at start and every ``RETENTION_INTERVAL``; ``keep_days`` reads the current config."""
    while True:
        await purge_once(store, keep_days())
        await drop_orphans_once(store)
        await asyncio.sleep(RETENTION_INTERVAL)


async def drop_orphans_once(store: Store, *, now: datetime | None = None) -> int | None:
    """Drop events of webhooks no longer configured, once the default ``retry_for`` has passed.

    Whatever ``keep_days`` says: nobody will ever deliver them. Return how many went (None: the
    pass failed, and the next one tries again).
    """
    before = (now or utc_now()) - timedelta(seconds=DEFAULT_RETRY_FOR)
    dropped = await _step(
        store.drop_orphan_deliveries(before=before), "cannot drop events of removed webhooks"
    )
    if dropped:
        LOGGER.warning(
            "retention: dropped %d undelivered events of webhooks (or dlr-url callbacks) no"
            " longer configured, older than %d s",
            dropped,
            DEFAULT_RETRY_FOR,
        )
    return dropped


async def purge_once(store: Store, keep_days: int, *, now: datetime | None = None) -> Purged | None:
    """Delete what finished more than ``keep_days`` ago (0: nothing); None if it failed."""
    if keep_days <= 0:
        return None
    before = (now or utc_now()) - timedelta(days=keep_days)
    purged = await _step(store.purge(before=before), "cannot delete old messages")
    if purged is None:
        return None
    if purged.outbound or purged.inbound or purged.released_pages:
        LOGGER.info(
            "retention: deleted %d outbound and %d inbound messages older than %d days;"
            " %d free pages released",
            purged.outbound,
            purged.inbound,
            keep_days,
            purged.released_pages,
        )
    return purged


async def _step(work: Awaitable[T], failure: str) -> T | None:
    """Await one step of a pass; a store failure is logged, not raised (None)."""
    try:
        return await work
    except StoreError as exc:
        LOGGER.warning("retention: %s (the next pass tries again): %s", failure, exc)
        return None
