"""GSM 7-bit tables (TS 23.038 §6.2.1 and Annex A), septet packing and UCS-2."""

from __future__ import annotations

import pytest

from gsmgw.errors import EncodingError
from gsmgw.sms.alphabet import (
    DEFAULT,
    LANGUAGE_NAMES,
    LANGUAGES,
    Charset,
    charset,
    decode_ucs2,
    encode_ucs2,
    join_surrogates,
    language_id,
    pack_septets,
    unpack_septets,
)
from gsmgw.sms.national import LOCKING_SHIFT, SINGLE_SHIFT
from gsmgw.sms.smart import map_look_alikes


@pytest.mark.parametrize("number", sorted(LOCKING_SHIFT))
def test_locking_tables_are_whole(number: int) -> None:
    """Each locking table has 16 rows of 8 cells; LF, CR, space, ESC and digits are shared."""
    table = charset(number, 0)
    assert len(table.main) == 128
    assert (table.main[0x0A], table.main[0x0D], table.main[0x20], table.main[0x1B]) == (
        "\n", "\r", " ", "",
    )  # fmt: skip
    assert "".join(table.main[0x30:0x3A]) == "0123456789"


@pytest.mark.parametrize("number", sorted(SINGLE_SHIFT))
def test_single_shift_tables(number: int) -> None:
    """Every single shift table has form feed, the brackets, the pipe and €."""
    table = charset(0, number)
    for char in "\f^{}\\[~]|":
        assert table.codes(char) in {(char,), (0x1B, table.extension.index(char))}
    assert table.extension[0x65] == "€"


@pytest.mark.parametrize(
    ("locking", "single", "septets", "char"),
    [
        (0, 0, (0x1B, 0x65), "€"),
        (1, 0, (0x04,), "€"),  # A.3.1 Turkish: € replaces è
        (0, 1, (0x1B, 0x47), "Ğ"),
        (1, 1, (0x0B,), "Ğ"),  # the locking table wins over the shift table
        (0, 2, (0x1B, 0x09), "ç"),  # A.2.2 Spanish
        (3, 0, (0x7D,), "`"),  # A.3.3 Portuguese
        (0, 3, (0x1B, 0x7F), "â"),
        (4, 0, (0x00,), "\u0981"),  # A.3.4 Bengali
        (5, 5, (0x1B, 0x1C), "\u0ae6"),  # A.2.5 Gujarati digit zero
        (6, 0, (0x7F,), "\u097f"),  # A.3.6 Hindi
        (6, 6, (0x1B, 0x39), "\u0970"),
        (7, 0, (0x24,), "\u0caa"),  # A.3.7 Kannada, as printed (0x24 and 0x3D both ಪ)
        (8, 8, (0x1B, 0x2E), "\u0d7a"),  # A.2.8 Malayalam
        (9, 0, (0x7F,), "\u0b63"),  # A.3.9 Oriya
        (10, 0, (0x7F,), "\u0a74"),  # A.3.10 Punjabi
        (11, 0, (0x7F,), "\u0bf9"),  # A.3.11 Tamil
        (12, 12, (0x1B, 0x32), "\u0c7f"),  # A.2.12 Telugu
        (13, 0, (0x00,), "\u0627"),  # A.3.13 Urdu
        (13, 13, (0x1B, 0x3F), "\u06d4"),
    ],
)
def test_table_samples(locking: int, single: int, septets: tuple[int, ...], char: str) -> None:
    """Spot checks against the printed tables, both directions."""
    table = charset(locking, single)
    assert table.codes(char) == septets
    assert table.decode(septets) == char


def test_repeated_cells_encode_to_first_position() -> None:
    """'¡' sits at 0x13 and 0x15 of the Indic single shift tables: 0x13 is used."""
    assert charset(6, 6).codes("¡") == (0x1B, 0x13)
    assert charset(6, 6).decode([0x1B, 0x15]) == "¡"


def test_escape_handling() -> None:
    """ESC + unknown shows the main table's character (TS 23.038 §6.2.1.1); ESC ESC a space."""
    assert DEFAULT.decode([0x1B, 0x1C]) == "Æ"
    assert DEFAULT.decode([0x1B, 0x1B, 0x41]) == " A"
    assert DEFAULT.decode([0x41, 0x1B]) == "A "
    assert charset(4, 0).decode([0x0C]) == " "  # an unused cell shows a space


def test_language_ids() -> None:
    """Codes and names map to TS 23.038 identifiers; the charset knows its language."""
    assert language_id("TR") == 1
    assert language_id("urdu") == 13
    assert {LANGUAGE_NAMES[n] for n in LANGUAGES.values()} == set(LANGUAGE_NAMES.values())
    assert charset(0, 2).language == "es"
    assert DEFAULT.language is None
    with pytest.raises(EncodingError):
        language_id("klingon")
    with pytest.raises(ValueError, match="no national language table"):
        Charset(2, 0)


def test_encode_missing_character() -> None:
    """A character outside the charset gives None."""
    assert DEFAULT.encode("ab") == [(0x61,), (0x62,)]
    assert DEFAULT.encode("aж") is None


@pytest.mark.parametrize("fill", range(7))
def test_pack_unpack(fill: int) -> None:
    """Packing then unpacking any septets with any fill bits is the identity."""
    septets = [(i * 37) % 128 for i in range(23)]
    packed = pack_septets(septets, fill)
    assert len(packed) == (fill + 7 * 23 + 7) // 8
    assert unpack_septets(packed, 23, fill) == septets


def test_pack_known_vector() -> None:
    """'hellohello' from TS 23.038's classic example."""
    assert pack_septets(DEFAULT_SEPTETS).hex().upper() == "E8329BFD4697D9EC37"


DEFAULT_SEPTETS = [s for code in DEFAULT.encode("hellohello") or () for s in code]


def test_ucs2() -> None:
    """UTF-16 with surrogate pairs; halves split between parts join again."""
    assert encode_ucs2("a😀") == b"\x00a\xd8\x3d\xde\x00"
    assert decode_ucs2(b"\xd8\x3d\xde\x00") == "😀"
    halves = decode_ucs2(b"\xd8\x3d") + decode_ucs2(b"\xde\x00")
    assert join_surrogates(halves) == "😀"
    assert join_surrogates(decode_ucs2(b"\xd8\x3d")) == "\ufffd"
    with pytest.raises(EncodingError):
        encode_ucs2("\udc00")


def test_look_alikes() -> None:
    """Typographic characters map to their GSM-7 twins; invisible ones vanish."""
    assert map_look_alikes("\u201cIt\u2019s\u201d\u2014ok\u2026\u200b\u00a0") == '"It\'s"-ok... '


@pytest.mark.parametrize("number", sorted(LOCKING_SHIFT))
def test_locking_tables_have_basic_punctuation(number: int) -> None:
    """Every locking table has , . ? ( ) : ; ! (the comma at 0x2C, as the spec prints it)."""
    table = charset(number, 0)
    assert table.main[0x2C] == ","
    for char in ".?():;!":
        assert table.codes(char) is not None
