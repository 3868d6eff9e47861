"""Message octets <-> text for the data_coding values SPEC.md accepts, and UDH concatenation.

data_coding (SMPP 3.4 §5.2.19): 0 the SMSC default alphabet, which gsmgw takes as GSM 03.38
unpacked, one septet per octet, 0x1B escaping to the extension table; 1 IA5 (ASCII);
3 Latin-1; 8 UCS-2, read as UTF-16BE so that surrogate pairs give characters beyond the BMP.

The GSM tables are written out here rather than imported from gsmgw.sms, so that smpp/ stays
independent of the other codecs (STYLE.md §1); tests/smpp checks they equal gsmgw.sms's.
"""

from __future__ import annotations

from typing import NamedTuple

from gsmgw.errors import SmppError
from gsmgw.smpp._constants import (
    DATA_CODING_DEFAULT,
    DATA_CODING_IA5,
    DATA_CODING_LATIN1,
    DATA_CODING_UCS2,
    Status,
)

#: SMPP 3.4 has no command_status for text that does not decode or a data_coding gsmgw does
#: not read (ESME_RINVDCS, 0x104, is SMPP 5.0's), so the generic ESME_RSYSERR answers both.
TEXT_ERROR_STATUS = Status.ESME_RSYSERR
#: A user data header that does not parse: the esm_class UDHI bit announced what is not there.
UDH_ERROR_STATUS = Status.ESME_RINVESMCLASS

ESC = 0x1B
# GSM 03.38 §6.2.1 default alphabet by septet; "" marks 0x1B, the escape.
_MAIN = tuple(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ" + "\x1b" + "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_DEFAULT: tuple[str, ...] = tuple("" if septet == ESC else c for septet, c in enumerate(_MAIN))
#: GSM 03.38 §6.2.1.1 default extension table: septet after 0x1B -> character.
GSM_EXTENSION: dict[int, str] = {
    0x0A: "\x0c",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_ENCODE: dict[str, bytes] = {c: bytes([ESC, s]) for s, c in GSM_EXTENSION.items()}
_ENCODE.update({c: bytes([s]) for s, c in enumerate(GSM_DEFAULT) if c})

# Concatenation information elements (3GPP TS 23.040 §9.2.3.24.1 and .8).
_IEI_CONCAT_8 = 0x00
_IEI_CONCAT_16 = 0x08


class Udh(NamedTuple):
    """A short_message split at its UDH: concatenation (ref None when there is none), text."""

    ref: int | None
    total: int
    seq: int
    text: bytes


def _fail(message: str, status: int = TEXT_ERROR_STATUS) -> SmppError:
    return SmppError(message, status=status)


def decode_gsm(data: bytes) -> str:
    """Decode GSM 03.38 unpacked (one septet per octet); SmppError for an octet over 0x7F.

    An escape before a septet the extension table lacks shows the main table's character,
    as TS 23.038 §6.2.1.1 asks and gsmgw.sms does; a trailing escape shows a space.
    """
    out: list[str] = []
    escaped = False
    for septet in data:
        if septet > 0x7F:
            raise _fail(f"octet {septet:#04x} is not a GSM 03.38 septet")
        if escaped:
            escaped = False
            out.append(GSM_EXTENSION.get(septet) or GSM_DEFAULT[septet] or " ")
        elif septet == ESC:
            escaped = True
        else:
            out.append(GSM_DEFAULT[septet])
    if escaped:
        out.append(" ")
    return "".join(out)


def encode_gsm(text: str) -> bytes | None:
    """Encode text as GSM 03.38 unpacked, or return None when a character is not in it."""
    out = bytearray()
    for char in text:
        code = _ENCODE.get(char)
        if code is None:
            return None
        out += code
    return bytes(out)


def decode_text(data: bytes, data_coding: int) -> str:
    """Decode message octets by data_coding 0, 1, 3 or 8.

    Raises:
        SmppError: another data_coding, or octets that are not text in it
            (status TEXT_ERROR_STATUS).
    """
    if data_coding == DATA_CODING_DEFAULT:
        return decode_gsm(data)
    codec = {DATA_CODING_IA5: "ascii", DATA_CODING_LATIN1: "latin-1"}.get(data_coding)
    if data_coding == DATA_CODING_UCS2:
        codec = "utf-16-be"  # strict: a lone surrogate or an odd octet count fails
    if codec is None:
        raise _fail(f"data_coding {data_coding:#04x} is not 0, 1, 3 or 8")
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _fail(f"short_message is not data_coding {data_coding}: {exc}") from exc


def encode_text(text: str) -> tuple[int, bytes]:
    """Return (data_coding, octets): GSM 03.38 unpacked (0) if every character fits, else UCS-2.

    Raises ValueError for text holding a lone surrogate (not text at all).
    """
    octets = encode_gsm(text)
    if octets is not None:
        return DATA_CODING_DEFAULT, octets
    try:
        return DATA_CODING_UCS2, text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError("text holds a lone surrogate") from exc


def split_udh(message: bytes) -> Udh:
    """Split a message whose esm_class has the UDHI bit into its concatenation and text.

    Reads IE 0x00 (8-bit reference) and 0x08 (16-bit reference); other elements are
    skipped. Without either, ref is None and total and seq are 1.

    Raises:
        SmppError: UDHL or an element runs past its end, a concatenation element has the
            wrong length, or its part numbers are impossible (status UDH_ERROR_STATUS).
    """
    if not message or message[0] + 1 > len(message):
        raise _fail("UDHL runs past the end of the message", UDH_ERROR_STATUS)
    end = 1 + message[0]
    concat: tuple[int, int, int] | None = None
    pos = 1
    while pos < end:
        if pos + 2 > end or pos + 2 + message[pos + 1] > end:
            raise _fail(f"UDH element at {pos} runs past the header", UDH_ERROR_STATUS)
        iei, length = message[pos], message[pos + 1]
        data = message[pos + 2 : pos + 2 + length]
        pos += 2 + length
        if iei in (_IEI_CONCAT_8, _IEI_CONCAT_16):
            concat = _concat(iei, data)
    if concat is None:
        return Udh(None, 1, 1, message[end:])
    return Udh(*concat, message[end:])


def _concat(iei: int, data: bytes) -> tuple[int, int, int]:
    size = 3 if iei == _IEI_CONCAT_8 else 4
    if len(data) != size:
        raise _fail(f"concatenation element {iei:#04x} of {len(data)} octets", UDH_ERROR_STATUS)
    ref = int.from_bytes(data[: size - 2], "big")
    total, seq = data[-2], data[-1]
    if not 1 <= seq <= total:
        raise _fail(f"concatenation part {seq} of {total}", UDH_ERROR_STATUS)
    return ref, total, seq
