"""The database's disk fills up for a while (a tiny tmpfs), then space comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import signal
import subprocess

import aiomqtt
import pytest

from gsmgw.cli.control import request
from gsmgw.demo import Mosquitto
from gsmgw.errors import ControlError
from gsmgw.models import IncomingMessage, MessageState
from gsmgw.sim import PtyModem
from gsmgw.store import StoreReader
from tests.run_daemon import answering, start_run

from .conftest import (
    SimModemFactory,
    eventually,
    modem_block,
    outbox,
    write_config,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for this test (needs root), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; return it."""
    filler = directory / "filler"
    with filler.open("wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


async def send(control: Path, message_id: str) -> bool:
    """Ask the daemon to queue one message; return whether it was accepted."""
    try:
        result = await request(
            str(control), "send", request={"to": "+491701112223", "text": "x", "id": message_id}
        )
    except (ControlError, OSError):
        return False
    return bool(result) and "error" not in result[0]


def inbox(db: Path) -> list[IncomingMessage]:
    """Return the inbound SMS the store holds, read as the CLI reads them."""
    with StoreReader(db) as reader:
        return list(reader.list_inbox(limit=100))


def unsent(db: Path, ids: list[str]) -> dict[str, str]:
    """Return the ids among ``ids`` that are not ``sent``, with their state."""
    found = outbox(db)
    return {
        i: str(found[i].state) if i in found else "missing"
        for i in ids
        if i not in found or found[i].state is not MessageState.SENT
    }


@pytest.mark.parametrize(
    "restart",
    [True, False],
)
async def test_disk_full_for_a_while_loses_no_committed_message(
    tmp_path: Path, make_sim_modem: SimModemFactory, small_disk: Path, restart: bool
) -> None:
    """SQLite hits ENOSPC mid-queue for a while: the daemon survives or exits non-zero.

    Proves: every message committed before or during the outage ends ``sent`` once space
    is back (``restart``: after the operator's restart; otherwise by the running daemon);
    it never exits 0 on a full disk; every inbound SMS is stored or still on the SIM.
    """
    pty = await make_sim_modem(name="fd", link=tmp_path / "fd.tty", send_delay=0.3)
    config = write_config(
        tmp_path, modem_block("fd", str(tmp_path / "fd.tty")), db=str(small_disk / "gsmgw.db")
    )
    control, db = tmp_path / "c.sock", small_disk / "gsmgw.db"
    daemon = await start_run(config)
    try:
        await answering(control)
        accepted = [f"d{n}" for n in range(10) if await send(control, f"d{n}")]
        assert len(accepted) == 10
        filler = fill(small_disk)
        accepted += [f"e{n}" for n in range(10) if await send(control, f"e{n}")]
        for n in range(3):
            pty.sim.inject_sms("+491705550002", f"during full disk {n}")
        await asyncio.sleep(2.0)
        exited = daemon.returncode
        filler.unlink()
        if exited is not None:
            assert exited != 0, "the daemon said success on a full disk"
        if restart:
            if exited is None:
                daemon.send_signal(signal.SIGTERM)
                await asyncio.wait_for(daemon.wait(), 30)
            daemon = await start_run(config)
            await answering(control)
        try:
            await eventually(lambda: not unsent(db, accepted), limit=10 if not restart else 40)
        except TimeoutError:
            raise AssertionError(
                f"not sent after space came back (exited={exited}): {unsent(db, accepted)}"
            ) from None

        def inbound() -> int:
            with StoreReader(db) as reader:
                return len(reader.list_inbox(limit=100))

        await eventually(lambda: inbound() + len(pty.sim.storage(2)) >= 3)
        print(f"disk full: accepted={len(accepted)} exited={exited} inbound={inbound()}")
    finally:
        if daemon.returncode is None:
            daemon.send_signal(signal.SIGTERM)
            await asyncio.wait_for(daemon.wait(), 30)


PREFIX = "fdm"
REPLIES = "fdm-client/replies"


@dataclass
class Watcher:
    """What the gateway publishes that this test cares about, over broker restarts.

    Its persistent session keeps what is published while the broker is down or it is away.
    """

    broker: Mosquitto
    replies: dict[str, dict[str, object]] = field(default_factory=dict)
    states: dict[str, set[str]] = field(default_factory=dict)
    inbox: set[str] = field(default_factory=set)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def watch(self) -> None:
        while True:
            client = aiomqtt.Client(
                "127.0.0.1", self.broker.port, identifier="fdm-watch", clean_session=False
            )
            try:
                async with client:
                    for topic in (REPLIES, f"{PREFIX}/f/sms/state", f"{PREFIX}/f/inbox"):
                        await client.subscribe(topic, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        self.received(message)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def received(self, message: aiomqtt.Message) -> None:
        assert isinstance(message.payload, bytes)
        payload = json.loads(message.payload)
        if message.topic.matches(REPLIES):
            self.replies[payload["id"]] = payload
        elif message.topic.matches(f"{PREFIX}/f/inbox"):
            self.inbox.add(payload["text"])
        else:
            self.states.setdefault(payload["id"], set()).add(payload["state"])

    def published(self, ids: list[str], state: str = "sent") -> bool:
        return all(state in self.states.get(i, ()) for i in ids)


async def request_over_mqtt(broker: Mosquitto, ids: list[str]) -> None:
    """Publish one send request per id (QoS 1), each asking for a reply on ``REPLIES``."""
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="fdm-pub") as client:
        for message_id in ids:
            body = {"to": "+491701112224", "text": "x", "id": message_id, "reply_to": REPLIES}
            await client.publish(f"{PREFIX}/send", json.dumps(body), qos=1)


async def start_mqtt_daemon(
    tmp_path: Path,
    make_sim_modem: SimModemFactory,
    disk: Path,
    broker: Mosquitto,
) -> tuple[PtyModem, asyncio.subprocess.Process, Path]:
    """Start ``gsmgw run`` with MQTT on and its database on ``disk``; wait until it is online."""
    pty = await make_sim_modem(name="fdm", link=tmp_path / "fdm.tty", send_delay=0.05)
    mqtt = f"url = '{broker.url}'\nprefix = '{PREFIX}'\ndiscovery = false\nclient_id = 'fdm-d'"
    config = write_config(
        tmp_path,
        modem_block("fdm", str(tmp_path / "fdm.tty")),
        mqtt=mqtt,
        db=str(disk / "gsmgw.db"),
    )
    daemon = await start_run(config)
    await answering(tmp_path / "c.sock")
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="fdm-avail") as client:
        await client.subscribe(f"{PREFIX}/f/availability", qos=1)
        async with asyncio.timeout(30):
            async for message in client.messages:
                if message.payload == b"online":
                    break
    return pty, daemon, disk / "gsmgw.db"


async def stop_daemon(daemon: asyncio.subprocess.Process) -> None:
    if daemon.returncode is None:
        daemon.send_signal(signal.SIGTERM)
        await asyncio.wait_for(daemon.wait(), 30)


@pytest.mark.timeout(90)
async def test_disk_full_with_mqtt_on_refuses_requests_and_catches_up(
    tmp_path: Path,
    make_sim_modem: SimModemFactory,
    small_disk: Path,
    private_mosquitto: Mosquitto,
) -> None:
    """The database's disk fills up with MQTT on, while requests and an SMS come in.

    The broker is away while three messages are sent, so their state events wait in the
    store's publication queue; the disk fills; the broker returns, and the bridge publishes
    them but cannot write their acknowledgements. Proves (issue 14, README "A full disk"): the
    daemon stays up; requests over MQTT are refused with ``internal_error`` and none of them
    is queued; the SMS that arrived meanwhile is still on the SIM (or stored: never lost);
    once space is back, later requests are accepted, sent, and their state events published.
    """
    broker = private_mosquitto
    control = tmp_path / "c.sock"
    watcher = Watcher(broker)
    watching = asyncio.create_task(watcher.watch())
    await watcher.subscribed.wait()
    pty, daemon, db = await start_mqtt_daemon(tmp_path, make_sim_modem, small_disk, broker)
    try:
        broker.stop()
        waiting = [f"w{n}" for n in range(3)]
        assert all([await send(control, i) for i in waiting])
        await eventually(lambda: not unsent(db, waiting))

        filler = fill(small_disk)
        broker.start()
        pty.sim.inject_sms("+491705550003", "during the full disk")
        await eventually(lambda: watcher.published(waiting))
        await asyncio.sleep(1.0)  # their acknowledgements meet the full disk
        assert daemon.returncode is None, "the daemon stopped on a full disk with MQTT on"

        during = [f"f{n}" for n in range(3)]
        await request_over_mqtt(broker, during)
        await eventually(lambda: all(i in watcher.replies for i in during), limit=15)
        errors = {i: watcher.replies[i].get("error") for i in during}
        assert all(
            isinstance(e, dict) and e["code"] == "internal_error" for e in errors.values()
        ), errors
        assert daemon.returncode is None, "the daemon stopped on a full disk with MQTT on"
        stored = {m.text for m in inbox(db)}
        on_sim = len(pty.sim.storage(2))
        assert "during the full disk" in stored or on_sim == 1, (stored, on_sim)

        filler.unlink()
        after = [f"a{n}" for n in range(3)]
        await request_over_mqtt(broker, after)
        try:
            await eventually(lambda: watcher.published(after), limit=30)
        except TimeoutError:
            raise AssertionError(
                f"not sent and published after space came back: "
                f"replies {[watcher.replies.get(i) for i in after]}, "
                f"states {[watcher.states.get(i) for i in after]}, "
                f"outbox {unsent(db, after)}"
            ) from None
        assert all(watcher.replies[i].get("state") == "queued" for i in after)
        assert not set(outbox(db)) & set(during), "a refused request was queued"
        assert daemon.returncode is None
    finally:
        watching.cancel()
        await stop_daemon(daemon)


@pytest.mark.timeout(60)
async def test_disk_full_with_mqtt_on_sms_is_stored_and_published_once_space_returns(
    tmp_path: Path,
    make_sim_modem: SimModemFactory,
    small_disk: Path,
    private_mosquitto: Mosquitto,
) -> None:
    """An SMS that arrives while the disk is full stays on the SIM, and then catches up.

    Proves (SPEC.md "Guarantees", README "A full disk"; issue 14 item 7): it is not deleted
    from the SIM before it is stored; once space is back it is stored and published without
    waiting for the periodic sweep; and the modem is never restarted for the store's sake.
    """
    broker = private_mosquitto
    watcher = Watcher(broker)
    watching = asyncio.create_task(watcher.watch())
    await watcher.subscribed.wait()
    pty, daemon, db = await start_mqtt_daemon(tmp_path, make_sim_modem, small_disk, broker)
    try:
        filler = fill(small_disk)
        pty.sim.inject_sms("+491705550004", "kept while the disk is full")
        await asyncio.sleep(1.5)
        assert daemon.returncode is None, "the daemon stopped on a full disk with MQTT on"
        assert len(pty.sim.storage(2)) == 1, "deleted from the SIM before it was stored"
        filler.unlink()
        try:
            await eventually(lambda: "kept while the disk is full" in watcher.inbox, limit=15)
        except TimeoutError:
            raise AssertionError(
                f"not published 15 s after space came back: stored "
                f"{[m.text for m in inbox(db)]}, on the SIM {len(pty.sim.storage(2))}"
            ) from None
        assert not pty.sim.storage(2), "stored, but not deleted from the SIM"
        log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
        assert "modem task failed" not in log, "the full disk restarted the modem"
    finally:
        watching.cancel()
        await stop_daemon(daemon)
