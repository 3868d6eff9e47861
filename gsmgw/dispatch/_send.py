"""Sending one claimed message on one modem, part by part, and deciding what its errors mean.

SPEC.md "Guarantees": per part, ``begin_part`` commits "this PDU may be written" before the
modem sees it, and ``record_part_sent`` commits its TP-MR after ``+CMGS``, so a crash between
the two leaves a part of unknown outcome (sent again, flagged) and never a silent duplicate.
Parts with a reference are never sent again. A temporary ``+CMS ERROR`` schedules a retry with
exponential backoff and jitter (TS 27.005 §3.2.5 classes, ``gsmgw.at.codes``), a permanent one
fails the message, and a modem that vanished gives the message back to the queue so another
modem may take it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
import enum
import logging
import random
import time
from typing import Any, Protocol

from gsmgw.at.codes import ErrorKind, lookup
from gsmgw.config import Config
from gsmgw.errors import CommandError, ModemTimeout, ModemUnavailable
from gsmgw.models import OutgoingMessage, utc_now
from gsmgw.sms import EncodingMode, encode_submit
from gsmgw.store import Store

LOGGER = logging.getLogger(__package__)

# All of these are in seconds.
RETRY_BASE_DELAY = 5.0
RETRY_MAX_DELAY = 600.0
#: Jitter spreads retries of many messages that failed together (a network outage) apart.
RETRY_JITTER = 0.25
#: The 8-bit concatenation reference: understood by every handset (TS 23.040 §9.2.3.24.1).
CONCAT_REF_MODULO = 256


class ModemLink(Protocol):
    """What sending needs from a modem driver (``gsmgw.modem.driver.Modem`` provides it)."""

    async def send_pdu(self, pdu_hex: str, tpdu_length: int) -> int:
        """Send one SMS-SUBMIT with AT+CMGS; return its TP-MR."""
        ...


class Outcome(enum.Enum):
    """How one attempt at a message ended."""

    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    #: The modem went away (or hung): the message is back in the queue for any modem.
    REQUEUED = "requeued"


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of `send_message`: the outcome and each part's send time (seconds)."""

    outcome: Outcome
    part_times: tuple[float, ...] = ()
    error: str | None = None
    #: The commit of the last part's TP-MR, still running: pass it as the next ``settle``.
    pending: asyncio.Future[Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendPolicy:
    """Encoding and retry settings from ``[gateway]``."""

    encoding: str = "auto"
    languages: tuple[str, ...] = ()
    max_parts: int = 10
    max_attempts: int = 5
    retry_base: float = RETRY_BASE_DELAY
    retry_max: float = RETRY_MAX_DELAY

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        retry_base: float = RETRY_BASE_DELAY,
        retry_max: float = RETRY_MAX_DELAY,
    ) -> SendPolicy:
        """Return the policy of ``[gateway]`` (the retry delays are not configurable there)."""
        gateway = config.gateway
        return cls(
            encoding=gateway.encoding,
            languages=gateway.languages,
            max_parts=gateway.max_parts,
            max_attempts=gateway.max_attempts,
            retry_base=retry_base,
            retry_max=retry_max,
        )

    def retry_delay(self, attempts: int, rng: random.Random) -> float:
        """Return the wait before attempt ``attempts + 1``: exponential, capped, jittered."""
        delay = min(self.retry_base * 2.0 ** max(attempts - 1, 0), self.retry_max)
        return delay * (1 - RETRY_JITTER + 2 * RETRY_JITTER * rng.random())


def encode(message: OutgoingMessage, policy: SendPolicy) -> list[tuple[str, int]]:
    """Return (PDU hex, TPDU length) per part; raise ``EncodingError`` for what cannot go."""
    encoded = encode_submit(
        message.to,
        message.text,
        mode=EncodingMode(message.encoding or policy.encoding),
        languages=policy.languages,
        report=message.report,
        flash=message.flash,
        # TP-VP: the network may drop what we could not send in time (TS 23.040 §9.2.3.12).
        valid_for=_remaining(message),
        concat_ref=message.concat_ref % CONCAT_REF_MODULO,
        max_parts=policy.max_parts,
    )
    return [(part.hex, part.tpdu_length) for part in encoded.parts]


def _remaining(message: OutgoingMessage) -> int | None:
    if message.expires_at is None:
        return None
    return max(int((message.expires_at - utc_now()).total_seconds()), 60)


def is_temporary(error: CommandError) -> bool:
    """Whether the same send may succeed later (TS 27.005 §3.2.5; plain ERROR counts as yes)."""
    if error.code is None or error.kind not in (ErrorKind.CME, ErrorKind.CMS):
        return True
    return lookup(ErrorKind(error.kind), error.code).temporary


async def send_message(
    store: Store,
    link: ModemLink,
    modem_id: str,
    message: OutgoingMessage,
    policy: SendPolicy,
    rng: random.Random,
    *,
    settle: asyncio.Future[Any] | None = None,
) -> Attempt:
    """Send the unsent parts of a claimed (``sending``, encoded) message on one modem.

    ``settle`` is the previous message's last TP-MR commit, still running: it commits with
    this message's first ``begin_part``. Every exit leaves the message settled (sent,
    retrying, failed, expired or queued) except the last TP-MR commit, returned as
    ``pending``; a cancellation requeues the message before re-raising.
    """
    times: list[float] = []
    in_flight = False
    # The last TP-MR commit not yet awaited: the previous message's at first, then our own.
    pending, ours = settle, False
    try:
        for part in message.unsent_parts():
            begin = store.begin_part(message.id, part.part_no, modem_id)
            if pending is None:
                await begin
            else:
                # The previous part's TP-MR shares this commit; the PDU below is written only
                # once both are durable, so never more than one part is of unknown outcome.
                # Shielded: that part has left, and a cancellation here must not undo its
                # record (the part would be sent again, unflagged).
                await asyncio.gather(asyncio.shield(pending), begin)
                pending = None
            in_flight = True
            started = time.monotonic()
            reference = await link.send_pdu(part.pdu_hex, part.tpdu_length)
            in_flight = False
            times.append(time.monotonic() - started)
            pending, ours = (
                asyncio.ensure_future(
                    store.record_part_sent(message.id, part.part_no, reference, modem_id)
                ),
                True,
            )
    except CommandError as exc:
        outcome = await _command_failed(store, message, exc, policy, rng)
        return Attempt(outcome, tuple(times), str(exc))
    except (ModemUnavailable, ModemTimeout) as exc:
        # The PDU may have left: the part's outcome is unknown (SPEC.md "Guarantees").
        LOGGER.warning("%s: %s lost while sending: %s", modem_id, message.id, exc)
        await store.requeue(message.id, error=str(exc), outcome_unknown=in_flight)
        return Attempt(Outcome.REQUEUED, tuple(times), str(exc))
    except BaseException:
        # Cancelled (shutdown, modem removed): give the message back before unwinding. A part
        # whose TP-MR commit did not land has left all the same: its resend is flagged.
        unrecorded = ours and pending is not None and not await _committed(pending)
        await _shielded_requeue(store, message.id, in_flight or unrecorded)
        raise
    return Attempt(Outcome.SENT, tuple(times), pending=pending)


async def _committed(write: asyncio.Future[Any]) -> bool:
    """Wait for a commit that runs on even if we are cancelled; return whether it landed."""
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        # Cancelled again while cleaning up: the commit still runs; wait for it all the same.
        await asyncio.wait([write])
    except Exception:
        return False
    return not write.cancelled() and write.exception() is None


async def _command_failed(
    store: Store,
    message: OutgoingMessage,
    exc: CommandError,
    policy: SendPolicy,
    rng: random.Random,
) -> Outcome:
    error = str(exc)
    if not is_temporary(exc):
        await store.mark_failed(message.id, error=error)
        return Outcome.FAILED
    if message.attempts >= policy.max_attempts:
        await store.mark_failed(message.id, error=f"{error} (after {message.attempts} attempts)")
        return Outcome.FAILED
    delay = policy.retry_delay(message.attempts, rng)
    when = utc_now() + timedelta(seconds=delay)
    await store.mark_retrying(message.id, next_attempt_at=when, error=error)
    return Outcome.RETRYING


async def _shielded_requeue(store: Store, message_id: str, in_flight: bool) -> None:
    task = asyncio.ensure_future(
        store.requeue(message_id, error="interrupted", outcome_unknown=in_flight)
    )
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
    except Exception:
        LOGGER.exception("%s: could not requeue after an interruption", message_id)
