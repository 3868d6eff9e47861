"""Fixtures of the AT codec tests: feeding bytes through the codec as the driver does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import pytest

from gsmgw.at.codec import AtCodec
from gsmgw.at.events import NEED_DATA, Event, FinalResult


def feed(
    data: bytes | Iterable[bytes], commands: Sequence[str] = (), *, eof: bool = True
) -> list[Event]:
    """Run chunks through a codec, sending the next command after each final result."""
    codec = AtCodec()
    pending = list(commands)
    if pending:
        codec.send(pending.pop(0))
    events: list[Event] = []

    def drain() -> None:
        while (event := codec.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, FinalResult) and pending:
                codec.send(pending.pop(0))

    for chunk in [data] if isinstance(data, bytes) else data:
        codec.receive_data(chunk)
        drain()
    if eof:
        codec.receive_data(b"")
        drain()
    return events


class Feed(Protocol):
    def __call__(
        self, data: bytes | Iterable[bytes], commands: Sequence[str] = (), *, eof: bool = True
    ) -> list[Event]: ...


@pytest.fixture(scope="session")
def feed_codec() -> Feed:
    """The ``feed`` helper, as a fixture (session scoped, so Hypothesis may use it)."""
    return feed
