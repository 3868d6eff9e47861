"""encode/decode of single PDUs: round trips, published bytes, and every way a body breaks."""

from __future__ import annotations

from collections.abc import Callable
import struct

import pytest

from gsmgw.errors import LocalProtocolError, SmppError
from gsmgw.smpp import (
    MAX_COMMAND_LENGTH,
    SAFETY_NET_PREFIX,
    Bind,
    BindKind,
    BindResp,
    CommandId,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    MessageState,
    Pdu,
    QuerySmResp,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Tlvs,
    UnknownPdu,
    decode,
    encode,
)
from tests.smpp.samples import ALL_PDUS, SUBMIT


def frame(command_id: int, body: bytes = b"", *, sequence: int = 42, status: int = 0) -> bytes:
    """A PDU with a correct command_length around any body."""
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def submit_body(**fields: bytes) -> bytes:
    """A submit_sm body from raw field octets (NUL included), defaults for the rest."""
    raw = {
        "service_type": b"\x00",
        "source": b"\x00\x00" + b"123\x00",
        "dest": b"\x01\x01" + b"4917\x00",
        "flags": b"\x00\x00\x00",
        "schedule_delivery_time": b"\x00",
        "validity_period": b"\x00",
        "flags2": b"\x00\x00\x00\x00",
        "sm": b"\x02hi",
        "tlvs": b"",
    }
    raw.update(fields)
    return b"".join(raw.values())


def raises(data: bytes) -> SmppError:
    with pytest.raises(SmppError) as info:
        decode(data)
    assert not str(info.value).startswith(SAFETY_NET_PREFIX)
    return info.value


@pytest.mark.parametrize("pdu", ALL_PDUS, ids=lambda p: type(p).__name__)
def test_every_pdu_type_round_trips(pdu: Pdu) -> None:
    data = encode(pdu)
    assert struct.unpack_from(">I", data)[0] == len(data)
    assert decode(data) == pdu
    assert encode(decode(data)) == data


def test_samples_cover_every_known_command_id() -> None:
    covered = {pdu.command_id for pdu in ALL_PDUS if not isinstance(pdu, UnknownPdu)}
    missing = {c for c in CommandId if c not in covered}
    # Decoded as UnknownPdu (the server nacks them): replace_sm, submit_multi, alert_notification.
    assert missing == {
        CommandId.REPLACE_SM,
        CommandId.REPLACE_SM_RESP,
        CommandId.SUBMIT_MULTI,
        CommandId.SUBMIT_MULTI_RESP,
        CommandId.ALERT_NOTIFICATION,
    }


def test_hand_derived_submit_sm_bytes() -> None:
    # Laid out by hand after SMPP 3.4 §4.4.1, field by field.
    expected = bytes.fromhex(
        "0000002f"  # command_length 47
        "00000004"  # submit_sm
        "00000000"  # command_status
        "00000001"  # sequence_number
        "00"  # service_type ""
        "0000" "31323300"  # source TON 0, NPI 0, "123"
        "0101" "3439313700"  # dest TON 1, NPI 1, "4917"
        "40"  # esm_class: UDHI
        "00" "03"  # protocol_id, priority_flag 3
        "00" "00"  # schedule_delivery_time, validity_period: NULL
        "01" "00" "08" "00"  # registered_delivery, replace_if_present, data_coding 8, sm_default
        "02" "0068"  # sm_length 2, "h" in UCS-2
        "0427" "0001" "02"  # message_state TLV: DELIVERED
    )  # fmt: skip
    pdu = SubmitSm(
        sequence=1,
        source_addr="123",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="4917",
        esm_class=0x40,
        priority_flag=3,
        registered_delivery=1,
        data_coding=8,
        short_message="h".encode("utf-16-be"),
        tlvs=Tlvs.of(message_state=MessageState.DELIVERED),
    )
    assert encode(pdu) == expected
    assert decode(expected) == pdu


# Published PDUs: the decoder tests of cloudhopper-smpp
# (twitter-archive/cloudhopper-smpp src/test/java/.../transcoder/PduDecoderTest.java).
CLOUDHOPPER_RECEIPT = (
    "000000BA00000005000000000000000200010134343935313336313932300001013430343034000400000000"
    "000000006E69643A30303539313133393738207375623A30303120646C7672643A303031207375626D6974"
    "20646174653A3130303231303137333020646F6E6520646174653A3130303231303137333120737461743A"
    "44454C49565244206572723A30303020746578743A4024232125262F3A000E0001010006000101001E0008"
    "33383630316661000427000102"
)


def test_cloudhopper_enquire_link() -> None:
    assert decode(bytes.fromhex("0000001000000015000000000a342ee7")) == EnquireLink(
        sequence=171192039
    )


def test_cloudhopper_bind_transceiver() -> None:
    data = bytes.fromhex("00000023000000090000000000039951414c4c5f545700414c4c5f5457000034010200")
    pdu = Bind(
        kind=BindKind.TRANSCEIVER,
        sequence=235857,
        system_id="ALL_TW",
        password="ALL_TW",
        addr_ton=1,
        addr_npi=2,
    )
    assert decode(data) == pdu
    assert encode(pdu) == data


def test_cloudhopper_bind_transceiver_resp_with_sc_interface_version() -> None:
    data = bytes.fromhex("0000001d800000090000000000039943536d7363204757000210000134")
    pdu = decode(data)
    assert isinstance(pdu, BindResp)
    assert (pdu.kind, pdu.sequence, pdu.system_id) == (BindKind.TRANSCEIVER, 235843, "Smsc GW")
    assert pdu.tlvs.sc_interface_version == 0x34
    assert encode(pdu) == data


def test_cloudhopper_submit_sm_resp() -> None:
    data = bytes.fromhex("0000001c80000004000000000a342ee1393432353834333135393400")
    assert decode(data) == SubmitSmResp(sequence=171192033, message_id="94258431594")


def test_cloudhopper_delivery_receipt() -> None:
    data = bytes.fromhex(CLOUDHOPPER_RECEIPT)
    pdu = decode(data)
    assert isinstance(pdu, DeliverSm)
    assert (pdu.sequence, pdu.source_addr, pdu.destination_addr) == (2, "44951361920", "40404")
    assert pdu.esm_class == 0x04
    assert pdu.short_message.startswith(b"id:0059113978 sub:001 dlvrd:001 submit date:")
    assert pdu.tlvs.receipted_message_id == "38601fa"
    assert pdu.tlvs.message_state == MessageState.DELIVERED
    # source_network_type and dest_network_type are kept raw, in order.
    assert [t.tag for t in pdu.tlvs] == [0x000E, 0x0006, Tag.RECEIPTED_MESSAGE_ID, 0x0427]
    assert encode(pdu) == data


def test_cloudhopper_responses_without_body() -> None:
    # deliver_sm_resp of 16 octets although the status is 0, and a failed bind with a body.
    assert decode(bytes.fromhex("00000010800000050000000000116ac7")) == DeliverSmResp(
        sequence=1141447
    )
    failed = decode(bytes.fromhex("00000015800000090000000e00004db3534d534300"))
    assert failed == BindResp(
        kind=BindKind.TRANSCEIVER, sequence=19891, status=Status.ESME_RINVPASWD, system_id="SMSC"
    )


def test_python_smpp_deliver_sm() -> None:
    # From python-smpp.pdu's examples, as quoted in pesaply/sarafu pdu.py; its sequence
    # number has the top bit set, which SMPP 3.4 forbids but peers send: it is kept.
    data = bytes.fromhex(
        "0000004d00000005000000009f88f124415753424400010131363530353535313233340001013137373335"
        "35353430373000000000000000000300117468657265206973206e6f2073706f6f6e"
    )
    pdu = decode(data)
    assert isinstance(pdu, DeliverSm)
    assert pdu.sequence == 0x9F88F124
    assert (pdu.service_type, pdu.source_addr, pdu.destination_addr) == (
        "AWSBD",
        "16505551234",
        "17735554070",
    )
    assert (pdu.data_coding, pdu.short_message) == (3, b"there is no spoon")
    assert encode(pdu) == data


@pytest.mark.parametrize(
    "command_id",
    [CommandId.SUBMIT_SM_RESP, CommandId.DATA_SM_RESP, CommandId.BIND_RECEIVER_RESP],
)
def test_response_with_error_status_and_no_body(command_id: int) -> None:
    pdu = decode(frame(command_id, status=Status.ESME_RSYSERR))
    assert pdu.status == Status.ESME_RSYSERR
    assert getattr(pdu, "message_id", getattr(pdu, "system_id", None)) == ""


def test_unknown_command_id_is_a_value() -> None:
    pdu = decode(frame(0x0000_0021, b"\x01\x02", sequence=9))
    assert pdu == UnknownPdu(command_id=0x21, sequence=9, body=b"\x01\x02")


def test_command_length_must_match_the_frame() -> None:
    data = frame(CommandId.ENQUIRE_LINK, sequence=3)
    error = raises(data + b"\x00")
    assert (error.status, error.sequence) == (Status.ESME_RINVCMDLEN, 3)
    assert raises(data[:10]).status == Status.ESME_RINVCMDLEN


@pytest.mark.parametrize("length", [0, 15, MAX_COMMAND_LENGTH + 1, 0xFFFF_FFFF])
def test_impossible_command_length(length: int) -> None:
    data = struct.pack(">IIII", length, CommandId.ENQUIRE_LINK, 0, 77)
    error = raises(data)
    assert (error.status, error.sequence) == (Status.ESME_RINVCMDLEN, 77)


def test_truncated_body() -> None:
    body = submit_body()
    for cut in range(len(body) - 3):  # short of sm_length's octets
        error = raises(frame(CommandId.SUBMIT_SM, body[:cut]))
        assert error.sequence == 42
        assert error.status in (Status.ESME_RINVCMDLEN, Status.ESME_RINVMSGLEN)


def test_body_where_none_belongs() -> None:
    error = raises(frame(CommandId.ENQUIRE_LINK, b"\x00"))
    assert (error.status, error.sequence) == (Status.ESME_RINVCMDLEN, 42)


def test_missing_nul_at_the_end() -> None:
    error = raises(frame(CommandId.SUBMIT_SM_RESP, b"abc"))
    assert (error.status, error.sequence) == (Status.ESME_RINVCMDLEN, 42)


def bind_body(system_id: bytes = b"id", password: bytes = b"pw", system_type: bytes = b"") -> bytes:
    return system_id + b"\x00" + password + b"\x00" + system_type + b"\x00" + b"\x34\x00\x00\x00"


@pytest.mark.parametrize(
    ("command_id", "body", "status"),
    [
        (CommandId.BIND_TRANSMITTER, bind_body(system_id=b"s" * 16), Status.ESME_RINVSYSID),
        (CommandId.BIND_RECEIVER, bind_body(password=b"p" * 9), Status.ESME_RINVPASWD),
        (CommandId.BIND_TRANSCEIVER, bind_body(system_type=b"t" * 13), Status.ESME_RINVSYSTYP),
        (CommandId.SUBMIT_SM, submit_body(service_type=b"CMTXYZ\x00"), Status.ESME_RINVSERTYP),
        (CommandId.SUBMIT_SM, submit_body(source=b"\x00\x00" + b"1" * 21 + b"\x00"), 0x0A),
        (CommandId.SUBMIT_SM, submit_body(dest=b"\x01\x01" + b"4" * 21 + b"\x00"), 0x0B),
        (
            CommandId.SUBMIT_SM,
            submit_body(schedule_delivery_time=b"2401020304056000+\x00"),
            Status.ESME_RINVSCHED,
        ),
        (
            CommandId.SUBMIT_SM,
            submit_body(validity_period=b"0000010000000000R\x00"),
            Status.ESME_RINVEXPIRY,
        ),
        (CommandId.QUERY_SM, b"m" * 65 + b"\x00\x00\x00\x00", Status.ESME_RINVMSGID),
    ],
)
def test_overlong_fields_name_their_status(command_id: int, body: bytes, status: int) -> None:
    error = raises(frame(command_id, body, sequence=5))
    assert (error.status, error.sequence) == (status, 5)


def test_longest_fields_fit() -> None:
    body = bind_body(system_id=b"s" * 15, password=b"p" * 8, system_type=b"t" * 12)
    pdu = decode(frame(CommandId.BIND_TRANSMITTER, body))
    assert isinstance(pdu, Bind)
    assert (len(pdu.system_id), len(pdu.password), len(pdu.system_type)) == (15, 8, 12)
    data_sm = DataSm(sequence=1, source_addr="s" * 64, destination_addr="d" * 64)
    assert decode(encode(data_sm)) == data_sm


@pytest.mark.parametrize("sm", [b"\x03hi", b"\xffhi"])
def test_sm_length_past_the_body(sm: bytes) -> None:
    error = raises(frame(CommandId.SUBMIT_SM, submit_body(sm=sm)))
    assert (error.status, error.sequence) == (Status.ESME_RINVMSGLEN, 42)


@pytest.mark.parametrize(
    ("tlvs", "status"),
    [
        (b"\x04\x24\x00\x05abc", Status.ESME_RINVOPTPARSTREAM),  # length runs past the end
        (b"\x04\x24\x00", Status.ESME_RINVOPTPARSTREAM),  # header cut short
        (b"\x04\x27\x00\x02\x00\x02", Status.ESME_RINVPARLEN),  # message_state of 2 octets
        (b"\x02\x0c\x00\x01\x07", Status.ESME_RINVPARLEN),  # sar_msg_ref_num of 1 octet
        (b"\x00\x1e\x00\x42" + b"1" * 66, Status.ESME_RINVPARLEN),  # receipted id of 66
    ],
)
def test_bad_tlvs(tlvs: bytes, status: int) -> None:
    error = raises(frame(CommandId.SUBMIT_SM, submit_body(tlvs=tlvs), sequence=6))
    assert (error.status, error.sequence) == (status, 6)


def test_tlv_accessors() -> None:
    assert SUBMIT.tlvs.sar == (0x1234, 2, 1)
    assert SUBMIT.tlvs.get(0x1401) == b"vendor"
    assert SUBMIT.tlvs.message_payload is None
    assert SUBMIT.udhi
    assert SUBMIT.payload == SUBMIT.short_message
    empty = Tlvs()
    assert (empty.sar, empty.message_state, empty.receipted_message_id) == (None, None, None)
    # A receipted_message_id without its NUL (some SMSCs) reads the same.
    assert Tlvs((Tlv(Tag.RECEIPTED_MESSAGE_ID, b"abc"),)).receipted_message_id == "abc"
    payload = DataSm(sequence=1, tlvs=Tlvs.of(message_payload=b"long"))
    assert (payload.payload, DataSm(sequence=1).payload) == (b"long", b"")


def test_decoded_strings_keep_every_octet() -> None:
    body = submit_body(source=b"\x05\x00" + b"Caf\xe9\x00")
    pdu = decode(frame(CommandId.SUBMIT_SM, body))
    assert isinstance(pdu, SubmitSm)
    assert pdu.source_addr == "Café"
    assert encode(pdu) == frame(CommandId.SUBMIT_SM, body)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SubmitSm(sequence=1, short_message=b"x" * 255),
        lambda: SubmitSm(sequence=1, source_addr="1" * 21),
        lambda: SubmitSm(sequence=1, source_addr="a\x00b"),
        lambda: SubmitSm(sequence=1, source_addr="日本"),
        lambda: SubmitSm(sequence=1, esm_class=256),
        lambda: SubmitSm(sequence=-1),
        lambda: SubmitSm(sequence=2**32),
        lambda: Bind(kind=BindKind.RECEIVER, sequence=1, password="123456789"),
        lambda: Tlv(Tag.MESSAGE_STATE, b""),
        lambda: Tlv(0x10000, b""),
        lambda: UnknownPdu(command_id=CommandId.SUBMIT_SM, sequence=1),
        lambda: QuerySmResp(sequence=1, message_state=300),
    ],
)
def test_values_check_themselves(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        make()


def test_encode_refuses_what_no_peer_accepts() -> None:
    huge = Tlvs(tuple(Tlv(Tag.MESSAGE_PAYLOAD, b"x" * 0xFFFF) for _ in range(2)))
    with pytest.raises(LocalProtocolError):
        encode(DataSm(sequence=1, tlvs=huge))
    one = DataSm(sequence=1, tlvs=Tlvs.of(message_payload=b"x" * 0xFFFF))
    assert decode(encode(one)) == one  # the largest payload fits MAX_COMMAND_LENGTH


def test_data_sm_resp_and_deliver_sm_resp_keep_tlvs() -> None:
    pdu = DataSmResp(sequence=3, message_id="x", tlvs=Tlvs((Tlv(0x0425, b"\x01"),)))
    assert decode(encode(pdu)) == pdu
