"""``bench/floor.py``: its raw MQTT packets, and one short measurement against a real broker."""

from __future__ import annotations

import pytest

from bench.floor import _packet, fsync_times, hop_raw
from gsmgw.demo import Mosquitto


@pytest.mark.parametrize(
    ("length", "header"),
    [(0, b"\x30\x00"), (127, b"\x30\x7f"), (128, b"\x30\x80\x01"), (16_384, b"\x30\x80\x80\x01")],
)
def test_remaining_length_is_a_varint(length: int, header: bytes) -> None:
    """MQTT 3.1.1 §2.2.3: seven bits per byte, least significant first."""
    packet = _packet(0x30, b"x" * length)
    assert packet[: len(header)] == header
    assert len(packet) == len(header) + length


def test_the_raw_hop_and_fsync_are_measured(mosquitto: Mosquitto) -> None:
    hops = hop_raw(mosquitto.port, 5)
    assert len(hops) == 5
    assert all(0 < hop < 1000 for hop in hops)
    syncs = fsync_times(5)
    assert len(syncs) == 5
    assert all(sync >= 0 for sync in syncs)
