"""The SMPP 3.4 server: asyncio streams in the daemon's loop, seeing the core only through its seam.

``SmppServer.run`` listens, runs a ``Session`` per connection, sends the deliver_sm the store
queued (receipts and MO SMS) to the users' receiver and transceiver sessions, round-robin, until
each is answered with status 0, and drops concatenated sets that never complete. When the daemon
stops (its TaskGroup cancels ``run``), every bound session is unbound cleanly first.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import timedelta
import itertools
import logging

from gsmgw.bridges.guards import RateLimiter
from gsmgw.bridges.requests import RATE_BURST, RATE_PER_SECOND
from gsmgw.bridges.smpp._counts import SmppCounts, SmppMetrics
from gsmgw.bridges.smpp._session import Session, SessionClosed, refusal
from gsmgw.bridges.smpp._submit import parse_submission, status_of
from gsmgw.config import Config
from gsmgw.core import SmppCore, SmppDelivery
from gsmgw.errors import ConfigError, GsmgwError, RequestError, SmppError
from gsmgw.models import MessageState, utc_now
from gsmgw.smpp import (
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    GenericNack,
    MessageState as SmppState,
    Pdu,
    QuerySm,
    QuerySmResp,
    Status,
    SubmitSm,
    SubmitSmResp,
    decode,
    format_absolute,
)

__all__ = ["SmppServer", "SmppSettings", "settings_from_config"]

LOGGER = logging.getLogger(__package__)

# All of these are in seconds; tests shorten them through the module's constants.
#: A session that sends nothing (not even enquire_link) this long is closed (SPEC.md: 5 min).
IDLE_TIMEOUT = 300.0
#: A deliver_sm not answered within this is sent again later.
RESPONSE_TIMEOUT = 30.0
#: How long a deliver_sm answered with an error (or not at all) waits before it is sent again.
RETRY_DELAY = 10.0
#: A concatenated set not complete this long after its first part is dropped (SPEC.md: 10 min).
SET_TIMEOUT = 600.0
#: How often the incomplete sets are looked at.
SET_CHECK_INTERVAL = 30.0
#: How long a stop waits for each session's unbind_resp.
UNBIND_TIMEOUT = 2.0
#: Requests in flight per session (SPEC.md: the 11th gets ESME_RTHROTTLED); deliver_sm too.
WINDOW = 10

#: gsmgw state -> query_sm's message_state (SPEC.md "SMPP server").
QUERY_STATES: dict[MessageState, SmppState] = {
    MessageState.QUEUED: SmppState.ENROUTE,
    MessageState.SENDING: SmppState.ENROUTE,
    MessageState.RETRYING: SmppState.ENROUTE,
    MessageState.SENT: SmppState.ACCEPTED,
    MessageState.DELIVERED: SmppState.DELIVERED,
    MessageState.FAILED: SmppState.UNDELIVERABLE,
    MessageState.EXPIRED: SmppState.EXPIRED,
    MessageState.CANCELLED: SmppState.DELETED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppSettings:
    """Where to listen, who may bind, and the session timers."""

    host: str
    port: int
    #: system_id -> password.
    users: dict[str, str] = field(repr=False)
    default_region: str = ""
    idle_timeout: float = IDLE_TIMEOUT
    response_timeout: float = RESPONSE_TIMEOUT
    retry_delay: float = RETRY_DELAY
    set_timeout: float = SET_TIMEOUT
    set_check_interval: float = SET_CHECK_INTERVAL
    window: int = WINDOW
    rate: float = RATE_PER_SECOND
    burst: int = RATE_BURST
    config_file: str = "<config>"


def settings_from_config(config: Config) -> SmppSettings:
    """Return the settings of ``[smpp]`` (with this module's timers as they are now)."""
    smpp = config.smpp
    return SmppSettings(
        host=smpp.host,
        port=smpp.port,
        users={user.system_id: user.password for user in smpp.users},
        default_region=config.gateway.default_region,
        idle_timeout=IDLE_TIMEOUT,
        response_timeout=RESPONSE_TIMEOUT,
        retry_delay=RETRY_DELAY,
        set_timeout=SET_TIMEOUT,
        set_check_interval=SET_CHECK_INTERVAL,
        window=WINDOW,
        config_file=config.file,
    )


class SmppServer:
    """The SMPP server; ``run()`` serves until cancelled."""

    def __init__(self, core: SmppCore, settings: SmppSettings) -> None:
        self._core = core
        self.settings = settings
        self.users = settings.users
        self.sessions: set[Session] = set()
        self._limiter = RateLimiter(rate=settings.rate, burst=settings.burst)
        #: deliver_sm ids sent and not yet answered, or waiting out their retry delay.
        self._busy: set[int] = set()
        self._wake = asyncio.Event()
        self._turn = itertools.count()
        #: The bound port (the configured one, or the one the system chose for port 0).
        self.port: int | None = None
        self.listening = asyncio.Event()
        #: Submits answered and deliver_sm acknowledged, per user (the Prometheus metrics).
        self.counts = SmppCounts()

    def status(self) -> list[dict[str, object]]:
        """Return every session as ``gsmgw status`` shows it."""
        return [session.status() for session in self.sessions]

    def metrics(self) -> SmppMetrics:
        """Return the counts and the bound sessions by user and bind type, for a scrape."""
        bound = [(s.system_id, s.state.value) for s in self.sessions if s.system_id and s.bound]
        return SmppMetrics.of(self.users, self.counts, bound)

    async def run(self) -> None:
        """Listen and serve until cancelled; raise ``ConfigError`` if the address is taken."""
        try:
            server = await asyncio.start_server(self._serve, self.settings.host, self.settings.port)
        except OSError as exc:
            raise ConfigError(
                self.settings.config_file, "smpp.listen", f"cannot listen: {exc}"
            ) from exc
        self.port = int(server.sockets[0].getsockname()[1])
        self.listening.set()
        LOGGER.info("SMPP server on %s:%d", self.settings.host, self.port)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._forward_wakes(), name="smpp-wakes")
                group.create_task(self._deliver(), name="smpp-deliver")
                group.create_task(self._drop_stale(), name="smpp-sets")
        finally:
            server.close()
            await asyncio.shield(self._unbind_all())

    async def _unbind_all(self) -> None:
        sessions = [session for session in self.sessions if session.bound]
        if sessions:
            LOGGER.info("SMPP: unbinding %d sessions", len(sessions))
        await asyncio.gather(
            *(s.unbind(patience=UNBIND_TIMEOUT) for s in sessions), return_exceptions=True
        )
        for session in list(self.sessions):
            session.writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        LOGGER.debug("SMPP connection from %s", session.peer)
        try:
            await session.run()
        except Exception:  # a task boundary: one client never stops the daemon
            LOGGER.exception("SMPP session %s failed", session.peer)
        finally:
            self.sessions.discard(session)

    def session_bound(self, session: Session) -> None:
        """Note a new bound session: deliveries may go to it now."""
        self._wake.set()

    def session_closed(self, session: Session, *, was_bound: bool) -> None:
        """Forget a closed session: its unanswered deliveries go to another one later."""
        self.sessions.discard(session)

    # --- requests ----------------------------------------------------------------------------

    async def answer(self, pdu: SubmitSm | DataSm | QuerySm | CancelSm, system_id: str) -> Pdu:
        """Return the response to a windowed request; never raises (ESME_RSYSERR instead)."""
        try:
            if isinstance(pdu, QuerySm):
                return await self._query(pdu, system_id)
            if isinstance(pdu, CancelSm):
                return await self._cancel(pdu, system_id)
            return await self._submit(pdu, system_id)
        except asyncio.CancelledError:
            raise
        except GsmgwError as exc:
            LOGGER.error("SMPP %s: %s failed: %s", system_id, type(pdu).__name__, exc)
        except Exception:
            LOGGER.exception("SMPP %s: %s failed", system_id, type(pdu).__name__)
        return refusal(pdu, Status.ESME_RSYSERR)

    async def _submit(self, pdu: SubmitSm | DataSm, system_id: str) -> Pdu:
        if not self._limiter.allow(system_id):
            return refusal(pdu, Status.ESME_RTHROTTLED)
        try:
            submission = parse_submission(
                pdu, system_id, now=utc_now(), default_region=self.settings.default_region
            )
        except SmppError as exc:
            LOGGER.info("SMPP %s: submit refused: %s", system_id, exc)
            return refusal(pdu, exc.status)
        except RequestError as exc:
            return refusal(pdu, status_of(exc))
        try:
            if submission.segment is not None:
                part = await self._core.submit_segment(
                    submission.request, submission.origin, submission.segment
                )
                message_id, error = part.id, part.error
            else:
                results = await self._core.submit(submission.request, origin=submission.origin)
                message_id, error = results[0].id, results[0].error
        except RequestError as exc:
            return refusal(pdu, status_of(exc))
        if error is not None:
            LOGGER.info("SMPP %s: submit refused: %s", system_id, error.message)
            return refusal(pdu, status_of(error))
        if isinstance(pdu, DataSm):
            return DataSmResp(sequence=pdu.sequence, message_id=message_id)
        return SubmitSmResp(sequence=pdu.sequence, message_id=message_id)

    async def _query(self, pdu: QuerySm, system_id: str) -> Pdu:
        view = await self._core.owned_message(system_id, pdu.message_id)
        if view is None:
            return QuerySmResp(sequence=pdu.sequence, status=Status.ESME_RQUERYFAIL)
        state = QUERY_STATES[view.state]
        final = ""
        if view.state is MessageState.DELIVERED and view.delivered_at is not None:
            final = format_absolute(view.delivered_at)
        return QuerySmResp(
            sequence=pdu.sequence,
            message_id=view.id,
            final_date=final,
            message_state=int(state),
        )

    async def _cancel(self, pdu: CancelSm, system_id: str) -> Pdu:
        state = None
        if pdu.message_id:  # cancelling by addresses alone (§4.9.1) is not offered
            state = await self._core.cancel_owned(system_id, pdu.message_id)
        if state is not MessageState.CANCELLED:
            return CancelSmResp(sequence=pdu.sequence, status=Status.ESME_RCANCELFAIL)
        return CancelSmResp(sequence=pdu.sequence)

    # --- deliveries (receipts and MO SMS) ----------------------------------------------------

    async def _forward_wakes(self) -> None:
        while True:
            await self._core.wait_deliveries()
            self._wake.set()

    async def _deliver(self) -> None:
        """Send what the store queued to bound receivers; look again on every wake-up."""
        while True:
            self._wake.clear()
            try:
                await self._deliver_round()
            except GsmgwError as exc:  # the store could not be read: try again later
                LOGGER.error("SMPP: cannot read the deliveries: %s", exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.retry_delay):
                    await self._wake.wait()

    async def _deliver_round(self) -> None:
        users = {s.system_id for s in self.sessions if s.receives and s.system_id is not None}
        for system_id in users:
            receivers = [s for s in self.sessions if s.receives and s.system_id == system_id]
            free = sum(max(0, self.settings.window - len(s.waiting)) for s in receivers)
            if free == 0:
                continue
            found = await self._core.next_deliveries(system_id, free, self._busy)
            for delivery in found:
                session = self._pick(system_id)
                if session is None:
                    break
                self._busy.add(delivery.id)
                session.spawn(self._send_delivery(session, delivery))

    def _pick(self, system_id: str) -> Session | None:
        """Round-robin over the user's receiving sessions with room in their window."""
        ready = [
            s
            for s in self.sessions
            if s.receives and s.system_id == system_id and len(s.waiting) < self.settings.window
        ]
        if not ready:
            return None
        return ready[next(self._turn) % len(ready)]

    async def _send_delivery(self, session: Session, delivery: SmppDelivery) -> None:
        ok = False
        try:
            pdu = decode(delivery.pdu)
            assert isinstance(pdu, DeliverSm)
            pdu = replace(pdu, sequence=session.next_sequence())
            response = await session.request(pdu, patience=self.settings.response_timeout)
            ok = response.status == Status.ESME_ROK and not isinstance(response, GenericNack)
            if ok:
                self.counts.delivered[delivery.system_id] += 1
                await self._core.ack_delivery(delivery.id)
            else:
                LOGGER.info(
                    "SMPP %s answered deliver_sm with status %#x: sent again later",
                    session.system_id,
                    response.status,
                )
        except (SessionClosed, TimeoutError, ConnectionError, OSError):
            pass
        except GsmgwError as exc:
            LOGGER.error("SMPP: cannot drop an answered delivery: %s", exc)
        finally:
            if ok:
                self._release(delivery.id)
            else:
                asyncio.get_running_loop().call_later(
                    self.settings.retry_delay, self._release, delivery.id
                )

    def _release(self, delivery_id: int) -> None:
        self._busy.discard(delivery_id)
        self._wake.set()

    async def pending(self) -> dict[str, int]:
        """Return the deliver_sm waiting per system_id."""
        return dict(await self._core.pending_deliveries())

    # --- concatenated sets that never complete -----------------------------------------------

    async def _drop_stale(self) -> None:
        while True:
            await asyncio.sleep(self.settings.set_check_interval)
            before = utc_now() - timedelta(seconds=self.settings.set_timeout)
            try:
                dropped = await self._core.drop_stale_segments(before)
            except GsmgwError as exc:
                LOGGER.error("SMPP: cannot drop incomplete sets: %s", exc)
                continue
            if dropped:
                LOGGER.warning("SMPP: %d concatenated sets never completed: dropped", dropped)
