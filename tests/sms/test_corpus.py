"""Every record of tests/data/pdus.jsonl decoded as its sources and two decoders assert."""

from __future__ import annotations

from collections import defaultdict
import json
from pathlib import Path
from typing import Any

import pytest

from gsmgw.errors import PduError
from gsmgw.sms import Deliver, Reassembler, StatusReport, Submit, decode_pdu_hex
from gsmgw.sms.alphabet import LANGUAGE_NAMES, charset, unpack_septets

CORPUS = Path(__file__).parent.parent / "data" / "pdus.jsonl"
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
]
LANGUAGE_IDS = {name: number for number, name in LANGUAGE_NAMES.items()} | {"default": 0}

#: Where gsmgw decodes differently on purpose: record id -> key -> why.
DEVIATIONS: dict[str, dict[str, str]] = {
    "pgm-decode-11-zte-broken-sr": {
        "number": "TS 23.040 §9.1.2.3: semi-octet 1011 is '#', python-gsmmodem prints 'b'",
    },
    "android-cingular-mwi-set": {
        "number": "TP-OA length 1: one digit '5'; the decoders print the unused nibble as well",
    },
    "android-cingular-mwi-clear": {"number": "as android-cingular-mwi-set"},
}
#: Records the sources parse but gsmgw refuses, with the reason (each a PduError).
REFUSED = {
    "gammu-at-sms-41": "user data shorter than TP-UDL, as mm-invalid-insufficient-data asserts",
    "gammu-at-sms-20": "TP-UDHI with TP-UDL 0 (mm-invalid-wrong-udh asserts that is malformed)",
    "pgm-decode-8": "TP-UDL of 160 UCS-2 octets is over 140 (the record allows a length error)",
}


def _ids(record: dict[str, Any]) -> str:
    return str(record["id"])


def _number(message: Deliver | Submit | StatusReport) -> str:
    if isinstance(message, Deliver):
        return message.sender
    return message.recipient


VALID = [r for r in RECORDS if r["direction"] != "invalid" and r["id"] not in REFUSED]
OUT_OF_BAND = [r for r in VALID if "national_language" in r["expected"]]
INVALID = [r for r in RECORDS if r["direction"] == "invalid" or r["id"] in REFUSED]


@pytest.mark.parametrize("record", [r for r in VALID if r not in OUT_OF_BAND], ids=_ids)
def test_decodes_as_expected(record: dict[str, Any]) -> None:
    """Each expected key of a valid record matches our decoding."""
    expected = record["expected"]
    message = decode_pdu_hex(record["pdu"], has_smsc=record["has_smsc"])
    assert record["direction"] == message.TYPE
    skip = DEVIATIONS.get(record["id"], {})
    if "number" in expected and "number" not in skip:
        assert _number(message) == expected["number"]
    if "smsc" in expected:
        assert message.smsc == (expected["smsc"] or None)
    if "timestamp" in expected:
        assert not isinstance(message, Submit)  # a SUBMIT has no service centre time stamp
        assert message.timestamp.isoformat() == expected["timestamp"]
    if isinstance(message, StatusReport):
        _check_status_report(message, expected)
    else:
        _check_message(message, expected)


def _check_status_report(message: StatusReport, expected: dict[str, Any]) -> None:
    assert message.discharge_time.isoformat() == expected["discharge_time"]
    assert message.status == expected["status"]
    assert message.reference == expected["mr"]
    if "delivered" in expected:
        assert message.delivered is expected["delivered"]
    meaning = expected["status_meaning_23040"]
    assert message.delivered == meaning.startswith("completed")
    assert message.pending == ("(pending)" in meaning)


def _check_message(message: Deliver | Submit, expected: dict[str, Any]) -> None:
    if "encoding" in expected:
        assert message.encoding == expected["encoding"]
    if "data_hex" in expected:
        assert message.data is not None
        assert message.data.hex().upper() == expected["data_hex"]
    elif "text" in expected:
        assert message.text == expected["text"]
    for key in ("dcs", "pid"):
        if key in expected:
            assert getattr(message, key) == int(expected[key], 16)
    if "udh" in expected:
        _check_udh(message, expected["udh"])
    if isinstance(message, Submit):
        if "mr" in expected:
            assert message.message_reference == expected["mr"]
        if "request_status_report" in expected:
            assert message.status_report_request is expected["request_status_report"]
        if "reject_duplicates" in expected:
            assert message.reject_duplicates is expected["reject_duplicates"]
        if expected.get("validity_minutes") is not None:
            assert message.validity == expected["validity_minutes"] * 60


def _check_udh(message: Deliver | Submit, udh: dict[str, Any] | None) -> None:
    concat = (udh or {}).get("concat")
    if concat is None:
        assert message.concat is None
    else:
        assert message.concat is not None
        got = message.concat
        assert (got.ref, got.part, got.total) == (concat["ref"], concat["seq"], concat["total"])
        assert got.ref_bits == concat.get("ref_bits", got.ref_bits)
    ports = (udh or {}).get("ports")
    if ports is not None:
        assert message.ports is not None
        assert message.ports.destination == ports["dst"]
        assert message.ports.source == ports.get("src", message.ports.source)


@pytest.mark.parametrize("record", OUT_OF_BAND, ids=_ids)
def test_national_tables_out_of_band(record: dict[str, Any]) -> None:
    """OFono's charset vectors: the septets decoded with the tables its test names."""
    expected = record["expected"]
    tables = expected["national_language"]
    message = decode_pdu_hex(record["pdu"])
    assert isinstance(message, Submit)
    data = bytes.fromhex(record["pdu"])
    septets = unpack_septets(
        data[-expected["user_data_octets"] :], data[-expected["user_data_octets"] - 1]
    )
    # Spanish has no locking shift table (TS 23.038 §A.3): the default one applies.
    locking = LANGUAGE_IDS[tables["locking_shift"]] if tables["locking_shift"] != "spanish" else 0
    table = charset(locking, LANGUAGE_IDS[tables["single_shift"]])
    assert table.decode(septets) == expected["text"]


@pytest.mark.parametrize("record", INVALID, ids=_ids)
def test_invalid_raises_pdu_error(record: dict[str, Any]) -> None:
    """Every must-fail record raises PduError (bad hex included), nothing else."""
    with pytest.raises(PduError):
        decode_pdu_hex(record["pdu"], has_smsc=record["has_smsc"])


def test_multipart_messages_reassemble() -> None:
    """Records sharing a message_group reassemble to the asserted message_text, any order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in VALID:
        if "message_text" in record["expected"]:
            groups[record["message_group"]].append(record)
    assert groups
    for records in groups.values():
        parts = [decode_pdu_hex(r["pdu"], has_smsc=r["has_smsc"]) for r in reversed(records)]
        expected = records[0]["expected"]["message_text"]
        delivers = [part for part in parts if isinstance(part, Deliver)]
        if delivers:
            reassembler = Reassembler()
            results = [reassembler.add(part) for part in delivers]
            assert results[-1] is not None
            assert results[-1].text == expected
            assert len(reassembler) == 0
        else:  # SUBMITs as a phone stored them: ordered by their concatenation element
            submits = sorted((p for p in parts if isinstance(p, Submit)), key=_part_number)
            assert "".join(part.text or "" for part in submits) == expected


def _part_number(message: Submit) -> int:
    assert message.concat is not None
    return message.concat.part
