"""The user data header of 3GPP TS 23.040 §9.2.3.24: information elements we read and write."""

from __future__ import annotations

from dataclasses import dataclass

from gsmgw.errors import PduError
from gsmgw.sms.national import LOCKING_SHIFT

IEI_CONCAT_8 = 0x00
IEI_PORTS_8 = 0x04
IEI_PORTS_16 = 0x05
IEI_CONCAT_16 = 0x08
IEI_SINGLE_SHIFT = 0x24
IEI_LOCKING_SHIFT = 0x25


@dataclass(frozen=True, slots=True)
class Concat:
    """Concatenation: part `part` of `total`, reference `ref` (§9.2.3.24.1 and .8)."""

    ref: int
    part: int
    total: int
    ref_bits: int = 8

    def __post_init__(self) -> None:
        if self.ref_bits not in (8, 16) or not 0 <= self.ref < 1 << self.ref_bits:
            raise ValueError(f"bad concatenation reference {self.ref} ({self.ref_bits} bits)")
        if not 1 <= self.part <= self.total <= 255:
            raise ValueError(f"bad concatenation part {self.part} of {self.total}")


@dataclass(frozen=True, slots=True)
class Ports:
    """Application port addressing (§9.2.3.24.3 and .4)."""

    destination: int
    source: int
    bits: int = 16


@dataclass(frozen=True, slots=True)
class UserDataHeader:
    """The elements of a UDH that gsmgw understands, plus the raw ones it does not."""

    concat: Concat | None = None
    ports: Ports | None = None
    single_shift: int = 0
    locking_shift: int = 0
    other: tuple[tuple[int, bytes], ...] = ()

    def encode(self) -> bytes:
        """Return the header with its UDHL octet, or b"" when it has no element."""
        body = bytearray()
        if self.concat is not None:
            c = self.concat
            if c.ref_bits == 16:
                body += bytes([IEI_CONCAT_16, 4, c.ref >> 8, c.ref & 0xFF, c.total, c.part])
            else:
                body += bytes([IEI_CONCAT_8, 3, c.ref, c.total, c.part])
        if self.ports is not None:
            p = self.ports
            body += bytes([IEI_PORTS_16, 4]) + p.destination.to_bytes(2, "big")
            body += p.source.to_bytes(2, "big")
        if self.single_shift:
            body += bytes([IEI_SINGLE_SHIFT, 1, self.single_shift])
        if self.locking_shift:
            body += bytes([IEI_LOCKING_SHIFT, 1, self.locking_shift])
        for iei, data in self.other:
            body += bytes([iei, len(data)]) + data
        return bytes([len(body)]) + bytes(body) if body else b""


def header_length(*, concat: bool, ref16: bool, single: int, locking: int) -> int:
    """Return the octets (UDHL included) of a header with these elements; 0 for none."""
    body = (6 if ref16 else 5) * concat + 3 * bool(single) + 3 * bool(locking)
    return body + 1 if body else 0


def parse_udh(data: bytes) -> UserDataHeader:
    """Parse the elements of a UDH (data starts after the UDHL octet).

    An element the specification defines with another length is kept in ``other`` rather
    than trusted, as phones do; an element running past the header is a PduError.
    """
    concat: Concat | None = None
    ports: Ports | None = None
    single = locking = 0
    other: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data) or pos + 2 + data[pos + 1] > len(data):
            raise PduError(f"UDH element at offset {pos} runs past the header")
        iei, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        pos += 2 + length
        if iei == IEI_CONCAT_8 and length == 3 and 1 <= value[2] <= value[1]:
            concat = Concat(value[0], value[2], value[1], 8)
        elif iei == IEI_CONCAT_16 and length == 4 and 1 <= value[3] <= value[2]:
            concat = Concat(value[0] << 8 | value[1], value[3], value[2], 16)
        elif iei == IEI_PORTS_8 and length == 2:
            ports = Ports(value[0], value[1], 8)
        elif iei == IEI_PORTS_16 and length == 4:
            ports = Ports(value[0] << 8 | value[1], value[2] << 8 | value[3], 16)
        elif iei == IEI_SINGLE_SHIFT and length == 1 and 1 <= value[0] <= 13:
            single = value[0]
        elif iei == IEI_LOCKING_SHIFT and length == 1 and value[0] in LOCKING_SHIFT and value[0]:
            locking = value[0]
        else:
            other.append((iei, bytes(value)))
    return UserDataHeader(concat, ports, single, locking, tuple(other))
