"""Reassembly of concatenated SMS (3GPP TS 23.040 §9.2.3.24.1) as pure logic: no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gsmgw.sms.alphabet import Encoding, join_surrogates
from gsmgw.sms.pdu import Deliver

_Key = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Message:
    """A whole inbound message: its parts in order and their joined text or data."""

    sender: str
    smsc: str | None
    timestamp: datetime
    encoding: Encoding
    text: str | None
    data: bytes | None
    parts: tuple[Deliver, ...]


@dataclass(slots=True)
class _Pending:
    first_seen: datetime
    parts: dict[int, Deliver] = field(default_factory=dict)


def join(parts: tuple[Deliver, ...]) -> Message:
    """Join parts (already in order) into one message.

    Text parts are joined, and surrogate halves that another sender split between two
    parts become one character again; if no part has text, the data of all parts is joined.
    """
    first = parts[0]
    texts = [part.text for part in parts if part.text is not None]
    text = join_surrogates("".join(texts)) if texts else None
    data = None if texts else b"".join(part.data or b"" for part in parts)
    return Message(first.sender, first.smsc, first.timestamp, first.encoding, text, data, parts)


class Reassembler:
    """Collects the parts of concatenated messages until each message is complete.

    Parts are keyed by (sender, reference, total); they may come in any order, and a part
    that has already come is ignored. What becomes of a set that never completes is the
    caller's decision: ``expire`` hands such sets back.
    """

    def __init__(self) -> None:
        self._pending: dict[_Key, _Pending] = {}

    def __len__(self) -> int:
        """How many incomplete messages are waiting."""
        return len(self._pending)

    def add(self, deliver: Deliver, *, received_at: datetime | None = None) -> Message | None:
        """Add one part; return the whole message once its last part has come, else None.

        ``received_at`` (default: the part's own time stamp) is what ``expire`` compares.
        """
        concat = deliver.concat
        if concat is None or concat.total == 1:
            return join((deliver,))
        key = (deliver.sender, concat.ref, concat.total)
        pending = self._pending.setdefault(key, _Pending(received_at or deliver.timestamp))
        pending.parts.setdefault(concat.part, deliver)
        if len(pending.parts) < concat.total:
            return None
        del self._pending[key]
        return join(tuple(pending.parts[number] for number in sorted(pending.parts)))

    def expire(self, *, before: datetime) -> list[tuple[Deliver, ...]]:
        """Remove and return the incomplete sets first seen before the given time."""
        old = [key for key, pending in self._pending.items() if pending.first_seen < before]
        return [
            tuple(parts[n] for n in sorted(parts))
            for parts in (self._pending.pop(key).parts for key in old)
        ]
