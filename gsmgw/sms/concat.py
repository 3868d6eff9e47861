"""Choosing an encoding and splitting a text into parts (3GPP TS 23.040 §9.2.3.24.1).

Every candidate encoding (GSM-7 with the default tables, GSM-7 with each enabled national
shift table, UCS-2; in smart mode also the text with look-alikes mapped) is split, and the
one with the fewest parts wins; ties go to the earlier, simpler candidate. Splitting is
greedy over characters, which is minimal for an order-keeping split: an escape sequence or a
surrogate pair is one character, so neither is ever cut between parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gsmgw.errors import EncodingError
from gsmgw.sms.alphabet import (
    DEFAULT,
    Charset,
    Encoding,
    charset,
    encode_ucs2,
    language_id,
    utf16_units,
)
from gsmgw.sms.national import LOCKING_SHIFT
from gsmgw.sms.smart import map_look_alikes
from gsmgw.sms.udh import header_length

MAX_PARTS = 255
_USER_DATA_BITS = 140 * 8


class EncodingMode(StrEnum):
    """How to choose the alphabet: SPEC.md's ``encoding`` field and config key."""

    AUTO = "auto"
    SMART = "smart"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class Plan:
    """A text split into parts: septets per part (GSM-7) or text per part (UCS-2)."""

    encoding: Encoding
    charset: Charset | None
    chunks: tuple[tuple[int, ...], ...] | tuple[str, ...]
    text: str

    @property
    def parts(self) -> int:
        """How many SMS this plan takes."""
        return len(self.chunks)

    @property
    def language(self) -> str | None:
        """The national language of the shift tables in use, if any."""
        return self.charset.language if self.charset else None


def _septet_capacity(header_octets: int) -> int:
    return (_USER_DATA_BITS - header_octets * 8) // 7


def _split(sizes: Sequence[int], single: int, multi: int) -> list[tuple[int, int]]:
    """Split items of the given sizes into (start, end) runs: one of `single`, else `multi`."""
    if sum(sizes) <= single:
        return [(0, len(sizes))]
    runs: list[tuple[int, int]] = []
    start = used = 0
    for index, size in enumerate(sizes):
        if used + size > multi:
            runs.append((start, index))
            start, used = index, 0
        used += size
    runs.append((start, len(sizes)))
    return runs


def _plan_gsm7(text: str, table: Charset, ref16: bool) -> Plan | None:
    codes = table.encode(text)
    if codes is None:
        return None
    lone = header_length(concat=False, ref16=ref16, single=table.single, locking=table.locking)
    many = header_length(concat=True, ref16=ref16, single=table.single, locking=table.locking)
    single, multi = _septet_capacity(lone), _septet_capacity(many)
    runs = _split([len(code) for code in codes], single, multi)
    chunks = tuple(tuple(s for code in codes[a:b] for s in code) for a, b in runs)
    return Plan(Encoding.GSM7, table, chunks, text)


def _plan_ucs2(text: str, ref16: bool) -> Plan:
    encode_ucs2(text)  # raises on a lone surrogate
    multi = (140 - header_length(concat=True, ref16=ref16, single=0, locking=0)) // 2
    runs = _split([utf16_units(char) for char in text], 70, multi)
    return Plan(Encoding.UCS2, None, tuple(text[a:b] for a, b in runs), text)


def _charsets(languages: Sequence[str]) -> list[Charset]:
    """Return the default charset, then for each language its single, locking and both."""
    tables = [DEFAULT]
    for language in languages:
        number = language_id(language)
        tables.append(charset(0, number))
        if number in LOCKING_SHIFT:
            tables += [charset(number, 0), charset(number, number)]
    return tables


def plan(
    text: str,
    *,
    mode: EncodingMode = EncodingMode.AUTO,
    languages: Sequence[str] = (),
    ref16: bool = False,
) -> Plan:
    """Choose the encoding with the fewest parts for text and split it.

    Raises:
        EncodingError: an unknown mode or language, or a lone surrogate (invalid_request).
    """
    try:
        mode = EncodingMode(mode)
    except ValueError:
        raise EncodingError(f"unknown encoding mode {mode!r}", code="invalid_request") from None
    ucs2 = _plan_ucs2(text, ref16)
    if mode is EncodingMode.UCS2:
        return ucs2
    texts = [text]
    if mode is EncodingMode.SMART and (mapped := map_look_alikes(text)) != text:
        texts.append(mapped)
    candidates = [
        found
        for variant in texts
        for table in _charsets(languages)
        if (found := _plan_gsm7(variant, table, ref16)) is not None
    ]
    candidates.append(ucs2)
    return min(candidates, key=lambda candidate: candidate.parts)


def count_parts(
    text: str,
    *,
    mode: EncodingMode = EncodingMode.AUTO,
    languages: Sequence[str] = (),
    ref16: bool = False,
) -> tuple[Encoding, int]:
    """Return the encoding that would be used for text and how many parts it takes."""
    chosen = plan(text, mode=mode, languages=languages, ref16=ref16)
    return chosen.encoding, chosen.parts


def checked_plan(
    text: str,
    *,
    mode: EncodingMode,
    languages: Sequence[str],
    ref16: bool,
    max_parts: int,
) -> Plan:
    """Like ``plan``, but raise text_too_long past max_parts (and past 255 in any case)."""
    chosen = plan(text, mode=mode, languages=languages, ref16=ref16)
    limit = min(max_parts, MAX_PARTS)
    if chosen.parts > limit:
        raise EncodingError(
            f"text needs {chosen.parts} parts ({chosen.encoding}), at most {limit} allowed",
            code="text_too_long",
        )
    return chosen
