"""Fuzzing the SMPP codec: only SmppError, never a hang, chunking never matters; round trips."""

from __future__ import annotations

from hypothesis import example, given, strategies as st
import pytest

from gsmgw.smpp import EnquireLink, Pdu, encode
from tests.fuzz.budget import QUICK, QUICK_TIMEOUT, long_examples, long_timeout, run_rounds
from tests.fuzz.choice import BATCH, SEEDS, check_batch, strategy
from tests.fuzz.smpp_streams import Stream, check_round_trip, check_stream, pdu_value, stream

_LINK = encode(EnquireLink(sequence=1))


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(stream))
@example(Stream(b"", (1,), "empty"))
@example(Stream(b"\x00\x00\x00\x0f" + _LINK[4:] + _LINK, (3,), "length 15"))
@example(Stream(b"\xff\xff\xff\xff" + _LINK[4:], (16,), "length 2**32-1"))
def test_mutated_streams_raise_only_smpp_error(s: Stream) -> None:
    check_stream(s)


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), min_size=1, max_size=5))
def test_arbitrary_bytes_in_arbitrary_chunks(data: bytes, chunks: list[int]) -> None:
    check_stream(Stream(data, tuple(chunks), "hypothesis bytes"))


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(pdu_value))
def test_valid_pdus_round_trip(pdu: Pdu) -> None:
    check_round_trip(pdu)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_mutated_streams() -> None:
    run_rounds(check_batch("smpp", stream, check_stream), SEEDS, long_examples() // BATCH)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_round_trips() -> None:
    run_rounds(
        check_batch("smpp-round", pdu_value, check_round_trip),
        SEEDS,
        long_examples() // BATCH,
    )
