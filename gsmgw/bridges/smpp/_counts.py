"""What the SMPP server counts for the Prometheus metrics: increments, read at scrape time.

Counting is a dict increment where the response is written; the sessions are counted only when
read, so an idle server pays nothing and a busy one no more than a hash per PDU.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from gsmgw.smpp import DataSm, Pdu, Status, SubmitSm

__all__ = ["SmppCounts", "SmppMetrics", "status_name"]

#: The bind types a bound session may have, as ``gsmgw status`` spells them.
BIND_TYPES = ("transmitter", "receiver", "transceiver")


def status_name(status: int) -> str:
    """Return a command_status's SMPP 3.4 name (``ESME_RTHROTTLED``), or its hex value."""
    try:
        return Status(status).name
    except ValueError:
        return f"{status:#010x}"


@dataclass(slots=True)
class SmppCounts:
    """Counters since start, by system_id."""

    #: submit_sm and data_sm answered with ESME_ROK.
    accepted: Counter[str] = field(default_factory=Counter)
    #: submit_sm and data_sm answered with an error, by (system_id, status name).
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: deliver_sm (receipts and MO SMS) the ESME answered with status 0.
    delivered: Counter[str] = field(default_factory=Counter)

    def answered(self, system_id: str | None, pdu: Pdu, response: Pdu) -> None:
        """Count the response to a request if it is a submit of a bound session."""
        if system_id is None or not isinstance(pdu, SubmitSm | DataSm):
            return
        if response.status == Status.ESME_ROK:
            self.accepted[system_id] += 1
        else:
            self.refused[system_id, status_name(response.status)] += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppMetrics:
    """A copy of the counts and the bound sessions, for one scrape."""

    #: Every system_id of ``users_file``: each gets its series, at 0 until it is used.
    users: tuple[str, ...]
    #: Bound sessions by (system_id, bind type).
    sessions: dict[tuple[str, str], int]
    accepted: dict[str, int]
    refused: dict[tuple[str, str], int]
    delivered: dict[str, int]

    @classmethod
    def of(
        cls, users: Iterable[str], counts: SmppCounts, bound: Iterable[tuple[str, str]]
    ) -> SmppMetrics:
        """Return the metrics of ``counts`` and the ``(system_id, bind type)`` of each session."""
        return cls(
            users=tuple(users),
            sessions=dict(Counter(bound)),
            accepted=dict(counts.accepted),
            refused=dict(counts.refused),
            delivered=dict(counts.delivered),
        )
