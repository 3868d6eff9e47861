"""The python-gsmmodem-new failures issue 3 lists, each passing with gsmgw's codec.

python-gsmmodem-new's ``gsmmodem.pdu`` failed 13 of 50 cross-checks against libgammu; these
are the cases named in the issue, checked here against our decoder and libgammu's.
"""

from __future__ import annotations

import gammu
import pytest

from gsmgw.sms import Deliver, Encoding, Submit, decode_pdu, encode_submit
from gsmgw.sms.encoder import DEFAULT_SMSC


def test_emoji_to_uk_number() -> None:
    """encodeSmsSubmitPdu('+441234567890', 'Hi 😀') raised ValueError (code points, not UTF-16)."""
    (part,) = encode_submit("+441234567890", "Hi 😀").parts
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, Submit)
    assert (decoded.recipient, decoded.text, decoded.encoding) == (
        "+441234567890", "Hi 😀", Encoding.UCS2,
    )  # fmt: skip
    assert gammu.DecodePDU(part.pdu, SMSC=True)["Text"] == "Hi 😀"


def test_16_bit_references_keep_every_character() -> None:
    """16-bit references crashed or dropped a character."""
    text = "0123456789" * 40
    message = encode_submit("+441234567890", text, ref16=True, concat_ref=0xBEEF)
    parts = [decode_pdu(part.pdu) for part in message.parts]
    submits = [p for p in parts if isinstance(p, Submit)]
    assert len(submits) == len(parts) == 3
    assert {(p.concat.ref, p.concat.ref_bits) for p in submits if p.concat} == {(0xBEEF, 16)}
    assert "".join(p.text or "" for p in submits) == text
    for part in message.parts:
        udh = gammu.DecodePDU(part.pdu, SMSC=True)["UDH"]
        assert udh["ID16bit"] == 0xBEEF


def test_y_diaeresis() -> None:
    """'ÿ' raised TypeError; it is not GSM-7, so it goes UCS-2 and comes back."""
    (part,) = encode_submit("+441234567890", "ÿ").parts
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, Submit)
    assert decoded.text == "ÿ"
    assert gammu.DecodePDU(part.pdu, SMSC=True)["Text"] == "ÿ"


@pytest.mark.parametrize(("seconds", "expected"), [(0, 300), (1, 300), (60, 300), (299, 300)])
def test_validity_under_five_minutes(seconds: int, expected: int) -> None:
    """A validity under 5 minutes raised; it rounds up to TP-VP 0, five minutes."""
    (part,) = encode_submit("+441234567890", "x", valid_for=seconds).parts
    decoded = decode_pdu(part.pdu)
    assert isinstance(decoded, Submit)
    assert decoded.validity == expected
    assert gammu.DecodePDU(part.pdu, SMSC=True)["SMSC"]["Validity"] == "5M"


def test_decoded_emoji_are_whole_characters() -> None:
    """Decoded emoji came back as lone surrogates."""
    pdu = bytes.fromhex(
        "0791448720003023040C914421436587090008621102101530400A0048006900F0D83DDE00"
    )
    decoded = decode_pdu(pdu)
    assert isinstance(decoded, Deliver)
    assert decoded.text == "Hið😀"
    assert all(not 0xD800 <= ord(char) <= 0xDFFF for char in decoded.text)


def test_dcs_f4_is_8_bit_class_0() -> None:
    """DCS 0xF4 (group 1111: 8-bit data, class 0) was decoded as GSM-7."""
    pdu = bytes.fromhex("0791448720003023040C9144214365870900F46211021015304003C0FFEE")
    decoded = decode_pdu(pdu)
    assert isinstance(decoded, Deliver)
    assert (decoded.encoding, decoded.message_class) == (Encoding.EIGHT_BIT, 0)
    assert decoded.text is None
    assert decoded.data == b"\xc0\xff\xee"
    assert gammu.DecodePDU(pdu, SMSC=True)["Class"] == 0


def test_default_smsc_constant_is_international() -> None:
    """The simulator's default SMSC is written in international form."""
    assert DEFAULT_SMSC.startswith("+")
