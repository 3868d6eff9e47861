"""Delivery receipt text (SMPP 3.4 Appendix B, as SPEC.md "SMPP server" fixes it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import re

from gsmgw.errors import SmppError
from gsmgw.smpp._constants import MessageState, Status

#: The stat word of each final (and the two interim) message states (Appendix B).
RECEIPT_STAT: dict[MessageState, str] = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
#: The receipt repeats the first 20 characters of the message (Appendix B).
TEXT_CHARS = 20
_DATE_FORMAT = "%y%m%d%H%M"
# Appendix B writes "Text:", SPEC.md and most SMSCs "text:"; some add seconds to the dates.
_RECEIPT = re.compile(
    r"\s*id:(?P<id>\S*)\s+sub:(?P<sub>[0-9]{1,3})\s+dlvrd:(?P<dlvrd>[0-9]{1,3})"
    r"\s+submit date:(?P<submit>[0-9]{10}(?:[0-9]{2})?)"
    r"\s+done date:(?P<done>[0-9]{10}(?:[0-9]{2})?)"
    r"\s+stat:(?P<stat>\S+)\s+err:(?P<err>[0-9]{1,3})(?:\s+text:(?P<text>.*))?",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """The fields of a delivery receipt's text."""

    message_id: str
    submitted: int = 1
    delivered: int = 0
    submit_date: datetime
    done_date: datetime
    stat: str
    err: int = 0
    text: str = ""

    def __post_init__(self) -> None:
        for name in ("submitted", "delivered", "err"):
            if not 0 <= getattr(self, name) <= 999:
                raise ValueError(f"{name} must be 0-999 (three digits)")
        if not self.stat or any(c.isspace() for c in self.stat + self.message_id):
            raise ValueError("stat must be a word and message_id must not contain spaces")


def _date(moment: datetime, tz: tzinfo) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime(_DATE_FORMAT)


def format_receipt(receipt: Receipt, *, tz: tzinfo = UTC) -> str:
    """Return the receipt text; aware dates are written in tz, the text cut to 20 characters."""
    return (
        f"id:{receipt.message_id} sub:{receipt.submitted:03d} dlvrd:{receipt.delivered:03d}"
        f" submit date:{_date(receipt.submit_date, tz)}"
        f" done date:{_date(receipt.done_date, tz)}"
        f" stat:{receipt.stat} err:{receipt.err:03d} text:{receipt.text[:TEXT_CHARS]}"
    )


def _parse_date(digits: str, tz: tzinfo) -> datetime:
    try:
        moment = datetime.strptime(digits[:10], _DATE_FORMAT)
        seconds = int(digits[10:12] or 0)
        return moment.replace(second=seconds, tzinfo=tz)
    except ValueError as exc:
        raise SmppError(f"receipt date {digits!r}: {exc}", status=Status.ESME_RX_P_APPN) from exc


def parse_receipt(text: str, *, tz: tzinfo = UTC) -> Receipt:
    """Parse a receipt text; its dates carry no zone and are read in tz.

    Raises:
        SmppError: not a receipt; its status ESME_RX_P_APPN is what an ESME answers a
            deliver_sm it cannot use with.
    """
    match = _RECEIPT.match(text)
    if match is None:
        raise SmppError(f"not a delivery receipt: {text[:80]!r}", status=Status.ESME_RX_P_APPN)
    return Receipt(
        message_id=match["id"],
        submitted=int(match["sub"]),
        delivered=int(match["dlvrd"]),
        submit_date=_parse_date(match["submit"], tz),
        done_date=_parse_date(match["done"], tz),
        stat=match["stat"],
        err=int(match["err"]),
        text=match["text"] or "",
    )
