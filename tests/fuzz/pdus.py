"""Structure-aware PDU inputs (real and encoded PDUs, mutated) and the decoder's property.

Mutations follow the ways PDUs really break: bit flips and stray bytes on a noisy line,
truncation (a modem cuts a +CMT short), length fields that lie (SMSC length, address length
in semi-octets, TP-UDL, UDHL and UDH element lengths, TS 23.040 §9.2.3.16 and §9.2.3.24),
a TP-DCS or first octet from another message, and splices of two PDUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
import json
from pathlib import Path

from gsmgw.errors import EncodingError, PduError
from gsmgw.sms import Deliver, EncodingMode, StatusReport, Submit, decode_pdu, decode_pdu_hex
from gsmgw.sms.encoder import encode_deliver, encode_status_report, encode_submit
from tests.fuzz.budget import CHECKED
from tests.fuzz.choice import Chooser, chance, pick

CORPUS_FILE = Path(__file__).parent.parent / "data" / "pdus.jsonl"
#: decode_pdu's catch-all for an exception that escaped every documented check.
SAFETY_NET_PREFIX = "malformed PDU:"
#: Values a lying length octet takes: the edges and one off either way.
LIES = (0x00, 0x01, 0x02, 0x7F, 0x80, 0x8C, 0x8D, 0xA0, 0xA1, 0xFE, 0xFF)
#: TP-DCS values from every coding group (TS 23.038 §4): compressed, classes, MWI, reserved.
DCS_VALUES: tuple[int, ...] = (
    0x00,
    0x04,
    0x08,
    0x0C,
    0x10,
    0x14,
    0x18,
    0x20,
    0x24,
    0x28,
    0x40,
    0x80,
)
DCS_VALUES += (0xB0, 0xC0, 0xC8, 0xD0, 0xE0, 0xE8, 0xF0, 0xF4, 0xF8, 0xFB, 0xFF)
#: Bits of the first octet: MTI, MMS/RD, VPF, SRI/SRR, UDHI, RP.
FIRST_OCTET_BITS = (0x01, 0x02, 0x03, 0x04, 0x08, 0x10, 0x18, 0x20, 0x40, 0x80)
NUMBERS = ("+491701234567", "+12404492164", "0170123456", "12345", "+8613800138000")
SENDERS = (*NUMBERS, "InternetSMS", "Bank", "@£$¥èéùì")


@dataclass(frozen=True, slots=True)
class PduSample:
    """One input for the decoder, with where it came from (shown when a property fails)."""

    data: bytes
    has_smsc: bool
    origin: str


def _load_corpus() -> tuple[PduSample, ...]:
    samples = []
    for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        try:
            data = bytes.fromhex(record["pdu"])
        except ValueError:  # three "invalid" records are not even hex; the hex test has them
            continue
        samples.append(PduSample(data, bool(record["has_smsc"]), record["id"]))
    return tuple(samples)


CORPUS = _load_corpus()
CORPUS_HEX: tuple[str, ...] = tuple(
    str(json.loads(line)["pdu"]) for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines()
)


def length_fields(pdu: bytes | bytearray, has_smsc: bool) -> dict[str, int]:
    """Return the offsets of the length octets and TP-DCS, as far as the PDU reaches."""
    found: dict[str, int] = {}
    pos = 0
    if has_smsc:
        found["smsc_length"] = 0
        pos = 1 + (pdu[0] if pdu else 0)
    if pos >= len(pdu):
        return found
    first, found["first_octet"] = pdu[pos], pos
    mti = first & 0x03
    pos += 2 if mti else 1  # TP-MR of a SUBMIT or STATUS-REPORT
    if pos >= len(pdu):
        return found
    found["address_length"] = pos
    pos += 2 + (pdu[pos] + 1) // 2
    if mti == 2:
        found["status"] = pos + 14
        return {name: at for name, at in found.items() if at < len(pdu)}
    found["dcs"] = pos + 1
    if mti == 1:
        vpf = (first >> 3) & 0x03
        pos += 2 + {0: 0, 2: 1}.get(vpf, 7)
    else:
        pos += 2 + 7
    found["udl"] = pos
    if first & 0x40:
        found["udhl"] = pos + 1
        found["ie_length"] = pos + 3
    return {name: at for name, at in found.items() if at < len(pdu)}


def _flip_bit(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    bit = c.integer(0, len(data) * 8 - 1)
    data[bit // 8] ^= 1 << (bit % 8)
    return f"flip bit {bit}"


def _set_byte(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    at = c.integer(0, len(data) - 1)
    data[at] = c.integer(0, 255)
    return f"set byte {at}"


def _truncate(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    cut = c.integer(0, len(data) - 1)
    del data[cut:]
    return f"truncate at {cut}"


def _insert(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    at = c.integer(0, len(data))
    data[at:at] = c.binary(8)
    return f"insert at {at}"


def _delete(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    at, count = c.integer(0, len(data) - 1), c.integer(1, 8)
    del data[at : at + count]
    return f"delete {count} at {at}"


def _lie_about_length(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    fields = length_fields(data, has_smsc)
    fields.pop("dcs", None)
    fields.pop("first_octet", None)
    if not fields:
        return "no field to lie in"
    name = pick(c, sorted(fields))
    old = data[fields[name]]
    new = pick(c, (*LIES, (old + 1) % 256, (old - 1) % 256, c.integer(0, 255)))
    data[fields[name]] = new
    return f"{name} {old} -> {new}"


def _other_dcs(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    at = length_fields(data, has_smsc).get("dcs")
    if at is None:
        return "no TP-DCS"
    data[at] = pick(c, DCS_VALUES) if chance(c, 2) else c.integer(0, 255)
    return f"TP-DCS {data[at]:02X}"


def _toggle_first_octet(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    at = length_fields(data, has_smsc).get("first_octet")
    if at is None:
        return "no first octet"
    data[at] ^= pick(c, FIRST_OCTET_BITS)
    return f"first octet {data[at]:02X}"


def _splice(c: Chooser, data: bytearray, has_smsc: bool) -> str:
    other = pick(c, CORPUS)
    cut, start = c.integer(0, len(data)), c.integer(0, len(other.data))
    data[cut:] = other.data[start:]
    return f"splice {other.origin}[{start}:] at {cut}"


MUTATIONS = (
    _flip_bit, _set_byte, _truncate, _insert, _delete,
    _lie_about_length, _lie_about_length, _other_dcs, _toggle_first_octet, _splice,
)  # fmt: skip
#: Texts the encoder turns into GSM-7 (extension table too), Turkish shifts, or UCS-2.
ALPHABETS = (
    None,
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ^{}\\[~]|€ abcXYZ019",
    "Şşğıİç abc",
    "日本語😀 ab",
)
MODES = tuple(EncodingMode)
LANGUAGES: tuple[tuple[str, ...], ...] = ((), ("tr",), ("es", "pt"), ("hi", "bn"))
MAX_VALID_FOR = 63 * 7 * 86_400


def _moment(c: Chooser) -> datetime:
    """A time stamp TP-SCTS can hold: 2000-2099, zones from -12:00 to +14:00."""
    moment = datetime(2000, 1, 1) + timedelta(seconds=c.integer(0, 100 * 365 * 86_400))
    return moment.replace(tzinfo=timezone(timedelta(minutes=15 * c.integer(-48, 56))))


def _encoded_parts(c: Chooser, kind: str, moment: datetime) -> list[bytes]:
    text = c.text(pick(c, ALPHABETS), 320)
    if kind == "deliver":
        sender = pick(c, SENDERS)
        return encode_deliver(sender, text, timestamp=moment, mode=pick(c, MODES))
    message = encode_submit(
        pick(c, NUMBERS),
        text,
        mode=pick(c, MODES),
        languages=pick(c, LANGUAGES),
        report=chance(c, 2),
        valid_for=c.integer(0, MAX_VALID_FOR) if chance(c, 2) else None,
        ref16=chance(c, 2),
        smsc=pick(c, (None, "+491710760000")),
    )
    return [part.pdu for part in message.parts]


def encoded_pdu(c: Chooser) -> PduSample:
    """A PDU our own encoder wrote: a DELIVER, a SUBMIT (any part) or a STATUS-REPORT."""
    kind = pick(c, ("deliver", "submit", "status-report"))
    moment = _moment(c)
    if kind == "status-report":
        reference, number, status = c.integer(0, 255), pick(c, NUMBERS), c.integer(0, 255)
        data = encode_status_report(
            reference, number, status=status, timestamp=moment, discharge_time=moment
        )
        return PduSample(data, True, "encoded status report")
    try:
        parts = _encoded_parts(c, kind, moment)
    except EncodingError:
        return pick(c, CORPUS)  # a text our encoder refuses: take a real PDU instead
    index = c.integer(0, len(parts) - 1)
    return PduSample(parts[index], True, f"encoded {kind} part {index + 1}/{len(parts)}")


def mutated_pdu(c: Chooser) -> PduSample:
    """A real PDU (three times in four) or an encoded one, after one to four mutations."""
    base = encoded_pdu(c) if chance(c, 4) else pick(c, CORPUS)
    data = bytearray(base.data)
    steps = []
    for _ in range(c.integer(1, 4)):
        if not data:
            break
        steps.append(pick(c, MUTATIONS)(c, data, base.has_smsc))
    has_smsc = base.has_smsc if not chance(c, 4) else not base.has_smsc
    return PduSample(bytes(data), has_smsc, f"{base.origin}: {'; '.join(steps)}")


def pdu_sample(c: Chooser) -> PduSample:
    """Mostly mutated PDUs; some unmutated encoded ones and some plain random bytes."""
    roll = c.integer(1, 10)
    if roll == 1:
        return PduSample(c.binary(200), chance(c, 2), "random")
    if roll == 2:
        return encoded_pdu(c)
    return mutated_pdu(c)


def pdu_hex_text(c: Chooser) -> str:
    """Hex as +CMGR prints it, mangled: odd length, stray characters, spaces, lower case."""
    text = pick(c, CORPUS_HEX)
    at = c.integer(0, len(text))
    text = text[:at] + pick(c, ("", " ", "G", "0", "\r\n", "\x00", "é", "0x", "--")) + text[at:]
    cut = c.integer(0, len(text))
    return pick(c, (text, text[:cut], text.lower(), f" {text}\t"))


def _check_documented(error: PduError) -> None:
    """A PduError from a check that names the problem, not from the catch-all."""
    assert not str(error).startswith(SAFETY_NET_PREFIX), f"escaped every check: {error}"


def check_decode(sample: PduSample) -> None:
    """The decoder returns a message or raises PduError from a documented check, quickly."""
    CHECKED["pdu"] += 1
    try:
        message = decode_pdu(sample.data, has_smsc=sample.has_smsc)
    except PduError as exc:
        _check_documented(exc)
        return
    assert isinstance(message, Deliver | Submit | StatusReport)
    if isinstance(message, Deliver | StatusReport):
        assert message.timestamp.tzinfo is not None
    if isinstance(message, Deliver | Submit):
        assert (message.text is None) != (message.data is None)
        assert message.concat is None or 1 <= message.concat.part <= message.concat.total


def check_decode_hex(text: str) -> None:
    """decode_pdu_hex raises only PduError, whatever the hex looks like."""
    CHECKED["pdu-hex"] += 1
    try:
        decode_pdu_hex(text)
    except PduError as exc:
        _check_documented(exc)
