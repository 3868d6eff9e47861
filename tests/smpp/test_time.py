"""SMPP 3.4 §7.1.1 time strings: absolute with +/- quarter hours, relative, and bad values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gsmgw.errors import SmppError
from gsmgw.smpp import (
    Status,
    format_absolute,
    format_relative,
    parse_absolute,
    parse_relative,
    parse_time,
)

NOW = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)


def zone(hours: int, minutes: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # §7.1.1's own reading: local time, nn quarter hours ahead of (+) or behind (-) UTC.
        ("240102030405600+", datetime(2024, 1, 2, 3, 4, 5, 600_000, zone(0))),
        ("991231235959904+", datetime(2099, 12, 31, 23, 59, 59, 900_000, zone(1))),
        ("000229000000048-", datetime(2000, 2, 29, tzinfo=zone(-12))),
        ("240615103000022+", datetime(2024, 6, 15, 10, 30, tzinfo=zone(5, 30))),
    ],
)
def test_absolute(text: str, expected: datetime) -> None:
    parsed = parse_time(text, NOW)
    assert parsed == expected
    assert isinstance(parsed, datetime)
    assert parsed.utcoffset() == expected.utcoffset()
    assert format_absolute(expected) == text


def test_absolute_instant_in_utc() -> None:
    # 10:00 local at +02:00 (08 quarter hours) is 08:00 UTC.
    moment = parse_absolute("240301100000008+")
    assert moment.astimezone(UTC) == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("000000000100000R", timedelta(minutes=1)),
        ("000002030405000R", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        ("000000480000000R", timedelta(hours=48)),  # field values beyond a clock's are counts
        ("000100000000000R", timedelta(days=29)),  # 31 January + 1 month = 29 February 2024
        ("010000000000000R", timedelta(days=366)),
        ("000000000000999R", timedelta(0)),  # t and nn are ignored (§7.1.1.2)
    ],
)
def test_relative(text: str, expected: timedelta) -> None:
    assert parse_time(text, NOW) == expected
    assert parse_relative(text, NOW) == expected


@pytest.mark.parametrize(
    "delta", [timedelta(0), timedelta(seconds=59), timedelta(days=99, hours=23, seconds=1)]
)
def test_relative_round_trip(delta: timedelta) -> None:
    assert parse_relative(format_relative(delta), NOW) == delta


def test_empty_means_none() -> None:
    assert parse_time("", NOW) is None


@pytest.mark.parametrize(
    "text",
    [
        "2401020304056+",  # too short
        "2401020304056000+",  # too long
        "240102030405600*",  # no such direction
        "24010203040560 +",
        "２４0102030405600+",  # fullwidth digits
        "241302030405600+",  # month 13
        "240230030405600+",  # 30 February
        "240102250405600+",  # hour 25
        "240102036005600+",  # minute 60
        "240102030405649+",  # 49 quarter hours
        "000000000000000r",
    ],
)
def test_bad_times(text: str) -> None:
    with pytest.raises(SmppError) as info:
        parse_time(text, NOW, status=Status.ESME_RINVEXPIRY)
    assert info.value.status == Status.ESME_RINVEXPIRY
    with pytest.raises(SmppError) as default:
        parse_time(text, NOW)
    assert default.value.status == Status.ESME_RINVSCHED


def test_wrong_form_for_the_parser() -> None:
    with pytest.raises(SmppError):
        parse_absolute("000000000100000R")
    with pytest.raises(SmppError):
        parse_relative("240102030405600+", NOW)
    with pytest.raises(SmppError):
        parse_relative("990000000000000R", datetime(9950, 1, 1, tzinfo=UTC))


def test_format_absolute_odd_offsets_become_utc() -> None:
    odd = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(minutes=7)))
    assert format_absolute(odd) == "240102025705000+"
    assert parse_absolute(format_absolute(odd)) == odd


def test_format_refuses_what_has_no_string() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_absolute(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="two digits"):
        format_absolute(datetime(2100, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="99 days"):
        format_relative(timedelta(days=100))
    with pytest.raises(ValueError, match="99 days"):
        format_relative(timedelta(seconds=-1))
