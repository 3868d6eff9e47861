"""The broker in the loop: broker outages during traffic, and ``kill -9`` under MQTT load."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import json
from pathlib import Path
import random
import signal
import time

import aiomqtt
import pytest

from gsmgw.demo import Mosquitto
from tests.run_daemon import answering, start_run

from .conftest import (
    FINAL,
    SLOW,
    SimModemFactory,
    StartDaemon,
    check_accounting,
    eventually,
    modem_block,
    outbox,
    requests,
    scaled,
    write_config,
)

PREFIX = "fq"


def mqtt_settings(broker: Mosquitto, client_id: str) -> str:
    return (
        f"url = '{broker.url}'\nprefix = '{PREFIX}'\ndiscovery = false\nclient_id = '{client_id}'"
    )


def observer(broker: Mosquitto) -> aiomqtt.Client:
    """A consumer with a persistent session: what is published while it is away waits for it."""
    return aiomqtt.Client(
        "127.0.0.1", broker.port, identifier="fault-observer", clean_session=False
    )


@dataclass
class Seen:
    """What the observer received over all rounds: its session delivers each message once."""

    sent: set[str] = field(default_factory=set)
    inbox: set[str] = field(default_factory=set)


async def collect(
    broker: Mosquitto, seen: Seen, want_sent: set[str], want_inbox: set[str]
) -> float:
    """Receive until every id has a ``sent`` state and every inbox text came; return seconds."""
    begun = time.monotonic()
    async with observer(broker) as client:
        await client.subscribe(f"{PREFIX}/f/sms/state", qos=1)
        await client.subscribe(f"{PREFIX}/f/inbox", qos=1)
        try:
            async with asyncio.timeout(45):
                async for message in client.messages:
                    payload = json.loads(bytes(message.payload))
                    if message.topic.matches(f"{PREFIX}/f/inbox"):
                        seen.inbox.add(payload["text"])
                    elif payload["state"] == "sent":
                        seen.sent.add(payload["id"])
                    if want_sent <= seen.sent and want_inbox <= seen.inbox:
                        return time.monotonic() - begun
        except TimeoutError:
            pass
    raise AssertionError(
        f"never arrived: states {sorted(want_sent - seen.sent)}, "
        f"inbox {sorted(want_inbox - seen.inbox)}"
    )


async def online(broker: Mosquitto) -> None:
    """Wait until the daemon's bridge says ``online`` (it has subscribed by then)."""
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="avail") as client:
        await client.subscribe(f"{PREFIX}/f/availability", qos=1)
        async with asyncio.timeout(30):
            async for message in client.messages:
                if bytes(message.payload) == b"online":
                    return


@pytest.mark.parametrize("outages", [2, pytest.param(scaled(8), marks=SLOW)])
async def test_broker_outage_publications_all_arrive_after_it_returns(
    tmp_path: Path,
    make_sim_modem: SimModemFactory,
    start_daemon: StartDaemon,
    private_mosquitto: Mosquitto,
    outages: int,
) -> None:
    """Stop the broker during inbound and outbound traffic, then start it again.

    Proves: every outbound state event and every inbound SMS that happened while the broker
    was away reaches a persistent subscriber after it returns (SPEC.md Guarantees).
    """
    broker = private_mosquitto
    async with observer(broker) as client:  # create the observer's session, then go away
        await client.subscribe(f"{PREFIX}/f/sms/state", qos=1)
        await client.subscribe(f"{PREFIX}/f/inbox", qos=1)
    pty = await make_sim_modem(name="fm", link=tmp_path / "fm.tty", send_delay=0.02)
    config = write_config(
        tmp_path, modem_block("fm", str(tmp_path / "fm.tty")), mqtt=mqtt_settings(broker, "fm-d")
    )
    running = await start_daemon(config)
    await online(broker)

    want_sent: set[str] = set()
    want_inbox: set[str] = set()
    # Cumulative: a round's collect also counts what came late from an earlier round.
    seen = Seen()
    worst = 0.0
    for round_no in range(outages):
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="pub") as pub:
            for n in range(10):
                body = {"to": f"+49170{round_no:03d}{n:04d}", "text": "x", "id": f"b{round_no}-{n}"}
                await pub.publish(f"{PREFIX}/send", json.dumps(body), qos=1)
                want_sent.add(body["id"])
        broker.stop()
        batch = requests(f"o{round_no}-", 10)
        await running.submit(batch)
        want_sent |= {one.id or "" for one in batch}
        for n in range(5):
            text = f"while away {round_no}-{n}"
            pty.sim.inject_sms("+491705550001", text)
            want_inbox.add(text)
        await asyncio.sleep(1.0)
        broker.start()
        worst = max(worst, await collect(broker, seen, want_sent, want_inbox))
    print(
        f"broker: outages={outages} sent={len(want_sent)} inbox={len(want_inbox)} "
        f"worst catch-up {worst:.2f}s"
    )
    assert await running.stop() == 0


@pytest.mark.parametrize(
    ("messages", "kills"), [(60, 2), pytest.param(scaled(300), scaled(12), marks=SLOW)]
)
async def test_sigkill_under_mqtt_load_multipart(
    tmp_path: Path,
    make_sim_modem: SimModemFactory,
    private_mosquitto: Mosquitto,
    messages: int,
    kills: int,
) -> None:
    """``kill -9`` of ``gsmgw run`` while requests (a third multipart) arrive over MQTT.

    Proves: every request the broker acknowledged is sent (the daemon's session is
    persistent and a request is committed before its PUBACK); every part reached the network;
    a part sent twice is only one flagged as of unknown outcome, at most one per modem per kill.
    tests/daemon/test_crash.py covers the store-fed case; this adds the broker and multipart.
    """
    rng = random.Random(messages + kills)
    sims = [
        await make_sim_modem(name=n, link=tmp_path / f"{n}.tty", send_delay=0.05)
        for n in ("k1", "k2")
    ]
    config = write_config(
        tmp_path,
        "".join(modem_block(s.name, str(tmp_path / f"{s.name}.tty")) for s in sims),
        mqtt=mqtt_settings(private_mosquitto, "fk-d"),
    )
    long = "This text needs three parts to show that a resend starts at the missing part. " * 3
    ids = {f"k{n}" for n in range(messages)}

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", private_mosquitto.port, identifier="kpub") as pub:
            for n in range(messages):
                text = f"k{n} {long}" if n % 3 == 0 else f"k{n}"
                body = {"to": f"+4916{n:08d}", "text": text, "id": f"k{n}"}
                await pub.publish(f"{PREFIX}/send", json.dumps(body), qos=1)
                await asyncio.sleep(0.02)

    daemon = await start_run(config)
    await answering(tmp_path / "c.sock")
    await online(private_mosquitto)  # from here on the broker keeps requests for the daemon
    publisher = asyncio.create_task(publish())
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        daemon.send_signal(signal.SIGKILL)
        assert await daemon.wait() == -signal.SIGKILL
        daemon = await start_run(config)
    await publisher
    db = tmp_path / "gsmgw.db"
    try:
        await answering(tmp_path / "c.sock")
        await eventually(
            lambda: (
                all(m.state in FINAL for m in outbox(db).values()) and len(outbox(db)) >= messages
            ),
            limit=120,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0
    duplicates = check_accounting(db, sims, ids)
    print(f"sigkill+mqtt: messages={messages} kills={kills} duplicated parts={duplicates}")
    assert duplicates <= kills * len(sims)
