"""Fuzzing the AT codec: only Garbage (or RemoteProtocolError), no hang, bounded memory."""

from __future__ import annotations

from hypothesis import example, given, settings
import pytest

from gsmgw.at.codec import AtCodec
from gsmgw.at.events import NEED_DATA, Event, FinalResult, Garbage, Prompt
from gsmgw.errors import LocalProtocolError
from tests.fuzz.budget import QUICK, QUICK_TIMEOUT, long_examples, long_timeout, run_rounds
from tests.fuzz.choice import BATCH, SEEDS, check_batch, strategy
from tests.fuzz.transcripts import (
    HUGE_LENGTH_BUG_OPEN,
    HUGE_NUMBER,
    PROMPT_BUG_OPEN,
    Flood,
    Session,
    check_chunking,
    check_memory,
    check_session,
    flood,
    session,
)

#: Memory examples feed up to 256 KiB each under tracemalloc: fewer of them.
MEMORY_EXAMPLES = 12
#: One long memory example per this many long-run inputs.
MEMORY_SHARE = 1000


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(session))
def test_noisy_transcripts_give_events_not_exceptions(s: Session) -> None:
    check_session(s)


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(session))
def test_chunking_does_not_change_the_events(s: Session) -> None:
    check_chunking(s)


@pytest.mark.timeout(QUICK_TIMEOUT)
# No per-example deadline: tracemalloc slows the codec eightfold and a flood is 256 KiB; the
# test-level timeout still catches a hang.
@settings(QUICK, max_examples=MEMORY_EXAMPLES, deadline=None)
@given(strategy(flood))
@example(Flood(b"A" * 997, 64 * 1024, 4096, 4096, None, "one endless line"))
@example(Flood(b"+CMT: ,23\r\n", 64 * 1024, 512, 4096, None, "headers without their PDU"))
@example(Flood(b"\xff\x00> ", 8 * 1024, 1, 32, "AT+CMGS=23", "noise while a prompt is due"))
def test_memory_stays_bounded_whatever_is_fed(f: Flood) -> None:
    check_memory(f)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_noisy_transcripts() -> None:
    run_rounds(check_batch("at", session, check_session), SEEDS, long_examples() // BATCH)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_chunking() -> None:
    run_rounds(check_batch("at-chunking", session, check_chunking), SEEDS, long_examples() // BATCH)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_memory() -> None:
    run_rounds(check_memory, strategy(flood), max(100, long_examples() // MEMORY_SHARE))


# -- findings: minimal inputs of open codec bugs (the generators steer around them) ---------


def _events(codec: AtCodec) -> list[Event]:
    events = []
    while (event := codec.next_event()) is not NEED_DATA:
        events.append(event)
    return events


@pytest.mark.xfail(
    PROMPT_BUG_OPEN, reason="reads past the prompt", raises=LocalProtocolError, strict=True
)
def test_a_final_result_in_the_prompts_chunk_waits_for_the_host() -> None:
    codec = AtCodec()
    codec.send("AT+CMGS=23")
    codec.receive_data(b"> \r\n+CMS ERROR: 304\r\n")
    assert codec.next_event() == Prompt()
    codec.send_data("0011")  # LocalProtocolError: the final result already ended the command
    [final] = _events(codec)
    assert isinstance(final, FinalResult)
    assert final.code == 304


@pytest.mark.xfail(
    PROMPT_BUG_OPEN, reason="reads past the prompt", raises=AssertionError, strict=True
)
def test_a_line_after_the_prompt_does_not_depend_on_chunking() -> None:
    data = b"> \r\n+CMGS: 5\r\nOK\r\n"
    results = []
    for chunks in ([data], [data[:2], data[2:]]):
        codec = AtCodec()
        codec.send("AT+CMGS=23")
        events: list[Event] = []
        for chunk in chunks:
            codec.receive_data(chunk)
            while (event := codec.next_event()) is not NEED_DATA:
                events.append(event)
                if isinstance(event, Prompt):
                    codec.send_data("0011")
        results.append(events)
    assert results[0] == results[1]  # one chunk: "+CMGS: 5" is Garbage (read in AWAIT_DATA)


@pytest.mark.xfail(
    HUGE_LENGTH_BUG_OPEN, reason="int() of 4400 digits", raises=ValueError, strict=True
)
def test_a_cmt_length_too_long_for_int_is_garbage() -> None:
    codec = AtCodec()
    codec.receive_data(b"+CMT: ," + HUGE_NUMBER + b"\r\n0011\r\n")
    [event] = _events(codec)  # ValueError: Exceeds the limit (4300 digits)
    assert isinstance(event, Garbage)
