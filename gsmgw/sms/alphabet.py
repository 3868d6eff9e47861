"""Alphabets of 3GPP TS 23.038: GSM 7-bit tables, septet packing, UCS-2 over UTF-16."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import functools

from gsmgw.errors import EncodingError
from gsmgw.sms.national import LOCKING_SHIFT, SINGLE_SHIFT

ESC = 0x1B
_CELL_NAMES = {"SP": " ", "LF": "\n", "CR": "\r", "QM": '"', "--": "", "ESC": ""}

#: ISO 639-1 codes and English names -> national language identifier (TS 23.038 §6.2.1.2.4).
LANGUAGES: dict[str, int] = {
    "tr": 1, "es": 2, "pt": 3, "bn": 4, "gu": 5, "hi": 6, "kn": 7,
    "ml": 8, "or": 9, "pa": 10, "ta": 11, "te": 12, "ur": 13,
}  # fmt: skip
LANGUAGE_NAMES: dict[int, str] = {
    1: "turkish", 2: "spanish", 3: "portuguese", 4: "bengali", 5: "gujarati", 6: "hindi",
    7: "kannada", 8: "malayalam", 9: "oriya", 10: "punjabi", 11: "tamil", 12: "telugu", 13: "urdu",
}  # fmt: skip
_CODE_BY_ID = {number: code for code, number in LANGUAGES.items()}


class Encoding(StrEnum):
    """The alphabet of a message's user data (TS 23.038 §4)."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"
    EIGHT_BIT = "8bit"


def _parse_table(text: str) -> tuple[str, ...]:
    """Turn a table as printed in national.py into 128 cells indexed by septet ("" = none)."""
    rows = [line.split() for line in text.strip("\n").splitlines()]
    cells = [""] * 128
    for low, row in enumerate(rows):
        for high, cell in enumerate(row):
            if cell in _CELL_NAMES:
                cells[high * 16 + low] = _CELL_NAMES[cell]
            else:
                cells[high * 16 + low] = chr(int(cell, 16)) if len(cell) == 4 else cell
    return tuple(cells)


@dataclass(frozen=True, slots=True)
class Charset:
    """One pairing of a locking shift table and a single shift table (TS 23.038 §6.2.1.2)."""

    locking: int = 0
    single: int = 0
    main: tuple[str, ...] = field(init=False, repr=False, compare=False)
    extension: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _codes: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.locking not in LOCKING_SHIFT or self.single not in SINGLE_SHIFT:
            raise ValueError(f"no national language table {self.locking}/{self.single}")
        main = _parse_table(LOCKING_SHIFT[self.locking])
        extension = _parse_table(SINGLE_SHIFT[self.single])
        codes: dict[str, tuple[int, ...]] = {}
        # The main table wins over the shift table, and the first position over a repeat.
        for septet, char in reversed(list(enumerate(extension))):
            if char:
                codes[char] = (ESC, septet)
        for septet, char in reversed(list(enumerate(main))):
            if char:
                codes[char] = (septet,)
        object.__setattr__(self, "main", main)
        object.__setattr__(self, "extension", extension)
        object.__setattr__(self, "_codes", codes)

    def codes(self, char: str) -> tuple[int, ...] | None:
        """Return the septets of one character, or None when this charset lacks it."""
        return self._codes.get(char)

    def encode(self, text: str) -> list[tuple[int, ...]] | None:
        """Return the septets of each character of text, or None if one is missing."""
        result = []
        for char in text:
            code = self._codes.get(char)
            if code is None:
                return None
            result.append(code)
        return result

    def decode(self, septets: Iterable[int]) -> str:
        """Decode septets to text.

        An escape followed by a code that the single shift table lacks shows the main table's
        character, as TS 23.038 §6.2.1.1 asks ("display ... the character shown in the main
        GSM 7 bit default alphabet table"); oFono shows a space before it, Android does not.
        ESC ESC (reserved for a further extension table) shows a space, as the same note says.
        """
        out: list[str] = []
        escaped = False
        for septet in septets:
            if escaped:
                escaped = False
                if septet == ESC:
                    out.append(" ")
                else:
                    out.append(self.extension[septet] or self.main[septet] or " ")
            elif septet == ESC:
                escaped = True
            else:
                out.append(self.main[septet] or " ")
        if escaped:
            # A trailing lone escape: shown as a space, as a phone without the table would.
            out.append(" ")
        return "".join(out)

    @property
    def language(self) -> str | None:
        """The ISO 639-1 code of the national language this charset uses, if any."""
        number = self.locking or self.single
        return _CODE_BY_ID.get(number)


@functools.cache
def charset(locking: int = 0, single: int = 0) -> Charset:
    """Return the (cached) charset for a locking and a single shift table."""
    return Charset(locking, single)


DEFAULT = charset()


def language_id(language: str) -> int:
    """Return the national language identifier of "tr", "turkish"...; EncodingError if unknown."""
    key = language.strip().lower()
    if key in LANGUAGES:
        return LANGUAGES[key]
    for number, name in LANGUAGE_NAMES.items():
        if name == key:
            return number
    raise EncodingError(f"unknown national language {language!r}", code="invalid_request")


def pack_septets(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first into octets after fill_bits zero bits (TS 23.038 §6.1.2.1.1)."""
    value = 0
    for index, septet in enumerate(septets):
        value |= (septet & 0x7F) << (fill_bits + 7 * index)
    length = (fill_bits + 7 * len(septets) + 7) // 8
    return value.to_bytes(length, "little")


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """Unpack count septets from data, skipping fill_bits leading bits."""
    value = int.from_bytes(data, "little") >> fill_bits
    return [(value >> (7 * index)) & 0x7F for index in range(count)]


def encode_ucs2(text: str) -> bytes:
    """Encode text as UTF-16BE: characters beyond the BMP become surrogate pairs."""
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise EncodingError("text holds a lone surrogate", code="invalid_request") from exc


def decode_ucs2(data: bytes) -> str:
    """Decode UTF-16BE; a surrogate pair becomes one character, a lone half is kept as is.

    A lone half appears when another sender split a pair between two parts; keeping it lets
    reassembly join the halves again (see ``join_surrogates``).
    """
    return data.decode("utf-16-be", "surrogatepass")


def join_surrogates(text: str) -> str:
    """Combine adjacent surrogate halves of text into characters; lone halves become U+FFFD."""
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")


def utf16_units(char: str) -> int:
    """Return how many UTF-16 code units a character takes (2 beyond the BMP)."""
    return 2 if ord(char) > 0xFFFF else 1
