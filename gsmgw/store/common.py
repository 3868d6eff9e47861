"""What the store's SQL modules share: the writer-thread context, times, and the publication row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json

from gsmgw.models import PENDING_STATES, IncomingMessage, MessageState, StateEvent
from gsmgw.store import deliveries
from gsmgw.store.writer import Transaction

#: QoS of every publication the store queues (SPEC.md: state events and inbox are QoS 1).
PUBLICATION_QOS = 1


@dataclass(slots=True, kw_only=True)
class Context:
    """State owned by the writer thread: topics, caches of committed data, wake-up callbacks."""

    #: ``{prefix}/{node}/sms/state``, ``{prefix}/{node}/inbox`` and ``{prefix}/{node}/errors``;
    #: None queues no publication.
    state_topic: str | None = None
    inbox_topic: str | None = None
    errors_topic: str | None = None
    #: ``[gateway] default_region``: how a status report's national recipient is read.
    default_region: str = ""
    #: Route names -> route pk, for every route row committed so far.
    routes: dict[tuple[str, ...], int] = field(default_factory=dict)
    #: The next publication id to hand out (``queue_publication``): ids are never reused.
    next_publication: int = 1
    #: Outbound messages per state as of the last commit: counted once at open, then kept up to
    #: date by every job that changes a state (``count_states``), so that ``gsmgw status`` and
    #: Prometheus scrapes cost no scan. Replaced whole after each commit, never changed in
    #: place: the event loop reads it while the writer thread commits.
    counts: Mapping[MessageState, int] = field(default_factory=dict)
    #: Run on the event loop after a commit that made messages claimable / queued publications.
    wake_work: Callable[[], None] = lambda: None
    wake_publications: Callable[[], None] = lambda: None
    wake_smpp: Callable[[], None] = lambda: None
    #: Called in the transaction of every state event / completed inbound message (the SMPP
    #: server's deliver_sm queue, ``gsmgw.store.smpp``); None when nothing listens.
    on_state: Callable[[Transaction, StateEvent, int], None] | None = None
    on_inbound: Callable[[Transaction, IncomingMessage, int], None] | None = None
    #: The webhooks' consumer names and the events each wants (``gsmgw.store.deliveries``).
    webhooks: tuple[tuple[str, Collection[str]], ...] = ()
    #: True: store Kannel ``dlr-url`` callbacks (the HTTP API is on).
    dlr_callbacks: bool = False
    wake_deliveries: Callable[[], None] = lambda: None

    @property
    def pending(self) -> int:
        """Return how many messages are queued, sending or retrying (for ``max_queue``)."""
        counts = self.counts
        return sum(counts.get(state, 0) for state in PENDING_STATES)


def to_ms(moment: datetime) -> int:
    """Return an aware datetime as integer milliseconds since the epoch."""
    return round(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    """Return stored milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, UTC)


def maybe_ms(value: int | None) -> datetime | None:
    """Like ``from_ms``, keeping None."""
    return None if value is None else from_ms(value)


def queue_publication(
    tx: Transaction,
    ctx: Context,
    *,
    topic: str,
    payload: bytes,
    now_ms: int,
    qos: int = PUBLICATION_QOS,
    retain: bool = False,
) -> int:
    """Insert one publication in the current transaction and wake the bridge after the commit.

    Its id is never one this process handed out before, even after that row was deleted: the
    bridge and the gateway keep acknowledged ids for a while (health acknowledgements are
    deleted with the next health commit), and a reused id made them skip or delete a new row.
    """
    top = tx.conn.execute("SELECT coalesce(max(pk), 0) FROM publication").fetchone()[0]
    pk = max(top + 1, ctx.next_publication)
    tx.conn.execute(
        "INSERT INTO publication (pk, topic, payload, qos, retain, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (pk, topic, payload, qos, int(retain), now_ms),
    )
    ctx.next_publication = pk + 1  # a rolled-back transaction leaves a gap, never a reuse
    tx.notify.append(ctx.wake_publications)
    return int(pk)


def emit(tx: Transaction, ctx: Context, event: StateEvent, now_ms: int) -> StateEvent:
    """Queue a state event for ``{prefix}/{node}/sms/state`` (when MQTT is on) and return it."""
    if ctx.state_topic is not None:
        payload = json.dumps(event.to_json(), separators=(",", ":")).encode()
        queue_publication(tx, ctx, topic=ctx.state_topic, payload=payload, now_ms=now_ms)
    if ctx.on_state is not None:
        ctx.on_state(tx, event, now_ms)
    deliveries.on_state(tx, ctx, event, now_ms)
    return event


def count_states(tx: Transaction, ctx: Context, delta: Mapping[MessageState, int]) -> None:
    """Add ``delta`` to the counts per state once the transaction commits."""
    if not any(delta.values()):
        return

    def apply() -> None:
        counts = Counter(ctx.counts)
        counts.update(delta)
        ctx.counts = {state: n for state in MessageState if (n := counts[state])}

    tx.committed.append(apply)
