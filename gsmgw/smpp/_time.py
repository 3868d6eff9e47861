"""SMPP time strings (SMPP 3.4 §7.1.1): absolute ``YYMMDDhhmmsstnnp``, relative ``...R``."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
import re

from gsmgw.errors import SmppError
from gsmgw.smpp._constants import Status

# YY MM DD hh mm ss t nn p, all ASCII digits (r"\d" would take other scripts' digits too).
_TIME = re.compile(r"([0-9]{2})" * 6 + r"([0-9])([0-9]{2})([-+R])")
#: nn counts quarter hours from UTC, 00-48 (§7.1.1).
_MAX_QUARTERS = 48
_QUARTER = timedelta(minutes=15)
#: YY is two digits: gsmgw reads them as 2000-2099 (§7.1.1 names no century).
_CENTURY = 2000


def parse_time(
    text: str, now: datetime, *, status: int = Status.ESME_RINVSCHED
) -> datetime | timedelta | None:
    """Parse schedule_delivery_time or validity_period.

    Args:
        text: the field as decoded ("" when the peer sent NULL).
        now: the SMSC's current time; a relative time's months and years count from it.
        status: the command_status of the SmppError for a bad value (ESME_RINVSCHED for
            schedule_delivery_time, ESME_RINVEXPIRY for validity_period).

    Returns:
        None for "", an aware datetime for an absolute time, a timedelta for a relative one.

    Raises:
        SmppError: text is neither form, or names a day or offset that does not exist.
    """
    if text == "":
        return None
    if text.endswith("R"):
        return parse_relative(text, now, status=status)
    return parse_absolute(text, status=status)


def _fields(text: str, status: int) -> tuple[int, ...]:
    match = _TIME.fullmatch(text)
    if match is None:
        raise SmppError(f"time {text!r} is not YYMMDDhhmmsstnnp", status=status)
    return tuple(int(group) for group in match.groups()[:8])


def parse_absolute(text: str, *, status: int = Status.ESME_RINVSCHED) -> datetime:
    """Parse ``YYMMDDhhmmsstnn+`` or ``...-`` (§7.1.1.1) to an aware datetime."""
    if text.endswith("R"):
        raise SmppError(f"time {text!r} is relative, not absolute", status=status)
    year, month, day, hour, minute, second, tenths, quarters = _fields(text, status)
    if quarters > _MAX_QUARTERS:
        raise SmppError(f"time {text!r}: UTC offset {quarters} quarter hours", status=status)
    offset = quarters * _QUARTER * (-1 if text.endswith("-") else 1)
    try:
        return datetime(
            _CENTURY + year,
            month,
            day,
            hour,
            minute,
            second,
            tenths * 100_000,
            tzinfo=timezone(offset),
        )
    except ValueError as exc:
        raise SmppError(f"time {text!r}: {exc}", status=status) from exc


def parse_relative(text: str, now: datetime, *, status: int = Status.ESME_RINVSCHED) -> timedelta:
    """Parse ``YYMMDDhhmmss000R`` (§7.1.1.2): years, months, days... from now.

    The "t" and "nn" digits are ignored, as §7.1.1.2 says; months and years are calendar
    months and years from ``now`` (31 January plus one month is the last day of February).
    """
    if not text.endswith("R"):
        raise SmppError(f"time {text!r} is not relative", status=status)
    years, months, days, hours, minutes, seconds, _, _ = _fields(text, status)
    try:
        then = _add_months(now, 12 * years + months)
    except (ValueError, OverflowError) as exc:  # beyond year 9999
        raise SmppError(f"time {text!r}: {exc}", status=status) from exc
    return then - now + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def format_absolute(moment: datetime) -> str:
    """Format an aware datetime as ``YYMMDDhhmmsstnnp``, to the tenth of a second.

    An offset that is not a whole number of quarter hours (or beyond 12 hours) is written
    as UTC. Raises ValueError for a naive datetime or a year outside 2000-2099.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("format_absolute needs an aware datetime")
    quarters, rest = divmod(abs(offset), _QUARTER)
    if rest or quarters > _MAX_QUARTERS:
        moment, offset, quarters = moment.astimezone(UTC), timedelta(0), 0
    if not _CENTURY <= moment.year < _CENTURY + 100:
        raise ValueError(f"year {moment.year} does not fit two digits")
    sign = "-" if offset < timedelta(0) else "+"
    tenths = moment.microsecond // 100_000
    return f"{moment:%y%m%d%H%M%S}{tenths}{quarters:02d}{sign}"


def format_relative(delta: timedelta) -> str:
    """Format a duration as ``000DDhhmmss000R`` (whole seconds, under 100 days).

    Only days, hours, minutes and seconds are written, so the value means the same whatever
    the calendar. Raises ValueError for a negative duration or one of 100 days or more.
    """
    if delta < timedelta(0) or delta >= timedelta(days=100):
        raise ValueError(f"relative time {delta} outside 0 s - 99 days")
    hours, rest = divmod(int(delta.total_seconds()) - delta.days * 86_400, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"0000{delta.days:02d}{hours:02d}{minutes:02d}{seconds:02d}000R"
