"""``Store``: the asyncio face of the durable store; ``StoreReader``: read-only access for the CLI.

Every ``Store`` method runs in the one writer thread (``writer.py``) and returns only after the
transaction holding it has committed, so whatever a caller hears about has happened durably. State
changes of outbound messages and completed inbound messages queue their MQTT publication in that
same transaction (when the store was given topics), so no event is lost between the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
import sqlite3
from types import TracebackType
from typing import Self, TypeVar

from gsmgw.clock import ClockWatch
from gsmgw.models import (
    InboundPart,
    IncomingMessage,
    MessageState,
    OutgoingMessage,
    SendRequest,
    StateEvent,
    StatusReport,
    utc_now,
)
from gsmgw.store import (
    deliveries,
    inbox,
    outbox,
    progress,
    queries,
    retention,
    smpp as smpp_state,
    views,
)
from gsmgw.store.common import Context, queue_publication, to_ms
from gsmgw.store.deliveries import Delivery
from gsmgw.store.inbox import InboundResult, Undecodable, UndecodableResult
from gsmgw.store.jumps import ClockFollower
from gsmgw.store.outbox import EnqueuePolicy, EnqueueResult
from gsmgw.store.progress import Encoder, ReportMatch
from gsmgw.store.queries import InboundRawPart, OptOutEntry, Publication
from gsmgw.store.retention import DatabaseSize, Purged
from gsmgw.store.schema import connect_reader, map_errors
from gsmgw.store.smpp import SegmentResult, SmppDelivery, SmppHooks, SmppOrigin, SmppSegment
from gsmgw.store.views import MessageView
from gsmgw.store.writer import Transaction, Writer

T = TypeVar("T")

#: Which routes (tuples of modem ids / group names; () is "any modem") a modem may serve.
#: Called in the writer thread: it must be a pure function of immutable data.
RouteFilter = Callable[[tuple[str, ...]], bool]


class Broadcast:
    """A wake-up for several consumers, each with its own event to clear.

    Consumers clear their event before they look for work and wait on it after finding none.
    Shared, one consumer's clear could eat a wake-up meant for another that had just looked:
    that one would then wait until the next commit, its delivery stranded meanwhile.
    """

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def event(self, consumer: str) -> asyncio.Event:
        """Return ``consumer``'s own event (made on first use)."""
        return self._events.setdefault(consumer, asyncio.Event())

    def set(self) -> None:
        """Wake every consumer."""
        for event in self._events.values():
            event.set()


class Store:
    """The outbox, inbox, opt-out list and publication queue in one SQLite file.

    Use ``async with Store(path, ...) as store:`` (or ``await store.open()`` / ``close()``).
    ``work_added`` is set after a commit that made a message claimable; ``publications_added``
    after one that queued a publication; ``deadlines_shifted`` after a wall-clock jump moved the
    stored deadlines (``gsmgw.store.jumps``). Consumers clear them before looking for more.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        state_topic: str | None = None,
        inbox_topic: str | None = None,
        errors_topic: str | None = None,
        default_region: str = "",
        clock: ClockWatch | None = None,
        smpp: SmppHooks | None = None,
        webhooks: Sequence[tuple[str, Collection[str]]] = (),
        dlr_callbacks: bool = False,
    ) -> None:
        self.path = Path(path)
        self.work_added = asyncio.Event()
        self.publications_added = asyncio.Event()
        self.deadlines_shifted = asyncio.Event()
        #: Set after a commit that queued a deliver_sm (SMPP receipts and MO SMS).
        self.smpp_added = asyncio.Event()

        #: Set after a commit that stored webhook or dlr-url deliveries: one event per consumer.
        self.deliveries_added = Broadcast()
        self._ctx = ctx = Context(
            state_topic=state_topic,
            inbox_topic=inbox_topic,
            errors_topic=errors_topic,
            default_region=default_region,
            wake_work=self.work_added.set,
            wake_publications=self.publications_added.set,
            wake_smpp=self.smpp_added.set,
            webhooks=tuple((name, frozenset(events)) for name, events in webhooks),
            dlr_callbacks=dlr_callbacks,
            wake_deliveries=self.deliveries_added.set,
        )
        if smpp is not None:
            ctx.on_state = lambda tx, event, now_ms: smpp_state.on_state(tx, ctx, event, now_ms)
            ctx.on_inbound = lambda tx, message, now_ms: smpp_state.on_inbound(
                tx, ctx, smpp, message, now_ms
            )
        self._writer = Writer(self.path)
        self._clock = ClockFollower(self._writer, clock or ClockWatch(), self.deadlines_shifted.set)

    async def open(self) -> None:
        """Open (create, migrate) the database and start the writer thread; raise ``StoreError``."""
        await self._writer.start(self._load)

    def _load(self, conn: sqlite3.Connection) -> None:
        conn.row_factory = sqlite3.Row
        self._ctx.routes = outbox.load_routes(conn)
        self._ctx.counts = queries.state_counts(conn)  # the one scan; kept up to date after

    async def close(self) -> None:
        """Commit what is queued and close the database."""
        await self._writer.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def check_clock(self) -> None:
        """Shift the stored deadlines if the wall clock jumped (every store call checks first)."""
        self._clock.check()

    @property
    def commits(self) -> int:
        """Return how many transactions the writer committed (each an fsync, unless non-durable)."""
        return self._writer.commits

    @property
    def pending(self) -> int:
        """Return how many messages are queued, sending or retrying (as of the last commit)."""
        return self._ctx.pending

    # --- outbox -------------------------------------------------------------------------------

    async def enqueue(
        self,
        requests: Sequence[SendRequest],
        *,
        policy: EnqueuePolicy | None = None,
        now: datetime | None = None,
        origin: SmppOrigin | None = None,
    ) -> list[EnqueueResult]:
        """Store requests as ``queued``, one message per recipient, all in one transaction.

        Idempotent on the message id: an id stored before returns its existing state with
        ``created=False``. A request without id gets a fresh one. ``policy`` applies rules
        (priority, allowed modems), allow-lists, the opt-out list for ``marketing``, the
        per-destination limit and ``max_queue``; a refusal is a result with ``error`` set.
        """
        moment, rules = now or utc_now(), policy or EnqueuePolicy()

        def job(tx: Transaction) -> list[EnqueueResult]:
            results = outbox.enqueue(tx, self._ctx, requests, rules, moment)
            if origin is not None:  # submitted over SMPP: its owner in the same commit
                smpp_state.record_origin(tx, origin, results)
            return results

        return await self._run(job)

    async def enqueue_segment(
        self,
        request: SendRequest,
        origin: SmppOrigin,
        segment: SmppSegment,
        *,
        policy: EnqueuePolicy | None = None,
        now: datetime | None = None,
    ) -> SegmentResult:
        """Store one part of a concatenated SMPP submission; queue its set once complete."""
        moment, rules = now or utc_now(), policy or EnqueuePolicy()
        return await self._run(
            lambda tx: smpp_state.store_segment(
                tx, self._ctx, request, origin, segment, rules, moment
            )
        )

    async def drop_stale_segments(self, before: datetime, *, now: datetime | None = None) -> int:
        """Drop SMPP part sets begun before ``before`` (REJECTD receipts where asked)."""
        moment = now or utc_now()
        return await self._run(lambda tx: smpp_state.drop_stale(tx, self._ctx, before, moment))

    async def smpp_owner(self, message_id: str) -> str | None:
        """Return the system_id that submitted a message over SMPP, or None."""
        return await self._run(lambda tx: smpp_state.owner(tx.conn, message_id), durable=False)

    async def next_smpp_deliveries(
        self, system_id: str, limit: int, *, skip: Collection[int] = ()
    ) -> list[SmppDelivery]:
        """Return a user's oldest deliver_sm waiting, leaving out the ids in ``skip``."""
        return await self._run(
            lambda tx: smpp_state.next_deliveries(tx.conn, system_id, limit, skip),
            durable=False,
        )

    async def ack_smpp_delivery(self, delivery_id: int) -> bool:
        """Drop a deliver_sm its ESME answered with status 0.

        Not durable: a power cut may undo the last acknowledgements, and those are then sent
        again (at least once, as SMPP receipts are everywhere; each carries its message id).
        """
        return await self._run(
            lambda tx: smpp_state.ack_delivery(tx.conn, delivery_id), durable=False
        )

    async def smpp_pending_counts(self) -> dict[str, int]:
        """Count the deliver_sm waiting, per system_id."""
        return await self._run(lambda tx: smpp_state.pending_counts(tx.conn), durable=False)

    async def claim_next(
        self,
        modem: str,
        *,
        serves: RouteFilter | None = None,
        encode: Encoder | None = None,
        now: datetime | None = None,
    ) -> OutgoingMessage | None:
        """Take the best due message ``modem`` may send and mark it ``sending``.

        Best is highest priority, then oldest; only messages whose ``send_at`` and next attempt
        have come, not expired (those are expired on the way), on a route ``serves`` accepts
        (None: every route). The result carries its parts once stored, and its ``concat_ref``,
        fixed at the first claim, for the encoder. With ``encode`` (called in the writer
        thread: pure), the parts of a message that has none are encoded and stored in the same
        commit (``progress.claim_encoded``), and a message it cannot encode is failed.
        """
        moment, ctx = now or utc_now(), self._ctx

        def job(tx: Transaction) -> OutgoingMessage | None:
            if encode is None:
                return outbox.claim(tx, ctx, modem, serves, moment)
            return progress.claim_encoded(tx, ctx, modem, serves, encode, moment)

        # Not durable: a claim a power cut undoes leaves the message queued, and nothing of it
        # has left (``begin_part``, durable, comes before its PDU). One fsync less per message.
        return await self._run(job, durable=False)

    async def begin_part(
        self, message_id: str, part_no: int, modem: str, *, now: datetime | None = None
    ) -> None:
        """Record, before the PDU is written, that a part's attempt starts."""
        moment = now or utc_now()
        await self._run(lambda tx: progress.begin_part(tx, message_id, part_no, modem, moment))

    async def record_part_sent(
        self,
        message_id: str,
        part_no: int,
        reference: int,
        modem: str,
        *,
        now: datetime | None = None,
    ) -> StateEvent | None:
        """Record a part's TP-MR; return the ``sent`` event once every part has one."""
        moment = now or utc_now()
        return await self._run(
            lambda tx: progress.part_sent(
                tx, self._ctx, message_id, part_no, reference, modem, moment
            )
        )

    async def mark_retrying(
        self,
        message_id: str,
        *,
        next_attempt_at: datetime,
        error: str,
        outcome_unknown: bool = False,
        now: datetime | None = None,
    ) -> StateEvent:
        """Schedule another attempt after a temporary error (``expired`` if past ``valid_for``).

        ``outcome_unknown``: the part in flight may have gone out (the modem vanished after the
        PDU was written); its resend is then flagged ``earlier_outcome_unknown``.
        """
        moment, unknown = now or utc_now(), outcome_unknown
        return await self._run(
            lambda tx: progress.retry_later(
                tx, self._ctx, message_id, next_attempt_at, error, moment, outcome_unknown=unknown
            )
        )

    async def mark_failed(
        self, message_id: str, *, error: str, now: datetime | None = None
    ) -> StateEvent:
        """Fail a message for good (permanent error, or no attempts left)."""
        moment = now or utc_now()
        return await self._run(lambda tx: progress.fail(tx, self._ctx, message_id, error, moment))

    async def requeue(
        self,
        message_id: str,
        *,
        error: str | None = None,
        outcome_unknown: bool = False,
        now: datetime | None = None,
    ) -> StateEvent:
        """Give a sending message back to the queue now (failover: its modem went away)."""
        moment = now or utc_now()
        return await self._run(
            lambda tx: progress.requeue(
                tx, self._ctx, message_id, moment, error=error, outcome_unknown=outcome_unknown
            )
        )

    async def release(
        self, message_id: str, *, error: str, now: datetime | None = None
    ) -> StateEvent | None:
        """Queue a message again if it is still ``sending`` (its sender let it go); else None."""
        moment = now or utc_now()
        return await self._run(
            lambda tx: progress.release(tx, self._ctx, message_id, moment, error)
        )

    async def defer(
        self, message_id: str, until: datetime, *, now: datetime | None = None
    ) -> StateEvent:
        """Give a claimed message back to the queue until ``until``: no modem may take it now.

        Not an attempt (the per-SIM limits held it back), and it expires on time meanwhile.
        """
        moment = now or utc_now()
        return await self._run(lambda tx: progress.defer(tx, self._ctx, message_id, until, moment))

    async def requeue_in_flight(self, *, now: datetime | None = None) -> list[StateEvent]:
        """On start, put messages a crash left in ``sending`` back in the queue."""
        moment = now or utc_now()
        return await self._run(lambda tx: progress.requeue_in_flight(tx, self._ctx, moment))

    async def expire_due(self, *, now: datetime | None = None) -> list[StateEvent]:
        """Expire waiting messages past their ``valid_for`` (``claim_next`` does it too)."""
        moment = now or utc_now()
        return await self._run(lambda tx: outbox.expire_due(tx, self._ctx, moment))

    async def next_due_at(self) -> datetime | None:
        """Return when the earliest scheduled or retrying message becomes due (None: none)."""
        return await self._run(lambda tx: outbox.next_due(tx.conn))

    async def match_status_report(
        self, report: StatusReport, *, now: datetime | None = None
    ) -> ReportMatch | None:
        """Apply a status report to its part; None when nothing matches.

        The part is the latest one of the report's modem and TP-MR that waits for its report,
        sent within ``progress.REPORT_WINDOW``, to the report's recipient and not after its
        TP-DT (``progress.REPORT_SQL``): a TP-MR is one octet and comes round again.
        """
        moment = now or utc_now()
        return await self._run(lambda tx: progress.match_report(tx, self._ctx, report, moment))

    async def cancel(self, message_id: str, *, now: datetime | None = None) -> MessageState | None:
        """Cancel a queued or retrying message; return its state after (None: no such id)."""
        moment = now or utc_now()
        return await self._run(lambda tx: progress.cancel(tx, self._ctx, message_id, moment))

    async def retry(self, message_id: str, *, now: datetime | None = None) -> MessageState | None:
        """Send a failed, expired or cancelled message again; return its state after."""
        moment = now or utc_now()
        return await self._run(lambda tx: progress.retry(tx, self._ctx, message_id, moment))

    async def get_message(self, message_id: str) -> OutgoingMessage | None:
        """Return one outbound message with its parts."""
        return await self._run(lambda tx: outbox.find(tx.conn, message_id))

    # --- read-only views (HTTP API) ----------------------------------------------------------
    # Through the writer like every job (one connection), but not durable: they write nothing.

    async def view_message(self, message_id: str) -> MessageView | None:
        """Return one outbound message with its parts' progress, or None."""
        return await self._run(lambda tx: views.message(tx.conn, message_id), durable=False)

    async def view_messages(
        self,
        *,
        state: MessageState | None = None,
        to: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> list[MessageView]:
        """Return outbound messages with their parts, newest first; page on with ``before=seq``."""
        return await self._run(
            lambda tx: views.messages(tx.conn, state=state, to=to, limit=limit, before=before),
            durable=False,
        )

    async def view_inbox(
        self,
        *,
        since: datetime | None = None,
        sender: str | None = None,
        modem: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> list[IncomingMessage]:
        """Return inbound messages stored since ``since``, newest first; page with ``before``."""
        return await self._run(
            lambda tx: queries.list_inbox(
                tx.conn, since=since, sender=sender, modem=modem, limit=limit, before=before
            ),
            durable=False,
        )

    # --- inbox --------------------------------------------------------------------------------

    async def store_incoming_part(
        self,
        modem: str,
        part: InboundPart,
        *,
        opt_out_keywords: Collection[str] = (),
        now: datetime | None = None,
    ) -> InboundResult:
        """Store a received part durably; return the message it completes (then published).

        A completed message whose text is one of ``opt_out_keywords`` puts its sender on the
        opt-out list in the same transaction.
        """
        moment, keywords = now or utc_now(), opt_out_keywords
        return await self._run(
            lambda tx: inbox.store_part(tx, self._ctx, modem, part, moment, keywords)
        )

    async def store_undecodable(
        self, modem: str, raw: bytes, *, error: str, now: datetime | None = None
    ) -> UndecodableResult:
        """Keep a PDU the decoder refused, raw, with its ``errors`` event (when MQTT is on)."""
        moment = now or utc_now()
        return await self._run(
            lambda tx: inbox.store_undecodable(tx, self._ctx, modem, raw, error, moment)
        )

    async def flush_incomplete(
        self, *, older_than: float, now: datetime | None = None
    ) -> list[IncomingMessage]:
        """Deliver sets waiting longer than ``older_than`` seconds as incomplete messages."""
        moment = now or utc_now()
        before = moment - timedelta(seconds=older_than)
        return await self._run(lambda tx: inbox.flush_incomplete(tx, self._ctx, before, moment))

    # --- publications -------------------------------------------------------------------------

    async def enqueue_publication(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        durable: bool = True,
    ) -> int:
        """Queue a publication of its own; return its id.

        ``durable=False`` commits without fsync: for what a power cut may lose without harm,
        such as a modem's retained health, which its next change publishes again.
        """
        (pk,) = await self.enqueue_publications(
            [(topic, payload)], qos=qos, retain=retain, durable=durable
        )
        return pk

    async def enqueue_publications(
        self,
        publications: Sequence[tuple[str, bytes]],
        *,
        qos: int = 1,
        retain: bool = False,
        durable: bool = True,
        drop: Sequence[int] = (),
    ) -> list[int]:
        """Queue (topic, payload) publications in one commit; return their ids.

        ``drop``: ids of publications the broker acknowledged earlier, deleted in the same
        commit (so that their removal costs no commit of its own).
        """
        now_ms, ctx = to_ms(utc_now()), self._ctx

        def job(tx: Transaction) -> list[int]:
            for publication_id in drop:
                queries.ack_publication(tx.conn, publication_id)
            return [
                queue_publication(
                    tx, ctx, topic=topic, payload=payload, now_ms=now_ms, qos=qos, retain=retain
                )
                for topic, payload in publications
            ]

        return await self._run(job, durable=durable)

    async def next_publications(self, limit: int = 100, *, after: int = 0) -> list[Publication]:
        """Return up to ``limit`` queued publications with an id above ``after``, oldest first."""
        return await self._run(lambda tx: queries.next_publications(tx.conn, limit, after))

    async def publication_count(self) -> int:
        """Return how many publications wait for the broker (they survive its outages)."""
        return await self._run(lambda tx: queries.publication_count(tx.conn))

    async def ack_publication(self, publication_id: int) -> bool:
        """Drop a publication the broker acknowledged; False if it was gone already.

        Not durable: a power cut may undo the last acknowledgements, and those events are then
        published again (MQTT QoS 1 is at least once anyway; every payload carries its id).
        """
        return await self._run(
            lambda tx: queries.ack_publication(tx.conn, publication_id), durable=False
        )

    # --- opt-out, counters, listings ----------------------------------------------------------

    async def opt_out_add(self, number: str, *, source: str = "cli") -> bool:
        """Put a number on the opt-out list; False if it was on it."""
        now = utc_now()
        return await self._run(lambda tx: queries.opt_out_add(tx.conn, number, source, now))

    async def opt_out_remove(self, number: str) -> bool:
        """Take a number off the opt-out list; False if it was not on it."""
        return await self._run(lambda tx: queries.opt_out_remove(tx.conn, number))

    async def opt_out_contains(self, number: str) -> bool:
        """Return True when a number is on the opt-out list."""
        return await self._run(lambda tx: queries.opt_out_contains(tx.conn, number))

    async def opt_out_list(self, limit: int = 100, *, after: str = "") -> list[OptOutEntry]:
        """Return numbers on the opt-out list, sorted, after ``after``."""
        return await self._run(lambda tx: queries.opt_out_list(tx.conn, limit, after))

    async def sent_parts_since(self, modem: str, since: datetime) -> int:
        """Count the parts ``modem`` sent since ``since``."""
        return await self._run(lambda tx: queries.sent_parts_since(tx.conn, modem, since))

    @property
    def waiting(self) -> int:
        """How many outbound messages wait to be claimed, as of the last commit.

        ``queued`` or ``retrying``, due or not: the states a claim takes messages from.
        """
        counts = self._ctx.counts
        return counts.get(MessageState.QUEUED, 0) + counts.get(MessageState.RETRYING, 0)

    @property
    def has_waiting(self) -> bool:
        """Whether any outbound message waits to be claimed (``waiting``), as of the last commit."""
        return self.waiting > 0

    async def state_counts(self) -> dict[MessageState, int]:
        """Return how many outbound messages are in each state, as of the last commit.

        Kept by the jobs that change states (``common.count_states``): no scan, no writer job.
        """
        return dict(self._ctx.counts)

    # --- retention ----------------------------------------------------------------------------

    async def purge(self, *, before: datetime) -> Purged:
        """Delete finished messages and inbound SMS older than ``before``; free their space.

        One transaction per ``retention.PURGE_BATCH`` messages, so sends wait for one batch at
        most; then the free pages go back to the file system (``retention``). Not durable: a
        power cut may undo a deletion, and the next pass deletes again.
        """
        before_ms, ctx = to_ms(before), self._ctx
        outbound = await self._repeat(
            lambda tx: retention.purge_outbox(tx, ctx, before_ms, retention.PURGE_BATCH),
            retention.PURGE_BATCH,
        )
        inbound = await self._repeat(
            lambda tx: retention.purge_inbox(tx, before_ms, retention.PURGE_BATCH),
            retention.PURGE_BATCH,
        )
        released = await self._repeat(
            lambda tx: retention.release_free_pages(tx.conn, retention.VACUUM_BATCH),
            retention.VACUUM_BATCH,
        )
        return Purged(outbound, inbound, released)

    async def drop_orphan_deliveries(self, *, before: datetime) -> int:
        """Delete the events stored before ``before`` for consumers this store does not serve.

        Webhook and ``dlr-url`` events (``deliveries.drop_orphans``); return how many went. Not
        durable: a power cut may undo it, and the next pass deletes again.
        """
        ctx = self._ctx
        consumers = [name for name, _ in ctx.webhooks]
        if ctx.dlr_callbacks:
            consumers.append(deliveries.DLR_CONSUMER)
        before_ms = to_ms(before)
        return await self._repeat(
            lambda tx: deliveries.drop_orphans(tx, consumers, before_ms, retention.PURGE_BATCH),
            retention.PURGE_BATCH,
        )

    async def _repeat(self, job: Callable[[Transaction], int], batch: int) -> int:
        """Run ``job`` (not durable) until it does less than ``batch``; return the sum."""
        total = 0
        while True:
            done = await self._run(job, durable=False)
            total += done
            if done < batch:
                return total

    async def database_size(self) -> DatabaseSize:
        """Return the size of the database file, of its WAL, and of the free pages inside."""
        free, size = await self._run(
            lambda tx: (retention.free_pages(tx.conn), retention.page_size(tx.conn)),
            durable=False,
        )
        wal = self.path.with_name(f"{self.path.name}-wal")
        return DatabaseSize(
            bytes=_file_size(self.path), wal_bytes=_file_size(wal), free_bytes=free * size
        )

    async def dlr_of(self, message_id: str) -> tuple[int | None, str | None]:
        """Return a message's Kannel ``(dlr_mask, dlr_url)``."""
        return await self._run(lambda tx: deliveries.dlr_of(tx.conn, message_id), durable=False)

    # --- webhook and dlr-url deliveries --------------------------------------------------------

    async def next_deliveries(self, consumer: str, limit: int = 1) -> list[Delivery]:
        """Return a consumer's oldest stored deliveries, in order."""
        return await self._run(
            lambda tx: deliveries.next_deliveries(tx.conn, consumer, limit), durable=False
        )

    async def finish_delivery(self, pk: int) -> None:
        """Forget a delivery that was delivered or given up.

        Not fsynced: a power cut may undo it, and the event goes again with its
        ``X-Gsmgw-Delivery``, which at-least-once delivery allows.
        """
        await self._run(lambda tx: deliveries.finish(tx, pk), durable=False)

    async def postpone_delivery(self, pk: int, due: datetime, error: str) -> None:
        """Record a failed attempt and when the next is due."""
        await self._run(lambda tx: deliveries.postpone(tx, pk, to_ms(due), error), durable=False)

    async def delivery_backlog(self) -> dict[str, tuple[int, str | None]]:
        """Return each consumer's waiting deliveries and the oldest one's last error."""
        return await self._run(lambda tx: deliveries.backlog(tx.conn), durable=False)

    async def _run(self, job: Callable[[Transaction], T], *, durable: bool = True) -> T:
        self._clock.check()  # a jump's shift goes ahead of this job and its new-clock times
        return await self._writer.submit(job, durable=durable)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class StoreReader:
    """Read-only access for the CLI; safe while the daemon writes (WAL readers do not block)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = connect_reader(self.path)
        self._conn.row_factory = sqlite3.Row

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def list_outbox(
        self,
        *,
        state: MessageState | None = None,
        to: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> list[OutgoingMessage]:
        """Return outbound messages newest first; page on with ``before=last.seq``."""
        with map_errors(f"cannot read {self.path}"):
            return queries.list_outbox(self._conn, state=state, to=to, limit=limit, before=before)

    def show_outbox(self, message_id: str) -> OutgoingMessage | None:
        """Return one outbound message with its parts."""
        with map_errors(f"cannot read {self.path}"):
            return queries.show_outbox(self._conn, message_id)

    def list_inbox(
        self,
        *,
        sender: str | None = None,
        modem: str | None = None,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
    ) -> list[IncomingMessage]:
        """Return inbound messages newest first, or oldest first after ``after`` (export)."""
        with map_errors(f"cannot read {self.path}"):
            return queries.list_inbox(
                self._conn, sender=sender, modem=modem, limit=limit, before=before, after=after
            )

    def show_inbox(self, message_id: str) -> tuple[IncomingMessage, list[InboundRawPart]] | None:
        """Return one inbound message with its raw parts."""
        with map_errors(f"cannot read {self.path}"):
            return queries.show_inbox(self._conn, message_id)

    def list_undecodable(self, *, modem: str | None = None, limit: int = 50) -> list[Undecodable]:
        """Return received PDUs kept raw because they could not be decoded, newest first."""
        with map_errors(f"cannot read {self.path}"):
            return queries.list_undecodable(self._conn, modem=modem, limit=limit)

    def show_undecodable(self, entry_id: str) -> Undecodable | None:
        """Return one received PDU kept raw, or None."""
        with map_errors(f"cannot read {self.path}"):
            return queries.show_undecodable(self._conn, entry_id)

    def opt_out_list(self, limit: int = 100, *, after: str = "") -> list[OptOutEntry]:
        """Return numbers on the opt-out list, sorted, after ``after``."""
        with map_errors(f"cannot read {self.path}"):
            return queries.opt_out_list(self._conn, limit, after)

    def state_counts(self) -> dict[MessageState, int]:
        """Count outbound messages per state."""
        with map_errors(f"cannot read {self.path}"):
            return queries.state_counts(self._conn)
