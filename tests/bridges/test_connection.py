"""Connection handling: TLS with generated certificates, passwords, config, backoff."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import gc
from pathlib import Path
import subprocess
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from gsmgw.bridges.mqtt import (
    BridgeSettings,
    BrokerAddress,
    ClientSettings,
    MqttClient,
    MqttVersion,
    TlsFiles,
    settings_from_config,
)
from gsmgw.config import parse_config
from gsmgw.core import Topics
from gsmgw.demo import Mosquitto, free_port
from gsmgw.errors import ConfigError

if TYPE_CHECKING:
    from tests.bridges.conftest import BridgeFactory, Users

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def make_pki(folder: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all by openssl."""
    openssl("req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=gsmgw test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)  # fmt: skip
    for name, extension in (
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        openssl("req", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=gsmgw test {name}", cwd=folder)  # fmt: skip
        (folder / f"{name}.ext").write_text(extension + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                "-extfile", f"{name}.ext", cwd=folder)  # fmt: skip
    return Pki(*(folder / n for n in ("ca.crt", "server.crt", "server.key")),
               *(folder / n for n in ("client.crt", "client.key")))  # fmt: skip


@dataclass
class TlsBroker:
    broker: Mosquitto
    tls_port: int
    pki: Pki

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    pki = make_pki(tmp_path)
    port = free_port()
    broker = Mosquitto(
        extra_config=(
            f"listener {port} 127.0.0.1\n"
            f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
            "require_certificate true\n"
        )
    )
    broker.start()
    try:
        yield TlsBroker(broker, port, pki)
    finally:
        broker.cleanup()


def tls_settings(
    tls: TlsBroker, *, client_cert: bool = True, timeout: float = 10.0
) -> ClientSettings:
    pki = tls.pki
    files = TlsFiles(
        ca_file=str(pki.ca),
        cert_file=str(pki.client_cert) if client_cert else None,
        key_file=str(pki.client_key) if client_cert else None,
    )
    return ClientSettings(
        address=BrokerAddress.parse(tls.url),
        client_id="gsmgw-tls-test",
        tls=files,
        timeout=timeout,
    )


async def test_tls_with_client_certificate(tls_broker: TlsBroker) -> None:
    client = MqttClient(tls_settings(tls_broker))
    async with client.connect():
        await client.subscribe("tls/echo")
        await client.publish("tls/echo", b"over TLS")
        received = await anext(client.messages())
        assert received.payload == b"over TLS"
        client.ack(received)


async def test_tls_without_client_certificate_is_refused(tls_broker: TlsBroker) -> None:
    # TLS 1.3 refuses the missing certificate after the handshake: the client notices only
    # when no CONNACK comes, so a short timeout keeps the test quick.
    client = MqttClient(tls_settings(tls_broker, client_cert=False, timeout=1.0))
    with pytest.raises(aiomqtt.MqttError):
        async with client.connect():
            await client.subscribe("tls/echo")


# paho 2.2's _ssl_wrap_socket leaves the SSLSocket open when the handshake fails; it is
# collected (and closed) later, which pytest reports as an unraisable ResourceWarning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_with_an_unknown_ca_is_refused(tls_broker: TlsBroker, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    stranger = make_pki(other)
    settings = tls_settings(tls_broker)
    settings = ClientSettings(
        address=settings.address,
        client_id=settings.client_id,
        tls=TlsFiles(str(stranger.ca), str(stranger.client_cert), str(stranger.client_key)),
    )
    with pytest.raises(aiomqtt.MqttError):
        async with MqttClient(settings).connect():
            pass
    gc.collect()  # the leaked socket's warning belongs to this test, not a later one


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "gsmgw", "s3cret pass"],
        check=True,
        capture_output=True,
    )
    # Anonymous clients stay allowed (the other tests' users); given credentials are checked.
    broker = Mosquitto(extra_config=f"password_file {passwords}\n")
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


def config_text(broker_url: str, tmp_path: Path, password: str, *, protocol: str = "5") -> str:
    (tmp_path / "mqtt.pass").write_text(password + "\n")
    return (
        '[gateway]\nnode = "pi-shed"\n'
        f'[mqtt]\nurl = "{broker_url}"\nusername = "gsmgw"\npassword_file = "mqtt.pass"\n'
        f'protocol = "{protocol}"\n'
    )


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_password_from_config_file(
    password_broker: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    text = config_text(password_broker.url, tmp_path, "s3cret pass", protocol=protocol)
    bridge_settings, client_settings = settings_from_config(parse_config(text, base=tmp_path))
    assert client_settings.version is MqttVersion(protocol)
    assert client_settings.client_id == "gsmgw-pi-shed"
    assert client_settings.will_topic == "gsmgw/pi-shed/availability"
    assert bridge_settings.topics.node_send == "gsmgw/pi-shed/send"
    async with MqttClient(client_settings).connect():
        pass


async def test_wrong_password_is_refused(password_broker: Mosquitto, tmp_path: Path) -> None:
    text = config_text(password_broker.url, tmp_path, "guess")
    _, client_settings = settings_from_config(parse_config(text, base=tmp_path))
    with pytest.raises(aiomqtt.MqttError):
        async with MqttClient(client_settings).connect():
            pass


def test_bad_url_in_config_names_the_key(tmp_path: Path) -> None:
    text = '[gateway]\nnode = "pi"\n[mqtt]\nurl = "mqtt://:1883"\n'
    try:
        config = parse_config(text, file="gsmgw.toml", base=tmp_path)
    except ConfigError:
        return  # the config loader already refuses it: fine too
    with pytest.raises(ConfigError, match=r"gsmgw\.toml: mqtt\.url"):
        settings_from_config(config)


async def test_bridge_over_tls_answers_requests(
    tls_broker: TlsBroker, bridges: BridgeFactory, users: Users
) -> None:
    """The whole bridge through mqtts://, with a user on the plain listener."""
    running = await bridges.start(
        tls_broker.broker, url=tls_broker.url, tls=tls_settings(tls_broker).tls
    )
    user = await users(tls_broker.broker)
    await user.subscribe("tls/reply")
    await user.request(
        running.topics.send,
        {"to": "+491701234567", "text": "hi", "id": "tls-1"},
        response_topic="tls/reply",
    )
    assert (await user.receive_json("tls/reply")) == {"id": "tls-1", "state": "queued"}


def test_backoff_grows_and_is_capped() -> None:
    settings = BridgeSettings(
        topics=Topics("g", "n"), reconnect_delay=1.0, reconnect_max_delay=10.0
    )
    assert [round(settings.backoff(n), 2) for n in range(6)] == [1.0, 1.8, 3.24, 5.83, 10.0, 10.0]
