"""Body fields as data: a PDU class lists its mandatory fields; one reader and writer serve all.

SMPP 3.4 §3.1 knows four kinds of mandatory field that matter here: Integers (one octet for
every field this codec declares), C-octet strings (NUL-terminated, with a maximum size that
includes the NUL), the short_message octet string preceded by sm_length, and the optional
parameters (TLVs) that fill the rest of the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Any, NoReturn

from gsmgw.errors import SmppError
from gsmgw.smpp._constants import Status
from gsmgw.smpp._tlv import Tlvs, decode_tlvs, encode_tlvs

#: short_message is at most 254 octets (SMPP 3.4 §5.2.21, sm_length §5.2.22).
MAX_SHORT_MESSAGE = 254
# C-octet strings are ASCII in SMPP 3.4 §3.1; Latin-1 maps every octet, so any byte string
# a peer sends decodes (and encodes back to the same octets) without a failure mode.
_CHARSET = "latin-1"


class Kind(Enum):
    """How one mandatory field is laid out."""

    INTEGER = auto()
    CSTRING = auto()
    SHORT_MESSAGE = auto()
    TLVS = auto()


@dataclass(frozen=True, slots=True)
class Field:
    """One mandatory field: its SMPP name, kind, maximum size and the status when it is bad."""

    name: str
    kind: Kind
    size: int = 0
    status: Status = Status.ESME_RINVCMDLEN


def integer(name: str) -> Field:
    """Return a one-octet Integer field."""
    return Field(name, Kind.INTEGER)


def cstring(name: str, size: int, status: Status = Status.ESME_RINVCMDLEN) -> Field:
    """Return a C-octet string field of at most size octets, NUL included."""
    return Field(name, Kind.CSTRING, size, status)


SHORT_MESSAGE = Field("short_message", Kind.SHORT_MESSAGE, MAX_SHORT_MESSAGE)
TLVS = Field("tlvs", Kind.TLVS)


def field_problem(spec: Field, value: object) -> str | None:
    """Return why value cannot go in the field, or None when it can."""
    if spec.kind is Kind.INTEGER:
        ok = isinstance(value, int) and 0 <= value <= 0xFF
        return None if ok else f"{spec.name} must be an integer 0-255, not {value!r}"
    if spec.kind is Kind.CSTRING:
        if not isinstance(value, str):
            return f"{spec.name} must be a str, not {value!r}"
        try:
            octets = value.encode(_CHARSET)
        except UnicodeEncodeError:
            return f"{spec.name} {value!r} is not Latin-1"
        if b"\x00" in octets or len(octets) >= spec.size:
            return f"{spec.name} {value!r} must be under {spec.size} octets, without NUL"
        return None
    if spec.kind is Kind.SHORT_MESSAGE:
        ok = isinstance(value, bytes) and len(value) <= spec.size
        return None if ok else f"short_message must be bytes of at most {spec.size} octets"
    return None if isinstance(value, Tlvs) else f"tlvs must be Tlvs, not {value!r}"


def encode_fields(specs: tuple[Field, ...], values: dict[str, Any]) -> bytes:
    """Return the body octets of the fields."""
    out = bytearray()
    for spec in specs:
        value = values[spec.name]
        if spec.kind is Kind.INTEGER:
            out.append(value)
        elif spec.kind is Kind.CSTRING:
            out += value.encode(_CHARSET) + b"\x00"
        elif spec.kind is Kind.SHORT_MESSAGE:
            out.append(len(value))
            out += value
        else:
            out += encode_tlvs(value)
    return bytes(out)


class _Reader:
    """Reads fields off one PDU body; every failure is an SmppError naming the sequence."""

    __slots__ = ("_data", "_pos", "_sequence")

    def __init__(self, data: bytes, sequence: int) -> None:
        self._data = data
        self._pos = 0
        self._sequence = sequence

    def fail(self, status: Status, message: str) -> NoReturn:
        raise SmppError(message, status=status, sequence=self._sequence)

    def read(self, spec: Field) -> object:
        if spec.kind is Kind.INTEGER:
            return self._integer(spec)
        if spec.kind is Kind.CSTRING:
            return self._cstring(spec)
        if spec.kind is Kind.SHORT_MESSAGE:
            return self._short_message()
        rest, self._pos = self._data[self._pos :], len(self._data)
        return decode_tlvs(rest, self._sequence)

    def _integer(self, spec: Field) -> int:
        if self._pos >= len(self._data):
            self.fail(Status.ESME_RINVCMDLEN, f"body ends before {spec.name}")
        self._pos += 1
        return self._data[self._pos - 1]

    def _cstring(self, spec: Field) -> str:
        end = self._data.find(b"\x00", self._pos, self._pos + spec.size)
        if end < 0:
            if len(self._data) - self._pos < spec.size:
                self.fail(Status.ESME_RINVCMDLEN, f"body ends inside {spec.name} (no NUL)")
            self.fail(spec.status, f"{spec.name} longer than {spec.size - 1} octets")
        text = self._data[self._pos : end].decode(_CHARSET)
        self._pos = end + 1
        return text

    def _short_message(self) -> bytes:
        if self._pos >= len(self._data):
            self.fail(Status.ESME_RINVCMDLEN, "body ends before sm_length")
        length = self._data[self._pos]
        self._pos += 1
        if length > MAX_SHORT_MESSAGE or length > len(self._data) - self._pos:
            self.fail(Status.ESME_RINVMSGLEN, f"sm_length {length} runs past the body")
        self._pos += length
        return self._data[self._pos - length : self._pos]

    def finish(self) -> None:
        if self._pos != len(self._data):
            extra = len(self._data) - self._pos
            self.fail(Status.ESME_RINVCMDLEN, f"{extra} octet(s) after the last field")


def decode_fields(specs: tuple[Field, ...], body: bytes, sequence: int) -> dict[str, Any]:
    """Decode a body into field values by name; SmppError when it does not parse."""
    reader = _Reader(body, sequence)
    values = {spec.name: reader.read(spec) for spec in specs}
    reader.finish()
    return values
