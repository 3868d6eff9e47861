"""The peer benchmark's pure helpers: inbox file parsing, statistics, the table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.peers.parsing import (
    Stored,
    decode_gammu_text,
    parse_gammu_name,
    parse_smstools_message,
    pieces_of,
    read_gammu_inbox,
    read_smstools_inbox,
)
from bench.peers.report import format_table, format_value, percentile
from bench.peers.sims import reassemble
from gsmgw.sim import SentMessage
from gsmgw.sms import Submit, decode_pdu, encode_submit


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IN20021130_021531_00_+45409000931640979_00.txt", ("45409000931640979", 0)),
        ("IN20261126_165001_01_+491520000004_02.txt", ("491520000004", 2)),
        ("IN20261126_165001_01_4915_00.bin", ("4915", 0)),
        ("OUT+4917.txt", None),
        ("IN2026_x.txt", None),
    ],
)
def test_gammu_inbox_names(name: str, expected: tuple[str, int] | None) -> None:
    assert parse_gammu_name(name) == expected


def test_gammu_text_is_utf16_with_a_bom_else_utf8() -> None:
    assert decode_gammu_text("Grüße 📦".encode("utf-16")) == "Grüße 📦"
    assert decode_gammu_text("Grüße".encode()) == "Grüße"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"From: 491701234567\nAlphabet: ISO\nUDH: false\n\nGr\xfc\xdfe \xa4", "Grüße €"),
        (b"From: +49170\nAlphabet: UCS2\n\n" + "код 📦".encode("utf-16-be"), "код 📦"),
        (b"From: 49170\nAlphabet: UTF-8\n\n" + "ığüşöç".encode(), "ığüşöç"),
        (b"From: 49170\n\nno alphabet header", "no alphabet header"),
    ],
)
def test_smstools_messages(data: bytes, expected: str) -> None:
    sender, text = parse_smstools_message(data)
    assert sender.startswith("49170")
    assert text == expected


def test_smstools_message_without_sender_is_refused() -> None:
    with pytest.raises(ValueError, match="From"):
        parse_smstools_message(b"Alphabet: ISO\n\ntext")


def test_readers_skip_what_is_not_a_message(tmp_path: Path) -> None:
    (tmp_path / "IN20261126_165001_00_+4915_01.txt").write_text("second", encoding="utf-8")
    (tmp_path / "IN20261126_165001_00_+4915_00.txt").write_text("first ", encoding="utf-8")
    (tmp_path / "smsd_script.x").write_text("#!/bin/sh")
    (tmp_path / "GSM1.abc").write_bytes(b"From: 4915\n\nhello")
    gammu = read_gammu_inbox(tmp_path)
    assert [s.text for s in pieces_of(gammu, "+4915")] == ["first ", "second"]
    assert [s.text for s in read_smstools_inbox(tmp_path)] == ["hello"]
    assert read_gammu_inbox(tmp_path / "missing") == []


def test_stored_sender_must_be_digits() -> None:
    with pytest.raises(ValueError, match="digits"):
        Stored("+4915", "x", 0.0)


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == pytest.approx(10.5)
    assert percentile(values, 99) == pytest.approx(19.81)
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="0-100"):
        percentile(values, 101)


def test_values_and_table() -> None:
    assert format_value(0.0123, "s") == "12.3 ms"
    assert format_value(15.92, "s") == "15.92 s"
    assert format_value(0.97, "%") == "97%"
    assert format_value(None, "s") == "-"
    table = format_table(
        {
            "gsmgw": {"idle_latency_s_p50": 0.01, "throughput_msgs_per_s": 80.0},
            "gammu-smsd-tuned": {"idle_latency_s_p50": 0.5, "throughput_msgs_per_s": 2.0},
            "smstools3-tuned": {"idle_latency_s_p50": 1.0, "throughput_msgs_per_s": 1.0},
        }
    )
    lines = table.splitlines()
    assert lines[0].split()[-1] == "peer"  # "gsmgw vs best tuned peer"
    assert lines[2].startswith("idle latency p50")
    assert lines[2].endswith("50x")
    assert lines[3].endswith("40x")
    assert len(lines) == 4  # rows without any figure are left out


def _sent(to: str, text: str, ref: int) -> list[SentMessage]:
    encoded = encode_submit(to, text, concat_ref=ref)
    now = datetime.now(UTC)
    messages = []
    for part in encoded.parts:
        submit = decode_pdu(part.pdu)
        assert isinstance(submit, Submit)
        messages.append(SentMessage(part.pdu, 0, submit, now))
    return messages


def test_reassemble_joins_parts_by_recipient_and_reference() -> None:
    long = "Ваша посылка уже в пути. " * 6
    sent = _sent("+4917300000001", long, 7)
    sent = sent[::-1] + _sent("+4917300000002", "short €", 0) + _sent("+4917300000001", long, 8)
    arrived = reassemble(sent)
    assert sorted((a.recipient, a.text, a.parts) for a in arrived) == sorted(
        [
            ("+4917300000001", long, len(sent) // 2),
            ("+4917300000001", long, len(sent) // 2),
            ("+4917300000002", "short €", 1),
        ]
    )


def test_reassemble_marks_a_message_with_a_missing_part() -> None:
    parts = _sent("+4917300000003", "x" * 200, 9)
    (arrived,) = reassemble(parts[:1])
    assert not arrived.complete
    assert arrived.text.endswith("\ufffd")
