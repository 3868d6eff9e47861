"""The daemon on simulated modems: control socket, signals, reload, readiness, failures."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket

import pytest

from gsmgw.cli.control import request
from gsmgw.daemon import _modems, install_signals
from gsmgw.errors import ControlError, StoreError
from gsmgw.models import MessageState
from gsmgw.modem import supervisor
from gsmgw.modem.driver import Modem
from gsmgw.modem.setup import refresh
from gsmgw.modem.supervisor import Timing
from gsmgw.store import StoreReader

from .conftest import StartDaemon, config_text, eventually, sim, sim_modem


def sent_texts(name: str) -> list[str]:
    return [m.submit.text or "" for m in sim(name).sim.sent]


def received(notify: socket.socket) -> list[bytes]:
    messages = []
    while True:
        try:
            messages.append(notify.recv(4096))
        except BlockingIOError:
            return messages


async def test_send_and_status_go_through_the_control_socket(
    start_daemon: StartDaemon, notify: socket.socket
) -> None:
    running = await start_daemon(config_text(sim_modem("d1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]

    result = await request(
        running.control, "send", request={"to": "+491701234567", "text": "via control", "id": "c1"}
    )
    assert result == [{"id": "c1", "state": "queued"}]
    await eventually(lambda: sent_texts("d1") == ["via control"])

    status = await request(running.control, "status")
    (modem,) = status["modems"]
    assert (modem["id"], modem["state"], modem["manufacturer"]) == ("d1", "ready", "gsmgw")
    assert status["node"] == "t"
    await eventually(lambda: running.daemon.dispatcher.senders["d1"].sent == 1)  # type: ignore[union-attr]
    status = await request(running.control, "status")
    assert status["queue"]["sent"] == 1
    assert status["modems"][0]["sent"] == 1

    with pytest.raises(ControlError) as refused:
        await request(
            running.control, "send", request={"to": "+491701234567", "text": "x", "modem": "nope"}
        )
    assert refused.value.code == "unknown_modem"

    assert await running.stop() == 0
    lines = b"\n".join(received(notify))
    assert b"READY=1" in lines
    assert b"STOPPING=1" in lines


async def test_sigterm_mid_send_loses_nothing(start_daemon: StartDaemon) -> None:
    text = config_text(sim_modem("t1"))
    running = await start_daemon(text)
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    sim("t1").sim.send_delay = 0.5
    uninstall = install_signals(running.daemon)
    try:
        for n in range(4):
            fields = {"to": "+491701234567", "text": f"m{n}", "id": f"m{n}"}
            await request(running.control, "send", request=fields)
        slot = running.daemon.dispatcher.senders["t1"]  # type: ignore[union-attr]
        await eventually(lambda: slot.busy_parts > 0)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(running.task, 20) == 0
    finally:
        uninstall()

    # The send in progress finished; nothing else was taken; nothing is lost.
    assert sent_texts("t1") == ["m0"]
    with StoreReader(running.daemon.config.gateway.database) as reader:
        states = {m.id: m.state for m in reader.list_outbox()}
    assert states == {
        "m0": MessageState.SENT,
        "m1": MessageState.QUEUED,
        "m2": MessageState.QUEUED,
        "m3": MessageState.QUEUED,
    }

    # A new daemon on the same database sends the rest, each once.
    again = await start_daemon(text)
    sim("t1").sim.send_delay = 0.0
    await eventually(lambda: sorted(sent_texts("t1")) == ["m0", "m1", "m2", "m3"])
    assert await again.stop() == 0


async def test_sighup_reloads_modems_and_limits(start_daemon: StartDaemon) -> None:
    running = await start_daemon(config_text(sim_modem("h1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    uninstall = install_signals(running.daemon)
    try:
        running.config_file.write_text(
            config_text(sim_modem("h1", "per_minute = 7") + sim_modem("h2")), encoding="utf-8"
        )
        os.kill(os.getpid(), signal.SIGHUP)
        dispatcher = running.daemon.dispatcher
        assert dispatcher is not None
        await eventually(lambda: "h2" in dispatcher.senders and dispatcher.senders["h2"].link)
        assert dispatcher.senders["h1"].config.per_minute == 7

        await request(
            running.control, "send", request={"to": "+491701234567", "text": "x", "modem": "h2"}
        )
        await eventually(lambda: sent_texts("h2") == ["x"])

        # A broken file is refused and the running config stays.
        running.config_file.write_text("[gateway]\nmax_parts = 0\n", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.sleep(0.2)
        assert "h2" in dispatcher.senders

        running.config_file.write_text(config_text(sim_modem("h1")), encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await eventually(lambda: "h2" not in dispatcher.senders)
    finally:
        uninstall()
    assert await running.stop() == 0


async def test_a_failing_modem_never_takes_the_others_down(
    start_daemon: StartDaemon, notify: socket.socket
) -> None:
    modems = sim_modem("ok1") + "[[modem]]\nid = 'gone'\nport = '/dev/gsmgw-test-missing'\n"
    running = await start_daemon(config_text(modems))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]

    await request(running.control, "send", request={"to": "+491701234567", "text": "still here"})
    await eventually(lambda: sent_texts("ok1") == ["still here"])
    status = await request(running.control, "status")
    states = {m["id"]: (m["state"], m["last_error"]) for m in status["modems"]}
    assert states["ok1"] == ("ready", None)
    assert states["gone"][0] == "failed"
    assert "gsmgw-test-missing" in states["gone"][1]
    await eventually(lambda: any(b"READY=1" in m for m in received(notify)))
    assert await running.stop() == 0


async def test_inbound_and_status_reports_through_the_daemon(start_daemon: StartDaemon) -> None:
    running = await start_daemon(config_text(sim_modem("r1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    sim("r1").sim.inject_sms("+491705555555", "STOP")

    await request(
        running.control,
        "send",
        request={"to": "+491701234567", "text": "report", "id": "rep", "report": True},
    )

    async def state_of(message_id: str) -> MessageState | None:
        message = await running.daemon.store.get_message(message_id)
        return None if message is None else message.state

    async with asyncio.timeout(20):
        while await state_of("rep") is not MessageState.DELIVERED:  # noqa: ASYNC110 - polls the db
            await asyncio.sleep(0.02)
    await eventually(lambda: running.daemon.gateway.receiver.received == 1)  # type: ignore[union-attr]
    assert await running.daemon.store.opt_out_contains("+491705555555")
    refused = await request(
        running.control,
        "send",
        request={"to": "+491705555555", "text": "Sale", "marketing": True},
    )
    assert refused[0]["error"]["code"] == "destination_blocked"
    assert await running.stop() == 0


async def test_cli_status_outbox_and_optout_against_a_running_daemon(
    start_daemon: StartDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.test_data_commands import cli

    running = await start_daemon(config_text(sim_modem("s1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    # Not registered (as +CREG would say): messages wait in the queue.
    running.daemon.dispatcher.set_registered("s1", False)  # type: ignore[union-attr]
    config = str(running.config_file)
    await request(running.control, "send", request={"to": "+491701234567", "text": "x", "id": "w"})

    assert await cli(["status", "-c", config, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["queue"]["queued"] == 1
    assert status["modems"][0]["id"] == "s1"
    assert await cli(["status", "-c", config]) == 0
    assert "s1" in capsys.readouterr().out

    # Writes go through the daemon, which wakes at once.
    assert await cli(["outbox", "cancel", "w", "-c", config]) == 0
    assert "w: cancelled" in capsys.readouterr().out
    assert await cli(["optout", "add", "+491709999999", "-c", config]) == 0
    assert await running.daemon.store.opt_out_contains("+491709999999")
    running.daemon.dispatcher.set_registered("s1", True)  # type: ignore[union-attr]
    assert await cli(["outbox", "retry", "w", "-c", config]) == 0
    await eventually(lambda: sent_texts("s1") == ["x"])
    assert await running.stop() == 0


async def test_send_through_the_daemon_from_the_cli(
    start_daemon: StartDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from gsmgw.cli.local import send_through_daemon

    running = await start_daemon(config_text(sim_modem("c1"), gateway="allow_prefixes = ['+49']"))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    args = argparse.Namespace(
        to="+491701234567", text="from the shell", config=str(running.config_file), json=True
    )

    assert await send_through_daemon(args) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["state"] == "queued"
    await eventually(lambda: sent_texts("c1") == ["from the shell"])

    from tests.cli.test_data_commands import cli

    argv = ["send", "--to", "+491701234567", "--text", "gsmgw send", "-c", args.config]
    assert await cli([*argv, "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["state"] == "queued"
    await eventually(lambda: sent_texts("c1") == ["from the shell", "gsmgw send"])

    args.to, args.json = "+12025550123", False
    assert await send_through_daemon(args) == 1
    assert "destination_blocked" in capsys.readouterr().err
    assert await running.stop() == 0


async def test_watchdog_pings_from_the_loop(
    start_daemon: StartDaemon, notify: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # systemd's WatchdogSec=0.1s: ping every 0.05 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    running = await start_daemon(config_text(sim_modem("w1")))
    seen: list[bytes] = []

    def pinged() -> bool:
        seen.extend(received(notify))
        return seen.count(b"WATCHDOG=1") >= 3

    await eventually(pinged)
    assert await running.stop() == 0


async def test_sigterm_under_load_leaves_nothing_in_flight(start_daemon: StartDaemon) -> None:
    text = config_text(sim_modem("f1") + sim_modem("f2"))
    running = await start_daemon(text)
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    numbers = [f"+4917{n:08d}" for n in range(300)]
    await request(running.control, "send", request={"to": numbers, "text": "x", "id": "b"})
    await eventually(lambda: len(sent_texts("f1")) + len(sent_texts("f2")) >= 50)

    assert await running.stop() == 0

    with StoreReader(running.daemon.config.gateway.database) as reader:
        counts = reader.state_counts()
    assert set(counts) <= {MessageState.SENT, MessageState.QUEUED}  # none left "sending"
    assert sum(counts.values()) == 300
    assert counts[MessageState.SENT] == len(sent_texts("f1")) + len(sent_texts("f2"))

    again = await start_daemon(text)
    await eventually(lambda: len(sent_texts("f1")) + len(sent_texts("f2")) == 300)
    recipients = [m.submit.recipient for name in ("f1", "f2") for m in sim(name).sim.sent]
    assert sorted(recipients) == sorted(numbers)  # each exactly once: a clean stop is exact
    assert await again.stop() == 0


async def test_multipart_inbound_across_a_daemon_restart(start_daemon: StartDaemon) -> None:
    from datetime import UTC, datetime

    from gsmgw.sms import encode_deliver

    text = "Parts of this message arrive on both sides of a restart. " * 6
    pdus = encode_deliver("+491707777777", text, timestamp=datetime.now(UTC), concat_ref=99)
    assert len(pdus) >= 3
    config = config_text(sim_modem("i1"))
    running = await start_daemon(config)
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    for pdu in pdus[:-1]:
        sim("i1").sim.inject_pdu(pdu)
    await eventually(lambda: len(sim("i1").sim.storage(2)) == 0)  # stored, then deleted
    assert running.daemon.gateway.receiver.received == 0  # type: ignore[union-attr]
    assert await running.stop() == 0

    again = await start_daemon(config)
    await again.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    sim("i1").sim.inject_pdu(pdus[-1])
    await eventually(lambda: again.daemon.gateway.receiver.received == 1)  # type: ignore[union-attr]
    with StoreReader(again.daemon.config.gateway.database) as reader:
        (message,) = reader.list_inbox()
    assert message.text == text
    assert message.parts == len(pdus)
    assert await again.stop() == 0


async def test_a_modem_task_cancelled_while_it_fails_stops_for_good(
    start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.11's TaskGroup turns a cancellation into its children's errors.

    Seen with a full disk: shutdown cancelled a modem task whose receiver had just failed;
    the manager took the ExceptionGroup for a crash, restarted the modem, and SIGTERM hung.
    """
    from gsmgw.errors import StoreError

    running = await start_daemon(config_text(sim_modem("k1")))
    manager = running.daemon.modems
    assert manager is not None
    started = asyncio.Event()

    async def fails_when_cancelled(modem: object) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            errors = [StoreError("disk full")]
            raise ExceptionGroup("unhandled errors in a TaskGroup", errors) from None

    monkeypatch.setattr(manager, "_run_one", fails_when_cancelled)
    task = asyncio.create_task(manager._keep(running.daemon.config.modems[0]))
    await started.wait()
    task.cancel()
    await asyncio.wait({task}, timeout=5)  # not wait_for: it would wait for a swallowed cancel
    restarted = not task.done()
    if restarted:
        task.cancel()  # again, to end the test; the restart already happened
    assert not restarted, "the modem task restarted instead of ending"
    assert task.cancelled()
    assert await running.stop() == 0


async def test_modems_are_reset_only_where_the_config_asks(start_daemon: StartDaemon) -> None:
    modems = sim_modem("r1", "reset_on_failure = true") + sim_modem("r2")
    running = await start_daemon(config_text(modems))
    manager = running.daemon.modems
    assert manager is not None
    await eventually(lambda: {"r1", "r2"} <= set(manager.supervisors))
    assert manager.supervisors["r1"].timing.reset_after > 0
    assert manager.supervisors["r2"].timing.reset_after == 0  # the default: never AT+CFUN=1,1
    assert await running.stop() == 0


async def test_ussd_through_the_daemon_from_the_cli(
    start_daemon: StartDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.test_data_commands import cli

    running = await start_daemon(config_text(sim_modem("u1")))
    await eventually(lambda: "u1" in running.daemon.gateway.ussd_links)  # type: ignore[union-attr]
    config = str(running.config_file)

    assert await cli(["ussd", "--modem", "u1", "-c", config, "--json", "*100#"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"code": "*100#", "status": "done", "text": "Your balance is 12.34 EUR."}
    assert await cli(["ussd", "--modem", "u1", "-c", config, "*555#"]) == 1
    assert capsys.readouterr().out == "(operation not supported)\n"
    assert await cli(["ussd", "--modem", "nope", "-c", config, "*100#"]) == 1
    assert "unknown_modem" in capsys.readouterr().err
    assert await cli(["ussd", "--modem", "u1", "-c", config, '*100#";+CFUN=0']) == 1
    assert "invalid_request" in capsys.readouterr().err
    assert await running.stop() == 0


async def test_a_store_error_while_handling_a_modem_event_does_not_restart_it(
    start_daemon: StartDaemon, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14 defect 7: a StoreError from set_health escaped and restarted the modem task."""
    running = await start_daemon(config_text(sim_modem("h1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    gateway = running.daemon.gateway
    assert gateway is not None

    async def disk_full(*args: object, **kwargs: object) -> None:
        raise StoreError("database or disk is full")

    monkeypatch.setattr(gateway, "set_health", disk_full)
    sim("h1").sim.set_registration(5)  # +CREG: roaming -> set_health fails
    sim("h1").sim.inject_sms("+491705555555", "after the error")

    # Well before the 5 s a restarted modem task waits: the modem went on.
    await eventually(lambda: gateway.receiver.received == 1, limit=3)
    assert "modem task failed" not in caplog.text
    assert "health not recorded" in caplog.text
    assert await running.stop() == 0


async def test_sigterm_after_sweeps_and_refreshes_during_a_signal_storm(
    start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The footprint benchmark's load, its 300 s sweep and refresh shortened to 0.2 s."""
    monkeypatch.setattr(_modems, "SWEEP_INTERVAL", 0.2)
    refreshes = 0

    async def counted(modem: Modem) -> None:
        nonlocal refreshes
        refreshes += 1
        await refresh(modem)

    monkeypatch.setattr(supervisor, "refresh", counted)
    names = [f"s{n}" for n in range(4)]
    modems = "".join(
        f"[[modem]]\nid = '{name}'\nport = 'sim:{name}?profile=huawei'\n" for name in names
    )
    running = await start_daemon(
        config_text(modems), timing=Timing(health_interval=0.05, refresh_interval=0.2)
    )
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    rng = random.Random(14)
    rssi = dict.fromkeys(names, 15)
    for _ in range(150):  # ^RSSI from every modem every 10 ms
        for name in names:
            rssi[name] = min(max(rssi[name] + rng.choice((-1, 1)), 7), 25)
            sim(name).sim.set_signal(rssi[name])
        await asyncio.sleep(0.01)
    inboxes = running.daemon.modems.inboxes  # type: ignore[union-attr]
    assert all(inboxes[name].sweeps >= 3 for name in names)
    assert refreshes >= 4
    running.daemon.stop()
    assert await asyncio.wait_for(running.task, 5) == 0
