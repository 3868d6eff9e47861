"""One PDU of every type with non-default fields, for round trips and stream tests."""

from __future__ import annotations

from gsmgw.smpp import (
    Bind,
    BindKind,
    BindResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MessageState,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
    Unbind,
    UnbindResp,
    UnknownPdu,
)

SUBMIT = SubmitSm(
    sequence=7,
    service_type="CMT",
    source_addr_ton=5,
    source_addr_npi=0,
    source_addr="Shop",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="491701234567",
    esm_class=0x40,
    protocol_id=0,
    priority_flag=2,
    schedule_delivery_time="240102030405600+",
    validity_period="000001000000000R",
    registered_delivery=1,
    replace_if_present_flag=0,
    data_coding=8,
    sm_default_msg_id=0,
    short_message=bytes([5, 0, 3, 0x2A, 2, 1]) + "héllo".encode("utf-16-be"),
    tlvs=Tlvs.of(sar=(0x1234, 2, 1), other=[Tlv(0x1401, b"vendor")]),
)

ALL_PDUS: tuple[Pdu, ...] = (
    *(
        Bind(
            kind=kind,
            sequence=1,
            system_id="kannel",
            password="secret12",
            system_type="VMA",
            addr_ton=1,
            addr_npi=1,
            address_range="^49",
        )
        for kind in BindKind
    ),
    *(
        BindResp(kind=kind, sequence=1, system_id="gsmgw", tlvs=Tlvs.of(sc_interface_version=0x34))
        for kind in BindKind
    ),
    BindResp(kind=BindKind.TRANSMITTER, sequence=2, status=Status.ESME_RINVPASWD),
    Outbind(sequence=3, system_id="gsmgw", password="pw"),
    Unbind(sequence=4),
    UnbindResp(sequence=4),
    GenericNack(sequence=5, status=Status.ESME_RINVCMDID),
    EnquireLink(sequence=0x7FFF_FFFF),
    EnquireLinkResp(sequence=0x7FFF_FFFF),
    SUBMIT,
    SubmitSmResp(sequence=7, message_id="0f1e2d3c-abcd"),
    SubmitSmResp(sequence=8, status=Status.ESME_RTHROTTLED),
    DeliverSm(
        sequence=9,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="491701234567",
        destination_addr="modem1",
        esm_class=0x04,
        short_message=b"id:abc sub:001 dlvrd:001",
        tlvs=Tlvs.of(receipted_message_id="abc", message_state=MessageState.DELIVERED),
    ),
    DeliverSmResp(sequence=9),
    DataSm(
        sequence=10,
        source_addr="a" * 64,
        destination_addr="b" * 64,
        registered_delivery=1,
        data_coding=0,
        tlvs=Tlvs.of(message_payload=b"x" * 1000),
    ),
    DataSmResp(sequence=10, message_id="m10"),
    QuerySm(sequence=11, message_id="m10", source_addr_ton=1, source_addr="4917"),
    QuerySmResp(
        sequence=11,
        message_id="m10",
        final_date="240102030405000+",
        message_state=MessageState.DELIVERED,
        error_code=0,
    ),
    CancelSm(sequence=12, message_id="m10", source_addr="4917", destination_addr="4918"),
    CancelSmResp(sequence=12, status=Status.ESME_RCANCELFAIL),
    UnknownPdu(command_id=0x21, sequence=13, body=b"\x00\x01\x02"),
)
