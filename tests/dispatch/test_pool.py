"""Routing as SPEC.md says: allowed modems, ready ones, cheapest, then soonest finished."""

from __future__ import annotations

import pytest

from gsmgw.dispatch._pool import (
    Candidate,
    allowed_modems,
    best_modem,
    updated_send_time,
)

DE = "+491701234567"
AT = "+436641234567"


def _ids(modems: list[Candidate]) -> list[str]:
    return [m.id for m in modems]


def test_allowed_by_id_group_or_all() -> None:
    modems = [
        Candidate("sim1", frozenset({"de", "otp"})),
        Candidate("sim2", frozenset({"de"})),
        Candidate("sim3"),
    ]
    assert _ids(allowed_modems(modems, None)) == ["sim1", "sim2", "sim3"]
    assert _ids(allowed_modems(modems, ["otp"])) == ["sim1"]
    assert _ids(allowed_modems(modems, ["de"])) == ["sim1", "sim2"]
    assert _ids(allowed_modems(modems, ["sim3", "otp"])) == ["sim1", "sim3"]
    assert allowed_modems(modems, ["nope"]) == []


def test_cheapest_first_by_longest_prefix() -> None:
    cheap_de = Candidate("de", cost={"+49": 0.0, "+": 0.09}, queued_parts=5)
    cheap_at = Candidate("at", cost={"+43": 0.01, "+": 0.09})
    assert best_modem([cheap_de, cheap_at], DE, 1, None) == cheap_de
    assert best_modem([cheap_de, cheap_at], AT, 1, None) == cheap_at
    assert cheap_de.price("12345") == 0.0  # a short code matches no prefix


def test_same_price_soonest_finished_wins() -> None:
    slow_idle = Candidate("slow", send_time=4.0)
    fast_busy = Candidate("fast", send_time=0.5, queued_parts=2)
    # 4.0 s for the slow idle modem against (2 + 1) * 0.5 s for the fast busy one.
    assert best_modem([slow_idle, fast_busy], DE, 1, None) == fast_busy


def test_not_ready_and_over_limit_are_skipped() -> None:
    down = Candidate("down", ready=False)
    full_minute = Candidate("minute", per_minute=10, sent_last_minute=10)
    full_day = Candidate("day", per_day=500, sent_today=499)
    assert best_modem([down, full_minute, full_day], DE, 2, None) is None
    assert best_modem([down, full_minute, full_day], DE, 1, None) == full_day


def test_long_message_on_a_small_minute_budget_goes_out_on_an_idle_minute() -> None:
    modem = Candidate("sim1", per_minute=2)
    assert modem.within_limits(3)
    assert not Candidate("sim1", per_minute=2, sent_last_minute=1).within_limits(3)


@pytest.mark.parametrize(("first", "expected"), [(True, 2.0), (False, 3.0 + 0.2 * (2.0 - 3.0))])
def test_send_time_average(first: bool, expected: float) -> None:
    assert updated_send_time(3.0, 2.0, first=first) == pytest.approx(expected)
