"""The core as the bridges and the control socket see it: store, dispatcher and modem health.

``Gateway`` implements ``gsmgw.core._seam.Core`` (submit, USSD, the publication queue) and
serves the control socket's operations (``status``, ``send``, ``outbox_retry``,
``outbox_cancel``, ``optout_add``, ``optout_remove``), so the CLI's writes go through the one
writer the daemon owns and wake the dispatcher at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
import json
import logging
import time
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from gsmgw.config import Config
from gsmgw.core import (
    MessageView,
    NodeHealth,
    SegmentResult,
    SmppDelivery,
    SmppOrigin,
    SmppSegment,
    SubmitResult,
    node_topics,
)
from gsmgw.daemon._health import HealthPolicy, HealthReport
from gsmgw.dispatch import Dispatcher, Inbound
from gsmgw.errors import (
    CommandError,
    ControlError,
    ModemTimeout,
    ModemUnavailable,
    RequestError,
    StoreError,
)
from gsmgw.models import IncomingMessage, MessageState, SendRequest
from gsmgw.store import Delivery, EnqueuePolicy, Publication, Store
from gsmgw.validate import ussd_code

if TYPE_CHECKING:
    from gsmgw.bridges.smpp import SmppMetrics

LOGGER = logging.getLogger(__package__)


class UssdLink(Protocol):
    """What a USSD request needs from a modem driver."""

    async def ussd(self, code: str) -> str:
        """Send a USSD code and return the network's answer."""
        ...


class Gateway:
    """Everything the outside world may ask of a running node."""

    def __init__(
        self, store: Store, dispatcher: Dispatcher, receiver: Inbound, config: Config
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.receiver = receiver
        self.config = config
        self.health: dict[str, HealthReport] = {m.id: HealthReport() for m in config.modems}
        self._health_policy = HealthPolicy()
        #: Set when a signal change was held back (``run_health`` publishes it when due).
        self._health_held = asyncio.Event()
        #: Queued health publications, and those the broker acknowledged but whose rows are
        #: deleted only with the next health publication (``_health``: no commit of their own).
        self._health_queued: set[int] = set()
        self._health_acked: set[int] = set()
        self.ussd_links: dict[str, UssdLink] = {}
        self.mqtt_state: Callable[[], str] = lambda: "off"
        #: The SMPP server's sessions (``gsmgw status``); none while it is off.
        self.smpp_status: Callable[[], list[dict[str, object]]] = list
        #: The SMPP server's counts by user (the Prometheus metrics); None while it is off.
        self.smpp_metrics: Callable[[], SmppMetrics] | None = None
        self.http_state: Callable[[], str] = lambda: "off"
        #: ``status``'s "http" and "webhooks" entries, set by the daemon when they run.
        self.http_status: Callable[[], Awaitable[Mapping[str, object]]] | None = None
        self.started = time.monotonic()  # uptime survives a wall-clock jump

    def reload(self, config: Config) -> None:
        """Take a new config (limits, rules, modems)."""
        self.config = config
        for modem in config.modems:
            self.health.setdefault(modem.id, HealthReport())
        for modem_id in set(self.health) - {m.id for m in config.modems}:
            del self.health[modem_id]
            self._health_policy.forget(modem_id)

    # --- gsmgw.core._seam.Core -------------------------------------------------------------

    async def submit(
        self, request: SendRequest, *, origin: SmppOrigin | None = None
    ) -> Sequence[SubmitResult]:
        """Commit one message per recipient (policy: rules, allow-list, opt-out, limits)."""
        if request.modem is not None and request.modem not in self.config.names():
            raise RequestError("unknown_modem", f"no modem or group named {request.modem!r}")
        policy = EnqueuePolicy.from_config(self.config)
        results = await self.store.enqueue([request], policy=policy, origin=origin)
        if request.send_at is not None:
            self.dispatcher.poke()  # a new due time for the timer
        return [SubmitResult(r.id, r.state, r.error, created=r.created) for r in results]

    async def ussd(self, modem: str, code: str) -> str:
        """Run a USSD code on a modem."""
        link = self.ussd_links.get(modem)
        if link is None:
            if modem not in self.health:
                raise RequestError("unknown_modem", f"no modem named {modem!r}")
            raise ControlError("modem_unavailable", f"modem {modem!r} is not ready")
        return await link.ussd(code)

    async def next_publications(self, limit: int) -> Sequence[Publication]:
        """Wait until something is queued; return up to ``limit`` of the oldest."""
        added = self.store.publications_added
        while True:
            added.clear()
            acked = self._health_acked
            found = await self.store.next_publications(limit + len(acked))
            found = [entry for entry in found if entry.id not in acked][:limit]
            if found:
                return found
            await added.wait()

    async def ack_publication(self, publication_id: int) -> None:
        """Drop a publication the broker acknowledged (health: with the next health's commit)."""
        if publication_id in self._health_queued:
            self._health_queued.discard(publication_id)
            self._health_acked.add(publication_id)
            return
        await self.store.ack_publication(publication_id)

    async def next_delivery(self, consumer: str) -> Delivery:
        """Wait until ``consumer`` has a stored delivery; return its oldest."""
        added = self.store.deliveries_added.event(consumer)
        while True:
            added.clear()
            found = await self.store.next_deliveries(consumer, 1)
            if found:
                return found[0]
            await added.wait()

    async def finish_delivery(self, pk: int) -> None:
        """Forget a delivered (or given up) delivery."""
        await self.store.finish_delivery(pk)

    async def postpone_delivery(self, pk: int, due: datetime, error: str) -> None:
        """Record a failed attempt and when to try again."""
        await self.store.postpone_delivery(pk, due, error)

    async def message(self, message_id: str) -> MessageView | None:
        """Return one outbound message with its parts."""
        return await self.store.view_message(message_id)

    async def messages(
        self, *, state: MessageState | None, to: str | None, limit: int, before: int | None
    ) -> Sequence[MessageView]:
        """Return a page of outbound messages, newest first."""
        return await self.store.view_messages(state=state, to=to, limit=limit, before=before)

    async def cancel(self, message_id: str) -> MessageState | None:
        """Cancel a message that waits; return its state after."""
        return await self.store.cancel(message_id)

    async def inbox(
        self,
        *,
        since: datetime | None,
        sender: str | None,
        modem: str | None,
        limit: int,
        before: int | None,
    ) -> Sequence[IncomingMessage]:
        """Return a page of inbound messages, newest first."""
        return await self.store.view_inbox(
            since=since, sender=sender, modem=modem, limit=limit, before=before
        )

    async def submit_segment(
        self, request: SendRequest, origin: SmppOrigin, segment: SmppSegment
    ) -> SegmentResult:
        """Commit one part of a concatenated SMPP submission; queue its set once complete."""
        policy = EnqueuePolicy.from_config(self.config)
        result = await self.store.enqueue_segment(request, origin, segment, policy=policy)
        if result.complete and request.send_at is not None:
            self.dispatcher.poke()
        return result

    async def drop_stale_segments(self, before: datetime) -> int:
        """Drop the SMPP part sets begun before ``before``."""
        return await self.store.drop_stale_segments(before)

    async def owned_message(self, system_id: str, message_id: str) -> MessageView | None:
        """Return a message ``system_id`` submitted over SMPP."""
        if await self.store.smpp_owner(message_id) != system_id:
            return None
        return await self.store.view_message(message_id)

    async def cancel_owned(self, system_id: str, message_id: str) -> MessageState | None:
        """Cancel a waiting message ``system_id`` submitted over SMPP."""
        if await self.store.smpp_owner(message_id) != system_id:
            return None
        return await self.store.cancel(message_id)

    async def wait_deliveries(self) -> None:
        """Wait until a deliver_sm was queued since the last call returned."""
        added = self.store.smpp_added
        await added.wait()
        added.clear()

    async def next_deliveries(
        self, system_id: str, limit: int, skip: Collection[int]
    ) -> Sequence[SmppDelivery]:
        """Return a user's oldest deliver_sm waiting."""
        return await self.store.next_smpp_deliveries(system_id, limit, skip=skip)

    async def ack_delivery(self, delivery_id: int) -> None:
        """Drop a deliver_sm the ESME acknowledged."""
        await self.store.ack_smpp_delivery(delivery_id)

    async def pending_deliveries(self) -> dict[str, int]:
        """Count the deliver_sm waiting, per system_id."""
        return await self.store.smpp_pending_counts()

    def modems(self) -> list[dict[str, object]]:
        """Return every modem's health as on ``{prefix}/{node}/modem/{id}``, with its id."""
        return [
            {"id": modem.id}
            | self.health.get(modem.id, HealthReport()).to_json()
            | self._counters(modem.id)
            for modem in self.config.modems
        ]

    def node_health(self) -> NodeHealth:
        """Return how many modems there are and how many are ready to send."""
        views = self.dispatcher.views()
        return NodeHealth(sum(1 for view in views if view.ready), len(self.config.modems))

    async def node_status(self) -> dict[str, object]:
        """Return the node's counters for ``{prefix}/{node}/status`` (from what op_status reads)."""
        counts = await self.store.state_counts()
        # A daily total resets at the node's local midnight (README "Home Assistant").
        day = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        modems: dict[str, dict[str, object]] = {}
        sent_today = 0
        for entry in self.dispatcher.status():
            modem_id = str(entry["id"])
            sent = await self.store.sent_parts_since(modem_id, day)
            sent_today += sent
            modems[modem_id] = {"queue_depth": entry["waiting"], "sent_today": sent}
        uptime = time.monotonic() - self.started
        waiting = (MessageState.QUEUED, MessageState.RETRYING, MessageState.SENDING)
        return {
            "node": self.config.gateway.node,
            "started_at": datetime.fromtimestamp(time.time() - uptime)
            .astimezone()
            .isoformat(timespec="seconds"),
            "uptime": round(uptime),
            "mqtt": self.mqtt_state(),
            "http": self.http_state(),
            "queue": {str(state): counts.get(state, 0) for state in MessageState},
            "queue_depth": sum(counts.get(state, 0) for state in waiting),
            "sent_today": sent_today,
            "day_started_at": day.isoformat(timespec="seconds"),
            "modems_ready": self.node_health().modems_ready,
            "modems": modems,
        }

    # --- modem health ------------------------------------------------------------------------

    async def set_health(self, modem_id: str, **changes: Any) -> None:
        """Update a modem's health; queue its retained MQTT state as ``_health`` says.

        A change other than the signal's is published at once; a signal change only when it
        moved ``SIGNAL_STEP_DB``, by ``run_health`` in a batch at most every
        ``SIGNAL_INTERVAL``. Without fsync, and a ``StoreError`` is logged, not raised: health
        is not precious, and the next change publishes again.
        """
        old = self.health.get(modem_id, HealthReport())
        new = replace(old, **changes)
        if new == replace(old, changed_at=new.changed_at):
            return
        new = replace(new, changed_at=time.time())
        self.health[modem_id] = new
        if not self.config.mqtt.enabled:
            return
        if self._health_policy.publish_now(modem_id, new, time.monotonic()):
            await self._publish_health([modem_id])
        elif self._health_policy.next_due() is not None:
            self._health_held.set()

    async def run_health(self) -> NoReturn:
        """Publish the signal changes ``set_health`` held back, when they are due."""
        policy = self._health_policy
        while True:
            self._health_held.clear()
            due = [m for m in policy.batch(time.monotonic()) if m in self.health]
            if due:
                await self._publish_health(due)
            next_due = policy.next_due()
            delay = None if next_due is None else max(next_due - time.monotonic(), 0.0)
            try:
                async with asyncio.timeout(delay):
                    await self._health_held.wait()
            except TimeoutError:
                pass

    async def _publish_health(self, modem_ids: Sequence[str]) -> None:
        """Queue the retained health of ``modem_ids`` in one commit without fsync."""
        topics = node_topics(self.config)
        reports = {modem_id: self.health[modem_id] for modem_id in modem_ids}
        publications = [
            (topics.modem(modem_id), _health_payload(report, self._counters(modem_id)))
            for modem_id, report in reports.items()
        ]
        acked = list(self._health_acked)
        try:
            queued = await self.store.enqueue_publications(
                publications, retain=True, durable=False, drop=acked
            )
        except StoreError as exc:
            LOGGER.warning("cannot queue the health of %s: %s", ", ".join(modem_ids), exc)
            return
        self._health_acked.difference_update(acked)
        self._health_queued.update(queued)
        now = time.monotonic()
        for modem_id, report in reports.items():
            self._health_policy.published(modem_id, report, now)

    def _counters(self, modem_id: str) -> dict[str, object]:
        for entry in self.dispatcher.status():
            if entry["id"] == modem_id:
                return {"queue_depth": entry["waiting"], "sent_today": entry["parts_last_day"]}
        return {}

    # --- control socket ----------------------------------------------------------------------

    def handlers(self) -> dict[str, Callable[[Mapping[str, Any]], Awaitable[object]]]:
        """Return the control socket's operations."""
        return {
            "status": self.op_status,
            "send": self.op_send,
            "outbox_retry": self.op_outbox_retry,
            "outbox_cancel": self.op_outbox_cancel,
            "optout_add": self.op_optout_add,
            "optout_remove": self.op_optout_remove,
            "ussd": self.op_ussd,
        }

    async def op_status(self, request: Mapping[str, Any]) -> dict[str, object]:
        """``gsmgw status``: modems, queue depths, rates, last errors."""
        counts = await self.store.state_counts()
        sending = {entry["id"]: entry for entry in self.dispatcher.status()}
        modems = []
        for modem in self.config.modems:
            health = self.health.get(modem.id, HealthReport())
            modems.append(
                {
                    "id": modem.id,
                    "port": modem.port,
                    **health.to_json(),
                    **sending.get(modem.id, {}),
                }
            )
        return {
            "node": self.config.gateway.node,
            "uptime": round(time.monotonic() - self.started, 1),
            "mqtt": self.mqtt_state(),
            "queue": {str(state): counts.get(state, 0) for state in MessageState},
            "inbox": {"received": self.receiver.received, "reports": self.receiver.reports},
            "database": (await self.store.database_size()).to_json(),
            "modems": modems,
            **(await self._smpp_json()),
            **(await self.http_status() if self.http_status is not None else {}),
        }

    async def _smpp_json(self) -> dict[str, object]:
        if not self.config.smpp.enabled:
            return {}
        return {
            "smpp": {
                "sessions": self.smpp_status(),
                "pending_deliveries": await self.pending_deliveries(),
            }
        }

    async def op_send(self, request: Mapping[str, Any]) -> list[dict[str, object]]:
        """``gsmgw send``: the same request and checks as MQTT's ``{prefix}/send``."""
        parsed = SendRequest.from_json(
            dict(request.get("request") or {}),
            default_region=self.config.gateway.default_region,
            known_modems=self.config.names(),
        )
        results = await self.submit(parsed)
        return [_result_json(result) for result in results]

    async def op_ussd(self, request: Mapping[str, Any]) -> dict[str, object]:
        """``gsmgw ussd --modem ID CODE``: the network's answer, or the session's end status.

        ``status`` is +CUSD's <m> (TS 27.007 §7.15): 0 answered, 2 ended by the network, 4 not
        supported...; a session that ended without text has ``text`` null.
        """
        code = ussd_code(request.get("code"))
        modem = request.get("modem")
        if not isinstance(modem, str) or not modem:
            raise RequestError("invalid_request", "'modem' must name a modem")
        try:
            text: str | None = await self.ussd(modem, code)
        except CommandError as exc:
            if exc.kind != "CUSD":
                raise ControlError("ussd_failed", str(exc)) from exc
            return {"modem": modem, "code": code, "status": exc.code, "text": None}
        except (ModemUnavailable, ModemTimeout) as exc:
            raise ControlError("ussd_failed", str(exc)) from exc
        return {"modem": modem, "code": code, "status": 0, "text": text}

    async def op_outbox_retry(self, request: Mapping[str, Any]) -> str:
        """Send a failed, expired or cancelled message again."""
        state = await self.store.retry(_message_id(request))
        if state is None:
            raise ControlError("not_found", f"no outbound message {request.get('id')!r}")
        self.dispatcher.poke()
        return str(state)

    async def op_outbox_cancel(self, request: Mapping[str, Any]) -> str:
        """Cancel a message that still waits."""
        state = await self.store.cancel(_message_id(request))
        if state is None:
            raise ControlError("not_found", f"no outbound message {request.get('id')!r}")
        return str(state)

    async def op_optout_add(self, request: Mapping[str, Any]) -> bool:
        """Put a number on the opt-out list."""
        return await self.store.opt_out_add(_number(request), source="cli")

    async def op_optout_remove(self, request: Mapping[str, Any]) -> bool:
        """Take a number off the opt-out list."""
        return await self.store.opt_out_remove(_number(request))


def _health_payload(report: HealthReport, counters: Mapping[str, object]) -> bytes:
    return json.dumps(report.to_json() | dict(counters), separators=(",", ":")).encode()


def _message_id(request: Mapping[str, Any]) -> str:
    value = request.get("id")
    if not isinstance(value, str) or not value:
        raise ControlError("invalid_request", "the request needs a message id")
    return value


def _number(request: Mapping[str, Any]) -> str:
    value = request.get("number")
    if not isinstance(value, str) or not value:
        raise ControlError("invalid_request", "the request needs a number")
    return value


def _result_json(result: SubmitResult) -> dict[str, object]:
    if result.error is not None:
        error = {"code": result.error.code, "message": result.error.message}
        return {"id": result.id, "error": error}
    return {"id": result.id, "state": str(result.state)}
