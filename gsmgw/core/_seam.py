"""What the bridges need from the gateway's core: the seam the daemon implements."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gsmgw.errors import LocalProtocolError, RequestError
from gsmgw.models import IncomingMessage, MessageState, SendRequest
from gsmgw.store import (
    Delivery,
    MessageView,
    SegmentResult,
    SmppDelivery,
    SmppOrigin,
    SmppSegment,
)

__all__ = ["Core", "NodeHealth", "Publication", "SmppCore", "SubmitResult"]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """One message of a request: its state (``queued`` or an earlier one's), or its refusal."""

    id: str
    state: MessageState | None
    error: RequestError | None = None
    #: False when the id was known already: ``state`` is the existing message's.
    created: bool = True

    def __post_init__(self) -> None:
        if (self.state is None) == (self.error is None):
            raise LocalProtocolError("a submit result has a state or an error, not both")


@dataclass(frozen=True, slots=True)
class NodeHealth:
    """How many modems this node has, and how many of them are ready to send."""

    modems_ready: int
    modems: int


class Publication(Protocol):
    """One entry of the store's publication queue."""

    @property
    def id(self) -> int:
        """The queue's key, given back to `Core.ack_publication`."""

    @property
    def topic(self) -> str:
        """The whole topic: ``Topics.inbox``, ``Topics.state`` or ``Topics.modem(modem_id)``."""

    @property
    def payload(self) -> bytes:
        """The JSON payload, UTF-8."""

    @property
    def retain(self) -> bool:
        """True for the retained modem state."""


class Core(Protocol):
    """The core as the bridges see it (implemented by the daemon over store and dispatcher)."""

    async def submit(
        self, request: SendRequest, *, origin: SmppOrigin | None = None
    ) -> Sequence[SubmitResult]:
        """Commit one message per recipient durably, then return them (in ``to`` order).

        A recipient refused on its own (opted out, say) comes back with ``error`` set.
        ``origin``: the SMPP user that submitted it, committed with it (query, cancel, receipts).

        Raises:
            RequestError: ``queue_full``, ``destination_blocked``, ``unknown_modem``,
                ``invalid_number`` or ``text_too_long``.
            GsmgwError: the store failed (the request is answered ``internal_error``).
        """

    async def ussd(self, modem: str, code: str) -> str:
        """Run a USSD code on a modem and return the network's answer.

        Raises:
            RequestError: ``unknown_modem``.
            GsmgwError: the modem failed or timed out (answered ``ussd_failed``).
        """

    async def next_publications(self, limit: int) -> Sequence[Publication]:
        """Wait until something is to be published; return up to ``limit``, oldest first.

        Returns the oldest entries not yet acknowledged, including ones returned before:
        after a lost connection the bridge publishes them again.

        Raises:
            StoreError: the store could not be read (the bridge asks again later).
        """

    async def ack_publication(self, publication_id: int) -> None:
        """Mark one entry published (the broker acknowledged it); it is not returned again.

        Raises:
            StoreError: the store could not write (a full disk); the bridge keeps the id and
                tries again later, and until then the entry may be returned again.
        """

    async def next_delivery(self, consumer: str) -> Delivery:
        """Wait until a consumer (a webhook, or ``dlr``) has a stored delivery; return its oldest.

        Returns the same delivery again until it is finished: deliveries go in order.

        Raises:
            StoreError: the store could not be read (the worker asks again later).
        """

    async def finish_delivery(self, pk: int) -> None:
        """Forget a delivery that was delivered, or given up (a final refusal, ``retry_for``)."""

    async def postpone_delivery(self, pk: int, due: datetime, error: str) -> None:
        """Record a failed attempt: the delivery is due again at ``due``."""

    async def message(self, message_id: str) -> MessageView | None:
        """Return one outbound message with its parts' progress (None: no such id)."""

    async def messages(
        self, *, state: MessageState | None, to: str | None, limit: int, before: int | None
    ) -> Sequence[MessageView]:
        """Return up to ``limit`` outbound messages newest first, with ``seq`` below ``before``."""

    async def cancel(self, message_id: str) -> MessageState | None:
        """Cancel a message that waits; return its state after (None: no such id).

        A message already sending or done keeps its state, which is returned.
        """

    async def inbox(
        self,
        *,
        since: datetime | None,
        sender: str | None,
        modem: str | None,
        limit: int,
        before: int | None,
    ) -> Sequence[IncomingMessage]:
        """Return up to ``limit`` inbound messages newest first, stored at or after ``since``."""

    def modems(self) -> Sequence[Mapping[str, object]]:
        """Return every modem's health: ``{"id", ...}`` plus the retained MQTT payload's fields."""

    def node_health(self) -> NodeHealth:
        """Return how many modems are configured and how many are ready."""

    async def node_status(self) -> Mapping[str, object]:
        """Return the node's counters, the JSON of ``{prefix}/{node}/status`` (README "MQTT").

        ``queue`` (messages per state), ``queue_depth`` (queued, retrying and sending),
        ``sent_today`` (parts since local midnight, ``day_started_at``), ``started_at``,
        ``uptime``, ``mqtt``, ``http``, ``modems_ready`` and per modem id ``modems.<id>``
        with ``queue_depth`` and ``sent_today``.

        Raises:
            StoreError: the store could not be read (the bridge asks again later).
        """


class SmppCore(Core, Protocol):
    """What the SMPP server needs beyond the other bridges (SPEC.md "SMPP server")."""

    async def submit_segment(
        self, request: SendRequest, origin: SmppOrigin, segment: SmppSegment
    ) -> SegmentResult:
        """Commit one part of a concatenated submission; queue its set once complete.

        Raises:
            GsmgwError: the store failed (answered ``ESME_RSYSERR``).
        """

    async def drop_stale_segments(self, before: datetime) -> int:
        """Drop the part sets begun before ``before``; return how many."""

    async def owned_message(self, system_id: str, message_id: str) -> MessageView | None:
        """Return a message ``system_id`` submitted (None: no such id, or another user's)."""

    async def cancel_owned(self, system_id: str, message_id: str) -> MessageState | None:
        """Cancel a waiting message ``system_id`` submitted; its state after (None: not its)."""

    async def wait_deliveries(self) -> None:
        """Wait until a deliver_sm was queued since the last call returned."""

    async def next_deliveries(
        self, system_id: str, limit: int, skip: Collection[int]
    ) -> Sequence[SmppDelivery]:
        """Return a user's oldest deliver_sm waiting for their answer, without those in ``skip``."""

    async def ack_delivery(self, delivery_id: int) -> None:
        """Drop a deliver_sm the ESME answered with status 0."""

    async def pending_deliveries(self) -> Mapping[str, int]:
        """Count the deliver_sm waiting, per system_id."""
