"""The Prometheus endpoint (``gateway.metrics``): scraped over real HTTP from a running daemon."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
import socket
import subprocess
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
import pytest

from gsmgw.cli.control import request
from gsmgw.config import load_config
from gsmgw.daemon import run
from gsmgw.errors import ConfigError
from gsmgw.models import MessageState
from gsmgw.smpp import BindKind, Status, SubmitSm

from .conftest import StartDaemon, config_text, eventually, sim, sim_modem
from .smpp_esme import Esme, StartSmpp, ok, start_smpp

__all__ = ["start_smpp"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str, str]:
    """GET ``url``; return status, content type and body (for ``asyncio.to_thread``)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


async def scrape(port: int) -> Samples:
    status, content_type, body = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def test_a_scrape_reads_the_running_daemon(start_daemon: StartDaemon) -> None:
    port = free_port()
    gateway = f"metrics = '127.0.0.1:{port}'"
    running = await start_daemon(config_text(sim_modem("m1"), gateway=gateway))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    sim("m1").sim.inject_sms("+491705555555", "hello")
    await request(running.control, "send", request={"to": "+491701234567", "text": "x", "id": "1"})
    await eventually(lambda: running.daemon.dispatcher.senders["m1"].sent == 1)  # type: ignore[union-attr]
    await eventually(lambda: running.daemon.gateway.receiver.received == 1)  # type: ignore[union-attr]
    # The sender counts the part once the modem took it; the message is ``sent`` once the
    # part's TP-MR commit lands, a little later (under load, after a first scrape).
    store = running.daemon.gateway.store  # type: ignore[union-attr]
    async with asyncio.timeout(10):
        while (await store.state_counts()).get(MessageState.SENT) != 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    samples = await scrape(port)

    modem = (("modem", "m1"),)
    for name, value in {
        "gsmgw_modem_up": 1,
        "gsmgw_modem_ready": 1,
        "gsmgw_modem_registered": 1,
        "gsmgw_modem_queue_depth": 0,
        "gsmgw_modem_messages_sent_total": 1,
        "gsmgw_modem_messages_failed_total": 0,
        "gsmgw_modem_messages_retried_total": 0,
        "gsmgw_modem_messages_requeued_total": 0,
        "gsmgw_modem_parts_sent_total": 1,
    }.items():
        assert samples[name, modem] == value, name
    assert -113 <= samples["gsmgw_modem_signal_dbm", modem] <= -51
    assert samples["gsmgw_outbox_messages", (("state", "sent"),)] == 1
    assert samples["gsmgw_outbox_messages", (("state", "failed"),)] == 0
    assert samples["gsmgw_inbox_received_total", ()] == 1
    assert samples["gsmgw_publications_pending", ()] == 0  # MQTT off: nothing is queued
    build = [labels for name, labels in samples if name == "gsmgw_build_info"]
    assert dict(build[0])["node"] == "t"
    # MQTT is off in this config: no connection to report.
    assert not any(name == "gsmgw_mqtt_connected" for name, _ in samples)
    # Nothing from the library's default registry (process_*, python_gc_*...).
    assert all(name.startswith("gsmgw_") for name, _ in samples)

    status, _, _ = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/other")
    assert status == 404
    assert await running.stop() == 0
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_a_modem_that_is_down_is_up_0(start_daemon: StartDaemon) -> None:
    port = free_port()
    gateway = f"metrics = '127.0.0.1:{port}'"
    modems = sim_modem("m1") + "[[modem]]\nid = 'gone'\nport = '/nonexistent/tty'\n"
    running = await start_daemon(config_text(modems, gateway=gateway))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]

    samples = await scrape(port)

    gone = (("modem", "gone"),)
    assert samples["gsmgw_modem_up", gone] == 0
    assert samples["gsmgw_modem_ready", gone] == 0
    assert ("gsmgw_modem_signal_dbm", gone) not in samples
    assert samples["gsmgw_modem_up", (("modem", "m1"),)] == 1


async def test_metrics_off_listens_nowhere(start_daemon: StartDaemon) -> None:
    running = await start_daemon(config_text(sim_modem("m1")))
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "metrics"]


async def test_a_port_in_use_stops_the_daemon_naming_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config_file = tmp_path / "gsmgw.toml"
        gateway = f"metrics = '127.0.0.1:{port}'"
        config_file.write_text(config_text(sim_modem("m1"), gateway=gateway), encoding="utf-8")
        with caplog.at_level(logging.ERROR, logger="gsmgw.daemon"):
            async with asyncio.timeout(20):
                code = await run(load_config(config_file))

    assert code == 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"gateway.metrics: cannot listen on 127.0.0.1:{port}" in line
    assert "Traceback" not in caplog.text


async def test_metrics_without_prometheus_client_is_a_config_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    config_file = tmp_path / "gsmgw.toml"
    gateway = "metrics = '127.0.0.1:9101'"
    config_file.write_text(config_text(sim_modem("m1"), gateway=gateway), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="gsmgw.daemon"):
        async with asyncio.timeout(20):
            code = await run(load_config(config_file))

    assert code == 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "gateway.metrics: needs prometheus-client: pip install 'gsmgw[metrics]'" in line
    assert "Traceback" not in caplog.text


async def test_an_unknown_host_is_a_config_error(start_daemon: StartDaemon) -> None:
    gateway = "metrics = 'no-such-host.invalid:9101'"
    running = await start_daemon(config_text(sim_modem("m1"), gateway=gateway))

    with pytest.raises(ExceptionGroup) as stopped:
        async with asyncio.timeout(20):
            await running.task
    (error,) = stopped.value.exceptions
    assert isinstance(error, ConfigError)
    assert error.key == "gateway.metrics"


def test_version_does_not_import_prometheus_client() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gsmgw", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    assert "gsmgw.cli" in done.stderr
    assert "prometheus_client" not in done.stderr


async def test_smpp_metrics_per_user(start_smpp: StartSmpp) -> None:
    port = free_port()
    running, smpp_port = await start_smpp(gateway=f"metrics = '127.0.0.1:{port}'")
    shop = await Esme.connect(smpp_port)
    await shop.bind(BindKind.TRANSCEIVER)
    other = await Esme.connect(smpp_port)
    await other.bind(BindKind.TRANSMITTER, user="other", password="pw2")
    assert ok((await shop.submit(short_message=b"a", registered_delivery=1)).status)
    assert ok((await shop.submit(short_message=b"b")).status)
    assert ok((await other.submit(short_message=b"c", registered_delivery=1)).status)
    invalid = await other.submit(destination_addr="12ab", short_message=b"x")
    assert invalid.status == Status.ESME_RINVDSTADR
    receipt = await shop.next_delivery()  # acknowledged: sent
    assert receipt.esm_class == 0x04
    pending = running.daemon.store.smpp_pending_counts
    async with asyncio.timeout(10):
        while await pending() != {"other": 1}:  # noqa: ASYNC110 - other has no receiver
            await asyncio.sleep(0.02)

    samples = await scrape(port)

    def value(name: str, **labels: str) -> float:
        return samples[f"gsmgw_smpp_{name}", tuple(sorted(labels.items()))]

    assert value("sessions", user="shop", bind="transceiver") == 1
    assert value("sessions", user="other", bind="transmitter") == 1
    assert value("sessions", user="other", bind="receiver") == 0
    assert value("submits_accepted_total", user="shop") == 2
    assert value("submits_accepted_total", user="other") == 1
    assert value("submits_refused_total", user="other", status="ESME_RINVDSTADR") == 1
    assert not [
        labels
        for name, labels in samples
        if name == "gsmgw_smpp_submits_refused_total" and dict(labels)["user"] == "shop"
    ]
    assert value("deliver_sm_sent_total", user="shop") == 1
    assert value("deliver_sm_pending", user="shop") == 0
    assert value("deliver_sm_pending", user="other") == 1

    # A receiver of other's: submitting there is refused (counted by the session, not the
    # server), and the receipt waiting for it goes out.
    receiver = await Esme.connect(smpp_port)
    await receiver.bind(BindKind.RECEIVER, user="other", password="pw2")
    await receiver.send(SubmitSm(sequence=receiver.seq(), destination_addr="491701234567"))
    await receiver.next_delivery()
    async with asyncio.timeout(10):
        while await pending():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    samples = await scrape(port)

    assert value("sessions", user="other", bind="receiver") == 1
    assert value("submits_refused_total", user="other", status="ESME_RINVBNDSTS") == 1
    assert value("deliver_sm_sent_total", user="other") == 1
    assert value("deliver_sm_pending", user="other") == 0
    for esme in (shop, other, receiver):
        await esme.close()
    assert await running.stop() == 0


async def test_no_smpp_metrics_while_smpp_is_off(start_daemon: StartDaemon) -> None:
    port = free_port()
    running = await start_daemon(
        config_text(sim_modem("m1"), gateway=f"metrics = '127.0.0.1:{port}'")
    )
    await running.daemon.modems.first_attempts.wait()  # type: ignore[union-attr]
    samples = await scrape(port)
    assert not [name for name, _ in samples if name.startswith("gsmgw_smpp_")]
