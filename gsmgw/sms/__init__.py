"""SMS codec after 3GPP TS 23.040 and 23.038: text <-> PDUs. Pure: no I/O, no asyncio."""

from __future__ import annotations

from gsmgw.sms.alphabet import Encoding
from gsmgw.sms.concat import EncodingMode, count_parts
from gsmgw.sms.encoder import (
    EncodedMessage,
    SubmitPart,
    encode_deliver,
    encode_status_report,
    encode_submit,
)
from gsmgw.sms.pdu import Deliver, StatusReport, Submit, decode_pdu, decode_pdu_hex
from gsmgw.sms.reassembly import Message, Reassembler
from gsmgw.sms.udh import Concat, Ports, UserDataHeader

__all__ = [
    "Concat",
    "Deliver",
    "EncodedMessage",
    "Encoding",
    "EncodingMode",
    "Message",
    "Ports",
    "Reassembler",
    "StatusReport",
    "Submit",
    "SubmitPart",
    "UserDataHeader",
    "count_parts",
    "decode_pdu",
    "decode_pdu_hex",
    "encode_deliver",
    "encode_status_report",
    "encode_submit",
]
