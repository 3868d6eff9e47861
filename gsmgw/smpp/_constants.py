"""SMPP 3.4 numbers: command ids, command_status values, message states, TLV tags, flags."""

from __future__ import annotations

from enum import IntEnum

#: command_id of a response: the request's id with the top bit set (SMPP 3.4 §5.1.2.1).
RESPONSE_BIT = 0x8000_0000
#: interface_version of SMPP 3.4 (§5.2.4), as bind requests and sc_interface_version carry it.
INTERFACE_VERSION = 0x34

#: esm_class bits (§5.2.12): a delivery receipt from the SMSC, and a UDH in short_message.
ESM_CLASS_RECEIPT = 0x04
ESM_CLASS_UDHI = 0x40
#: registered_delivery bits 0-1 (§5.2.17): 1 = receipt on final outcome, 2 = on failure only.
REGISTERED_DELIVERY_RECEIPT_MASK = 0x03

#: data_coding values this codec can turn into text (§5.2.19).
DATA_CODING_DEFAULT = 0x00
DATA_CODING_IA5 = 0x01
DATA_CODING_LATIN1 = 0x03
DATA_CODING_UCS2 = 0x08


class CommandId(IntEnum):
    """command_id values (SMPP 3.4 §5.1.2.1)."""

    GENERIC_NACK = 0x8000_0000
    BIND_RECEIVER = 0x0000_0001
    BIND_RECEIVER_RESP = 0x8000_0001
    BIND_TRANSMITTER = 0x0000_0002
    BIND_TRANSMITTER_RESP = 0x8000_0002
    QUERY_SM = 0x0000_0003
    QUERY_SM_RESP = 0x8000_0003
    SUBMIT_SM = 0x0000_0004
    SUBMIT_SM_RESP = 0x8000_0004
    DELIVER_SM = 0x0000_0005
    DELIVER_SM_RESP = 0x8000_0005
    UNBIND = 0x0000_0006
    UNBIND_RESP = 0x8000_0006
    REPLACE_SM = 0x0000_0007
    REPLACE_SM_RESP = 0x8000_0007
    CANCEL_SM = 0x0000_0008
    CANCEL_SM_RESP = 0x8000_0008
    BIND_TRANSCEIVER = 0x0000_0009
    BIND_TRANSCEIVER_RESP = 0x8000_0009
    OUTBIND = 0x0000_000B
    ENQUIRE_LINK = 0x0000_0015
    ENQUIRE_LINK_RESP = 0x8000_0015
    SUBMIT_MULTI = 0x0000_0021
    SUBMIT_MULTI_RESP = 0x8000_0021
    ALERT_NOTIFICATION = 0x0000_0102
    DATA_SM = 0x0000_0103
    DATA_SM_RESP = 0x8000_0103


class Status(IntEnum):
    """command_status values (SMPP 3.4 §5.1.3); 3.4 has no status for a bad data_coding."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


class MessageState(IntEnum):
    """message_state values of query_sm_resp and the message_state TLV (SMPP 3.4 §5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class Tag(IntEnum):
    """Tags of the optional parameters (TLVs) this codec reads by name (SMPP 3.4 §5.3.2)."""

    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427
