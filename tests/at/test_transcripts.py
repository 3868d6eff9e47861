"""The AT codec and parsers against every transcript of the corpus (tests/data/at-transcripts)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from gsmgw.at import commands
from gsmgw.at.events import (
    Event,
    FinalResult,
    Garbage,
    InfoLine,
    MessageDelivered,
    NewMessageIndication,
    RegistrationChanged,
    ResultKind,
    StatusReportDelivered,
    UssdReceived,
)
from gsmgw.at.values import Registration, RegistrationKind
from gsmgw.errors import RemoteProtocolError

Feed = Callable[..., list[Event]]
TRANSCRIPTS = Path(__file__).parent.parent / "data" / "at-transcripts"


@dataclass(frozen=True)
class Transcript:
    id: str
    data: bytes
    commands: tuple[str, ...]
    expected: dict[str, Any]


def _commands(command: str) -> tuple[str, ...]:
    """Return the commands in flight for the index's ``command`` description."""
    if "unsolicited" in command:
        return ()
    if command == "AT+CMGR then AT+CMGD":
        return ("AT+CMGR=0", "AT+CMGD=0")
    if command == "AT+CMGR":
        return ("AT+CMGR=1",)
    return (command if command.startswith("AT") else f"AT{command}",)


def _load() -> list[Transcript]:
    result = []
    for line in (TRANSCRIPTS / "index.jsonl").read_text().splitlines():
        entry = json.loads(line)
        result.append(
            Transcript(
                id=entry["id"],
                data=(TRANSCRIPTS / entry["file"]).read_bytes(),
                commands=_commands(entry["command"]),
                expected=entry["expected"],
            )
        )
    return result


ALL = _load()
BY_ID = {t.id: t for t in ALL}


def _tid(t: Transcript) -> str:
    return t.id


def _ids(predicate: Callable[[Transcript], bool]) -> list[Transcript]:
    return [t for t in ALL if predicate(t)]


def _info(events: Iterable[Event]) -> list[InfoLine]:
    return [e for e in events if isinstance(e, InfoLine)]


def _registration(t: Transcript, events: list[Event]) -> Registration:
    if t.commands:
        kind = RegistrationKind(t.commands[0].removeprefix("AT").removesuffix("?"))
        return commands.registration_parser(kind)(_info(events))
    first = next(e for e in events if isinstance(e, RegistrationChanged))
    return first.registration


def test_corpus_is_complete() -> None:
    assert len(ALL) == 131
    assert all(t.data for t in ALL)


@pytest.mark.parametrize("t", _ids(lambda t: "registration_state" in t.expected), ids=_tid)
def test_registration(t: Transcript, feed_codec: Feed) -> None:
    reg = _registration(t, feed_codec(t.data, t.commands))
    exp = t.expected
    assert reg.state.name == exp["registration_state"]
    assert (reg.lac, reg.ci) == (exp["lac"], exp["ci"])
    assert [reg.access_technology.value] == exp["access_technology"]
    assert (reg.kind is RegistrationKind.CGREG) == exp["is_cgreg"]
    assert (reg.kind is RegistrationKind.CEREG) == exp["is_cereg"]
    assert (reg.kind is RegistrationKind.C5GREG) == exp["is_c5greg"]


@pytest.mark.parametrize("t", _ids(lambda t: "networks" in t.expected), ids=_tid)
def test_cops_list(t: Transcript, feed_codec: Feed) -> None:
    networks = commands.parse_cops_list(_info(feed_codec(t.data, t.commands)))
    got = [
        {
            "status": n.status.name,
            "long_name": n.long_name,
            "short_name": n.short_name,
            "operator_id": n.operator_id,
            "access_technology": [n.access_technology.value],
        }
        for n in networks
    ]
    assert got == t.expected["networks"]


@pytest.mark.parametrize("t", _ids(lambda t: "sms_memories" in t.expected), ids=_tid)
def test_cpms_support(t: Transcript, feed_codec: Feed) -> None:
    support = commands.parse_cpms_support(_info(feed_codec(t.data, t.commands)))
    for role, memories in (("read", support.read), ("save", support.write)):
        for name, usable in t.expected["sms_memories"][role].items():
            assert (name in memories) == (usable == "ok"), (role, name, memories)


@pytest.mark.parametrize("t", _ids(lambda t: t.id.startswith("mm-test-cmg")), ids=_tid)
def test_cmgl_cmgr(t: Transcript, feed_codec: Feed) -> None:
    lines = _info(feed_codec(t.data, t.commands))
    if t.commands[0].startswith("AT+CMGL"):
        got = [{"index": m.index, "stat": m.stat, "pdu": m.pdu} for m in commands.parse_cmgl(lines)]
    else:
        one = commands.parse_cmgr(lines)
        assert one is not None
        got = [{"stat": one.stat, "pdu": one.pdu}]
    assert got == t.expected["messages"]


def test_cds_status_report(feed_codec: Feed) -> None:
    t = BY_ID["mm-test-parse-cds"]
    (event,) = feed_codec(t.data)
    assert event == StatusReportDelivered(length=24, pdu=t.expected["pdu"])


def test_cmt_then_cmti_with_bare_cr(feed_codec: Feed) -> None:
    t = BY_ID["gammu-atgen-cmt-with-cmti"]
    cmt, cmti = feed_codec(t.data)
    assert cmt == MessageDelivered(alpha="", length=23, pdu=t.expected["cmt"]["pdu"])
    assert cmti == NewMessageIndication(storage="ME", index=1)


def test_cds_with_garbage_instead_of_pdu_is_survived(feed_codec: Feed) -> None:
    events = feed_codec(BY_ID["gammu-atgen-cds-bad"].data)
    assert events
    assert isinstance(events[0], Garbage)
    assert not any(isinstance(e, StatusReportDelivered) for e in events)


def test_cmgr_then_cms_error(feed_codec: Feed) -> None:
    t = BY_ID["gammu-atgen-cmgr-cms-error"]
    events = feed_codec(t.data, t.commands)
    stored = commands.parse_cmgr(_info(events))
    assert stored is not None
    assert (stored.stat, stored.length) == (0, 30)
    finals = [e for e in events if isinstance(e, FinalResult)]
    assert finals[0].ok
    assert (finals[1].kind, finals[1].code, finals[1].text) == (
        ResultKind.CMS_ERROR,
        300,
        "ME failure",
    )
    assert finals[1].temporary


@pytest.mark.parametrize("t", _ids(lambda t: t.id.startswith("gammu-at-creg")), ids=_tid)
def test_gammu_creg_cases_parse_or_fail_cleanly(t: Transcript, feed_codec: Feed) -> None:
    lines = _info(feed_codec(t.data, t.commands))
    parse = commands.registration_parser(RegistrationKind.CREG)
    if t.expected.get("gammu_error_code") == 29 or not lines:
        with pytest.raises(RemoteProtocolError):
            parse(lines)
    else:
        assert parse(lines).state.name in {"IDLE", "HOME", "ROAMING"}


@pytest.mark.parametrize("t", _ids(lambda t: t.id.startswith("gammu-at-cnmi")), ids=_tid)
def test_cnmi_support(t: Transcript, feed_codec: Feed) -> None:
    support = commands.parse_cnmi_support(_info(feed_codec(t.data, t.commands)))
    assert support.mode
    assert support.ds
    assert 0 in support.mt


def test_cnmi_support_values(feed_codec: Feed) -> None:
    t = BY_ID["gammu-at-cnmi-01"]
    support = commands.parse_cnmi_support(_info(feed_codec(t.data, t.commands)))
    assert support.mode == {2}
    assert support.mt == {0, 1, 3}
    assert support.bm == {0, 2}


@pytest.mark.parametrize(
    ("tid", "number"),
    [
        ("gammu-at-smsc-01", "+97254120032"),
        ("gammu-at-smsc-02", "+79168999100"),
        ("gammu-at-smsc-03", "6281100000"),
        ("gammu-at-smsc-05", "+447802092035"),
    ],
)
def test_csca(tid: str, number: str, feed_codec: Feed) -> None:
    t = BY_ID[tid]
    smsc = commands.parse_csca(_info(feed_codec(t.data, t.commands)))
    assert smsc.number == number
    assert smsc.toa == 145


def test_csca_empty_fails(feed_codec: Feed) -> None:
    t = BY_ID["gammu-at-smsc-failing-04"]
    with pytest.raises(RemoteProtocolError):
        commands.parse_csca(_info(feed_codec(t.data, t.commands)))


@pytest.mark.parametrize(
    ("tid", "model"),
    [
        ("gammu-at-model-01", "MULTIBAND 900E 1800"),
        ("gammu-at-model-02", "Nokia 5210"),
        ("gammu-at-model-03", "AAB-1022041-BV"),
        ("gammu-at-model-06", "MULTIBAND 900E 1800"),
        ("gammu-at-model-05", "Manufacturer: I: SAMSUNG ELECTRONICS CO., LTD."),
    ],
)
def test_identity_text(tid: str, model: str, feed_codec: Feed) -> None:
    t = BY_ID[tid]
    assert commands.parse_text(_info(feed_codec(t.data, t.commands))) == model


def test_cscs_answer_without_echo(feed_codec: Feed) -> None:
    t = BY_ID["gammu-at-cscs-huawei-huawei-e1752"]
    events = feed_codec(t.data, t.commands)
    assert events == [InfoLine('+CSCS: "GSM"'), FinalResult(ResultKind.OK)]


@pytest.mark.parametrize(
    ("tid", "status", "dcs", "start"),
    [
        ("gammu-at-ussd-01-E160", 0, None, "49B41C74"),
        ("gammu-at-ussd-02-E160", 0, 15, "49B41C74"),
        ("gammu-at-ussd-03-unknown", 1, None, "Kontostand: 3.00 EUR"),
        ("gammu-at-ussd-04-unknown", 2, 0, "Maaf, permintaan"),
        ("gammu-at-ussd-Uissue358-Quectel_M35", 2, 15, "00480061"),
        ("gammu-at-ussd-issue109-E3276", 0, 72, "0414043B"),
        ("gammu-at-ussd-issue178-dell", 0, 15, "On DATA Pack"),
        ("gammu-at-ussd-issue377-HE910-D", 2, 17, "6139063106"),
    ],
)
def test_cusd_urc(tid: str, status: int, dcs: int | None, start: str, feed_codec: Feed) -> None:
    (event,) = feed_codec(BY_ID[tid].data)
    assert isinstance(event, UssdReceived)
    assert (event.response.status, event.response.dcs) == (status, dcs)
    assert event.response.text is not None
    assert event.response.text.startswith(start)


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=40))
@pytest.mark.parametrize("t", ALL, ids=_tid)
def test_any_chunking_gives_the_same_events(
    t: Transcript, sizes: list[int], feed_codec: Feed
) -> None:
    whole = feed_codec(t.data, t.commands)
    chunks = _chunked(t.data, sizes)
    assert feed_codec(chunks, t.commands) == whole


def test_one_byte_at_a_time(feed_codec: Feed) -> None:
    for t in ALL:
        bytewise = [t.data[i : i + 1] for i in range(len(t.data))]
        assert feed_codec(bytewise, t.commands) == feed_codec(t.data, t.commands), t.id


def _chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos, i = [], 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        chunks.append(data[pos : pos + size])
        pos, i = pos + size, i + 1
    return chunks
