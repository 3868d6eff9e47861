"""Typed SMPP 3.4 PDUs: one frozen value per operation and response (SMPP 3.4 §4).

Each class lists its mandatory fields in ``BODY`` (see _fields.py), in wire order, with the
SMPP names and maximum sizes; the codec reads and writes bodies from that list alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from gsmgw.smpp._base import (
    ADDRESS_RANGE,
    DEST_ADDR_NPI,
    DEST_ADDR_TON,
    DESTINATION_ADDR,
    MAX_U32,
    MESSAGE_ID,
    PASSWORD,
    SERVICE_TYPE,
    SOURCE_ADDR,
    SOURCE_ADDR_NPI,
    SOURCE_ADDR_TON,
    SYSTEM_ID,
    SYSTEM_TYPE,
    PduBase,
)
from gsmgw.smpp._constants import INTERFACE_VERSION, RESPONSE_BIT, CommandId
from gsmgw.smpp._fields import TLVS, cstring, integer
from gsmgw.smpp._messages import (
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    SubmitSm,
    SubmitSmResp,
)
from gsmgw.smpp._tlv import NO_TLVS, Tlvs


class BindKind(IntEnum):
    """The three binds (§4.1); the value is the bind request's command_id."""

    RECEIVER = CommandId.BIND_RECEIVER
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    TRANSCEIVER = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind(PduBase):
    """bind_receiver, bind_transmitter or bind_transceiver (§4.1.1, §4.1.3, §4.1.5)."""

    kind: BindKind
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    BODY = (
        SYSTEM_ID,
        PASSWORD,
        SYSTEM_TYPE,
        integer("interface_version"),
        integer("addr_ton"),
        integer("addr_npi"),
        ADDRESS_RANGE,
    )

    @property
    def command_id(self) -> int:
        """The command_id of this bind."""
        return int(self.kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp(PduBase):
    """bind_*_resp (§4.1.2, §4.1.4, §4.1.6), with the optional sc_interface_version TLV."""

    kind: BindKind
    system_id: str = ""
    tlvs: Tlvs = NO_TLVS
    BODY = (SYSTEM_ID, TLVS)

    @property
    def command_id(self) -> int:
        """The command_id of this bind response."""
        return int(self.kind) | RESPONSE_BIT


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(PduBase):
    """outbind (§4.1.7): an SMSC asks an ESME to bind."""

    command_id: ClassVar[int] = CommandId.OUTBIND
    system_id: str = ""
    password: str = ""
    BODY = (SYSTEM_ID, PASSWORD)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(PduBase):
    """unbind (§4.2.1)."""

    command_id: ClassVar[int] = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(PduBase):
    """unbind_resp (§4.2.2)."""

    command_id: ClassVar[int] = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(PduBase):
    """generic_nack (§4.3.1): the answer to a PDU whose header or command_id is bad."""

    command_id: ClassVar[int] = CommandId.GENERIC_NACK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(PduBase):
    """enquire_link (§4.11.1)."""

    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(PduBase):
    """enquire_link_resp (§4.11.2)."""

    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(PduBase):
    """query_sm (§4.8.1)."""

    command_id: ClassVar[int] = CommandId.QUERY_SM
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    BODY = (MESSAGE_ID, SOURCE_ADDR_TON, SOURCE_ADDR_NPI, SOURCE_ADDR)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(PduBase):
    """query_sm_resp (§4.8.2); message_state is a MessageState value."""

    command_id: ClassVar[int] = CommandId.QUERY_SM_RESP
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0
    BODY = (
        MESSAGE_ID,
        cstring("final_date", 17),
        integer("message_state"),
        integer("error_code"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm(PduBase):
    """cancel_sm (§4.9.1)."""

    command_id: ClassVar[int] = CommandId.CANCEL_SM
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    BODY = (
        SERVICE_TYPE,
        MESSAGE_ID,
        SOURCE_ADDR_TON,
        SOURCE_ADDR_NPI,
        SOURCE_ADDR,
        DEST_ADDR_TON,
        DEST_ADDR_NPI,
        DESTINATION_ADDR,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp(PduBase):
    """cancel_sm_resp (§4.9.2)."""

    command_id: ClassVar[int] = CommandId.CANCEL_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownPdu(PduBase):
    """A PDU whose command_id this codec does not decode; answer it with generic_nack."""

    command_id: int
    body: bytes = b""

    def __post_init__(self) -> None:
        PduBase.__post_init__(self)
        if not 0 <= self.command_id <= MAX_U32 or self.command_id in KNOWN_COMMAND_IDS:
            raise ValueError(f"command_id {self.command_id:#x} is known or out of range")


#: Any PDU this codec decodes or encodes.
Pdu = (
    Bind
    | BindResp
    | Outbind
    | Unbind
    | UnbindResp
    | GenericNack
    | EnquireLink
    | EnquireLinkResp
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | DataSm
    | DataSmResp
    | QuerySm
    | QuerySmResp
    | CancelSm
    | CancelSmResp
    | UnknownPdu
)

_FIXED: tuple[type[PduBase], ...] = (
    Outbind,
    Unbind,
    UnbindResp,
    GenericNack,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    DataSm,
    DataSmResp,
    QuerySm,
    QuerySmResp,
    CancelSm,
    CancelSmResp,
)
#: command_id -> (class, the bind kind for the bind family, else None).
BY_COMMAND_ID: dict[int, tuple[type[PduBase], BindKind | None]] = {
    # mypy cannot see a ClassVar declared only by subclasses through type[PduBase].
    int(getattr(cls, "command_id")): (cls, None)  # noqa: B009
    for cls in _FIXED
}
for _kind in BindKind:
    BY_COMMAND_ID[int(_kind)] = (Bind, _kind)
    BY_COMMAND_ID[int(_kind) | RESPONSE_BIT] = (BindResp, _kind)
KNOWN_COMMAND_IDS = frozenset(BY_COMMAND_ID)
