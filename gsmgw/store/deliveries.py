"""Delivery SQL: Kannel's ``dlr-mask``/``dlr-url`` of a message. Runs in the writer thread."""

from __future__ import annotations

import sqlite3

from gsmgw.models import SendRequest
from gsmgw.store.writer import Transaction


def save_dlr(tx: Transaction, message_id: str, request: SendRequest) -> None:
    """Store the request's ``dlr-mask`` and ``dlr-url`` with its new message, if it has them."""
    if request.dlr_mask is None and request.dlr_url is None:
        return
    tx.conn.execute(
        "UPDATE outbox SET dlr_mask = ?, dlr_url = ? WHERE id = ?",
        (request.dlr_mask, request.dlr_url, message_id),
    )


def dlr_of(conn: sqlite3.Connection, message_id: str) -> tuple[int | None, str | None]:
    """Return a message's stored ``(dlr_mask, dlr_url)``; ``(None, None)`` without them."""
    row = conn.execute(
        "SELECT dlr_mask, dlr_url FROM outbox WHERE id = ?", (message_id,)
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])
