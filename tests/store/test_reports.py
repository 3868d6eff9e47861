"""Status reports find their part by modem, TP-MR, recipient and time (issue 14, defect 5).

TP-MR is one octet: a modem's 257th part reuses the first one's reference, and parts whose report
never comes stay ``sent``. A late report must not mark whichever part last used its TP-MR.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsmgw.models import MessageState, SendRequest, StatusReport
from gsmgw.store import Store, progress

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
ALICE = "+491701234567"
BOB = "+491709876543"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store that reads national numbers as German ones."""
    async with Store(tmp_path / "gsmgw.db", default_region="DE") as opened:
        yield opened


async def sent(store: Store, message_id: str, to: str, reference: int, at: datetime) -> None:
    """Queue, claim and send a one-part message at ``at`` with TP-MR ``reference``."""
    await store.enqueue([SendRequest(to=(to,), text="hi", id=message_id, report=True)], now=at)
    claimed = await store.claim_next("sim1", now=at)
    assert claimed is not None
    assert claimed.id == message_id
    await store._run(lambda tx: progress.save_parts(tx, message_id, [("00AA", 10)]))
    await store.begin_part(message_id, 1, "sim1", now=at)
    await store.record_part_sent(message_id, 1, reference, "sim1", now=at)


def report(reference: int, to: str | None, done: datetime | None, status: int = 0) -> StatusReport:
    return StatusReport(
        modem="sim1", reference=reference, status=status, recipient=to, discharge_time=done
    )


async def state(store: Store, message_id: str) -> MessageState:
    message = await store.get_message(message_id)
    assert message is not None
    return message.state


async def test_a_late_report_after_the_counter_wrapped_marks_its_own_part(store: Store) -> None:
    # "old" never got its report; 256 parts later "new" reuses TP-MR 5 for the same number.
    await sent(store, "old", ALICE, 5, T0)
    await sent(store, "new", ALICE, 5, T0 + timedelta(minutes=20))
    late = report(5, ALICE, T0 + timedelta(minutes=1))
    match = await store.match_status_report(late, now=T0 + timedelta(minutes=25))
    assert match is not None
    assert match.message_id == "old"
    assert await state(store, "old") is MessageState.DELIVERED
    assert await state(store, "new") is MessageState.SENT


async def test_a_report_for_another_recipient_skips_the_latest_part(store: Store) -> None:
    await sent(store, "to-alice", ALICE, 7, T0)
    await sent(store, "to-bob", BOB, 7, T0 + timedelta(minutes=20))
    for_alice = report(7, ALICE, T0 + timedelta(minutes=21))
    match = await store.match_status_report(for_alice, now=T0 + timedelta(minutes=22))
    assert match is not None
    assert match.message_id == "to-alice"
    assert await state(store, "to-bob") is MessageState.SENT


async def test_a_report_for_nobody_waiting_matches_nothing(store: Store) -> None:
    await sent(store, "to-bob", BOB, 9, T0)
    stranger = report(9, "+441234567890", T0 + timedelta(minutes=1))
    assert await store.match_status_report(stranger, now=T0 + timedelta(minutes=2)) is None
    assert await state(store, "to-bob") is MessageState.SENT


async def test_a_report_done_before_the_part_was_sent_matches_nothing(store: Store) -> None:
    await sent(store, "m", ALICE, 11, T0)
    too_early = T0 - progress.REPORT_CLOCK_TOLERANCE - timedelta(seconds=1)
    assert await store.match_status_report(report(11, ALICE, too_early), now=T0) is None
    # Within the tolerance (the SMSC's clock a little behind ours) it matches.
    near = T0 - progress.REPORT_CLOCK_TOLERANCE + timedelta(seconds=1)
    assert await store.match_status_report(report(11, ALICE, near), now=T0) is not None


async def test_parts_sent_before_the_report_window_are_not_matched(store: Store) -> None:
    await sent(store, "m", ALICE, 12, T0)
    later = T0 + progress.REPORT_WINDOW + timedelta(minutes=1)
    assert await store.match_status_report(report(12, ALICE, later), now=later) is None
    within = T0 + progress.REPORT_WINDOW - timedelta(minutes=1)
    assert await store.match_status_report(report(12, ALICE, within), now=within) is not None


@pytest.mark.parametrize("recipient", ["+491701234567", "491701234567", "01701234567"])
async def test_the_recipient_is_compared_as_e164_or_as_digits(store: Store, recipient: str) -> None:
    # TP-RA as SMSCs write it: international with "+", international digits under an unknown
    # type of number (read as digits), national with the trunk 0 (read for default_region).
    await sent(store, "m", ALICE, 13, T0)
    assert await store.match_status_report(report(13, recipient, T0), now=T0) is not None


async def test_short_codes_compare_as_digits(store: Store) -> None:
    await sent(store, "m", "4444", 14, T0)
    assert await store.match_status_report(report(14, "4445", T0), now=T0) is None
    assert await store.match_status_report(report(14, "4444", T0), now=T0) is not None


async def test_a_report_without_recipient_or_time_matches_the_latest_part(store: Store) -> None:
    # Some modems' +CDS leave out what matching could use: (modem, TP-MR) then decides alone.
    await sent(store, "old", ALICE, 15, T0)
    await sent(store, "new", BOB, 15, T0 + timedelta(minutes=1))
    match = await store.match_status_report(report(15, None, None), now=T0 + timedelta(minutes=2))
    assert match is not None
    assert match.message_id == "new"
