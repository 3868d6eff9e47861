"""The message PDUs: submit_sm, deliver_sm, data_sm and their responses (SMPP 3.4 §4.4-4.7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gsmgw.smpp._base import (
    DEST_ADDR_NPI,
    DEST_ADDR_TON,
    DESTINATION_ADDR,
    MESSAGE_ID,
    SERVICE_TYPE,
    SOURCE_ADDR,
    SOURCE_ADDR_NPI,
    SOURCE_ADDR_TON,
    PduBase,
)
from gsmgw.smpp._constants import ESM_CLASS_UDHI, CommandId, Status
from gsmgw.smpp._fields import SHORT_MESSAGE, TLVS, cstring, integer
from gsmgw.smpp._tlv import NO_TLVS, Tlvs


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessagePdu(PduBase):
    """The body submit_sm (§4.4.1) and deliver_sm (§4.6.1) share."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: Tlvs = NO_TLVS
    BODY = (
        SERVICE_TYPE,
        SOURCE_ADDR_TON,
        SOURCE_ADDR_NPI,
        SOURCE_ADDR,
        DEST_ADDR_TON,
        DEST_ADDR_NPI,
        DESTINATION_ADDR,
        integer("esm_class"),
        integer("protocol_id"),
        integer("priority_flag"),
        cstring("schedule_delivery_time", 17, Status.ESME_RINVSCHED),
        cstring("validity_period", 17, Status.ESME_RINVEXPIRY),
        integer("registered_delivery"),
        integer("replace_if_present_flag"),
        integer("data_coding"),
        integer("sm_default_msg_id"),
        SHORT_MESSAGE,
        TLVS,
    )

    @property
    def payload(self) -> bytes:
        """The message octets: the message_payload TLV when present, else short_message."""
        payload = self.tlvs.message_payload
        return self.short_message if payload is None else payload

    @property
    def udhi(self) -> bool:
        """True when esm_class says the message starts with a user data header (§5.2.12)."""
        return bool(self.esm_class & ESM_CLASS_UDHI)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessagePdu):
    """submit_sm (§4.4.1): an ESME sends a message."""

    command_id: ClassVar[int] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessagePdu):
    """deliver_sm (§4.6.1): the SMSC delivers a message or a delivery receipt."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class _MessageIdResp(PduBase):
    """A response carrying a message_id and, as SMPP 5.0 §4.2.5 allows, TLVs."""

    message_id: str = ""
    tlvs: Tlvs = NO_TLVS
    BODY = (MESSAGE_ID, TLVS)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(_MessageIdResp):
    """submit_sm_resp (§4.4.2); with an error status the body may be empty."""

    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(_MessageIdResp):
    """deliver_sm_resp (§4.6.2); message_id is unused and empty."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(_MessageIdResp):
    """data_sm_resp (§4.7.2)."""

    command_id: ClassVar[int] = CommandId.DATA_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(PduBase):
    """data_sm (§4.7.1): the text travels in the message_payload TLV."""

    command_id: ClassVar[int] = CommandId.DATA_SM
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: Tlvs = NO_TLVS
    # data_sm addresses may be 65 octets (§4.7.1), not 21 as in submit_sm.
    BODY = (
        SERVICE_TYPE,
        SOURCE_ADDR_TON,
        SOURCE_ADDR_NPI,
        cstring("source_addr", 65, Status.ESME_RINVSRCADR),
        DEST_ADDR_TON,
        DEST_ADDR_NPI,
        cstring("destination_addr", 65, Status.ESME_RINVDSTADR),
        integer("esm_class"),
        integer("registered_delivery"),
        integer("data_coding"),
        TLVS,
    )

    @property
    def payload(self) -> bytes:
        """The message octets of the message_payload TLV (empty without one)."""
        return self.tlvs.message_payload or b""

    @property
    def udhi(self) -> bool:
        """True when esm_class says the payload starts with a user data header."""
        return bool(self.esm_class & ESM_CLASS_UDHI)
