"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gsmgw.mosquitto import Mosquitto

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
