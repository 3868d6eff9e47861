"""Optional parameters (TLVs, SMPP 3.4 §3.2.4 and §5.3): kept in order, unknown tags kept raw."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
import struct

from gsmgw.errors import SmppError
from gsmgw.smpp._constants import Status, Tag

_HEADER = struct.Struct(">HH")
#: Value sizes of the fixed-size TLVs read by name (§5.3.2.22-24, .25, .28: all Integers).
_FIXED_SIZE: dict[int, int] = {
    Tag.SAR_MSG_REF_NUM: 2,
    Tag.SAR_TOTAL_SEGMENTS: 1,
    Tag.SAR_SEGMENT_SEQNUM: 1,
    Tag.SC_INTERFACE_VERSION: 1,
    Tag.MESSAGE_STATE: 1,
}
#: receipted_message_id is a C-octet string of at most 65 octets, NUL included (§5.3.2.12).
_RECEIPTED_ID_MAX = 65
_MAX_VALUE = 0xFFFF


def tlv_problem(tag: int, value: bytes) -> str | None:
    """Return why value cannot be the value of tag, or None when it can."""
    if not 0 <= tag <= 0xFFFF:
        return f"TLV tag {tag:#x} is not 16 bits"
    if len(value) > _MAX_VALUE:
        return f"TLV {tag:#06x} value of {len(value)} octets exceeds 65535"
    size = _FIXED_SIZE.get(tag)
    if size is not None and len(value) != size:
        return f"TLV {tag:#06x} must be {size} octet(s), not {len(value)}"
    if tag == Tag.RECEIPTED_MESSAGE_ID and len(value) > _RECEIPTED_ID_MAX:
        return f"receipted_message_id of {len(value)} octets exceeds {_RECEIPTED_ID_MAX}"
    return None


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter: a 16-bit tag and its raw value."""

    tag: int
    value: bytes

    def __post_init__(self) -> None:
        problem = tlv_problem(self.tag, self.value)
        if problem is not None:
            raise ValueError(problem)


@dataclass(frozen=True, slots=True)
class Tlvs:
    """The optional parameters of one PDU in wire order, with typed accessors for known tags."""

    items: tuple[Tlv, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        message_payload: bytes | None = None,
        receipted_message_id: str | None = None,
        message_state: int | None = None,
        sar: tuple[int, int, int] | None = None,
        sc_interface_version: int | None = None,
        other: Iterable[Tlv] = (),
    ) -> Tlvs:
        """Build TLVs from named values; sar is (sar_msg_ref_num, total, seqnum)."""
        items: list[Tlv] = []
        if receipted_message_id is not None:
            value = receipted_message_id.encode("latin-1") + b"\x00"
            items.append(Tlv(Tag.RECEIPTED_MESSAGE_ID, value))
        if sar is not None:
            ref, total, seqnum = sar
            items.append(Tlv(Tag.SAR_MSG_REF_NUM, ref.to_bytes(2, "big")))
            items.append(Tlv(Tag.SAR_TOTAL_SEGMENTS, bytes([total])))
            items.append(Tlv(Tag.SAR_SEGMENT_SEQNUM, bytes([seqnum])))
        if sc_interface_version is not None:
            items.append(Tlv(Tag.SC_INTERFACE_VERSION, bytes([sc_interface_version])))
        if message_payload is not None:
            items.append(Tlv(Tag.MESSAGE_PAYLOAD, message_payload))
        if message_state is not None:
            items.append(Tlv(Tag.MESSAGE_STATE, bytes([message_state])))
        return cls((*items, *other))

    def __iter__(self) -> Iterator[Tlv]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, tag: int) -> bytes | None:
        """Return the value of the first TLV with tag, or None."""
        for item in self.items:
            if item.tag == tag:
                return item.value
        return None

    def _integer(self, tag: Tag) -> int | None:
        value = self.get(tag)
        return None if value is None else int.from_bytes(value, "big")

    @property
    def message_payload(self) -> bytes | None:
        """The message_payload TLV (0x0424), used instead of short_message for long texts."""
        return self.get(Tag.MESSAGE_PAYLOAD)

    @property
    def receipted_message_id(self) -> str | None:
        """The receipted_message_id TLV (0x001E) without its NUL."""
        value = self.get(Tag.RECEIPTED_MESSAGE_ID)
        # Some SMSCs leave the NUL out; everything from the first NUL on is dropped.
        return None if value is None else value.split(b"\x00", 1)[0].decode("latin-1")

    @property
    def message_state(self) -> int | None:
        """The message_state TLV (0x0427) of a delivery receipt."""
        return self._integer(Tag.MESSAGE_STATE)

    @property
    def sar_msg_ref_num(self) -> int | None:
        """The sar_msg_ref_num TLV (0x020C): the reference shared by all segments."""
        return self._integer(Tag.SAR_MSG_REF_NUM)

    @property
    def sar_total_segments(self) -> int | None:
        """The sar_total_segments TLV (0x020E)."""
        return self._integer(Tag.SAR_TOTAL_SEGMENTS)

    @property
    def sar_segment_seqnum(self) -> int | None:
        """The sar_segment_seqnum TLV (0x020F), counting from 1."""
        return self._integer(Tag.SAR_SEGMENT_SEQNUM)

    @property
    def sar(self) -> tuple[int, int, int] | None:
        """(ref, total, seqnum) when all three sar_* TLVs are present, else None."""
        ref, total = self.sar_msg_ref_num, self.sar_total_segments
        seqnum = self.sar_segment_seqnum
        if ref is None or total is None or seqnum is None:
            return None
        return ref, total, seqnum

    @property
    def sc_interface_version(self) -> int | None:
        """The sc_interface_version TLV (0x0210) of a bind response."""
        return self._integer(Tag.SC_INTERFACE_VERSION)


#: The empty TLVs, the default of every PDU that can carry some.
NO_TLVS = Tlvs()


def encode_tlvs(tlvs: Tlvs) -> bytes:
    """Return the TLVs as they go on the wire."""
    return b"".join(_HEADER.pack(t.tag, len(t.value)) + t.value for t in tlvs)


def decode_tlvs(data: bytes, sequence: int) -> Tlvs:
    """Decode the TLVs filling the rest of a PDU body; SmppError if one does not fit."""
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HEADER.size:
            raise SmppError(
                "TLV header cut short",
                status=Status.ESME_RINVOPTPARSTREAM,
                sequence=sequence,
            )
        tag, length = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        if length > len(data) - pos:
            raise SmppError(
                f"TLV {tag:#06x} length {length} runs past the end of the PDU",
                status=Status.ESME_RINVOPTPARSTREAM,
                sequence=sequence,
            )
        value = data[pos : pos + length]
        pos += length
        problem = tlv_problem(tag, value)
        if problem is not None:
            raise SmppError(problem, status=Status.ESME_RINVPARLEN, sequence=sequence)
        items.append(Tlv(tag, value))
    return Tlvs(tuple(items))
