"""Pure parts of the bridge: rate limiting, strict JSON, topics."""

from __future__ import annotations

import pytest

from gsmgw.bridges.guards import MAX_BUCKETS, RateLimiter
from gsmgw.bridges.mqtt._requests import parse_json
from gsmgw.core import Topics, valid_publish_topic
from gsmgw.errors import RequestError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # every client topic has its own bucket
    clock.now += 0.5  # one token back at 2/s
    assert limiter.allow("a")
    assert not limiter.allow("a")
    clock.now += 100
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]


def test_bucket_count_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    for n in range(MAX_BUCKETS * 3):
        limiter.allow(f"client/{n}")
    assert len(limiter._buckets) <= MAX_BUCKETS


def test_limiter_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=0, burst=1)


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff",
        b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8 is not UTF-8
        b"{",
        b"NaN",
        b"[Infinity]",
        b'{"priority": 1e999}',
        b"1" * 5000,
        b"[" * 100_000,
        b'"\\udc00"',
        b'{"\\ud800": 1}',
        b"",
    ],
)
def test_parse_json_refuses_with_invalid_json(payload: bytes) -> None:
    with pytest.raises(RequestError) as info:
        parse_json(payload)
    assert info.value.code == "invalid_json"


def test_parse_json_accepts_what_json_allows() -> None:
    assert parse_json('{"text": "\\ud83d\\ude00 ünï"}'.encode()) == {"text": "😀 ünï"}
    assert parse_json(b'{"n": [1, -2.5, 1e300]}') == {"n": [1, -2.5, 1e300]}


def test_topics_of_spec() -> None:
    topics = Topics("gsmgw", "pi-shed")
    assert topics.subscriptions(shared=False) == (
        "gsmgw/send",
        "gsmgw/pi-shed/send",
        "gsmgw/pi-shed/ussd",
    )
    assert topics.subscriptions(shared=True)[0] == "$share/gsmgw/gsmgw/send"
    assert Topics("site/sms", "n").shared_send == "$share/site_sms/site/sms/send"
    assert topics.state == "gsmgw/pi-shed/sms/state"
    assert topics.inbox == "gsmgw/pi-shed/inbox"
    assert topics.modem("sim1") == "gsmgw/pi-shed/modem/sim1"
    assert topics.availability == "gsmgw/pi-shed/availability"
    assert topics.errors == "gsmgw/pi-shed/errors"


@pytest.mark.parametrize(("prefix", "node"), [("", "n"), ("a/+", "n"), ("$SYS", "n"), ("g", "a/b")])
def test_bad_prefix_or_node(prefix: str, node: str) -> None:
    with pytest.raises(ValueError, match="MQTT topic"):
        Topics(prefix, node)


@pytest.mark.parametrize(
    ("topic", "ok"),
    [("a/b", True), ("", False), ("a/#", False), ("a/+/b", False), ("$SYS/x", False),
     ("a\x00b", False), ("x" * 70_000, False)],
)  # fmt: skip
def test_valid_publish_topic(topic: str, ok: bool) -> None:
    assert valid_publish_topic(topic) is ok
