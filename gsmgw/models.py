"""The records that travel between layers: send requests, outbound and inbound messages, events.

Everything here is a frozen value. ``SendRequest.from_json`` is the one validator of SPEC.md's send
request; ``MessageState`` and ``TRANSITIONS`` are SPEC.md's outbound state machine.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Self
import uuid

from gsmgw.errors import LocalProtocolError, RequestError
from gsmgw.validate import (
    ENCODING_MODES,
    REQUEST_KEYS,
    flag_field,
    id_field,
    priority_field,
    reply_to_field,
    send_at_field,
    string_field,
    text_field,
    to_field,
    valid_for_field,
)


class MessageState(StrEnum):
    """The states of an outbound message, as published on ``{prefix}/{node}/sms/state``."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    RETRYING = "retrying"


_S = MessageState
#: Every legal state change; anything else is a bug and raises ``LocalProtocolError``.
#: sending -> queued is a requeue (crash, failover); failed/expired/cancelled -> queued is a
#: manual retry.
TRANSITIONS: Mapping[MessageState, frozenset[MessageState]] = {
    _S.QUEUED: frozenset({_S.SENDING, _S.EXPIRED, _S.CANCELLED, _S.FAILED}),
    _S.SENDING: frozenset({_S.SENT, _S.RETRYING, _S.FAILED, _S.QUEUED, _S.EXPIRED}),
    _S.RETRYING: frozenset({_S.SENDING, _S.EXPIRED, _S.CANCELLED, _S.FAILED, _S.QUEUED}),
    _S.SENT: frozenset({_S.DELIVERED, _S.FAILED}),
    _S.DELIVERED: frozenset(),
    _S.FAILED: frozenset({_S.QUEUED}),
    _S.EXPIRED: frozenset({_S.QUEUED}),
    _S.CANCELLED: frozenset({_S.QUEUED}),
}
#: States in which a message still waits for (or is in) its sending.
PENDING_STATES = frozenset({_S.QUEUED, _S.SENDING, _S.RETRYING})
#: States that end a message's life (a manual retry may still revive failed/expired/cancelled).
FINAL_STATES = frozenset({_S.DELIVERED, _S.FAILED, _S.EXPIRED, _S.CANCELLED})


def check_transition(old: MessageState, new: MessageState) -> None:
    """Raise ``LocalProtocolError`` unless ``old -> new`` is in ``TRANSITIONS``."""
    if new not in TRANSITIONS[old]:
        raise LocalProtocolError(f"illegal message state change {old} -> {new}")


class PartState(StrEnum):
    """Progress of one part of an outbound message."""

    PENDING = "pending"
    #: The PDU may have been written: committed before the write, so a crash leaves a trace.
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


def new_message_id() -> str:
    """Return a fresh id for a message whose request named none."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRequest:
    """A validated send request (SPEC.md "Send request"); one message per entry of ``to``."""

    to: tuple[str, ...]
    text: str
    id: str | None = None
    priority: int | None = None
    valid_for: int | None = None
    send_at: datetime | None = None
    report: bool = False
    flash: bool = False
    modem: str | None = None
    #: ``auto``, ``smart`` or ``ucs2``; None means the gateway's ``encoding``.
    encoding: str | None = None
    marketing: bool = False
    reply_to: str | None = None
    #: True when ``to`` came as a JSON list: message ids then get a ``:n`` suffix (n from 1).
    to_list: bool = False
    #: Kannel's ``dlr-mask`` and ``dlr-url`` (``/cgi-bin/sendsms`` only; not JSON fields): which
    #: state changes call ``dlr_url`` back (1 delivered, 2 failed/expired, 4 queued, 8 sent,
    #: 16 refused).
    dlr_mask: int | None = None
    dlr_url: str | None = None

    def __post_init__(self) -> None:
        if not self.to:
            raise RequestError("invalid_request", "'to' names no recipient")
        if len(self.to) > 1 and not self.to_list:
            raise LocalProtocolError("several recipients need to_list=True")
        if self.encoding is not None and self.encoding not in ENCODING_MODES:
            raise RequestError("invalid_request", f"'encoding' must be one of {ENCODING_MODES}")
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise LocalProtocolError("send_at must be timezone-aware")

    def message_ids(self) -> tuple[str, ...]:
        """Return the id of each recipient's message (``id`` itself, or ``id:n`` for a list)."""
        if self.id is None:
            raise LocalProtocolError("message_ids() needs an id; use with_id() first")
        if not self.to_list:
            return (self.id,)
        return tuple(f"{self.id}:{n}" for n in range(1, len(self.to) + 1))

    def with_id(self, new_id: str | None = None) -> Self:
        """Return this request with ``id`` set (a fresh one when None and none is set)."""
        if self.id is not None and new_id is None:
            return self
        return replace(self, id=new_id or new_message_id())

    @classmethod
    def from_json(
        cls,
        obj: object,
        *,
        default_region: str = "",
        known_modems: Collection[str] | None = None,
    ) -> SendRequest:
        """Validate a decoded JSON send request.

        Args:
            obj: what ``json.loads`` returned.
            default_region: ISO country code for national numbers ("" leaves them as typed).
            known_modems: modem ids and group names; when given, another ``modem`` is refused.

        Raises:
            RequestError: ``invalid_request``, ``invalid_number``, ``text_too_long`` or
                ``unknown_modem``, with a message naming the field.
        """
        if not isinstance(obj, dict):
            raise RequestError("invalid_request", "a send request must be a JSON object")
        unknown = sorted(set(obj) - REQUEST_KEYS)
        if unknown:
            raise RequestError("invalid_request", f"unknown field {unknown[0]!r}")
        for required in ("to", "text"):
            if required not in obj:
                raise RequestError("invalid_request", f"missing field {required!r}")
        to, to_list = to_field(obj["to"], default_region)
        text = text_field(obj["text"])
        modem = string_field(obj, "modem")
        if modem is not None and known_modems is not None and modem not in known_modems:
            raise RequestError("unknown_modem", f"no modem or group named {modem!r}")
        encoding = string_field(obj, "encoding")
        if encoding is not None and encoding not in ENCODING_MODES:
            raise RequestError("invalid_request", f"'encoding' must be one of {ENCODING_MODES}")
        return cls(
            to=to,
            text=text,
            id=id_field(obj.get("id")),
            priority=priority_field(obj.get("priority")),
            valid_for=valid_for_field(obj.get("valid_for")),
            send_at=send_at_field(obj.get("send_at")),
            report=flag_field(obj, "report"),
            flash=flag_field(obj, "flash"),
            modem=modem,
            encoding=encoding,
            marketing=flag_field(obj, "marketing"),
            reply_to=reply_to_field(obj.get("reply_to")),
            to_list=to_list,
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingPart:
    """One part of an outbound message and its progress."""

    part_no: int
    pdu_hex: str
    tpdu_length: int
    state: PartState = PartState.PENDING
    reference: int | None = None
    modem: str | None = None
    attempts: int = 0
    outcome_unknown: bool = False
    sent_at: datetime | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """An outbound message as stored; ``parts`` is empty until the dispatcher saved its encoding."""

    #: The store's insertion order (the CLI pages with it).
    seq: int = 0
    id: str
    to: str
    text: str
    state: MessageState
    priority: int
    created_at: datetime
    send_at: datetime | None = None
    expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    report: bool = False
    flash: bool = False
    encoding: str | None = None
    marketing: bool = False
    reply_to: str | None = None
    #: The modem ids or group names the message may use (empty: any modem).
    route: tuple[str, ...] = ()
    modem: str | None = None
    attempts: int = 0
    #: The concatenation reference (0-65535) every encoding of this message must use.
    concat_ref: int = 0
    error: str | None = None
    earlier_outcome_unknown: bool = False
    parts: tuple[OutgoingPart, ...] = ()

    def unsent_parts(self) -> tuple[OutgoingPart, ...]:
        """Return the parts the network has not accepted yet."""
        done = (PartState.SENT, PartState.DELIVERED)
        return tuple(part for part in self.parts if part.state not in done)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateEvent:
    """One state change of an outbound message: the payload of ``{prefix}/{node}/sms/state``."""

    id: str
    state: MessageState
    modem: str | None
    parts: int
    at: datetime
    error: str | None = None
    #: The TP-MR of each part, on ``sent``.
    references: tuple[int, ...] = ()
    next_attempt_at: datetime | None = None
    earlier_outcome_unknown: bool = False

    def to_json(self) -> dict[str, object]:
        """Return the JSON object SPEC.md publishes."""
        payload: dict[str, object] = {
            "id": self.id,
            "state": str(self.state),
            "modem": self.modem,
            "parts": self.parts,
            "at": _iso(self.at),
        }
        if self.error is not None:
            payload["error"] = self.error
        if self.state is MessageState.SENT:
            payload["references"] = list(self.references)
        if self.next_attempt_at is not None:
            payload["next_attempt_at"] = _iso(self.next_attempt_at)
        if self.earlier_outcome_unknown:
            payload["earlier_outcome_unknown"] = True
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundPart:
    """One received SMS (or a part of a long one) as ``gsmgw.sms`` decoded it, with its raw PDU."""

    sender: str
    text: str | None
    data: bytes | None = None
    encoding: str
    smsc: str | None
    #: The network's timestamp (TP-SCTS), timezone-aware.
    timestamp: datetime
    raw: bytes
    #: (reference, part number from 1, total) from the concatenation UDH, or None.
    concat: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.data is None):
            raise LocalProtocolError("an inbound part carries text or data, not both")
        if self.concat is not None and not 1 <= self.concat[1] <= self.concat[2]:
            raise LocalProtocolError(f"bad concatenation {self.concat}")


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingMessage:
    """An inbound SMS, reassembled from its parts: the payload of ``{prefix}/{node}/inbox``."""

    #: The store's insertion order (the CLI pages with it).
    seq: int = 0
    id: str
    sender: str
    text: str | None
    data: bytes | None
    modem: str
    received_at: datetime
    smsc: str | None
    parts: int
    encoding: str
    incomplete: bool = False
    stored_at: datetime = field(default_factory=utc_now)

    def to_json(self) -> dict[str, object]:
        """Return the JSON object SPEC.md publishes."""
        payload: dict[str, object] = {"id": self.id, "from": self.sender}
        if self.data is not None:
            payload["data_hex"] = self.data.hex().upper()
        else:
            payload["text"] = self.text
        payload |= {
            "modem": self.modem,
            "received_at": _iso(self.received_at),
            "smsc": self.smsc,
            "parts": self.parts,
            "encoding": self.encoding,
        }
        if self.incomplete:
            payload["incomplete"] = True
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """A received SMS-STATUS-REPORT, reduced to what matching needs (TS 23.040 §9.2.2.3)."""

    modem: str
    reference: int
    status: int
    recipient: str | None = None
    discharge_time: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.reference <= 255 or not 0 <= self.status <= 255:
            raise LocalProtocolError("TP-MR and TP-ST are octets")

    @property
    def delivered(self) -> bool:
        """TP-ST 0x00-0x1F: the transaction completed (TS 23.040 §9.2.3.15)."""
        return self.status < 0x20

    @property
    def pending(self) -> bool:
        """TP-ST 0x20-0x3F: a temporary error, the SC is still trying."""
        return 0x20 <= self.status < 0x40

    @property
    def failed(self) -> bool:
        """TP-ST 0x40-0x7F (and reserved values above): permanent, or the SC gave up."""
        return self.status >= 0x40
