"""Hypothesis properties of the codec: round trips, minimal parts, 140 octets, only PduError."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
import random

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from gsmgw.errors import PduError
from gsmgw.sms import (
    Deliver,
    Encoding,
    EncodingMode,
    Reassembler,
    Submit,
    decode_pdu,
    encode_deliver,
    encode_submit,
)
from gsmgw.sms.alphabet import charset, join_surrogates, language_id, utf16_units
from gsmgw.sms.concat import plan

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LANGUAGES = ["tr", "es", "pt", "bn", "gu", "hi", "kn", "ml", "or", "pa", "ta", "te", "ur"]
_MIXED = (
    "abcxyz ABC 0123 .,!?@£$¥èéΔΦΓΩ€^{}[]~|\\\n"
    "şğıİĞŞçáíóúâêôãõ"  # Turkish, Spanish, Portuguese
    "अआकखगघ्ािी।"  # Devanagari
    "অআকখ্া"  # Bengali
    "தமிழ்"  # Tamil
    "اردوپٹ"  # Urdu
    "жщЖ日本語"
    "\u2019\u201c\u201d\u2013\u2026\u00a0"
)
texts = st.text(
    alphabet=st.one_of(st.sampled_from(_MIXED), st.sampled_from("😀🎉👍🏽🚀𝄞")), max_size=500
)
modes = st.sampled_from(list(EncodingMode))
language_sets = st.lists(st.sampled_from(LANGUAGES), max_size=3, unique=True)


def _round_trip(text: str, mode: EncodingMode, languages: list[str], seed: int) -> None:
    message = encode_submit("+491701234567", text, mode=mode, languages=languages, concat_ref=7)
    parts = [decode_pdu(part.pdu) for part in message.parts]
    assert all(isinstance(part, Submit) for part in parts)
    joined = join_surrogates("".join(p.text or "" for p in parts if isinstance(p, Submit)))
    expected = plan(text, mode=mode, languages=languages).text
    assert expected == text or mode is EncodingMode.SMART  # only smart mode maps look-alikes
    assert joined == expected
    # The same text as DELIVERs, in any order, through the Reassembler.
    when = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    pdus = encode_deliver("+4930123456", text, timestamp=when, mode=mode, concat_ref=200)
    random.Random(seed).shuffle(pdus)
    reassembler = Reassembler()
    results = []
    for pdu in pdus:
        deliver = decode_pdu(pdu)
        assert isinstance(deliver, Deliver)
        results.append(reassembler.add(deliver))
    assert all(result is None for result in results[:-1])
    whole = results[-1]
    assert whole is not None
    assert len(reassembler) == 0
    assert whole.text == plan(text, mode=mode).text


@FAST
@given(texts, modes, language_sets, st.integers(0, 2**32))
def test_round_trip(text: str, mode: EncodingMode, languages: list[str], seed: int) -> None:
    """Any text in any mix of alphabets comes back unchanged after encode/decode/reassemble."""
    _round_trip(text, mode, languages, seed)


@pytest.mark.slow
@SLOW
@given(texts, modes, language_sets, st.integers(0, 2**32))
def test_round_trip_many(text: str, mode: EncodingMode, languages: list[str], seed: int) -> None:
    """The round trip with many more examples."""
    _round_trip(text, mode, languages, seed)


def _fewest_parts(sizes: list[int], single: int, multi: int) -> int:
    """Minimal order-keeping split by dynamic programming: independent of the greedy split."""
    if sum(sizes) <= single:
        return 1
    best = [0] + [10**9] * len(sizes)
    for end in range(1, len(sizes) + 1):
        used = 0
        for start in range(end - 1, -1, -1):
            used += sizes[start]
            if used > multi:
                break
            best[end] = min(best[end], best[start] + 1)
    return best[-1]


def _minimal(text: str, mode: EncodingMode, languages: list[str], ref16: bool) -> None:
    chosen = plan(text, mode=mode, languages=languages, ref16=ref16)
    concat = 6 if ref16 else 5
    if chosen.encoding is Encoding.UCS2:
        sizes = [utf16_units(char) for char in chosen.text]
        assert chosen.parts == _fewest_parts(sizes, 70, (140 - 1 - concat) // 2)
        return
    table = chosen.charset
    assert table is not None
    shifts = 3 * bool(table.single) + 3 * bool(table.locking)
    lone = (1 + shifts) * bool(shifts)
    sizes = [len(table.codes(char) or ()) for char in chosen.text]
    single = (1120 - 8 * lone) // 7
    multi = (1120 - 8 * (1 + concat + shifts)) // 7
    assert chosen.parts == _fewest_parts(sizes, single, multi)
    # And the fewest parts wins: neither UCS-2 nor any allowed single shift table does better.
    assert chosen.parts <= plan(text, mode=EncodingMode.UCS2, ref16=ref16).parts
    for number in [0, *(language_id(language) for language in languages)]:
        other = charset(0, number)
        if other.encode(chosen.text) is not None:
            sizes = [len(other.codes(char) or ()) for char in chosen.text]
            extra = 3 * bool(number)
            best = _fewest_parts(sizes, (1120 - 8 * (1 + extra) * bool(extra)) // 7,
                                 (1120 - 8 * (1 + concat + extra)) // 7)  # fmt: skip
            assert chosen.parts <= best


@FAST
@given(texts, modes, language_sets, st.booleans())
def test_part_count_is_minimal(
    text: str, mode: EncodingMode, languages: list[str], ref16: bool
) -> None:
    """The greedy split takes no more parts than the best possible split for its encoding."""
    _minimal(text, mode, languages, ref16)


def _user_data_length(pdu: bytes) -> tuple[int, int, int]:
    """Return (TP-DCS, TP-UDL, octets of TP-UD) of a SUBMIT with SMSC field, parsed by hand."""
    pos = pdu[0] + 1
    first = pdu[pos]
    digits = pdu[pos + 2]
    pos += 3 + 1 + (digits + 1) // 2  # first octet, MR, DA length, TOA, digits
    dcs = pdu[pos + 1]
    pos += 2 + (1 if first & 0x18 == 0x10 else 0)
    return dcs, pdu[pos], len(pdu) - pos - 1


@FAST
@given(texts, modes, language_sets, st.booleans(), st.booleans())
def test_parts_fit_140_octets(
    text: str, mode: EncodingMode, languages: list[str], ref16: bool, with_vp: bool
) -> None:
    """No part carries more than 140 octets of user data, and TP-UDL agrees with it."""
    message = encode_submit("+491701234567", text, mode=mode, languages=languages, ref16=ref16,
                            valid_for=600 if with_vp else None)  # fmt: skip
    for part in message.parts:
        dcs, udl, octets = _user_data_length(part.pdu)
        assert octets <= 140
        if dcs & 0x0C == 0x08:
            assert udl == octets
        else:
            assert udl <= 160
            assert octets == (udl * 7 + 7) // 8


def _garbage(data: bytes, has_smsc: bool) -> None:
    with contextlib.suppress(PduError):
        decode_pdu(data, has_smsc=has_smsc)


_VALID = [p.pdu for p in encode_submit("+491701234567", "héllo 😀" * 30, concat_ref=3).parts]
_VALID += encode_deliver("Shop", "a€" * 90, timestamp=datetime(2026, 1, 1, tzinfo=UTC))


mutations = st.tuples(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
    st.integers(0, 400),
)


def _apply(base: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(base)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data[: max(1, cut)])


@FAST
@given(st.binary(max_size=300), st.booleans())
def test_arbitrary_bytes_raise_only_pdu_error(data: bytes, has_smsc: bool) -> None:
    """The decoder on arbitrary bytes returns or raises PduError, nothing else."""
    _garbage(data, has_smsc)


@FAST
@given(mutations, st.booleans())
def test_mutated_pdus_raise_only_pdu_error(case: tuple[bytes, list[tuple[int, int]], int],
                                           has_smsc: bool) -> None:  # fmt: skip
    """Valid PDUs with bytes changed and cut short: a result or PduError, nothing else."""
    _garbage(_apply(*case), has_smsc)


@pytest.mark.slow
@SLOW
@given(st.binary(max_size=300), mutations, st.booleans())
def test_garbage_many(data: bytes, case: tuple[bytes, list[tuple[int, int]], int],
                      has_smsc: bool) -> None:  # fmt: skip
    """Both garbage properties with many more examples."""
    _garbage(data, has_smsc)
    _garbage(_apply(*case), has_smsc)
