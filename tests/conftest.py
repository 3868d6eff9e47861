"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gsmgw.mosquitto import Mosquitto

if TYPE_CHECKING:
    from gsmgw.store import Store

#: The shared regression corpus (real PDUs and AT transcripts); tests/data holds a copy.
CORPUS = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A real Mosquitto broker on a free loopback port, for the whole session."""
    broker = Mosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


@pytest.fixture
def private_mosquitto() -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that stop and restart it."""
    broker = Mosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


# --- Durable store (helper "store") -------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """Return an open ``Store`` on a real SQLite file in ``tmp_path``, with MQTT topics set."""
    from gsmgw.store import Store

    opened = Store(
        tmp_path / "gsmgw.db", state_topic="gsmgw/t/sms/state", inbox_topic="gsmgw/t/inbox"
    )
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
