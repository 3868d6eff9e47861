"""The floor under any durable MQTT-to-modem latency on this machine (issue 8's idle target).

    ./dev bench floor            # the table
    ./dev bench floor --json     # one JSON object
    ./dev bench floor --quick    # fewer samples

An SMS gateway that keeps SPEC.md's promises takes a request off the broker and commits it with an
fsync before the PDU may leave (a crash after the PDU left but before the commit would make the
broker redeliver it, and the part would go out twice, unflagged). So no gateway, in any language,
gets from PUBLISH to ``AT+CMGS`` faster than one broker hop plus one fsync. Figures:

- hop_raw_ms: PUBLISH (QoS 0) from a blocking raw-socket client to a blocking raw-socket subscriber
  in another process, through a private Mosquitto: the broker and the kernel, nearly no client;
- hop_aiomqtt_ms: the same with aiomqtt on both sides (QoS 1), as gsmgw and ``bench/mqtt.py`` use;
- fsync_ms: a 4 KiB append and ``fsync`` in the temporary folder (the benchmarks' stores are
  there too);
- floor_ms_p50: hop_raw_ms_p50 + fsync_ms_p50, the least any durable gateway could show here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import aiomqtt

from gsmgw.demo import Mosquitto

TOPIC = "floor/t"
#: Pause between samples, so that every sample finds both sides idle.
GAP = 0.005
WARM_UP = 20


def _packet(kind: int, body: bytes) -> bytes:
    """Return an MQTT packet: fixed header (remaining length as a varint), then ``body``."""
    length, header = len(body), bytearray([kind])
    while True:
        byte, length = length % 128, length // 128
        header.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(header) + body


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def raw_connect(port: int, client_id: str) -> socket.socket:
    """Connect an MQTT 3.1.1 client with a clean session; return its socket after CONNACK."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _string(client_id)
    sock.sendall(_packet(0x10, body))
    if sock.recv(4)[:1] != b"\x20":
        raise OSError("no CONNACK")
    return sock


def raw_subscriber(port: int, count: int) -> None:
    """Child process: print the latency of ``count`` PUBLISHes (payload: the sender's clock)."""
    sock = raw_connect(port, "floor-raw-sub")
    sock.sendall(_packet(0x82, struct.pack("!H", 1) + _string(TOPIC) + b"\x00"))
    stream = sock.makefile("rb")
    stream.read(5)  # SUBACK
    print("ready", flush=True)
    latencies: list[float] = []
    while len(latencies) < count:
        kind = stream.read(1)[0]
        length, shift = 0, 0
        while True:
            byte = stream.read(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        body = stream.read(length)
        if kind >> 4 == 3:
            topic_length = struct.unpack("!H", body[:2])[0]
            sent = float(body[2 + topic_length :])
            latencies.append(time.monotonic() - sent)
    print(json.dumps(latencies), flush=True)


def hop_raw(port: int, samples: int) -> list[float]:
    """Milliseconds from a raw PUBLISH to its arrival at a raw subscriber in another process."""
    child = _child("raw", port, samples + WARM_UP)
    sock = raw_connect(port, "floor-raw-pub")
    try:
        for _ in range(samples + WARM_UP):
            time.sleep(GAP)
            payload = repr(time.monotonic()).encode()
            sock.sendall(_packet(0x30, _string(TOPIC) + payload))
        return _collect(child)
    finally:
        sock.close()


async def _aiomqtt_subscriber(port: int, count: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="floor-aio-sub") as client:
        await client.subscribe(TOPIC, qos=1)
        print("ready", flush=True)
        latencies: list[float] = []
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            latencies.append(time.monotonic() - float(message.payload))
            if len(latencies) == count:
                break
    print(json.dumps(latencies), flush=True)


async def _aiomqtt_publish(port: int, count: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="floor-aio-pub") as client:
        for _ in range(count):
            await asyncio.sleep(GAP)
            await client.publish(TOPIC, repr(time.monotonic()).encode(), qos=1)


def hop_aiomqtt(port: int, samples: int) -> list[float]:
    """Milliseconds from an aiomqtt PUBLISH (QoS 1) to its arrival at an aiomqtt subscriber."""
    child = _child("aiomqtt", port, samples + WARM_UP)
    asyncio.run(_aiomqtt_publish(port, samples + WARM_UP))
    return _collect(child)


def _child(kind: str, port: int, count: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--subscriber", kind, str(port), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        raise RuntimeError(f"the {kind} subscriber did not start")
    return child


def _collect(child: subprocess.Popen[str]) -> list[float]:
    output, _ = child.communicate(timeout=60)
    return [seconds * 1000 for seconds in json.loads(output)[WARM_UP:]]


def fsync_times(samples: int) -> list[float]:
    """Milliseconds of ``fsync`` after a 4 KiB append, in the temporary folder."""
    with tempfile.TemporaryDirectory(prefix="gsmgw-floor-") as folder:
        fd = os.open(Path(folder) / "wal", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            times = []
            for _ in range(samples + WARM_UP):
                os.write(fd, b"x" * 4096)
                started = time.perf_counter()
                os.fsync(fd)
                times.append((time.perf_counter() - started) * 1000)
            return times[WARM_UP:]
        finally:
            os.close(fd)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]  # as bench/mqtt.py and bench/dispatch.py


def main(quick: bool) -> dict[str, float]:
    """Measure and return the figures (see the module docstring)."""
    samples = 100 if quick else 500
    broker = Mosquitto(persistence=False)
    broker.start()
    try:
        series = {
            "hop_raw_ms": hop_raw(broker.port, samples),
            "hop_aiomqtt_ms": hop_aiomqtt(broker.port, samples),
            "fsync_ms": fsync_times(samples),
        }
    finally:
        broker.cleanup()
    figures: dict[str, float] = {}
    for name, values in series.items():
        figures[f"{name}_p50"] = round(statistics.median(values), 3)
        figures[f"{name}_p99"] = round(_p99(values), 3)
    figures["floor_ms_p50"] = round(figures["hop_raw_ms_p50"] + figures["fsync_ms_p50"], 3)
    figures["samples"] = samples
    return figures


def cli() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--subscriber":
        kind, port, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        if kind == "raw":
            raw_subscriber(port, count)
        else:
            asyncio.run(_aiomqtt_subscriber(port, count))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 samples instead of 500")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = main(args.quick)
    if args.json:
        print(json.dumps(figures))
        return
    labels = {
        "hop_raw_ms": "broker hop, raw sockets (ms)",
        "hop_aiomqtt_ms": "broker hop, aiomqtt both sides (ms)",
        "fsync_ms": "fsync of a 4 KiB append (ms)",
    }
    print(f"{'':<40} {'median':>8} {'p99':>8}")
    for key, label in labels.items():
        print(f"{label:<40} {figures[key + '_p50']:>8} {figures[key + '_p99']:>8}")
    print(f"{'floor: raw hop + one fsync (ms)':<40} {figures['floor_ms_p50']:>8}")


if __name__ == "__main__":
    cli()
