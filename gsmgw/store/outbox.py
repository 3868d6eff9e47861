"""Outbox SQL: enqueue, claim, state changes and reading messages back. Runs in the writer thread.

A claimable message sits in lane 1 (ready) or lane 0 (waiting for ``due_at``: ``send_at`` or the
next retry). ``claim`` first moves due rows from lane 0 to lane 1 and expires what is past
``valid_for``, each with one index range scan, then takes the best ready row of every route the
modem serves with one seek each on ``outbox_ready`` (route, priority DESC, pk): a million queued
messages cost what ten do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import sqlite3

from gsmgw.config import Config, RuleConfig
from gsmgw.errors import LocalProtocolError, RequestError
from gsmgw.models import (
    MessageState,
    OutgoingMessage,
    OutgoingPart,
    PartState,
    SendRequest,
    StateEvent,
    check_transition,
)
from gsmgw.store import deliveries
from gsmgw.store.common import Context, count_states, emit, from_ms, maybe_ms, to_ms
from gsmgw.store.writer import Transaction

#: Rows moved from waiting to ready, or expired, per claim: bounds one claim's work when a big
#: scheduled campaign falls due at once (the rest follow on the next claims).
PROMOTE_CHUNK = 1000
EXPIRE_CHUNK = 100

_SELECT = "SELECT o.*, r.names AS route_names FROM outbox o JOIN route r ON r.pk = o.route"
#: The best ready message of one route: one seek on ``outbox_ready`` (checked by a test).
CLAIM_SQL = (
    "SELECT pk, priority FROM outbox WHERE lane = 1 AND route = ?"
    " ORDER BY priority DESC, pk LIMIT 1"
)
PROMOTE_SQL = (
    "UPDATE outbox SET lane = 1 WHERE pk IN"
    " (SELECT pk FROM outbox WHERE lane = 0 AND due_at <= ? LIMIT ?)"
)
EXPIRE_SQL = (
    f"{_SELECT} WHERE o.lane IS NOT NULL AND o.expires_at IS NOT NULL AND o.expires_at <= ? LIMIT ?"
)
#: After a wall-clock jump (``gsmgw.clock``) these move the deadlines that count from a past
#: moment by the jump: a retry's due time, and the expiry of messages not yet final. A due time
#: that is ``send_at`` (a queued message) is a moment the client named, and stays.
SHIFT_RETRY_SQL = "UPDATE outbox SET due_at = due_at + ? WHERE state = 'retrying' AND lane = 0"
SHIFT_EXPIRY_SQL = (
    "UPDATE outbox SET expires_at = expires_at + ?"
    " WHERE state IN ('queued', 'retrying', 'sending') AND expires_at IS NOT NULL"
)
#: Sentinel: leave the stored error as it is.
KEEP = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class EnqueuePolicy:
    """What ``enqueue`` checks and applies; ``from_config`` takes it from the config."""

    rules: tuple[RuleConfig, ...] = ()
    allow_prefixes: tuple[str, ...] = ()
    #: Refuse with ``queue_full`` beyond this many pending messages (None: no limit).
    max_queue: int | None = None
    #: Refuse with ``destination_blocked`` beyond this many messages per number per hour (0: off).
    per_destination_per_hour: int = 0

    @classmethod
    def from_config(cls, config: Config) -> EnqueuePolicy:
        """Return the policy of ``[gateway]`` and the ``[[rule]]`` entries."""
        gateway = config.gateway
        return cls(
            rules=config.rules,
            allow_prefixes=gateway.allow_prefixes,
            max_queue=gateway.max_queue,
            per_destination_per_hour=gateway.per_destination_per_hour,
        )


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """The outcome for one recipient: its id, and its state or why it was refused."""

    id: str
    state: MessageState | None
    #: False when the id existed already (the state is the existing message's) or on refusal.
    created: bool
    error: RequestError | None = None


def enqueue(
    tx: Transaction,
    ctx: Context,
    requests: Sequence[SendRequest],
    policy: EnqueuePolicy,
    now: datetime,
) -> list[EnqueueResult]:
    """Store every recipient of every request as ``queued``, idempotent on the message id."""
    results: list[EnqueueResult] = []
    created = 0
    for request in requests:
        request = request.with_id()
        for number, message_id in zip(request.to, request.message_ids(), strict=True):
            row = tx.conn.execute("SELECT state FROM outbox WHERE id = ?", (message_id,)).fetchone()
            if row is not None:
                results.append(EnqueueResult(message_id, MessageState(row[0]), False))
                continue
            error = _refusal(tx, ctx, policy, request, number, now, created)
            if error is not None:
                results.append(EnqueueResult(message_id, None, False, error))
                continue
            _insert(tx, ctx, request, number, message_id, policy, now)
            created += 1
            results.append(EnqueueResult(message_id, MessageState.QUEUED, True))
    count_states(tx, ctx, {MessageState.QUEUED: created})
    return results


def _refusal(
    tx: Transaction,
    ctx: Context,
    policy: EnqueuePolicy,
    request: SendRequest,
    number: str,
    now: datetime,
    created: int,
) -> RequestError | None:
    if policy.allow_prefixes and not number.startswith(policy.allow_prefixes):
        return RequestError("destination_blocked", f"{number} is not in allow_prefixes")
    if request.marketing and _opted_out(tx.conn, number):
        return RequestError("destination_blocked", f"{number} is on the opt-out list")
    if policy.per_destination_per_hour:
        since = to_ms(now - timedelta(hours=1))
        count = tx.conn.execute(
            "SELECT count(*) FROM outbox WHERE destination = ? AND created_at >= ?",
            (number, since),
        ).fetchone()[0]
        if count >= policy.per_destination_per_hour:
            return RequestError("destination_blocked", f"{number}: too many messages this hour")
    if policy.max_queue is not None and ctx.pending + created >= policy.max_queue:
        return RequestError("queue_full", f"{policy.max_queue} messages are waiting already")
    return None


def _opted_out(conn: sqlite3.Connection, number: str) -> bool:
    return conn.execute("SELECT 1 FROM opt_out WHERE number = ?", (number,)).fetchone() is not None


def _insert(
    tx: Transaction,
    ctx: Context,
    request: SendRequest,
    number: str,
    message_id: str,
    policy: EnqueuePolicy,
    now: datetime,
) -> None:
    rule = next((r for r in policy.rules if r.matches(number, request.text)), None)
    names = (request.modem,) if request.modem else (rule.modems if rule else ())
    priority = request.priority
    if priority is None:
        priority = rule.priority if rule is not None and rule.priority is not None else 0
    now_ms = to_ms(now)
    send_at = None if request.send_at is None else to_ms(request.send_at)
    due = max(now_ms, send_at or now_ms)
    expires = None if request.valid_for is None else now_ms + request.valid_for * 1000
    tx.conn.execute(
        "INSERT INTO outbox (id, destination, text, state, lane, priority, route, created_at,"
        " updated_at, send_at, due_at, expires_at, report, flash, encoding, marketing, reply_to)"
        " VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *(message_id, number, request.text, int(due <= now_ms), priority),
            *(_route(tx, ctx, names), now_ms, now_ms, send_at, due, expires, request.report),
            *(request.flash, request.encoding, request.marketing, request.reply_to),
        ),
    )
    deliveries.save_dlr(tx, message_id, request)
    if due <= now_ms:
        tx.notify.append(ctx.wake_work)
    event = StateEvent(id=message_id, state=MessageState.QUEUED, modem=None, parts=0, at=now)
    emit(tx, ctx, event, now_ms)


def _route(tx: Transaction, ctx: Context, names: Sequence[str]) -> int:
    key = tuple(sorted(set(names)))
    if key in ctx.routes:
        return ctx.routes[key]
    joined = ",".join(key)
    tx.conn.execute("INSERT OR IGNORE INTO route (names) VALUES (?)", (joined,))
    pk: int = tx.conn.execute("SELECT pk FROM route WHERE names = ?", (joined,)).fetchone()[0]
    tx.committed.append(lambda: ctx.routes.__setitem__(key, pk))
    return pk


def load_routes(conn: sqlite3.Connection) -> dict[tuple[str, ...], int]:
    """Return every stored route (names -> pk)."""
    rows = conn.execute("SELECT pk, names FROM route")
    return {tuple(names.split(",")) if names else (): pk for pk, names in rows}


def claim(
    tx: Transaction,
    ctx: Context,
    modem: str,
    serves: Callable[[tuple[str, ...]], bool] | None,
    now: datetime,
) -> OutgoingMessage | None:
    """Mark the best due message a modem may send as ``sending`` and return it with its parts."""
    now_ms = to_ms(now)
    promote_due(tx, now_ms)
    expire_due(tx, ctx, now)
    best: tuple[int, int] | None = None  # (priority, -pk) of the best candidate so far
    for names, route in ctx.routes.items():
        if serves is not None and not serves(names):
            continue
        row = tx.conn.execute(CLAIM_SQL, (route,)).fetchone()
        if row is not None and (best is None or (row[1], -row[0]) > best):
            best = (row[1], -row[0])
    if best is None:
        return None
    pk = -best[1]
    row = tx.conn.execute(f"{_SELECT} WHERE o.pk = ?", (pk,)).fetchone()
    change(tx, ctx, row, MessageState.SENDING, now, modem=modem)
    concat_ref = row["concat_ref"]
    if concat_ref is None:  # first claim: later attempts reuse it (TS 23.040 §9.2.3.24.1)
        concat_ref = tx.conn.execute(
            "UPDATE meta SET value = (value + 1) % 65536 WHERE key = 'concat_ref' RETURNING value"
        ).fetchone()[0]
    tx.conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, concat_ref = ? WHERE pk = ?", (concat_ref, pk)
    )
    return load(tx.conn, pk)


def promote_due(tx: Transaction, now_ms: int) -> None:
    """Move waiting messages whose time has come to the ready lane."""
    tx.conn.execute(PROMOTE_SQL, (now_ms, PROMOTE_CHUNK))


def expire_due(tx: Transaction, ctx: Context, now: datetime) -> list[StateEvent]:
    """Expire claimable messages past their ``valid_for``."""
    rows = tx.conn.execute(EXPIRE_SQL, (to_ms(now), EXPIRE_CHUNK)).fetchall()
    return [
        change(tx, ctx, row, MessageState.EXPIRED, now, error="valid_for elapsed") for row in rows
    ]


def next_due(conn: sqlite3.Connection) -> datetime | None:
    """Return when the earliest waiting message becomes due (None when none waits)."""
    value = conn.execute("SELECT min(due_at) FROM outbox WHERE lane = 0").fetchone()[0]
    return maybe_ms(value)


def shift_deadlines(conn: sqlite3.Connection, by_ms: int) -> int:
    """Move retry due times and expiries of unfinished messages by ``by_ms``; count them."""
    retries = conn.execute(SHIFT_RETRY_SQL, (by_ms,)).rowcount
    return retries + conn.execute(SHIFT_EXPIRY_SQL, (by_ms,)).rowcount


def change(
    tx: Transaction,
    ctx: Context,
    row: sqlite3.Row,
    new: MessageState,
    now: datetime,
    *,
    modem: str | None = None,
    error: str | object | None = KEEP,
    due: datetime | None = None,
    outcome_unknown: bool = False,
) -> StateEvent:
    """Change a message's state (checked against ``TRANSITIONS``) and emit its state event."""
    old = MessageState(row["state"])
    check_transition(old, new)
    now_ms = to_ms(now)
    lane = None
    if new in (MessageState.QUEUED, MessageState.RETRYING):
        lane = 1 if due is None or due <= now else 0
    if lane == 1:
        tx.notify.append(ctx.wake_work)
    new_error = row["error"] if error is KEEP else error
    assert new_error is None or isinstance(new_error, str)
    unknown = bool(row["outcome_unknown"]) or outcome_unknown
    tx.conn.execute(
        "UPDATE outbox SET state = ?, lane = ?, updated_at = ?, error = ?, modem = ?,"
        " due_at = ?, outcome_unknown = ? WHERE pk = ?",
        (
            *(new, lane, now_ms, new_error, modem or row["modem"]),
            *(to_ms(due) if due else now_ms, unknown, row["pk"]),
        ),
    )
    if new is not old:
        count_states(tx, ctx, {old: -1, new: 1})
    parts = tx.conn.execute(
        "SELECT reference FROM outbox_part WHERE message = ? ORDER BY part_no", (row["pk"],)
    ).fetchall()
    event = StateEvent(
        id=row["id"],
        state=new,
        modem=modem or row["modem"],
        parts=len(parts),
        at=now,
        error=new_error if new in (MessageState.FAILED, MessageState.RETRYING) else None,
        references=tuple(p[0] for p in parts) if new is MessageState.SENT else (),
        next_attempt_at=due if new is MessageState.RETRYING else None,
        earlier_outcome_unknown=unknown,
    )
    return emit(tx, ctx, event, now_ms)


def message_row(conn: sqlite3.Connection, message_id: str) -> sqlite3.Row:
    """Return a message's row; ``LocalProtocolError`` when there is none (a caller's bug)."""
    row: sqlite3.Row | None = conn.execute(f"{_SELECT} WHERE o.id = ?", (message_id,)).fetchone()
    if row is None:
        raise LocalProtocolError(f"no outbound message {message_id!r}")
    return row


def find(conn: sqlite3.Connection, message_id: str) -> OutgoingMessage | None:
    """Return one message with its parts, or None."""
    row = conn.execute("SELECT pk FROM outbox WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else load(conn, row[0])


def load(conn: sqlite3.Connection, pk: int) -> OutgoingMessage:
    """Return the message with primary key ``pk`` and its parts."""
    row = conn.execute(f"{_SELECT} WHERE o.pk = ?", (pk,)).fetchone()
    parts = conn.execute("SELECT * FROM outbox_part WHERE message = ? ORDER BY part_no", (pk,))
    return to_message(row, tuple(_to_part(part) for part in parts))


def to_message(row: sqlite3.Row, parts: tuple[OutgoingPart, ...] = ()) -> OutgoingMessage:
    """Return an outbox row (joined with its route) as an ``OutgoingMessage``."""
    names = row["route_names"]
    return OutgoingMessage(
        seq=row["pk"],
        id=row["id"],
        to=row["destination"],
        text=row["text"],
        state=MessageState(row["state"]),
        priority=row["priority"],
        created_at=from_ms(row["created_at"]),
        send_at=maybe_ms(row["send_at"]),
        expires_at=maybe_ms(row["expires_at"]),
        next_attempt_at=from_ms(row["due_at"]) if row["state"] == "retrying" else None,
        report=bool(row["report"]),
        flash=bool(row["flash"]),
        encoding=row["encoding"],
        marketing=bool(row["marketing"]),
        reply_to=row["reply_to"],
        route=tuple(names.split(",")) if names else (),
        modem=row["modem"],
        attempts=row["attempts"],
        concat_ref=row["concat_ref"] or 0,
        error=row["error"],
        earlier_outcome_unknown=bool(row["outcome_unknown"]),
        parts=parts,
    )


def _to_part(row: sqlite3.Row) -> OutgoingPart:
    return OutgoingPart(
        part_no=row["part_no"],
        pdu_hex=row["pdu"],
        tpdu_length=row["tpdu_length"],
        state=PartState(row["state"]),
        reference=row["reference"],
        modem=row["modem"],
        attempts=row["attempts"],
        outcome_unknown=bool(row["outcome_unknown"]),
        sent_at=maybe_ms(row["sent_at"]),
        status=row["status"],
    )
