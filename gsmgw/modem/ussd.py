"""USSD answers to text: packed GSM-7 hex, UCS-2 hex or plain text, whatever <dcs> claims.

Modems disagree on what +CUSD's <str> holds (TS 27.007 §7.15 says: in the TE character set
unless <dcs> says otherwise): Huawei E160/E1550 send packed GSM-7 as hex, the E3276 and
Telit HE910-D UCS-2 hex, the Quectel M35 UCS-2 hex with <dcs> 15 (GSM-7), SIMCom plain
text. So <dcs> is a hint and the text itself decides (Gammu's at-ussd tests).
"""

from __future__ import annotations

import re

from gsmgw.at.commands import gsm_text
from gsmgw.at.values import UssdResponse
from gsmgw.sms.alphabet import DEFAULT, decode_ucs2, unpack_septets

_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){4,}")
_TEXTY = re.compile(r"[\w .,:;!?'\"()\-+*/#%&=@$€£\n\r]", re.UNICODE)


def _dcs_alphabet(dcs: int | None) -> str | None:
    """Return "gsm7", "ucs2", "8bit" or None (unknown) for a CBS data coding scheme."""
    if dcs is None:
        return None
    group = dcs >> 4
    if group in (0, 2, 3) or dcs == 0x10:  # TS 23.038 §5: GSM-7 with language coding
        return "gsm7"
    if dcs == 0x11:
        return "ucs2"  # UCS-2 preceded by a language indication
    if group in (4, 5, 6, 7, 9):
        return ("gsm7", "8bit", "ucs2", "gsm7")[(dcs >> 2) & 3]
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm7"
    return None


def _plausible(text: str) -> bool:
    return bool(text) and sum(1 for c in text if _TEXTY.match(c)) >= 0.85 * len(text)


def _ucs2(data: bytes) -> str:
    text = decode_ucs2(data[: len(data) // 2 * 2])
    # Telit HE910-D pads with NUL and junk after the text (Gammu issue 377).
    return text.split("\x00", 1)[0]


def _gsm7(data: bytes) -> str:
    septets = unpack_septets(data, len(data) * 8 // 7)
    text = DEFAULT.decode(septets)
    # 7 spare bits at the end are a CR pad (TS 23.038 §6.1.2.3.1), or '@' (0) from older modems.
    if len(data) * 8 % 7 == 0 and text.endswith(("\r", "@")):
        text = text[:-1]
    return text


def decode_ussd(response: UssdResponse) -> str:
    """Return the text of a +CUSD answer (empty when it carried none)."""
    raw = (response.text or "").strip()
    alphabet = _dcs_alphabet(response.dcs)
    if not _HEX.fullmatch(raw) or (raw.isdigit() and alphabet != "ucs2"):
        return gsm_text(raw)  # text, or digits that only look like hex ("12345678")
    data = bytes.fromhex(raw)
    if alphabet == "ucs2":
        # <dcs> 0x11: two octets of language indication come first (TS 23.038 §5).
        return _ucs2(data[2:] if response.dcs == 0x11 else data)
    if len(raw) % 4 == 0:
        text = _ucs2(data)
        if _plausible(text) and sum(c < "\u0100" for c in text) >= len(text) / 2:
            return text
    text = _gsm7(data)
    return text if _plausible(text) else gsm_text(raw)
