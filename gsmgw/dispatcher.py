"""The send loop: one sender task per modem, woken by new work, routed by ``gsmgw.pool``.

Theory of operation. The store sets ``work_added`` after every commit that made a message
claimable; a waker task fans that out to every modem's own event, so a queued message reaches an
idle modem within one claim (no polling of the queue). A modem that is ready, within its
``per_minute``/``per_day`` limits and idle claims the best message of the routes it may serve
(request ``modem``, then ``[[rule]]`` modems, then any: the store's ``RouteFilter``), has it
encoded once (its parts and concatenation reference are stored, so a resend reuses them), and
asks ``pool.best_modem`` whether it should send it: the cheapest modem for the destination
first, then the one that will finish soonest (SPEC.md "Routing"). When another modem is better,
the message is handed to it (at most one waits per modem) and the claiming modem stands aside
until something changes. Timers exist only for rate-limit windows and, in ``gsmgw.schedule``, for
``send_at``/retry due times, wall-clock jumps and the periodic expiry and incomplete-inbound flush.

Commits, not modems, bound a fast modem's rate, so two steps overlap them: a modem whose parts
take under ``CLAIM_AHEAD_MAX_SEND_TIME`` claims its next message while it sends the current one,
and a part's TP-MR commit joins the next part's ``begin_part`` (``sender.send_message``); the
store's group commit then carries several modems' steps in one fsync.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import NoReturn

from gsmgw.config import Config, ModemConfig
from gsmgw.errors import StoreError
from gsmgw.models import OutgoingMessage
from gsmgw.pool import ModemView, best_modem, updated_send_time
from gsmgw.schedule import Schedule, wait
from gsmgw.sender import Attempt, ModemLink, Outcome, SendPolicy, encode, send_message
from gsmgw.slot import Slot, load_counts, route_filter, slot_status
from gsmgw.store import Store
from gsmgw.stranded import Stranded

__all__ = ["Dispatcher", "Slot", "load_counts", "route_filter"]

LOGGER = logging.getLogger(__name__)

# All of these are in seconds.
#: A modem whose send failed without an answer (hang, vanished) rests this long.
FAILURE_PAUSE_DELAY = 5.0
#: How long a modem holds a message for a busier, better modem before sending it itself.
HOLD_PATIENCE_DELAY = 2.0
#: A modem claims its next message while sending only when a part takes at most this long:
#: then the store's commits, not the network, bound its rate.
CLAIM_AHEAD_MAX_SEND_TIME = 0.25


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
        self._slots: dict[str, Slot] = {}
        self._group: asyncio.TaskGroup | None = None
        self._schedule = Schedule(
            store, self._wake_senders, lambda: self._config.gateway.incomplete_after
        )
        self._stopping = False
        self._idle = asyncio.Event()
        self._stranded = Stranded(store, self.poke)
        for modem in config.modems:
            self._add_slot(modem)

    # --- the modems' side (the daemon calls these as supervisors report) -----------------------

    @property
    def slots(self) -> dict[str, Slot]:
        """Every modem by id (read-only use: status)."""
        return self._slots

    def attach(self, modem_id: str, link: ModemLink) -> None:
        """Let a modem that is open and initialised send."""
        slot = self._slots[modem_id]
        slot.link, slot.paused_until = link, 0.0
        LOGGER.info("%s: ready to send", modem_id)
        self.poke()

    def detach(self, modem_id: str, error: str | None = None) -> None:
        """Stop a modem that went away from sending until it is attached again."""
        slot = self._slots.get(modem_id)
        if slot is None:
            return
        slot.link = None
        if error:
            slot.last_error = error
        self.poke()  # its sender gives held messages back; others re-route theirs

    def set_registered(self, modem_id: str, registered: bool) -> None:
        """Registration changed (TS 27.007 §7.2): only a registered modem sends."""
        slot = self._slots.get(modem_id)
        if slot is not None and slot.registered != registered:
            slot.registered = registered
            self.poke()

    def poke(self) -> None:
        """Something changed (a modem, the schedule): every modem looks for work again."""
        self._schedule.changed.set()
        self._wake_senders()

    def _wake_senders(self) -> None:
        for slot in self._slots.values():
            slot.wake.set()

    def views(self) -> list[ModemView]:
        """Return every modem as routing sees it now."""
        now = time.monotonic()
        return [slot.view(now) for slot in self._slots.values()]

    def reload(self, config: Config) -> None:
        """Apply a new config: limits, costs, groups, rules; modems added or removed."""
        retry = {"retry_base": self._policy.retry_base, "retry_max": self._policy.retry_max}
        self._config, self._policy = config, SendPolicy.from_config(config, **retry)
        wanted = {modem.id: modem for modem in config.modems}
        for modem_id in list(self._slots):
            if modem_id not in wanted:
                gone = self._slots.pop(modem_id)
                if gone.task is not None:
                    gone.task.cancel()  # its sender gives its messages back as it unwinds
        for modem in config.modems:
            slot = self._slots.get(modem.id)
            if slot is None:
                self._start(self._add_slot(modem))
            else:
                slot.config, slot.serves = modem, route_filter(modem)
        self.poke()

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> NoReturn:
        """Run the sender tasks and timers until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for slot in self._slots.values():
                self._start(slot)
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
                while any(not s.parked for s in self._slots.values() if s.running):
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def _add_slot(self, modem: ModemConfig) -> Slot:
        slot = Slot(config=modem, serves=route_filter(modem))
        self._slots[modem.id] = slot
        return slot

    def _start(self, slot: Slot) -> None:
        if self._group is not None:
            slot.task = self._group.create_task(self._sender(slot), name=f"send-{slot.id}")

    async def _waker(self) -> NoReturn:
        work = self._store.work_added
        while True:
            await work.wait()
            work.clear()
            self._wake_senders()

    # --- one modem's sender ------------------------------------------------------------------

    async def _sender(self, slot: Slot) -> NoReturn:
        while True:
            slot.wake.clear()
            try:
                await self._step(slot)
            except asyncio.CancelledError:
                await self._give_back(slot)
                raise
            except Exception:
                LOGGER.exception("%s: sender failed; resting", slot.id)
                slot.paused_until = time.monotonic() + FAILURE_PAUSE_DELAY
                await wait(slot.wake, FAILURE_PAUSE_DELAY)

    async def _step(self, slot: Slot) -> None:
        """Take, route and send at most one message; wait when there is nothing to do."""
        now = time.monotonic()
        if self._stopping or not slot.ready(now):
            await self._give_back(slot)
            if self._stopping and not slot.handed:
                slot.parked = True  # holds nothing and takes nothing more: drain may end
                self._idle.set()
            pause = None if self._stopping or slot.link is None else slot.paused_until - now
            await wait(slot.wake, pause if pause and slot.registered else None)
            return
        delay = slot.limit_delay(1, now)
        if delay > 0:
            await self._settle(slot)
            if slot.handed:
                await self._give_back(slot)  # handed over before the budget ran out
            await wait(slot.wake, delay)
            return
        stuck = slot.held is not None and slot.stuck
        message = await self._next_message(slot)
        if message is None:
            await self._settle(slot)
            await slot.wake.wait()
            return
        slot.busy_parts = 0  # routing: this modem is free for this message
        best = self._route(slot, message)
        if best is None or (best.id != slot.id and not stuck):
            await self._settle(slot)
            await self._stand_aside(slot, message, best)
            return
        await self._send(slot, message)

    def _route(self, slot: Slot, message: OutgoingMessage) -> ModemView | None:
        """Return the modem that should send ``message``; this one when it is as good."""
        parts = len(message.unsent_parts())
        views = self.views()
        best = best_modem(views, message.to, parts, message.route or None)
        if best is None or best.id == slot.id:
            return best
        own = next(view for view in views if view.id == slot.id)
        if own.ready and own.within_limits(parts):
            key = (own.price(message.to), own.finish_time(parts))
            if key <= (best.price(message.to), best.finish_time(parts)):
                return own  # a tie stays here: handing over costs a wake-up for nothing
        return best

    async def _next_message(self, slot: Slot) -> OutgoingMessage | None:
        if slot.held is not None:
            message, slot.held = slot.held, None
            return message
        if slot.handed:
            message = slot.handed.popleft()
            self.poke()  # the modem that handed it over may look for work again
            return message
        ahead = slot.claim is not None
        claimed = await self._claimed(slot)
        if claimed is None and ahead:
            # Claimed ahead, during the last send: work that came since woke this modem, and
            # the loop cleared that wake-up. Nothing would claim the new message: look again.
            claimed = await self._claimed(slot)
        return claimed

    async def _claimed(self, slot: Slot) -> OutgoingMessage | None:
        """Return the result of this modem's claim, started now unless it was made ahead."""
        if slot.claim is None:
            slot.claim = asyncio.ensure_future(self._claim(slot))
        # Shielded: a claim that commits must reach someone; a cancelled sender's
        # _give_back collects it from slot.claim and requeues it.
        claim = slot.claim
        try:
            return await asyncio.shield(claim)
        finally:
            if claim.done():  # a failed claim is not awaited again; a cancelled wait keeps it
                slot.claim = None

    async def _claim(self, slot: Slot) -> OutgoingMessage | None:
        """Claim the best message this modem may send, its parts encoded in the same commit."""
        return await self._store.claim_next(slot.id, serves=slot.serves, encode=self._encode)

    def _encode(self, message: OutgoingMessage) -> list[tuple[str, int]]:
        return encode(message, self._policy)

    def _may_claim_ahead(self, slot: Slot) -> bool:
        """Whether to claim the next message while this one is sent (limits decide otherwise)."""
        limited = slot.config.per_minute is not None or slot.config.per_day is not None
        idle = slot.claim is None and not slot.handed and slot.held is None
        # A slow modem gains nothing, and the message would wait here while others idle.
        fast = slot.samples > 0 and slot.send_time <= CLAIM_AHEAD_MAX_SEND_TIME
        return idle and fast and not limited and not self._stopping

    async def _stand_aside(
        self, slot: Slot, message: OutgoingMessage, best: ModemView | None
    ) -> None:
        """Hand a message to a better modem, or hold it until one (maybe this) can take it."""
        target = self._slots.get(best.id) if best is not None else None
        slot.stuck = False
        if target is not None and not target.handed and target.held is None:
            target.handed.append(message)
            target.wake.set()
            LOGGER.debug("%s: %s handed to %s", slot.id, message.id, target.id)
            await slot.wake.wait()
            return
        slot.held = message
        if best is None:
            # Nobody may take it now: wait for this modem's limit window (or any change).
            parts = len(message.unsent_parts())
            await wait(slot.wake, slot.limit_delay(parts, time.monotonic()) or None)
            return
        # The better modem has a message waiting already; if nothing changes for a while
        # (modems holding messages for each other), this one sends it after all.
        slot.stuck = not await wait(slot.wake, HOLD_PATIENCE_DELAY)

    async def _send(self, slot: Slot, message: OutgoingMessage) -> None:
        link = slot.link
        assert link is not None
        slot.busy_parts = len(message.unsent_parts())
        if self._may_claim_ahead(slot):
            # The next claim's commits overlap this send: the store commits them as a group.
            slot.claim = asyncio.ensure_future(self._claim(slot))
        settle, slot.pending = slot.pending, None
        try:
            attempt = await send_message(
                self._store, link, slot.id, message, self._policy, self._rng, settle=settle
            )
        except StoreError:
            self._stranded.add(message.id)
            raise
        slot.pending = attempt.pending
        if attempt.pending is not None:
            self._stranded.watch(message.id, attempt.pending)
        self._account(slot, attempt)
        if any(other.held is not None for other in self._slots.values()):
            self.poke()  # a held message may fit this modem now

    def _account(self, slot: Slot, attempt: Attempt) -> None:
        now = time.monotonic()
        slot.record_sent(len(attempt.part_times), now)
        for sample in attempt.part_times:
            slot.send_time = updated_send_time(slot.send_time, sample, first=not slot.samples)
            slot.samples += 1
        if attempt.outcome is Outcome.SENT:
            slot.sent += 1
            return
        slot.last_error = attempt.error
        if attempt.outcome is Outcome.RETRYING:
            slot.retried += 1
            self._schedule.changed.set()
        elif attempt.outcome is Outcome.FAILED:
            slot.failed += 1
        else:
            slot.requeued += 1
            slot.paused_until = now + FAILURE_PAUSE_DELAY

    async def _settle(self, slot: Slot) -> None:
        """Wait for the last TP-MR commit; the modem is then idle (drain waits for this)."""
        pending, slot.pending = slot.pending, None
        if pending is not None:
            try:
                await asyncio.shield(pending)
            except Exception:
                LOGGER.exception("%s: recording a sent part failed", slot.id)
        slot.busy_parts = 0
        self._idle.set()

    async def _give_back(self, slot: Slot) -> None:
        """Return messages this modem holds to the queue (it stopped, or went away).

        Runs to its end even when the sender is cancelled meanwhile: a claimed message that
        only a local variable knew of would stay ``sending`` until the next start.
        """
        task = asyncio.ensure_future(self._return_all(slot))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
            raise

    async def _return_all(self, slot: Slot) -> None:
        await self._settle(slot)
        waiting = [*slot.handed, *([slot.held] if slot.held is not None else [])]
        slot.handed.clear()
        slot.held = None
        claim: asyncio.Future[OutgoingMessage | None] | None = slot.claim
        slot.claim = None
        if claim is not None:
            try:
                claimed = await asyncio.shield(claim)
            except Exception:
                LOGGER.exception("%s: claiming failed", slot.id)
                claimed = None
            if claimed is not None:
                waiting.append(claimed)
        for message in waiting:
            LOGGER.debug("%s: %s back to the queue", slot.id, message.id)
            try:
                await asyncio.shield(self._store.requeue(message.id))
            except StoreError:
                self._stranded.add(message.id)

    def status(self) -> list[dict[str, object]]:
        """Return per-modem sending figures (for ``gsmgw status``)."""
        now = time.monotonic()
        return [slot_status(slot, now) for slot in self._slots.values()]
