"""Per-part progress and the later life of a message: sent, retrying, failed, reports, recovery.

SPEC.md "Guarantees": every part is sent at least once and normally exactly once. ``begin_part``
commits "this part's PDU may be written" before the dispatcher writes it; ``part_sent`` commits its
TP-MR. A part found in ``sending`` after a crash or a lost modem has an unknown outcome: it is sent
again and its message carries ``earlier_outcome_unknown``. Parts with a reference never go again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import logging
import re
import sqlite3

from gsmgw.errors import EncodingError, LocalProtocolError, RequestError
from gsmgw.models import (
    FINAL_STATES,
    MessageState,
    OutgoingMessage,
    OutgoingPart,
    PartState,
    StateEvent,
    StatusReport,
)
from gsmgw.store.common import Context, to_ms
from gsmgw.store.outbox import change, claim, load, message_row
from gsmgw.store.writer import Transaction
from gsmgw.validate import normalise_number

LOGGER = logging.getLogger(__name__)

_S = MessageState
#: Encodes a claimed message: (PDU hex, TPDU length) per part, or ``EncodingError``.
Encoder = Callable[[OutgoingMessage], Sequence[tuple[str, int]]]
#: Messages failed for their encoding in one claim at most; then the claim ends and wakes the
#: senders, so that a queue of unsendable messages cannot make one transaction unbounded.
MAX_ENCODING_FAILURES = 100
#: How far a report's TP-DT may lie before our record of the part's send: the SMSC's clock and
#: ours differ a little (TP-DT has whole seconds, and the part's ``sent_at`` is stored after the
#: +CMGS answer). Small, because a wrapped TP-MR comes back within minutes on a busy modem: at
#: one part every 3 s, 256 parts take 13 minutes.
REPORT_CLOCK_TOLERANCE = timedelta(minutes=5)
#: Parts sent longer ago than this are not matched any more: SMSCs give up on a message well
#: within their 7-day default validity (TS 23.040 §9.2.3.12), so an older part's report is not
#: coming, and its TP-MR has been reused many times since.
REPORT_WINDOW = timedelta(days=7)
#: The latest part of (modem, TP-MR) waiting for its report, sent within ``REPORT_WINDOW``, to
#: the report's recipient (when it has one: its E.164 form, or the same digits) and not after
#: the report's TP-DT plus ``REPORT_CLOCK_TOLERANCE`` (when it has one): a range on
#: ``outbox_part_awaiting`` (modem, reference, sent_at), checked by a test.
REPORT_SQL = (
    "SELECT p.message, p.part_no, o.id FROM outbox_part p JOIN outbox o ON o.pk = p.message"
    " WHERE p.modem = ? AND p.reference = ? AND p.state = 'sent' AND p.sent_at >= ?"
    " AND (? IS NULL OR p.sent_at <= ?)"
    " AND (? IS NULL OR o.destination IN (?, ?, ?))"
    " ORDER BY p.sent_at DESC LIMIT 1"
)
_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class ReportMatch:
    """The outbound part a status report belongs to, and the state event it caused (if any)."""

    message_id: str
    part_no: int
    event: StateEvent | None


def save_parts(
    tx: Transaction, message_id: str, parts: Sequence[tuple[str, int]]
) -> OutgoingMessage:
    """Store a sending message's encoded parts (PDU hex, TPDU length) unless it has them already."""
    row = message_row(tx.conn, message_id)
    if row["state"] != _S.SENDING:
        raise LocalProtocolError(f"{message_id}: parts are saved while sending, not {row['state']}")
    _insert_parts(tx, message_id, row["pk"], parts)
    return load(tx.conn, row["pk"])


def _insert_parts(
    tx: Transaction, message_id: str, pk: int, parts: Sequence[tuple[str, int]]
) -> tuple[OutgoingPart, ...]:
    """Store encoded parts a message does not have yet; return them as stored (``pending``)."""
    if not parts:
        raise LocalProtocolError(f"{message_id}: a message has at least one part")
    tx.conn.executemany(
        "INSERT OR IGNORE INTO outbox_part (message, part_no, pdu, tpdu_length, state)"
        " VALUES (?, ?, ?, ?, 'pending')",
        [(pk, number, pdu, length) for number, (pdu, length) in enumerate(parts, 1)],
    )
    return tuple(
        OutgoingPart(part_no=number, pdu_hex=pdu, tpdu_length=length)
        for number, (pdu, length) in enumerate(parts, 1)
    )


def claim_encoded(
    tx: Transaction,
    ctx: Context,
    modem: str,
    serves: Callable[[tuple[str, ...]], bool] | None,
    encode: Encoder,
    now: datetime,
) -> OutgoingMessage | None:
    """Claim the best message (``outbox.claim``) and store its parts, as ``encode`` gives them.

    A message claimed before keeps its parts, so a resend sends the PDUs of its first attempt. A
    message ``encode`` refuses fails, and the next one is claimed.
    """
    for _ in range(MAX_ENCODING_FAILURES):
        message = claim(tx, ctx, modem, serves, now)
        if message is None or message.parts:
            return message
        try:
            parts = encode(message)
        except EncodingError as exc:
            LOGGER.warning("%s: cannot encode: %s", message.id, exc)
            fail(tx, ctx, message.id, f"{exc.code}: {exc}", now)
            continue
        # Just claimed (``sending``) with no parts: they are these, as the columns' defaults
        # make them; no need to read the message back.
        return replace(message, parts=_insert_parts(tx, message.id, message.seq, parts))
    tx.notify.append(ctx.wake_work)  # more may wait: the senders claim again
    return None


def begin_part(tx: Transaction, message_id: str, part_no: int, modem: str, now: datetime) -> None:
    """Record that a part's PDU is about to be written (its outcome is unknown until answered)."""
    row = tx.conn.execute("SELECT pk, state FROM outbox WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise LocalProtocolError(f"no outbound message {message_id!r}")
    if row["state"] != _S.SENDING:
        raise LocalProtocolError(f"{message_id}: not sending but {row['state']}")
    cursor = tx.conn.execute(
        "UPDATE outbox_part SET state = 'sending', modem = ?, attempts = attempts + 1"
        " WHERE message = ? AND part_no = ? AND state IN ('pending', 'sending')",
        (modem, row["pk"], part_no),
    )
    if cursor.rowcount != 1:
        raise LocalProtocolError(f"{message_id}: part {part_no} is missing or sent already")


def part_sent(
    tx: Transaction,
    ctx: Context,
    message_id: str,
    part_no: int,
    reference: int,
    modem: str,
    now: datetime,
) -> StateEvent | None:
    """Record a part's TP-MR; when every part has one the message becomes ``sent``."""
    row = message_row(tx.conn, message_id)
    cursor = tx.conn.execute(
        "UPDATE outbox_part SET state = 'sent', reference = ?, modem = ?, sent_at = ?"
        " WHERE message = ? AND part_no = ? AND state IN ('pending', 'sending')",
        (reference, modem, to_ms(now), row["pk"], part_no),
    )
    if cursor.rowcount != 1:
        raise LocalProtocolError(f"{message_id}: part {part_no} is missing or sent already")
    # Per state of the parts: how many of them have no TP-MR yet.
    states = tx.conn.execute(
        "SELECT state, sum(reference IS NULL) FROM outbox_part WHERE message = ? GROUP BY state",
        (row["pk"],),
    ).fetchall()
    if any(unsent for _, unsent in states) or row["state"] != _S.SENDING:
        return None
    event = change(tx, ctx, row, _S.SENT, now, modem=modem, error=None)
    if {state for state, _ in states} == {PartState.SENT}:
        return event  # nothing reported yet: the usual case, and nothing to settle
    # An earlier part's report came before this TP-MR: it may settle the message now.
    return _settle(tx, ctx, message_id, now) or event


def _reset_parts(tx: Transaction, pk: int, outcome_unknown: bool) -> None:
    """Put parts whose attempt did not finish back to pending (flagged when it may have gone)."""
    tx.conn.execute(
        "UPDATE outbox_part SET state = 'pending', outcome_unknown = outcome_unknown OR ?"
        " WHERE message = ? AND state = 'sending'",
        (outcome_unknown, pk),
    )


def retry_later(
    tx: Transaction,
    ctx: Context,
    message_id: str,
    next_attempt_at: datetime,
    error: str,
    now: datetime,
    *,
    outcome_unknown: bool = False,
) -> StateEvent:
    """Try again at ``next_attempt_at`` after a temporary failure (expire if that is too late)."""
    row = message_row(tx.conn, message_id)
    _reset_parts(tx, row["pk"], outcome_unknown)
    expires = row["expires_at"]
    if expires is not None and to_ms(next_attempt_at) >= expires:
        return change(tx, ctx, row, _S.EXPIRED, now, error=error, outcome_unknown=outcome_unknown)
    return change(
        tx,
        ctx,
        row,
        _S.RETRYING,
        now,
        error=error,
        due=next_attempt_at,
        outcome_unknown=outcome_unknown,
    )


def fail(tx: Transaction, ctx: Context, message_id: str, error: str, now: datetime) -> StateEvent:
    """Fail a message: a permanent error, or no attempts left."""
    row = message_row(tx.conn, message_id)
    _reset_parts(tx, row["pk"], False)
    return change(tx, ctx, row, _S.FAILED, now, error=error)


def requeue(
    tx: Transaction,
    ctx: Context,
    message_id: str,
    now: datetime,
    *,
    error: str | None = None,
    outcome_unknown: bool = False,
) -> StateEvent:
    """Give a sending message back to the queue at once (its modem failed or vanished)."""
    row = message_row(tx.conn, message_id)
    _reset_parts(tx, row["pk"], outcome_unknown)
    return change(tx, ctx, row, _S.QUEUED, now, error=error, outcome_unknown=outcome_unknown)


def defer(
    tx: Transaction, ctx: Context, message_id: str, until: datetime, now: datetime
) -> StateEvent:
    """Give a claimed message back until ``until``, undoing the claim's attempt count."""
    row = message_row(tx.conn, message_id)
    if row["state"] != _S.SENDING:
        raise LocalProtocolError(f"{message_id}: deferred while {row['state']}, not sending")
    _reset_parts(tx, row["pk"], False)
    tx.conn.execute("UPDATE outbox SET attempts = max(attempts - 1, 0) WHERE pk = ?", (row["pk"],))
    return change(tx, ctx, row, _S.QUEUED, now, due=until)


def requeue_in_flight(tx: Transaction, ctx: Context, now: datetime) -> list[StateEvent]:
    """On start: resolve every message left in ``sending`` by a crash (see the module docstring)."""
    rows = tx.conn.execute("SELECT id FROM outbox WHERE state = 'sending'").fetchall()
    error = "interrupted by a restart"
    return [_release(tx, ctx, message_row(tx.conn, i), now, error) for (i,) in rows]


def release(
    tx: Transaction, ctx: Context, message_id: str, now: datetime, error: str
) -> StateEvent | None:
    """Queue a message left ``sending`` by nobody again, as a restart would; None if it is not."""
    row = message_row(tx.conn, message_id)
    if row["state"] != _S.SENDING:
        return None
    return _release(tx, ctx, row, now, error)


def _release(
    tx: Transaction, ctx: Context, row: sqlite3.Row, now: datetime, error: str
) -> StateEvent:
    """Requeue ``row``; a part recorded as being sent makes its outcome unknown."""
    in_flight = tx.conn.execute(
        "SELECT count(*) FROM outbox_part WHERE message = ? AND state = 'sending'", (row["pk"],)
    ).fetchone()[0]
    _reset_parts(tx, row["pk"], True)
    return change(tx, ctx, row, _S.QUEUED, now, error=error, outcome_unknown=in_flight > 0)


def match_report(
    tx: Transaction, ctx: Context, report: StatusReport, now: datetime
) -> ReportMatch | None:
    """Apply a status report to the part it belongs to (``REPORT_SQL``); None when none waits."""
    row = tx.conn.execute(REPORT_SQL, _report_args(report, ctx.default_region, now)).fetchone()
    if row is None:
        return None
    pk, part_no, message_id = row
    state = PartState.SENT
    if report.delivered:
        state = PartState.DELIVERED
    elif report.failed:
        state = PartState.FAILED
    tx.conn.execute(
        "UPDATE outbox_part SET state = ?, status = ?, reported_at = ?"
        " WHERE message = ? AND part_no = ?",
        (state, report.status, to_ms(now), pk, part_no),
    )
    return ReportMatch(message_id, part_no, _settle(tx, ctx, message_id, now))


def _report_args(report: StatusReport, region: str, now: datetime) -> tuple[object, ...]:
    """Return ``REPORT_SQL``'s parameters; a missing recipient or TP-DT is not compared."""
    latest = None
    if report.discharge_time is not None:
        latest = to_ms(report.discharge_time + REPORT_CLOCK_TOLERANCE)
    numbers: tuple[str | None, ...] = (None, None, None)
    digits = _NOT_DIGITS.sub("", report.recipient or "")
    if digits:
        # Destinations are stored in E.164 when they could be, else as typed (``SendRequest``).
        try:
            e164: str | None = normalise_number(report.recipient or "", region)
        except RequestError:
            e164 = None
        numbers = (e164, digits, f"+{digits}")
    return (
        *(report.modem, report.reference, to_ms(now - REPORT_WINDOW), latest, latest),
        *(numbers[1], *numbers),
    )


def _settle(tx: Transaction, ctx: Context, message_id: str, now: datetime) -> StateEvent | None:
    """Make a sent message delivered (every part delivered) or failed (a part failed)."""
    row = message_row(tx.conn, message_id)
    if row["state"] != _S.SENT:
        return None
    counts = dict(
        tx.conn.execute(
            "SELECT state, count(*) FROM outbox_part WHERE message = ? GROUP BY state", (row["pk"],)
        ).fetchall()
    )
    if counts.get(PartState.FAILED):
        status = tx.conn.execute(
            "SELECT status FROM outbox_part WHERE message = ? AND state = 'failed' LIMIT 1",
            (row["pk"],),
        ).fetchone()[0]
        return change(tx, ctx, row, _S.FAILED, now, error=f"status report TP-ST {status:#04x}")
    if set(counts) == {PartState.DELIVERED}:
        return change(tx, ctx, row, _S.DELIVERED, now)
    return None


def cancel(tx: Transaction, ctx: Context, message_id: str, now: datetime) -> MessageState | None:
    """Cancel a message that waits (queued or retrying); return its state after, None if unknown."""
    row = tx.conn.execute("SELECT pk FROM outbox WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    row = message_row(tx.conn, message_id)
    state = MessageState(row["state"])
    if state not in (_S.QUEUED, _S.RETRYING):
        return state
    change(tx, ctx, row, _S.CANCELLED, now, error="cancelled")
    return _S.CANCELLED


def retry(tx: Transaction, ctx: Context, message_id: str, now: datetime) -> MessageState | None:
    """Send a failed, expired or cancelled message again (or a retrying one now); None if unknown.

    Parts the network accepted and did not report failed are not sent again; ``valid_for`` no
    longer applies, since an operator asked for it.
    """
    if tx.conn.execute("SELECT 1 FROM outbox WHERE id = ?", (message_id,)).fetchone() is None:
        return None
    row = message_row(tx.conn, message_id)
    state = MessageState(row["state"])
    if state is _S.RETRYING:
        tx.conn.execute(
            "UPDATE outbox SET lane = 1, due_at = ? WHERE pk = ?", (to_ms(now), row["pk"])
        )
        tx.notify.append(ctx.wake_work)
        return state
    if state not in FINAL_STATES - {_S.DELIVERED}:
        return state
    tx.conn.execute(
        "UPDATE outbox_part SET state = 'pending', reference = NULL, sent_at = NULL"
        " WHERE message = ? AND state IN ('failed', 'sending')",
        (row["pk"],),
    )
    tx.conn.execute("UPDATE outbox SET expires_at = NULL, attempts = 0 WHERE pk = ?", (row["pk"],))
    change(tx, ctx, row, _S.QUEUED, now, error=None)
    return _S.QUEUED
