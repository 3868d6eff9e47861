"""An independent oracle: libgammu (python-gammu) decodes what our encoder makes.

libgammu pads GSM-7 text with junk up to the septet count when extension characters are
present, so GSM-7 texts are compared as a prefix plus that many junk characters. In UCS-2 it
shows "~" as "~~" and cuts the text at the original
length in UTF-16 units, so that is compared the same way.
"""

from __future__ import annotations

import random

import gammu
import pytest

from gsmgw.sms import Encoding, EncodingMode, count_parts, encode_submit
from gsmgw.sms.alphabet import DEFAULT

_GSM7 = "".join(c for c in DEFAULT.main if c) + "^{}\\[~]|€"
_POOLS = [
    _GSM7,
    _GSM7 + "€€[]{}",
    "абвгдежзийклмнопрстуфхцчшщъыьэюя ",
    "日本語のテキスト漢字 ",
    "😀🎉👍🏽🚀 ",
    "aä€ж日😀 \n",
]
_SAMPLE = 2000


def _random_text(rng: random.Random) -> str:
    pools = rng.sample(_POOLS, rng.randint(1, 2))
    alphabet = "".join(pools)
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))


def _check_part(pdu: bytes, chunk: str, encoding: Encoding, part: int, total: int) -> None:
    decoded = gammu.DecodePDU(pdu, SMSC=True)
    assert decoded["Type"] == "Submit"
    assert decoded["Number"] == "+491701234567"
    if encoding is Encoding.UCS2:
        assert decoded["Coding"] == "Unicode_No_Compression"
        units = chunk.encode("utf-16-be")
        shown = chunk.replace("~", "~~").encode("utf-16-be")[: len(units)]
        assert decoded["Text"] == shown.decode("utf-16-be", "replace")
    else:
        assert decoded["Coding"] == "Default_No_Compression"
        escapes = sum(1 for char in chunk if len(DEFAULT.codes(char) or ()) == 2)
        assert decoded["Text"][: len(chunk)] == chunk
        assert len(decoded["Text"]) == len(chunk) + escapes
    if total > 1:
        assert (decoded["UDH"]["PartNumber"], decoded["UDH"]["AllParts"]) == (part, total)
    else:
        assert decoded["UDH"]["Type"] == "NoUDH"


def _split_text(pdus: list[bytes]) -> list[str]:
    from gsmgw.sms import Submit, decode_pdu

    texts = []
    for pdu in pdus:
        message = decode_pdu(pdu)
        assert isinstance(message, Submit)
        assert message.text is not None
        texts.append(message.text)
    return texts


def test_libgammu_decodes_our_submits() -> None:
    """A large seeded random sample of mixed-alphabet texts, every part checked by libgammu."""
    rng = random.Random(23038)
    for _ in range(_SAMPLE):
        text = _random_text(rng)
        message = encode_submit("+491701234567", text, ref16=rng.random() < 0.3,
                                concat_ref=rng.randint(0, 255))  # fmt: skip
        pdus = [part.pdu for part in message.parts]
        chunks = _split_text(pdus)
        assert "".join(chunks) == text
        for number, (pdu, chunk) in enumerate(zip(pdus, chunks, strict=True), start=1):
            _check_part(pdu, chunk, message.encoding, number, len(pdus))


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"flash": True}, lambda d: d["Class"] == 0),
        ({"valid_for": 86400}, lambda d: d["SMSC"]["Validity"] == "1440M"),
        ({"valid_for": 7 * 86400}, lambda d: d["SMSC"]["Validity"] == "7D"),
        ({"message_reference": 77}, lambda d: d["MessageReference"] == 77),
    ],
)
def test_libgammu_reads_our_options(options: dict[str, object], check: object) -> None:
    """Class 0, validity and TP-MR as libgammu reads them."""
    (part,) = encode_submit("+491701234567", "hello", **options).parts  # type: ignore[arg-type]
    assert callable(check)
    assert check(gammu.DecodePDU(part.pdu, SMSC=True))


def _gammu_parts(text: str, unicode: bool) -> int:
    entries = [{"ID": "ConcatenatedTextLong", "Buffer": text}]
    return len(gammu.EncodeSMS({"Class": -1, "Unicode": unicode, "Entries": entries}))


def test_never_more_parts_than_libgammu() -> None:
    """For the same text and encoding, our split never takes more parts than libgammu's."""
    rng = random.Random(4223)
    for _ in range(300):
        text = _random_text(rng) or "x"
        encoding, parts = count_parts(text)
        assert parts <= _gammu_parts(text, encoding is Encoding.UCS2)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (
            "Don\u2019t forget: it\u2019s \u201ctomorrow\u201d \u2013 10:00\u2026 " * 3,
            {"mode": EncodingMode.SMART},
        ),
        (
            "Merhaba! Yarın saat onda buluşalım, görüşürüz. Şimdiden teşekkürler. " * 2,
            {"languages": ["tr"]},
        ),
        (
            "Olá! A reunião é amanhã às dez horas. Não se esqueça, obrigado. " * 2,
            {"languages": ["pt"]},
        ),
        ("आपका कोड 123456 है। कृपया इसे किसी के साथ साझा न करें। " * 2, {"languages": ["hi"]}),
    ],
)
def test_fewer_parts_than_libgammu_where_it_applies(text: str, options: dict[str, object]) -> None:
    """Smart mapping and national tables save parts libgammu has to spend on UCS-2."""
    encoding, parts = count_parts(text, **options)  # type: ignore[arg-type]
    assert encoding is Encoding.GSM7
    assert parts < _gammu_parts(text, True)
