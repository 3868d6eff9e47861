"""Fuzzing the PDU decoder: only PduError, never a hang (tests/fuzz/pdus.py builds the inputs)."""

from __future__ import annotations

from hypothesis import example, given
import pytest

from tests.fuzz.budget import QUICK, QUICK_TIMEOUT, long_examples, long_timeout, run_rounds
from tests.fuzz.choice import BATCH, SEEDS, check_batch, strategy
from tests.fuzz.pdus import (
    CORPUS,
    PduSample,
    check_decode,
    check_decode_hex,
    length_fields,
    pdu_hex_text,
    pdu_sample,
)


def test_length_fields_point_at_the_lengths_of_a_real_deliver() -> None:
    # mm-pdu2: SMSC 07..., first octet 04, OA 14 D0 (alphanumeric), PID 00, DCS 08, UDL.
    sample = next(s for s in CORPUS if s.origin == "mm-pdu2")
    fields = length_fields(sample.data, sample.has_smsc)
    named = [sample.data[fields[k]] for k in ("smsc_length", "address_length", "dcs")]
    assert named == [0x07, 0x14, 0x08]
    assert sample.data[fields["udl"]] == len(sample.data) - fields["udl"] - 1


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(pdu_sample))
@example(PduSample(b"", True, "empty"))
@example(PduSample(b"\x00\x44\x0b\x91", True, "UDHI deliver cut in the address"))
def test_mutated_pdus_decode_or_raise_pdu_error(sample: PduSample) -> None:
    check_decode(sample)


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(pdu_hex_text))
def test_mangled_hex_decodes_or_raises_pdu_error(text: str) -> None:
    check_decode_hex(text)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_mutated_pdus() -> None:
    run_rounds(check_batch("pdu", pdu_sample, check_decode), SEEDS, long_examples() // BATCH)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_mangled_hex() -> None:
    run_rounds(
        check_batch("pdu-hex", pdu_hex_text, check_decode_hex), SEEDS, long_examples() // BATCH
    )
