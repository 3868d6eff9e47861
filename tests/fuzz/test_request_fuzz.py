"""Fuzzing the send-request validator: a SendRequest or a RequestError with a SPEC.md code."""

from __future__ import annotations

from hypothesis import example, given
import pytest

from tests.fuzz.budget import QUICK, QUICK_TIMEOUT, long_examples, long_timeout, run_rounds
from tests.fuzz.choice import BATCH, SEEDS, Seeded, check_batch, strategy
from tests.fuzz.payloads import Payload, check_payload, payload


def _bytes(data: bytes, origin: str) -> Payload:
    return Payload(data, "", None, False, origin)


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(payload))
@example(_bytes(b"[" * 100_000 + b"]" * 100_000, "nested past the recursion limit"))
@example(_bytes(b'{"to": "+491701234567", "text": "hi", "priority": NaN}', "NaN"))
@example(_bytes(b'{"to": "+491701234567", "text": "\\udc00"}', "lone surrogate"))
@example(_bytes(b'{"to": "+491701234567", "text": "hi", "valid_for": ' + b"9" * 5000 + b"}", "big"))
@example(_bytes(b'{"to": "+49170\xff1234567", "text": "hi"}', "invalid UTF-8"))
def test_any_payload_is_a_request_or_a_documented_refusal(p: Payload) -> None:
    check_payload(p)


def test_the_generator_makes_valid_and_refused_payloads() -> None:
    samples = [payload(Seeded(seed)) for seed in range(200)]
    assert any(s.valid for s in samples)
    assert sum(not s.valid for s in samples) > 100
    for sample in samples:
        check_payload(sample)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_payloads() -> None:
    run_rounds(check_batch("request", payload, check_payload), SEEDS, long_examples() // BATCH)
