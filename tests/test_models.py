"""SendRequest validation, number normalisation, the state table and the JSON payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import subprocess
import sys

from hypothesis import given, strategies as st
import pytest

from gsmgw.errors import LocalProtocolError, RequestError
from gsmgw.models import (
    TRANSITIONS,
    IncomingMessage,
    MessageState,
    SendRequest,
    StateEvent,
    StatusReport,
    check_transition,
)
from gsmgw.validate import MAX_TEXT_LENGTH, REQUEST_KEYS, normalise_number

AT = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def test_minimal_request() -> None:
    request = SendRequest.from_json({"to": "+49 170 1234567", "text": "hi"}, default_region="DE")
    assert request == SendRequest(to=("+491701234567",), text="hi")


def test_full_request() -> None:
    obj = {
        "to": ["0170 1234567", "+43 664 1234567"],
        "text": "Your code is 123456",
        "id": "otp-8f3a",
        "priority": 10,
        "valid_for": 300,
        "send_at": "2026-11-24T18:00:00+01:00",
        "report": True,
        "flash": False,
        "modem": "sim1",
        "encoding": "ucs2",
        "marketing": True,
        "reply_to": "app/replies",
    }
    request = SendRequest.from_json(obj, default_region="DE", known_modems={"sim1"})
    assert request.to == ("+491701234567", "+436641234567")
    assert request.send_at == AT
    assert (request.priority, request.valid_for, request.encoding) == (10, 300, "ucs2")
    assert (request.report, request.marketing, request.reply_to) == (True, True, "app/replies")
    assert request.message_ids() == ("otp-8f3a:1", "otp-8f3a:2")


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+491701234567", "DE", "+491701234567"),
        ("0170/123 45-67", "DE", "+491701234567"),
        ("00436641234567", "DE", "+436641234567"),
        ("01701234567", "", "01701234567"),  # national, no region: as typed
        ("22255", "DE", "22255"),  # short code
        ("+1 (650) 253-0000", "DE", "+16502530000"),
    ],
)
def test_numbers_are_normalised(number: str, region: str, expected: str) -> None:
    assert normalise_number(number, region) == expected


@pytest.mark.parametrize("number", ["", "abc", "+", "+12", "+4917012345678901234567", "12#4"])
def test_garbage_numbers_are_refused(number: str) -> None:
    with pytest.raises(RequestError) as caught:
        normalise_number(number, "DE")
    assert caught.value.code == "invalid_number"


@pytest.mark.parametrize(
    ("obj", "code", "words"),
    [
        ([], "invalid_request", "JSON object"),
        ({"text": "x"}, "invalid_request", "'to'"),
        ({"to": "+491701234567"}, "invalid_request", "'text'"),
        ({"to": "+491701234567", "text": "x", "colour": 1}, "invalid_request", "'colour'"),
        ({"to": 491701234567, "text": "x"}, "invalid_request", "'to' must be"),
        ({"to": [], "text": "x"}, "invalid_request", "empty"),
        ({"to": ["+491701234567", 5], "text": "x"}, "invalid_request", "'to[1]'"),
        ({"to": "+491701234567", "text": 5}, "invalid_request", "'text' must be a string"),
        ({"to": "x", "text": "x"}, "invalid_number", "not a phone number"),
        ({"to": "+4917", "text": "x" * (MAX_TEXT_LENGTH + 1)}, "text_too_long", "longer"),
        ({"to": "+491701234567", "text": "x", "priority": "1"}, "invalid_request", "'priority'"),
        ({"to": "+491701234567", "text": "x", "priority": True}, "invalid_request", "'priority'"),
        ({"to": "+491701234567", "text": "x", "valid_for": 0}, "invalid_request", "'valid_for'"),
        ({"to": "+491701234567", "text": "x", "valid_for": 1.5}, "invalid_request", "'valid_for'"),
        ({"to": "+491701234567", "text": "x", "send_at": "soon"}, "invalid_request", "ISO 8601"),
        (
            {"to": "+491701234567", "text": "x", "send_at": "2026-11-24T18:00"},
            "invalid_request",
            "zone",
        ),
        (
            {"to": "+491701234567", "text": "x", "send_at": "0001-01-01T00:00+01:00"},
            "invalid_request",
            "range",
        ),
        ({"to": "+491701234567", "text": "x", "report": "yes"}, "invalid_request", "'report'"),
        (
            {"to": "+491701234567", "text": "x", "encoding": "ascii"},
            "invalid_request",
            "'encoding'",
        ),
        ({"to": "+491701234567", "text": "x", "id": ""}, "invalid_request", "'id'"),
        ({"to": "+491701234567", "text": "x", "id": "a\nb"}, "invalid_request", "'id'"),
        ({"to": "+491701234567", "text": "x", "modem": "sim9"}, "unknown_modem", "sim9"),
        ({"to": "+491701234567", "text": "x", "reply_to": "a/#"}, "invalid_request", "wildcard"),
    ],
)
def test_bad_requests_are_refused_with_a_code(obj: object, code: str, words: str) -> None:
    with pytest.raises(RequestError) as caught:
        SendRequest.from_json(obj, default_region="DE", known_modems={"sim1", "otp"})
    assert caught.value.code == code
    assert words in caught.value.message


def test_request_ids() -> None:
    single = SendRequest(to=("+49",), text="x")
    assert single.with_id().id is not None
    assert single.with_id("mine").message_ids() == ("mine",)
    with pytest.raises(LocalProtocolError):
        single.message_ids()
    with pytest.raises(LocalProtocolError):
        SendRequest(to=("+49", "+43"), text="x")


def test_transition_table() -> None:
    assert set(TRANSITIONS) == set(MessageState)
    assert [str(s) for s in MessageState] == [
        "queued", "sending", "sent", "delivered", "failed", "expired", "cancelled", "retrying"
    ]  # fmt: skip
    check_transition(MessageState.QUEUED, MessageState.SENDING)
    check_transition(MessageState.SENT, MessageState.DELIVERED)
    for old, new in [
        (MessageState.DELIVERED, MessageState.QUEUED),
        (MessageState.QUEUED, MessageState.SENT),
        (MessageState.SENT, MessageState.SENDING),
    ]:
        with pytest.raises(LocalProtocolError):
            check_transition(old, new)


def test_state_event_payloads() -> None:
    sent = StateEvent(
        id="m", state=MessageState.SENT, modem="sim1", parts=2, at=AT, references=(4, 5)
    )
    assert sent.to_json() == {
        "id": "m",
        "state": "sent",
        "modem": "sim1",
        "parts": 2,
        "at": "2026-11-24T17:00:00+00:00",
        "references": [4, 5],
    }
    retrying = StateEvent(
        id="m",
        state=MessageState.RETRYING,
        modem="sim1",
        parts=1,
        at=AT,
        error="CMS 42",
        next_attempt_at=AT + timedelta(seconds=30),
        earlier_outcome_unknown=True,
    )
    payload = retrying.to_json()
    assert payload["error"] == "CMS 42"
    assert payload["next_attempt_at"] == "2026-11-24T17:00:30+00:00"
    assert payload["earlier_outcome_unknown"] is True
    assert "references" not in payload


def test_incoming_payload_keeps_the_network_zone() -> None:
    zone = timezone(timedelta(hours=1))
    message = IncomingMessage(
        id="i",
        sender="+4917099",
        text="Hallo",
        data=None,
        modem="sim1",
        received_at=datetime(2026, 11, 24, 18, 0, tzinfo=zone),
        smsc=None,
        parts=1,
        encoding="gsm7",
    )
    payload = message.to_json()
    assert list(payload) == [
        "id", "from", "text", "modem", "received_at", "smsc", "parts", "encoding"
    ]  # fmt: skip
    assert payload["received_at"] == "2026-11-24T18:00:00+01:00"


@pytest.mark.parametrize(
    ("status", "delivered", "pending", "failed"),
    [(0x00, True, False, False), (0x20, False, True, False), (0x41, False, False, True),
     (0x62, False, False, True)],
)  # fmt: skip
def test_status_classes(status: int, delivered: bool, pending: bool, failed: bool) -> None:
    report = StatusReport(modem="sim1", reference=1, status=status)
    assert (report.delivered, report.pending, report.failed) == (delivered, pending, failed)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(sorted(REQUEST_KEYS))


@pytest.mark.parametrize("region", ["FR", "", "XX"])
def test_warm_up_loads_the_number_library_before_the_first_request(region: str) -> None:
    """The daemon's first request after a start must not wait for the library (17 ms here)."""
    code = (
        "import sys\n"
        "from gsmgw.validate import warm_up\n"
        "assert 'phonenumbers' not in sys.modules\n"
        f"warm_up({region!r})\n"
        "from phonenumbers import PhoneMetadata\n"
        "print(sorted(PhoneMetadata._region_metadata))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ({"FR": "FR", "": "US", "XX": "US"}[region]) in done.stdout


@given(st.text(max_size=30))
def test_any_number_is_normalised_or_refused(number: str) -> None:
    result, code = "", "invalid_number"
    try:
        result = normalise_number(number, "DE")
    except RequestError as exc:
        code = exc.code
    assert code == "invalid_number"
    assert not result or result.lstrip("+").isdigit()


@given(st.dictionaries(FIELDS, JSON, max_size=12) | JSON)
def test_any_json_gives_a_request_or_a_request_error(obj: object) -> None:
    request, code = None, "invalid_request"
    try:
        request = SendRequest.from_json(obj, default_region="DE")
    except RequestError as exc:
        code = exc.code
    assert code in {"invalid_request", "invalid_number", "text_too_long"}
    assert request is None or len(request.to) >= 1
