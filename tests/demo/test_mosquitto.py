"""The broker fixture itself: it starts, accepts MQTT, and restarts with its messages kept."""

from __future__ import annotations

import subprocess

from gsmgw.demo import Mosquitto


def _pub(broker: Mosquitto, topic: str, payload: str, *extra: str) -> None:
    subprocess.run(
        ["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-m", payload, "-q", "1", *extra],
        check=True,
        timeout=10,
    )


def _sub_one(broker: Mosquitto, topic: str, *extra: str) -> str:
    result = subprocess.run(
        ["mosquitto_sub", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "5", *extra],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return result.stdout.strip()


def test_retained_message_round_trip(mosquitto: Mosquitto) -> None:
    _pub(mosquitto, "t/retained", "hello", "-r")
    assert _sub_one(mosquitto, "t/retained") == "hello"


def test_restart_keeps_retained_messages(private_mosquitto: Mosquitto) -> None:
    port = private_mosquitto.port
    _pub(private_mosquitto, "t/keep", "kept", "-r")
    private_mosquitto.restart()
    assert private_mosquitto.port == port
    assert private_mosquitto.running
    assert _sub_one(private_mosquitto, "t/keep") == "kept"
