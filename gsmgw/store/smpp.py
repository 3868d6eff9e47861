"""The SMPP server's durable state: owners of messages, waiting parts, and the deliver_sm queue.

SPEC.md "SMPP server": a ``submit_sm`` is answered only after its commit, so the owner of a
message (``smpp_message``) is written in the transaction that queues it, and each part of a
concatenated submission (``smpp_part``) in its own before its answer; the set becomes one outbox
message in the transaction that stores its last part. Receipts and MO SMS are rows of
``smpp_delivery``, written by the hooks ``on_state`` and ``on_inbound`` in the transaction of
the state change or the inbound message they announce, and deleted when the ESME answers the
deliver_sm with status 0: none is lost between the change and its deliver_sm, across restarts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
import json
import sqlite3

from gsmgw.errors import RequestError
from gsmgw.models import (
    IncomingMessage,
    MessageState,
    SendRequest,
    StateEvent,
    new_message_id,
)
from gsmgw.smpp import (
    DATA_CODING_DEFAULT,
    DATA_CODING_UCS2,
    ESM_CLASS_RECEIPT,
    MAX_SHORT_MESSAGE,
    RECEIPT_STAT,
    DeliverSm,
    MessageState as SmppState,
    Receipt,
    Tlvs,
    encode,
    encode_gsm,
    format_receipt,
)
from gsmgw.store import outbox
from gsmgw.store.common import Context, from_ms, to_ms
from gsmgw.store.outbox import EnqueuePolicy, EnqueueResult
from gsmgw.store.writer import Transaction

#: (TON, NPI, address) as SMPP carries an address.
Address = tuple[int, int, str]

#: A final outbound state -> the receipt's message_state (SPEC.md "SMPP server").
RECEIPT_STATES: dict[MessageState, SmppState] = {
    MessageState.DELIVERED: SmppState.DELIVERED,
    MessageState.FAILED: SmppState.UNDELIVERABLE,
    MessageState.EXPIRED: SmppState.EXPIRED,
    MessageState.CANCELLED: SmppState.DELETED,
}
#: The states registered_delivery 2 ("on failure only", SMPP 3.4 §5.2.17) reports.
FAILURES = frozenset({MessageState.FAILED, MessageState.EXPIRED})
#: registered_delivery bits 0-1 that ask for a receipt.
RECEIPT_ALWAYS, RECEIPT_ON_FAILURE = 1, 2
#: TON of an international number and of an alphanumeric address (SMPP 3.4 §5.2.5).
TON_INTERNATIONAL, TON_ALPHANUMERIC = 1, 5
NPI_ISDN = 1
#: source_addr and destination_addr of deliver_sm hold at most 20 characters (§5.2.8-9).
MAX_ADDRESS = 20
#: data_coding of 8-bit data (SMPP 3.4 §5.2.19), for inbound data messages.
DATA_CODING_BINARY = 0x04


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppOrigin:
    """Who submitted a message over SMPP, from where to where, and which receipt it wants."""

    system_id: str
    #: registered_delivery bits 0-1: 0 none, 1 on the final outcome, 2 on failure only.
    receipt: int = 0
    source: Address = (0, 0, "")
    destination: Address = (0, 0, "")


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppSegment:
    """One part of a concatenated submission: its set, the set's size and its place in it."""

    #: Tells one set from the user's others: source, destination, reference and total.
    key: str
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """The outcome of one stored part: the set's message id; complete once queued or refused."""

    id: str
    complete: bool = False
    #: The refusal of the completed set (then nothing is queued).
    error: RequestError | None = None


@dataclass(frozen=True, slots=True)
class SmppDelivery:
    """One deliver_sm waiting for its deliver_sm_resp: a receipt or an MO SMS."""

    id: int
    system_id: str
    #: The encoded deliver_sm (sequence 1): the bridge decodes it and sets its own sequence.
    pdu: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppHooks:
    """What the store needs to fill the deliver_sm queue: who gets MO SMS, the SIMs' numbers."""

    mo_users: tuple[str, ...] = ()
    #: modem id -> its own number (``[[modem]] number``); others show their id.
    numbers: Mapping[str, str] | None = None


# --- submissions ----------------------------------------------------------------------------


def record_origin(tx: Transaction, origin: SmppOrigin, results: Collection[EnqueueResult]) -> None:
    """Remember who submitted the messages just created (same transaction as the enqueue)."""
    for result in results:
        if result.created:
            tx.conn.execute(
                "INSERT OR REPLACE INTO smpp_message (message_id, system_id, receipt, source_ton,"
                " source_npi, source_addr, dest_ton, dest_npi, dest_addr)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.id, origin.system_id, origin.receipt, *origin.source, *origin.destination),
            )


def store_segment(
    tx: Transaction,
    ctx: Context,
    request: SendRequest,
    origin: SmppOrigin,
    segment: SmppSegment,
    policy: EnqueuePolicy,
    now: datetime,
) -> SegmentResult:
    """Store one part; queue the set as one message once its last part is stored.

    A part that comes again replaces its earlier copy. The set's message takes the first
    part's destination and times, and asks a report if any part asked one (SPEC.md).
    """
    conn = tx.conn
    row = conn.execute(
        "SELECT message_id FROM smpp_part WHERE system_id = ? AND set_key = ? LIMIT 1",
        (origin.system_id, segment.key),
    ).fetchone()
    message_id = row[0] if row is not None else new_message_id()
    conn.execute(
        "INSERT OR REPLACE INTO smpp_part (system_id, set_key, total, seq, message_id, text,"
        " request, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *(origin.system_id, segment.key, segment.total, segment.seq, message_id),
            *(request.text, _request_json(request, origin), to_ms(now)),
        ),
    )
    rows = conn.execute(
        "SELECT seq, text, request FROM smpp_part WHERE system_id = ? AND set_key = ? ORDER BY seq",
        (origin.system_id, segment.key),
    ).fetchall()
    if len(rows) < segment.total:
        return SegmentResult(message_id)
    conn.execute(
        "DELETE FROM smpp_part WHERE system_id = ? AND set_key = ?",
        (origin.system_id, segment.key),
    )
    first, set_origin = _from_json(rows[0][2])
    receipt = max(_from_json(r[2])[1].receipt for r in rows)
    whole = SendRequest(
        to=first.to,
        text="".join(r[1] for r in rows),
        id=message_id,
        priority=first.priority,
        valid_for=first.valid_for,
        send_at=first.send_at,
        report=receipt != 0,
    )
    set_origin = SmppOrigin(
        system_id=set_origin.system_id,
        receipt=receipt,
        source=set_origin.source,
        destination=set_origin.destination,
    )
    try:
        results = outbox.enqueue(tx, ctx, [whole], policy, now)
    except RequestError as exc:
        results = [EnqueueResult(message_id, None, False, exc)]
    record_origin(tx, set_origin, results)
    error = results[0].error
    if error is not None and receipt == RECEIPT_ALWAYS:
        _queue_receipt(tx, ctx, set_origin, message_id, whole.text, now, now, SmppState.REJECTED, 0)
    return SegmentResult(message_id, True, error)


def drop_stale(tx: Transaction, ctx: Context, before: datetime, now: datetime) -> int:
    """Drop every set whose first part is older than ``before``; REJECTD receipts if asked."""
    sets = tx.conn.execute(
        "SELECT system_id, set_key, message_id, min(stored_at) FROM smpp_part"
        " GROUP BY system_id, set_key HAVING min(stored_at) < ?",
        (to_ms(before),),
    ).fetchall()
    for system_id, key, message_id, stored_at in sets:
        rows = tx.conn.execute(
            "SELECT text, request FROM smpp_part WHERE system_id = ? AND set_key = ? ORDER BY seq",
            (system_id, key),
        ).fetchall()
        origins = [_from_json(row[1])[1] for row in rows]
        if any(o.receipt == RECEIPT_ALWAYS or o.receipt == RECEIPT_ON_FAILURE for o in origins):
            text = "".join(row[0] for row in rows)
            submitted = from_ms(stored_at)
            _queue_receipt(
                tx, ctx, origins[0], message_id, text, submitted, now, SmppState.REJECTED, 0
            )
        tx.conn.execute(
            "DELETE FROM smpp_part WHERE system_id = ? AND set_key = ?", (system_id, key)
        )
    return len(sets)


def _request_json(request: SendRequest, origin: SmppOrigin) -> str:
    return json.dumps(
        {
            "to": request.to[0],
            "priority": request.priority,
            "valid_for": request.valid_for,
            "send_at": None if request.send_at is None else request.send_at.isoformat(),
            "system_id": origin.system_id,
            "receipt": origin.receipt,
            "source": list(origin.source),
            "destination": list(origin.destination),
        }
    )


def _from_json(text: str) -> tuple[SendRequest, SmppOrigin]:
    obj = json.loads(text)
    send_at = obj["send_at"]
    request = SendRequest(
        to=(obj["to"],),
        text="",
        priority=obj["priority"],
        valid_for=obj["valid_for"],
        send_at=None if send_at is None else datetime.fromisoformat(send_at),
    )
    origin = SmppOrigin(
        system_id=obj["system_id"],
        receipt=obj["receipt"],
        source=_address(obj["source"]),
        destination=_address(obj["destination"]),
    )
    return request, origin


def _address(value: list[object]) -> Address:
    ton, npi, addr = value
    assert isinstance(ton, int)
    assert isinstance(npi, int)
    assert isinstance(addr, str)
    return ton, npi, addr


# --- queries of one user's messages ---------------------------------------------------------


def owner(conn: sqlite3.Connection, message_id: str) -> str | None:
    """Return the system_id that submitted a message (None: not submitted over SMPP)."""
    row = conn.execute(
        "SELECT system_id FROM smpp_message WHERE message_id = ?", (message_id,)
    ).fetchone()
    return None if row is None else str(row[0])


# --- the deliver_sm queue -------------------------------------------------------------------


def on_state(tx: Transaction, ctx: Context, event: StateEvent, now_ms: int) -> None:
    """Queue a receipt for a final state of a message whose submitter asked one."""
    stat = RECEIPT_STATES.get(event.state)
    if stat is None:
        return
    row = tx.conn.execute(
        "SELECT m.*, o.text, o.created_at, o.pk FROM smpp_message AS m"
        " JOIN outbox AS o ON o.id = m.message_id WHERE m.message_id = ?",
        (event.id,),
    ).fetchone()
    if row is None:
        return
    receipt = row["receipt"]
    if receipt == RECEIPT_ON_FAILURE and event.state not in FAILURES:
        return
    if receipt not in (RECEIPT_ALWAYS, RECEIPT_ON_FAILURE):
        return
    status = tx.conn.execute(
        "SELECT max(status) FROM outbox_part WHERE message = ? AND status IS NOT NULL",
        (row["pk"],),
    ).fetchone()[0]
    err = 0 if event.state is MessageState.DELIVERED or status is None else int(status) % 1000
    origin = SmppOrigin(
        system_id=row["system_id"],
        receipt=receipt,
        source=(row["source_ton"], row["source_npi"], row["source_addr"]),
        destination=(row["dest_ton"], row["dest_npi"], row["dest_addr"]),
    )
    submitted, done = from_ms(row["created_at"]), from_ms(now_ms)
    _queue_receipt(tx, ctx, origin, event.id, row["text"], submitted, done, stat, err)


def _queue_receipt(
    tx: Transaction,
    ctx: Context,
    origin: SmppOrigin,
    message_id: str,
    text: str,
    submitted: datetime,
    done: datetime,
    stat: SmppState,
    err: int,
) -> None:
    receipt = Receipt(
        message_id=message_id,
        delivered=int(stat is SmppState.DELIVERED),
        submit_date=submitted,
        done_date=done,
        stat=RECEIPT_STAT[stat],
        err=err,
        text=text,
    )
    body = _gsm_or_ascii(format_receipt(receipt))
    # A receipt travels back: from the handset (the message's destination) to the ESME.
    pdu = DeliverSm(
        sequence=1,
        source_addr_ton=origin.destination[0],
        source_addr_npi=origin.destination[1],
        source_addr=origin.destination[2][:MAX_ADDRESS],
        dest_addr_ton=origin.source[0],
        dest_addr_npi=origin.source[1],
        destination_addr=origin.source[2][:MAX_ADDRESS],
        esm_class=ESM_CLASS_RECEIPT,
        data_coding=DATA_CODING_DEFAULT,
        short_message=body[:MAX_SHORT_MESSAGE],
        tlvs=Tlvs.of(receipted_message_id=message_id, message_state=int(stat)),
    )
    _queue(tx, ctx, origin.system_id, encode(pdu), to_ms(done))


def _gsm_or_ascii(text: str) -> bytes:
    """Encode as GSM 03.38 unpacked, a character it lacks as '?' (the receipt's quoted text)."""
    return b"".join(encode_gsm(char) or b"?" for char in text)


def on_inbound(
    tx: Transaction, ctx: Context, hooks: SmppHooks, message: IncomingMessage, now_ms: int
) -> None:
    """Queue an inbound SMS for every user marked ``mo``."""
    if not hooks.mo_users:
        return
    if message.data is not None:
        coding, octets = DATA_CODING_BINARY, message.data
    else:
        text = message.text or ""
        gsm = encode_gsm(text)
        if gsm is not None:
            coding, octets = DATA_CODING_DEFAULT, gsm
        else:
            coding, octets = DATA_CODING_UCS2, text.encode("utf-16-be", "replace")
    source = _address_of(message.sender)
    own = (hooks.numbers or {}).get(message.modem)
    destination = _address_of(own or message.modem)
    long = len(octets) > MAX_SHORT_MESSAGE
    pdu = DeliverSm(
        sequence=1,
        source_addr_ton=source[0],
        source_addr_npi=source[1],
        source_addr=source[2],
        dest_addr_ton=destination[0],
        dest_addr_npi=destination[1],
        destination_addr=destination[2],
        data_coding=coding,
        short_message=b"" if long else octets,
        tlvs=Tlvs.of(message_payload=octets) if long else Tlvs(),
    )
    for system_id in hooks.mo_users:
        _queue(tx, ctx, system_id, encode(pdu), now_ms)


def _address_of(number: str) -> Address:
    """Return an E.164 number as TON 1 without "+", digits as TON 0, else alphanumeric."""
    if number.startswith("+") and number[1:].isdigit():
        return TON_INTERNATIONAL, NPI_ISDN, number[1:][:MAX_ADDRESS]
    if number.isdigit():
        return 0, NPI_ISDN, number[:MAX_ADDRESS]
    return TON_ALPHANUMERIC, 0, number.encode("ascii", "replace").decode()[:MAX_ADDRESS]


def _queue(tx: Transaction, ctx: Context, system_id: str, pdu: bytes, now_ms: int) -> None:
    tx.conn.execute(
        "INSERT INTO smpp_delivery (system_id, pdu, created_at) VALUES (?, ?, ?)",
        (system_id, pdu, now_ms),
    )
    tx.notify.append(ctx.wake_smpp)


def next_deliveries(
    conn: sqlite3.Connection, system_id: str, limit: int, skip: Collection[int]
) -> list[SmppDelivery]:
    """Return up to ``limit`` of a user's oldest deliveries, leaving out those in ``skip``."""
    rows = conn.execute(
        "SELECT pk, system_id, pdu FROM smpp_delivery WHERE system_id = ? ORDER BY pk LIMIT ?",
        (system_id, limit + len(skip)),
    ).fetchall()
    found = [SmppDelivery(row[0], row[1], bytes(row[2])) for row in rows if row[0] not in skip]
    return found[:limit]


def ack_delivery(conn: sqlite3.Connection, delivery_id: int) -> bool:
    """Drop a delivery its ESME acknowledged; False if it was gone already."""
    return conn.execute("DELETE FROM smpp_delivery WHERE pk = ?", (delivery_id,)).rowcount > 0


def pending_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Count the deliveries waiting, per system_id."""
    rows = conn.execute("SELECT system_id, count(*) FROM smpp_delivery GROUP BY system_id")
    return {str(row[0]): int(row[1]) for row in rows}
