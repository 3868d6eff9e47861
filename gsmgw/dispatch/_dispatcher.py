"""The send loop: one sender task per modem, woken by new work, routed by ``gsmgw.dispatch._pool``.

Theory of operation. The store sets ``work_added`` after every commit that made a message
claimable; a waker task passes that to the modems, so a queued message reaches an idle modem
within one claim (no polling of the queue). Busy modems are told at once (they look again when
they can); idle ones take turns: one claims, then wakes the next only while messages wait to
be claimed (``_pass_turn``), so one new message costs one claim, not one per idle modem, and a
message only a later modem may send still reaches it. A modem that is ready, within its
``per_minute``/``per_day`` limits and idle claims the best message of the routes it may serve
(request ``modem``, then ``[[rule]]`` modems, then any: the store's ``RouteFilter``), has it
encoded once (its parts and concatenation reference are stored, so a resend reuses them), and
asks ``pool.best_modem`` whether it should send it: the cheapest modem for the destination
first, then the one that will finish soonest (SPEC.md "Routing"). When another modem is better,
the message is handed to it (at most one waits per modem) and the claiming modem stands aside
until something changes. Each modem's ``Sender`` goes through ``SenderState`` (idle, claiming,
sending, holding, resting, stopped). Timers exist only for rate-limit windows and, in
``_schedule``, for ``send_at``/retry due times, wall-clock jumps and the periodic expiry and
incomplete-inbound flush.

Commits, not modems, bound a fast modem's rate, so two steps overlap them: a modem whose parts
take under ``CLAIM_AHEAD_MAX_SEND_TIME`` claims its next message while it sends the current one,
and a part's TP-MR commit joins the next part's ``begin_part`` (``sender.send_message``); the
store's group commit then carries several modems' steps in one fsync.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
import random
import time
from typing import NoReturn

from gsmgw.config import Config, ModemConfig
from gsmgw.dispatch._pool import Candidate, best_modem, updated_send_time
from gsmgw.dispatch._schedule import Schedule, wait
from gsmgw.dispatch._send import Attempt, ModemLink, Outcome, SendPolicy, encode, send_message
from gsmgw.dispatch._sender import Sender, SenderState, route_filter, sender_status
from gsmgw.dispatch._stranded import Stranded
from gsmgw.errors import StoreError
from gsmgw.models import OutgoingMessage, utc_now
from gsmgw.store import Store

__all__ = ["Dispatcher"]

LOGGER = logging.getLogger(__name__)

# All of these are in seconds.
#: A modem whose send failed without an answer (hang, vanished) rests this long.
FAILURE_PAUSE_DELAY = 5.0
#: How long a modem holds a message for a busier, better modem before sending it itself.
HOLD_PATIENCE_DELAY = 2.0
#: A modem claims its next message while sending only when a part takes at most this long:
#: then the store's commits, not the network, bound its rate.
CLAIM_AHEAD_MAX_SEND_TIME = 0.25
#: A modem that claimed a message hands it to one that would finish it sooner only when that
#: gains at least this much: finish times are estimates (moving averages of send times), and
#: below it their noise, not the modems, would decide (modems take seconds per part).
HANDOVER_MIN_GAIN = 0.05
#: The shortest wait of a message deferred for the SIMs' limits (no busy loop on a rounding).
MIN_DEFER_DELAY = 0.5
#: A modem in these states takes no message handed over.
_BUSY_HANDS = (SenderState.HOLDING, SenderState.STOPPED)


class Dispatcher:
    """Sends the outbox through the modems; see the module docstring."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        policy: SendPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._policy = policy or SendPolicy.from_config(config)
        self._rng = rng or random.Random()
        self._senders: dict[str, Sender] = {}
        self._group: asyncio.TaskGroup | None = None
        self._schedule = Schedule(
            store, self._wake_senders, lambda: self._config.gateway.incomplete_after
        )
        self._stopping = False
        #: Idle senders not yet woken for the latest work, in turn order (``_pass_turn``).
        self._turns: list[Sender] = []
        #: Claims made and not yet answered; while they are as many as the messages waiting,
        #: another claim would find nothing (``_worth_claiming``).
        self._claiming = 0
        #: Senders that did not claim because of those claims: woken when one ends with work left.
        self._held_back: list[Sender] = []
        self._idle = asyncio.Event()
        self._stranded = Stranded(store, self.poke)
        for modem in config.modems:
            self._add_sender(modem)

    # --- the modems' side (the daemon calls these as supervisors report) -----------------------

    @property
    def senders(self) -> dict[str, Sender]:
        """Every modem's sender by id (read-only use: status)."""
        return self._senders

    def attach(self, modem_id: str, link: ModemLink) -> None:
        """Let a modem that is open and initialised send."""
        sender = self._senders[modem_id]
        sender.link, sender.paused_until = link, 0.0
        LOGGER.info("%s: ready to send", modem_id)
        self.poke()

    def detach(self, modem_id: str, error: str | None = None) -> None:
        """Stop a modem that went away from sending until it is attached again."""
        sender = self._senders.get(modem_id)
        if sender is None:
            return
        sender.link = None
        if error:
            sender.last_error = error
        self.poke()  # its sender gives held messages back; others re-route theirs

    def set_registered(self, modem_id: str, registered: bool) -> None:
        """Registration changed (TS 27.007 §7.2): only a registered modem sends."""
        sender = self._senders.get(modem_id)
        if sender is not None and sender.registered != registered:
            sender.registered = registered
            self.poke()

    def poke(self) -> None:
        """Something changed (a modem, the schedule): every modem looks for work again."""
        self._schedule.changed.set()
        self._wake_senders()

    def _wake_senders(self) -> None:
        for sender in self._senders.values():
            sender.wake.set()

    def views(self) -> list[Candidate]:
        """Return every modem as routing sees it now."""
        now = time.monotonic()
        return [sender.view(now) for sender in self._senders.values()]

    def reload(self, config: Config) -> None:
        """Apply a new config: limits, costs, groups, rules; modems added or removed."""
        retry = {"retry_base": self._policy.retry_base, "retry_max": self._policy.retry_max}
        self._config, self._policy = config, SendPolicy.from_config(config, **retry)
        wanted = {modem.id: modem for modem in config.modems}
        for modem_id in list(self._senders):
            if modem_id not in wanted:
                gone = self._senders.pop(modem_id)
                if gone.task is not None:
                    gone.task.cancel()  # its sender gives its messages back as it unwinds
        for modem in config.modems:
            sender = self._senders.get(modem.id)
            if sender is None:
                self._start(self._add_sender(modem))
            else:
                sender.config, sender.serves = modem, route_filter(modem)
        self.poke()

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> NoReturn:
        """Run the sender tasks and timers until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for sender in self._senders.values():
                self._start(sender)
            group.create_task(self._waker(), name="dispatch-waker")
            group.create_task(self._schedule.run(), name="dispatch-schedule")
            group.create_task(self._stranded.run(), name="dispatch-stranded")
        raise AssertionError("the dispatcher's tasks never end")  # pragma: no cover

    def stop_taking(self) -> None:
        """Stop claiming new messages (shutdown); sends in progress go on."""
        self._stopping = True
        self.poke()

    async def drain(self, limit: float) -> bool:
        """Wait up to ``limit`` s until no modem is sending; return whether they all stopped."""
        try:
            async with asyncio.timeout(limit):
                while any(
                    s.state is not SenderState.STOPPED for s in self._senders.values() if s.running
                ):
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    @staticmethod
    def _still_sending(sender: Sender) -> bool:
        return sender.running and sender.state is not SenderState.STOPPED

    def _add_sender(self, modem: ModemConfig) -> Sender:
        sender = Sender(config=modem, serves=route_filter(modem))
        self._senders[modem.id] = sender
        return sender

    def _start(self, sender: Sender) -> None:
        if self._group is not None:
            sender.task = self._group.create_task(
                self._run_sender(sender), name=f"send-{sender.id}"
            )

    async def _waker(self) -> NoReturn:
        work = self._store.work_added
        while True:
            await work.wait()
            work.clear()
            self._wake_for_work()

    def _wake_for_work(self) -> None:
        """Tell busy senders of new work at once; let idle ones take turns claiming it."""
        self._turns = []
        for sender in self._senders.values():
            if sender.state is SenderState.IDLE and not sender.wake.is_set():
                self._turns.append(sender)
            else:
                sender.wake.set()
        self._pass_turn(first=True)

    def _pass_turn(self, *, first: bool = False) -> None:
        """Wake the next idle sender whose turn it is, while the queue may hold work for it.

        After a claim, with nothing left ``queued`` or ``retrying``, nobody could claim anything:
        the turns end there. Otherwise (more messages, or some on routes the last sender does not
        serve) the next idle sender claims; each takes at most one turn per ``work_added``.
        While claims in flight are as many as the messages waiting, the turn waits for them.
        """
        if not first and not self._store.has_waiting:
            self._turns = []
            return
        if not self._worth_claiming():
            return  # the claims in flight may take all of it; the end of each passes the turn on
        while self._turns:
            sender = self._turns.pop(0)
            if sender.state is SenderState.IDLE and not sender.wake.is_set():
                sender.wake.set()
                return

    # --- one modem's sender ------------------------------------------------------------------

    async def _run_sender(self, sender: Sender) -> NoReturn:
        while True:
            try:
                await self.step(sender)
            except Exception:
                LOGGER.exception("%s: sender failed; resting", sender.id)
                self._pass_turn()
                await self._give_back(sender)
                if sender.state is not SenderState.STOPPED:
                    sender.enter(SenderState.RESTING)
                sender.paused_until = time.monotonic() + FAILURE_PAUSE_DELAY
                await wait(sender.wake, FAILURE_PAUSE_DELAY)

    async def step(self, sender: Sender) -> None:
        """One turn of a modem's sender; cancelled, it first gives back what it holds."""
        sender.wake.clear()
        try:
            await self._step(sender)
        except asyncio.CancelledError:
            self._pass_turn()
            await self._give_back(sender)
            raise

    async def _step(self, sender: Sender) -> None:
        """Take, route and send at most one message; wait when there is nothing to do."""
        now = time.monotonic()
        if self._stopping or not sender.ready(now):
            self._pass_turn()  # this one takes nothing now: the next idle sender may
            await self._rest(sender, now)
            return
        delay = sender.limit_delay(1, now)
        if delay > 0:
            self._pass_turn()
            await self._settle(sender)
            if sender.handed is not None:
                await self._give_back(sender)  # handed over before the budget ran out
            if sender.state is not SenderState.HOLDING:
                sender.enter(SenderState.RESTING)
            await wait(sender.wake, delay)
            return
        message = await self._next_message(sender)
        self._pass_turn()  # before this send: another modem may send the next message meanwhile
        if message is None:
            await self._settle(sender)
            sender.enter(SenderState.IDLE)
            await sender.wake.wait()
            return
        best = self._route(sender, message)
        if best is not None and best.id == sender.id:
            await self._send(sender, message)
            return
        await self._settle(sender)
        await self._stand_aside(sender, message, best)

    async def _rest(self, sender: Sender, now: float) -> None:
        """Give everything back while this modem may not send (or the dispatcher stops)."""
        await self._give_back(sender)
        if self._stopping and sender.handed is None:
            sender.enter(SenderState.STOPPED)  # holds nothing, takes nothing: drain may end
            self._idle.set()
        elif sender.state is not SenderState.STOPPED:
            sender.enter(SenderState.RESTING)
        pause = None if self._stopping or sender.link is None else sender.paused_until - now
        await wait(sender.wake, pause if pause and sender.registered else None)

    def _route(self, sender: Sender, message: OutgoingMessage) -> Candidate | None:
        """Return the modem that should send ``message``; this one when it is as good."""
        parts = len(message.unsent_parts())
        views = self.views()
        best = best_modem(views, message.to, parts, message.route or None)
        if best is None or best.id == sender.id:
            return best
        own = next(view for view in views if view.id == sender.id)
        if (
            own.ready
            and own.within_limits(parts)
            and own.price(message.to) <= best.price(message.to)
            and own.finish_time(parts) <= best.finish_time(parts) + HANDOVER_MIN_GAIN
        ):
            return own  # a (near) tie stays here: handing over costs wake-ups for nothing
        return best

    async def _next_message(self, sender: Sender) -> OutgoingMessage | None:
        """Return the message in hand (HOLDING), the one handed over, or a claimed one."""
        if sender.state is SenderState.HOLDING:
            return sender.message
        sender.enter(SenderState.CLAIMING)
        if sender.handed is not None:
            message, sender.handed = sender.handed, None
            self.poke()  # the modem that handed it over may look for work again
            return message
        ahead = sender.claim_ahead is not None
        claimed = await self._claimed(sender)
        if claimed is None and ahead and self._store.has_waiting:
            # Claimed ahead, during the last send: work that came since woke this modem, and
            # the loop cleared that wake-up. Nothing would claim the new message: look again.
            claimed = await self._claimed(sender)
        return claimed

    async def _claimed(self, sender: Sender) -> OutgoingMessage | None:
        """Return the result of this modem's claim, started now unless it was made ahead."""
        if sender.claim_ahead is None:
            if not self._worth_claiming():
                # Nothing to take, or other modems' claims may take all that waits: a claim
                # would only cost a writer job. New work wakes this modem (or its turn) again;
                # so does the end of a claim in flight that leaves work behind.
                if self._claiming:
                    self._held_back.append(sender)
                return None
            sender.claim_ahead = self._start_claim(sender)
        # Shielded: a claim that commits must reach someone; a cancelled sender's
        # _give_back collects it from sender.claim_ahead and requeues it.
        claim = sender.claim_ahead
        try:
            return await asyncio.shield(claim)
        finally:
            if claim.done():  # a failed claim is not awaited again; a cancelled wait keeps it
                sender.claim_ahead = None

    def _start_claim(self, sender: Sender) -> asyncio.Task[OutgoingMessage | None]:
        """Start this modem's claim, in flight from now on (``_worth_claiming`` counts it).

        Counted here, not in the task's first step: another modem deciding before that step
        would see no claim in flight and claim too, for the same single message (issue 17's
        traces: a fifth of all claims found nothing). The done callback uncounts it even when
        the task is cancelled before its first step.
        """
        self._claiming += 1
        task = asyncio.ensure_future(self._claim(sender))
        task.add_done_callback(self._claim_ended)
        return task

    async def _claim(self, sender: Sender) -> OutgoingMessage | None:
        """Claim the best message this modem may send, its parts encoded in the same commit."""
        return await self._store.claim_next(sender.id, serves=sender.serves, encode=self._encode)

    def _worth_claiming(self) -> bool:
        """Whether more messages wait than the claims in flight may take."""
        return self._store.waiting > self._claiming

    def _claim_ended(self, _claim: asyncio.Task[OutgoingMessage | None]) -> None:
        """Wake the senders held back for claims in flight if work is left; go on with the turns.

        A claim may leave a message behind that the held back modems may send and the claiming
        one may not (routes), or that was not due yet for it.
        """
        self._claiming -= 1
        held, self._held_back = self._held_back, []
        if self._store.has_waiting:
            for sender in held:
                sender.wake.set()
        self._pass_turn()  # with nothing waiting, the turns end

    def _encode(self, message: OutgoingMessage) -> list[tuple[str, int]]:
        return encode(message, self._policy)

    def _may_claim_ahead(self, sender: Sender) -> bool:
        """Whether to claim the next message while this one is sent (limits decide otherwise)."""
        if not self._worth_claiming():
            return False  # nothing (else) to claim ahead: this modem looks again after the send
        limited = sender.config.per_minute is not None or sender.config.per_day is not None
        idle = sender.claim_ahead is None and sender.handed is None
        # A slow modem gains nothing, and the message would wait here while others idle.
        fast = sender.samples > 0 and sender.send_time <= CLAIM_AHEAD_MAX_SEND_TIME
        return idle and fast and not limited and not self._stopping

    async def _stand_aside(
        self, sender: Sender, message: OutgoingMessage, best: Candidate | None
    ) -> None:
        """Hand a message to a better modem, or hold it until one (maybe this) can take it."""
        target = self._senders.get(best.id) if best is not None else None
        if target is not None and target.handed is None and target.state not in _BUSY_HANDS:
            target.handed = message
            target.wake.set()
            sender.enter(SenderState.IDLE)
            LOGGER.debug("%s: %s handed to %s", sender.id, message.id, target.id)
            await sender.wake.wait()
            return
        if best is None:
            await self._defer(sender, message)
            return
        sender.enter(SenderState.HOLDING, message)
        parts = len(message.unsent_parts())
        # The better modem has a message waiting already. If nothing changes for a while
        # (modems holding messages for each other), this one sends it after all.
        if await wait(sender.wake, HOLD_PATIENCE_DELAY):
            return  # something changed: the next step routes it again
        now = time.monotonic()
        if sender.ready(now) and sender.limit_delay(parts, now) == 0:
            await self._send(sender, message)

    async def _defer(self, sender: Sender, message: OutgoingMessage) -> None:
        """Give back a message no modem may take now (their limits) until one has room for it.

        Back in the queue, it expires on time and this modem sends other messages meanwhile;
        held here, it stayed ``sending`` and blocked the modem for as long as the limit lasted.
        """
        parts = len(message.unsent_parts())
        now = time.monotonic()
        delays = [
            other.limit_delay(parts, now, capped=False)
            for other in self._senders.values()
            if other.ready(now) and other.serves(message.route)
        ]
        delay = min(delays, default=FAILURE_PAUSE_DELAY)
        until = utc_now() + timedelta(seconds=max(delay, MIN_DEFER_DELAY))
        # Runs to its end even if this sender is cancelled: nobody else knows of the message.
        deferral = asyncio.ensure_future(self._store.defer(message.id, until))
        self._stranded.watch(message.id, deferral)  # the store failed: queued again later
        sender.enter(SenderState.IDLE)
        await asyncio.shield(deferral)
        LOGGER.info("%s: %s waits for room in the limits until %s", sender.id, message.id, until)
        self._schedule.changed.set()  # a new due time for the timer

    async def _send(self, sender: Sender, message: OutgoingMessage) -> None:
        link = sender.link
        assert link is not None
        sender.enter(SenderState.SENDING, message)
        if self._may_claim_ahead(sender):
            # The next claim's commits overlap this send: the store commits them as a group.
            sender.claim_ahead = self._start_claim(sender)
        settle, sender.last_commit = sender.last_commit, None
        try:
            attempt = await send_message(
                self._store, link, sender.id, message, self._policy, self._rng, settle=settle
            )
        except StoreError:
            self._stranded.add(message.id)
            raise
        sender.enter(SenderState.IDLE)
        sender.last_commit = attempt.pending
        if attempt.pending is not None:
            self._stranded.watch(message.id, attempt.pending)
        self._account(sender, attempt)
        if any(other.state is SenderState.HOLDING for other in self._senders.values()):
            self.poke()  # a held message may fit this modem now

    def _account(self, sender: Sender, attempt: Attempt) -> None:
        now = time.monotonic()
        sender.record_sent(len(attempt.part_times), now)
        for sample in attempt.part_times:
            sender.send_time = updated_send_time(sender.send_time, sample, first=not sender.samples)
            sender.samples += 1
        if attempt.outcome is Outcome.SENT:
            sender.sent += 1
            return
        sender.last_error = attempt.error
        if attempt.outcome is Outcome.RETRYING:
            sender.retried += 1
            self._schedule.changed.set()
        elif attempt.outcome is Outcome.FAILED:
            sender.failed += 1
        else:
            sender.requeued += 1
            sender.paused_until = now + FAILURE_PAUSE_DELAY

    async def _settle(self, sender: Sender) -> None:
        """Wait for the last TP-MR commit; the modem is then idle (drain waits for this)."""
        pending, sender.last_commit = sender.last_commit, None
        if pending is not None:
            try:
                await asyncio.shield(pending)
            except Exception:
                LOGGER.exception("%s: recording a sent part failed", sender.id)
        self._idle.set()

    async def _give_back(self, sender: Sender) -> None:
        """Return messages this modem holds to the queue (it stopped, or went away).

        Runs to its end even when the sender is cancelled meanwhile: a claimed message that
        only a local variable knew of would stay ``sending`` until the next start.
        """
        task = asyncio.ensure_future(self._return_all(sender))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
            raise

    async def _return_all(self, sender: Sender) -> None:
        await self._settle(sender)
        waiting = [sender.handed] if sender.handed is not None else []
        sender.handed = None
        if sender.state is SenderState.HOLDING and sender.message is not None:
            waiting.append(sender.message)
            sender.enter(SenderState.STOPPED if self._stopping else SenderState.RESTING)
        claim: asyncio.Future[OutgoingMessage | None] | None = sender.claim_ahead
        sender.claim_ahead = None
        if claim is not None:
            try:
                claimed = await asyncio.shield(claim)
            except Exception:
                LOGGER.exception("%s: claiming failed", sender.id)
                claimed = None
            if claimed is not None:
                waiting.append(claimed)
        for message in waiting:
            LOGGER.debug("%s: %s back to the queue", sender.id, message.id)
            try:
                await asyncio.shield(self._store.requeue(message.id))
            except StoreError:
                self._stranded.add(message.id)

    def status(self) -> list[dict[str, object]]:
        """Return per-modem sending figures (for ``gsmgw status``)."""
        now = time.monotonic()
        return [sender_status(sender, now) for sender in self._senders.values()]
