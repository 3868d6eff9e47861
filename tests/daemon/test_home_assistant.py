"""A real Home Assistant against gsmgw's MQTT discovery (issue 18, step 5; ``-m slow``).

Home Assistant core from PyPI, in ``.venv-ha`` (``./dev ha`` makes it: 2025.4.4, the newest
release that installs on Python 3.13.0), runs with a fresh config dir: ``http``, ``api`` and
``onboarding`` in configuration.yaml, and the ``mqtt`` integration as a config entry written into
``.storage/core.config_entries`` against this test's own Mosquitto. The test onboards a user
through ``/api/onboarding/users`` for a token, starts gsmgw (discovery on, two simulated modems,
a named notify target) and checks through the REST API that HA made the devices and entities,
that an inbound SMS fires ``sms`` on the event entities, that ``notify.send_message`` to the
named target sends an SMS on a simulated modem, and that HA logged no warning or error about
our configs. HA is started with ``--skip-pip``: ``./dev ha`` installed what it needs.

Here (two cores) HA 2025.4.4 answers HTTP 2 s after it is started (10 s the first time after
./dev ha, with cold caches), its MQTT client connects about 6 s after that, and the whole test
takes about 16 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import json
from pathlib import Path
import re
import socket

import aiohttp
import pytest

from gsmgw.demo import Mosquitto
from tests.processes import stop_process

from .conftest import StartDaemon, config_text, eventually, sim, sim_modem

ROOT = Path(__file__).resolve().parents[2]
HA_VENV = ROOT / ".venv-ha"
HASS = HA_VENV / "bin" / "hass"
#: The interpreter ./dev ha builds .venv-ha with on this kind of machine.
PYTHON_313 = Path("/root/.pyenv/versions/3.13.0/bin/python")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not HASS.exists(),
        reason=(
            f"no Home Assistant in {HA_VENV} (run ./dev ha; it needs Python 3.13"
            + ("" if PYTHON_313.exists() else f", and {PYTHON_313} is missing")
            + ")"
        ),
    ),
]

NODE = "t"
CLIENT_ID = "http://127.0.0.1/"
#: A warning or worse in home-assistant.log: what HA says of a config, template or state.
LOG_PROBLEM = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) \(\w+\) \[([\w.]+)\] (.*)$")
#: The loggers that would speak of our configs (not, say, bootstrap's "skipping pip").
OUR_LOGGERS = re.compile(
    r"homeassistant\.(components\.(mqtt|sensor|event|notify|text|device_automation)|helpers)\b"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(config_dir: Path, http_port: int, broker_port: int) -> None:
    """A fresh HA config dir: the few integrations the test needs, MQTT as a config entry."""
    (config_dir / ".storage").mkdir(parents=True)
    (config_dir / "configuration.yaml").write_text(
        "homeassistant:\n  name: gsmgw test\n  latitude: 52.5\n  longitude: 13.4\n"
        "  elevation: 0\n  unit_system: metric\n  time_zone: UTC\n  country: DE\n"
        "  currency: EUR\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {http_port}\n"
        "api:\nonboarding:\nlogger:\n  default: info\n",
        encoding="utf-8",
    )
    # The entry HA's MQTT config flow writes (config entry 1.2: broker in data, the rest in
    # options), in the storage format of homeassistant/config_entries.py (1.5).
    now = "2025-01-01T00:00:00+00:00"
    entry: dict[str, object] = {
        "created_at": now,
        "modified_at": now,
        "data": {"broker": "127.0.0.1", "port": broker_port},
        "options": {"discovery": True, "discovery_prefix": "homeassistant"},
        "disabled_by": None,
        "discovery_keys": {},
        "domain": "mqtt",
        "entry_id": "01JGSMGWTEST0000000000MQTT",
        "version": 1,
        "minor_version": 2,
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": "127.0.0.1",
        "unique_id": None,
    }
    storage = {
        "version": 1,
        "minor_version": 5,
        "key": "core.config_entries",
        "data": {"entries": [entry]},
    }
    (config_dir / ".storage" / "core.config_entries").write_text(json.dumps(storage))


@dataclass
class HomeAssistant:
    """A running HA and an authorised REST session to it."""

    url: str
    session: aiohttp.ClientSession
    log: Path

    async def get(self, path: str) -> object:
        async with self.session.get(f"{self.url}{path}") as response:
            response.raise_for_status()
            return await response.json()

    async def post(self, path: str, body: dict[str, object]) -> object:
        async with self.session.post(f"{self.url}{path}", json=body) as response:
            response.raise_for_status()
            return await (response.json() if "json" in response.content_type else response.text())

    async def template(self, template: str) -> object:
        """Render a template in HA (the device registry is not in the REST API otherwise).

        The template ends in ``| tojson``: HA answers with the rendered text.
        """
        return json.loads(str(await self.post("/api/template", {"template": template})))

    async def states(self) -> dict[str, dict[str, object]]:
        found = await self.get("/api/states")
        assert isinstance(found, list)
        return {state["entity_id"]: state for state in found}

    def problems(self) -> list[str]:
        """Return the log's warnings and errors that are about MQTT, gsmgw or templates."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        found = []
        for line in text.splitlines():
            match = LOG_PROBLEM.match(line)
            if match is None:
                continue
            if OUR_LOGGERS.match(match.group(2)) or "gsmgw" in match.group(3):
                found.append(line)
        return found


async def onboard(session: aiohttp.ClientSession, url: str) -> str:
    """Create HA's owner through onboarding; return an access token."""
    user = {
        "client_id": CLIENT_ID,
        "name": "Test",
        "username": "test",
        "password": "test-password",
        "language": "en",
    }
    async with session.post(f"{url}/api/onboarding/users", json=user) as response:
        response.raise_for_status()
        code = (await response.json())["auth_code"]
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
    async with session.post(f"{url}/auth/token", data=form) as response:
        response.raise_for_status()
        return str((await response.json())["access_token"])


@pytest.fixture
async def home_assistant(
    tmp_path: Path, private_mosquitto: Mosquitto
) -> AsyncIterator[HomeAssistant]:
    config_dir = tmp_path / "ha"
    port = free_port()
    write_config(config_dir, port, private_mosquitto.port)
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "hass.out").open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(HASS),
            "--config",
            str(config_dir),
            "--skip-pip",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        async with aiohttp.ClientSession() as anonymous:
            async with asyncio.timeout(120):
                while True:  # HA answers /api/onboarding without a token
                    with contextlib.suppress(aiohttp.ClientError):
                        async with anonymous.get(f"{url}/api/onboarding") as response:
                            if response.status == 200:
                                break
                    assert process.returncode is None, "hass exited at start"
                    await asyncio.sleep(0.5)
            token = await onboard(anonymous, url)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            ha = HomeAssistant(url, session, config_dir / "home-assistant.log")
            # The MQTT client connects after HTTP is up; discovery before it would be lost.
            await wait_for(lambda: "MQTT client initialized" in ha.log.read_text(), 60)
            yield ha
    finally:
        await stop_process(process, 30)


async def wait_for(check: object, limit: float) -> None:
    assert callable(check)
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - polling a file HA writes
            await asyncio.sleep(0.2)


async def until(ha: HomeAssistant, check: str, limit: float = 30.0) -> None:
    """Render the expression ``check`` in HA until it is true."""
    async with asyncio.timeout(limit):
        while not await ha.template(f"{{{{ ({check}) | tojson }}}}"):  # noqa: ASYNC110
            await asyncio.sleep(0.5)


@pytest.mark.timeout(240)
async def test_home_assistant_accepts_what_gsmgw_announces(
    home_assistant: HomeAssistant, private_mosquitto: Mosquitto, start_daemon: StartDaemon
) -> None:
    ha = home_assistant
    mqtt = f"url = '{private_mosquitto.url}'\nprefix = 'gsmgw'\nclient_id = 'gw-ha'"
    targets = "[[homeassistant.notify]]\nname = 'Alice'\nto = '+491701234567'\n"
    modems = sim_modem("s1") + sim_modem("s2") + targets
    running = await start_daemon(config_text(modems, mqtt=mqtt))
    assert running.daemon.config.mqtt.discovery

    # Devices: the node and each modem, with the entities we announced.
    await until(ha, "integration_entities('mqtt') | count > 40", 60)
    names = await ha.template(
        "{{ integration_entities('mqtt') | map('device_id') | reject('none') | unique"
        " | map('device_attr', 'name') | list | tojson }}"
    )
    assert isinstance(names, list)
    assert set(names) == {"gsmgw t", "gsmgw t s1", "gsmgw t s2"}
    states = await ha.states()
    expected = {
        "event.gsmgw_t_sms_received",
        "event.gsmgw_t_s1_sms_received",
        "event.gsmgw_t_errors",
        "notify.gsmgw_t_send_sms",
        "notify.gsmgw_t_sms_alice",
        "notify.gsmgw_t_s1_send_sms",
        "sensor.gsmgw_t_s1_signal",
        "sensor.gsmgw_t_s1_sent_today",
        "sensor.gsmgw_t_sent_today",
        "sensor.gsmgw_t_started",
        "text.gsmgw_t_s1_ussd_code",
    }
    assert expected <= set(states), sorted(set(states))
    await until(ha, "states('sensor.gsmgw_t_s1_signal') | is_number")
    signal = (await ha.states())["sensor.gsmgw_t_s1_signal"]
    assert signal["attributes"]["unit_of_measurement"] == "dBm"  # type: ignore[index]
    assert await ha.template("{{ device_id('event.gsmgw_t_s1_sms_received') | tojson }}")

    # An inbound SMS fires "sms" on the node's and the modem's event entities.
    sim("s1").sim.inject_sms("+491705555555", "STATUS")
    event = "event.gsmgw_t_s1_sms_received"
    await until(ha, f"state_attr('{event}', 'event_type') == 'sms'")
    attributes = (await ha.states())[event]["attributes"]
    assert isinstance(attributes, dict)
    assert (attributes["from"], attributes["text"], attributes["modem"]) == (
        "+491705555555",
        "STATUS",
        "s1",
    )
    await until(ha, "state_attr('event.gsmgw_t_sms_received', 'text') == 'STATUS'")
    other = await ha.template(
        "{{ state_attr('event.gsmgw_t_s2_sms_received', 'event_type') | tojson }}"
    )
    assert other is None  # s2's entity ignores s1's SMS

    # A named notify target sends a plain message through routing.
    await ha.post(
        "/api/services/notify/send_message",
        {"entity_id": "notify.gsmgw_t_sms_alice", "message": "Hello from HA"},
    )
    await eventually(lambda: len(sim("s1").sim.sent) + len(sim("s2").sim.sent) == 1, limit=20)
    [sent] = sim("s1").sim.sent + sim("s2").sim.sent
    assert (sent.submit.recipient, sent.submit.text) == ("+491701234567", "Hello from HA")
    await until(ha, "states('sensor.gsmgw_t_sent_today') | int(0) == 1")

    assert ha.problems() == []
    assert await running.stop() == 0
    await until(ha, "states('sensor.gsmgw_t_s1_signal') == 'unavailable'")
