"""The config file: the example loads, defaults, and every error names file, key and problem."""

from __future__ import annotations

from pathlib import Path
import socket

import pytest

from gsmgw.config import (
    DEFAULT_CONTROL,
    DEFAULT_DATABASE,
    GatewayConfig,
    load_config,
    parse_config,
)
from gsmgw.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"
MODEM = '[[modem]]\nid = "sim1"\nport = "sim:a"\ngroups = ["otp"]\n'


def test_example_loads_with_its_files(tmp_path: Path) -> None:
    (tmp_path / "mqtt.pass").write_text("s3cret\n")
    (tmp_path / "sim1.pin").write_text("1234\n")
    text = EXAMPLE.read_text().replace("/etc/gsmgw/", f"{tmp_path}/")
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = load_config(path)
    assert config.gateway.node == "pi-shed"
    assert config.gateway.allow_prefixes == ("+49", "+43")
    assert config.mqtt.password == "s3cret"
    assert [m.id for m in config.modems] == ["sim1", "sim2"]
    sim1 = config.modems[0]
    assert (sim1.pin, sim1.per_minute, sim1.per_day) == ("1234", 10, 500)
    assert sim1.cost_for("+4917012") == 0.0
    assert sim1.cost_for("+4366412") == 0.09
    assert config.modem_ids("otp") == {"sim1"}
    assert config.names() == {"sim1", "sim2", "de", "otp"}
    rule = config.rule_for("+4366412345", "code 123456")
    assert rule is not None
    assert (rule.priority, rule.modems) == (10, ("otp",))
    assert config.rule_for("+4917012345", "code 123456") is None
    assert config.opt_out.matches(" stop ")
    assert "s3cret" not in repr(config)
    assert "1234" not in repr(config.modems)


def test_defaults() -> None:
    config = parse_config("", file="empty.toml")
    gateway = config.gateway
    assert gateway == GatewayConfig(node=socket.gethostname())
    assert (gateway.database, gateway.control) == (DEFAULT_DATABASE, DEFAULT_CONTROL)
    assert (gateway.max_parts, gateway.max_attempts, gateway.incomplete_after) == (10, 5, 3600.0)
    assert config.mqtt.url == "mqtt://127.0.0.1:1883"
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("127.0.0.1", 1883, False)
    assert config.mqtt.client_id == f"gsmgw-{gateway.node}"
    assert config.modems == ()
    assert config.opt_out.keywords == ("STOP", "UNSUBSCRIBE")
    assert gateway.allows("+1555")


def test_keep_days_defaults_to_90_and_0_keeps_all() -> None:
    assert parse_config("").gateway.keep_days == 90
    assert parse_config("[gateway]\nkeep_days = 0\n").gateway.keep_days == 0
    assert parse_config("[gateway]\nkeep_days = 365\n").gateway.keep_days == 365


def test_mqtt_can_be_off_and_tls_defaults_to_8883() -> None:
    assert not parse_config('[mqtt]\nurl = ""').mqtt.enabled
    mqtt = parse_config('[mqtt]\nurl = "mqtts://broker.example"').mqtt
    assert (mqtt.tls, mqtt.port) == (True, 8883)


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "pin").write_text("0000")
    path = tmp_path / "c.toml"
    path.write_text(
        '[gateway]\ndatabase = "db/g.db"\n[[modem]]\nid = "a"\nport = "sim:a"\npin_file = "pin"\n'
    )
    config = load_config(path)
    assert config.gateway.database == tmp_path / "db" / "g.db"
    assert config.modems[0].pin == "0000"


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ("ttys/modem1", "{base}/ttys/modem1"),
        ("./modem1", "{base}/modem1"),
        ("../modem1", "{base}/../modem1"),
        ("/dev/ttyUSB2", "/dev/ttyUSB2"),
        (
            "/dev/serial/by-id/usb-Quectel_EC25-if02-port0",
            "/dev/serial/by-id/usb-Quectel_EC25-if02-port0",
        ),
        ("sim:a", "sim:a"),
    ],
)
def test_relative_modem_port_follows_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: str, expected: str
) -> None:
    """README: relative paths are relative to the config file's folder, ports included."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "c.toml"
    path.write_text(f'[[modem]]\nid = "a"\nport = "{port}"\n')
    monkeypatch.chdir(tmp_path)  # elsewhere: the current folder must not matter
    config = load_config(path)
    assert config.modems[0].port == expected.format(base=folder)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[gateway\n", "-", "not valid TOML"),
        ("[gatway]\n", "gatway", "did you mean 'gateway'"),
        ("[gateway]\nnoed = 'x'\n", "gateway.noed", "did you mean 'node'"),
        ("[gateway]\nnode = 'a/b'\n", "gateway.node", "topic level"),
        ("[gateway]\nencoding = 'utf8'\n", "gateway.encoding", "not one of auto, smart, ucs2"),
        ("[gateway]\nencoding = 7\n", "gateway.encoding", "must be a string, not an integer"),
        ("[gateway]\ndefault_region = 'de'\n", "gateway.default_region", "country code"),
        ("[gateway]\nallow_prefixes = ['49']\n", "gateway.allow_prefixes[0]", "'+49'"),
        ("[gateway]\nallow_prefixes = '+49'\n", "gateway.allow_prefixes", "a list of strings"),
        ("[gateway]\nallow_prefixes = [49]\n", "gateway.allow_prefixes[0]", "must be a string"),
        ("[gateway]\nlanguages = ['xx']\n", "gateway.languages[0]", "'xx'"),
        ("[gateway]\nmax_parts = 0\n", "gateway.max_parts", "at least 1"),
        ("[gateway]\nmax_parts = 300\n", "gateway.max_parts", "at most 255"),
        ("[gateway]\nmax_queue = true\n", "gateway.max_queue", "an integer, not a boolean"),
        ("[gateway]\nincomplete_after = -1\n", "gateway.incomplete_after", "negative"),
        (
            "[gateway]\nper_destination_per_hour = -2\n",
            "gateway.per_destination_per_hour",
            "least 0",
        ),
        ("[gateway]\nmetrics = 'nowhere'\n", "gateway.metrics", "HOST:PORT"),
        ("[gateway]\nkeep_days = -1\n", "gateway.keep_days", "at least 0"),
        ("[gateway]\nkeep_days = 1.5\n", "gateway.keep_days", "an integer"),
        ("[gateway]\nkeep_days = 40000\n", "gateway.keep_days", "at most 36500"),
        ("gateway = 3\n", "gateway", "must be a table"),
        ("[mqtt]\nurl = 'http://x'\n", "mqtt.url", "mqtt:// or mqtts://"),
        ("[mqtt]\nurl = 'mqtt://'\n", "mqtt.url", "names no host"),
        ("[mqtt]\nurl = 'mqtt://u:p@host'\n", "mqtt.url", "credentials"),
        ("[mqtt]\nurl = 'mqtt://host:99999'\n", "mqtt.url", "out of range"),
        ("[mqtt]\nurl = 'mqtt://host/path'\n", "mqtt.url", "HOST[:PORT]"),
        ("[mqtt]\nprotocol = '4'\n", "mqtt.protocol", "not one of 5, 3.1.1"),
        ("[mqtt]\nprefix = 'a/#'\n", "mqtt.prefix", "cannot start"),
        ("[mqtt]\npassword_file = 'missing.pass'\n", "mqtt.password_file", "cannot read"),
        ("[mqtt]\nca_file = 'missing.pem'\n", "mqtt.ca_file", "not a readable file"),
        ("[mqtt]\nkeepalive = 1\n", "mqtt.keepalive", "at least 5"),
        ("[[modem]]\nport = 'sim:a'\n", "modem[0].id", "required"),
        ("[[modem]]\nid = 'a b'\nport = 'sim:a'\n", "modem[0].id", "letters, digits"),
        ("[[modem]]\nid = 'a'\n", "modem[0].port", "required"),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\nbaudrate = 1234\n",
            "modem[0].baudrate",
            "not one of",
        ),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\nper_minute = -1\n",
            "modem[0].per_minute",
            "at least 1",
        ),
        ("[[modem]]\nid = 'a'\nport = 'sim:a'\nper_day = 'x'\n", "modem[0].per_day", "an integer"),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\npin_file = 'nope'\n",
            "modem[0].pin_file",
            "cannot read",
        ),
        ("[[modem]]\nid = 'a'\nport = 'sim:a'\nspeed = 1\n", "modem[0].speed", "unknown key"),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\ncost = { '49' = 1 }\n",
            "modem[0].cost.49",
            "prefix",
        ),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\ncost = { '+49' = -1 }\n",
            "modem[0].cost.+49",
            "negative",
        ),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\ncost = { '+49' = 'x' }\n",
            "modem[0].cost.+49",
            "number",
        ),
        (
            "[[modem]]\nid = 'a'\nport = 'sim:a'\ngroups = ['b c']\n",
            "modem[0].groups[0]",
            "letters",
        ),
        ("modem = 3\n", "modem", "array of tables"),
        (MODEM + "[[modem]]\nid = 'sim1'\nport = 'sim:b'\n", "modem[1].id", "duplicate modem id"),
        (MODEM + "[[modem]]\nid = 'otp'\nport = 'sim:b'\n", "modem[0].groups", "also a modem id"),
        (
            MODEM + "[[rule]]\nmodems = ['sim9']\n",
            "rule[0].modems[0]",
            "no modem or group named 'sim9'",
        ),
        (
            MODEM + "[[rule]]\ntext = '('\npriority = 1\n",
            "rule[0].text",
            "invalid regular expression",
        ),
        (MODEM + "[[rule]]\nprefix = '43'\npriority = 1\n", "rule[0].prefix", "'+43'"),
        (MODEM + "[[rule]]\nprefix = '+43'\n", "rule[0].priority", "priority or modems"),
        ("[opt_out]\nkeywords = 'STOP'\n", "opt_out.keywords", "a list of strings"),
    ],
)
def test_errors_name_file_key_and_problem(text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="/etc/gsmgw/config.toml")
    error = caught.value
    assert (error.file, error.key) == ("/etc/gsmgw/config.toml", key)
    assert problem in error.problem
    assert str(error).startswith(f"/etc/gsmgw/config.toml: {key}: ")


def test_empty_secret_file_and_bad_pin(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "pin").write_text("12ab")
    with pytest.raises(ConfigError, match="is empty"):
        parse_config("[mqtt]\npassword_file = 'empty'\n", base=tmp_path)
    with pytest.raises(ConfigError, match="4 to 8 digits"):
        parse_config("[[modem]]\nid = 'a'\nport = 'sim:a'\npin_file = 'pin'\n", base=tmp_path)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "missing.toml")
    assert caught.value.file == str(tmp_path / "missing.toml")
    assert "cannot read" in caught.value.problem


# --- [http] ------------------------------------------------------------------------------------

TOKEN_LINE = "shop:0123456789abcdef0123\n"


def _tokens(tmp_path: Path, text: str = TOKEN_LINE, mode: int = 0o640) -> None:
    (tmp_path / "tokens").write_text(text, encoding="utf-8")
    (tmp_path / "tokens").chmod(mode)


def test_http_is_off_by_default_and_reads_its_tokens(tmp_path: Path) -> None:
    assert not parse_config("").http.enabled
    _tokens(tmp_path, "# comment\n\n" + TOKEN_LINE + "ops:zyxwvutsrqponmlkjihg\n")
    text = "[http]\nlisten = '[::]:8080'\ntokens_file = 'tokens'\ntls_cert_file = ''\n"
    http = parse_config(text, base=tmp_path).http
    assert (http.enabled, http.host, http.port, http.tls) == (True, "::", 8080, False)
    assert dict(http.tokens) == {"shop": "0123456789abcdef0123", "ops": "zyxwvutsrqponmlkjihg"}
    assert "0123456789abcdef0123" not in repr(http)


@pytest.mark.parametrize(
    ("http", "tokens", "mode", "key", "problem"),
    [
        ("listen = '127.0.0.1:8080'", TOKEN_LINE, 0o640, "http.tokens_file", "required"),
        ("listen = '8080'", TOKEN_LINE, 0o640, "http.listen", "HOST:PORT"),
        ("listen = 'h:99999'", TOKEN_LINE, 0o640, "http.listen", "HOST:PORT"),
        ("tokens_file = 'tokens'", TOKEN_LINE, 0o644, "http.tokens_file", "readable by others"),
        ("tokens_file = 'tokens'", "shop\n", 0o600, "http.tokens_file", "line 1"),
        ("tokens_file = 'tokens'", "shop:short\n", 0o600, "http.tokens_file", "16-256"),
        ("tokens_file = 'tokens'", TOKEN_LINE * 2, 0o600, "http.tokens_file", "twice"),
        ("tokens_file = 'tokens'", "# none\n", 0o600, "http.tokens_file", "no token"),
        ("tokens_file = 'nope'", TOKEN_LINE, 0o600, "http.tokens_file", "cannot read"),
        ("tokens_file = 'tokens'\ntls_cert_file = 'tokens'", TOKEN_LINE, 0o600, "http.tls_key_file",
         "go together"),
    ],
)  # fmt: skip
def test_http_config_errors(
    tmp_path: Path, http: str, tokens: str, mode: int, key: str, problem: str
) -> None:
    _tokens(tmp_path, tokens, mode)
    if "listen" not in http:
        http += "\nlisten = '127.0.0.1:8080'"
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[http]\n{http}\n", base=tmp_path)
    assert (caught.value.key, problem in caught.value.problem) == (key, True)
    assert "0123456789abcdef0123" not in str(caught.value)


def test_webhooks_read_url_events_secret_and_retry_for(tmp_path: Path) -> None:
    secret = tmp_path / "hook.secret"
    secret.write_text("s3cret \n", encoding="utf-8")
    secret.chmod(0o600)
    text = (
        "[[webhook]]\nurl = 'https://crm.example.com/sms'\nsecret_file = 'hook.secret'\n"
        "retry_for = 60\n[[webhook]]\nurl = 'http://127.0.0.1:9000/'\nevents = ['inbox']\n"
    )
    first, second = parse_config(text, base=tmp_path).webhooks
    assert (first.url, first.events, first.secret, first.retry_for) == (
        "https://crm.example.com/sms",
        ("inbox", "state"),
        "s3cret",
        60,
    )
    assert "s3cret" not in repr(first)
    assert (second.events, second.secret, second.retry_for) == (("inbox",), None, 86400)
    assert parse_config("").webhooks == ()


@pytest.mark.parametrize(
    ("webhook", "mode", "key", "problem"),
    [
        ("url = 'ftp://x/'", 0o600, "webhook[0].url", "http"),
        ("url = 'http://x/'\nevents = ['sent']", 0o600, "webhook[0].events[0]", "not one of"),
        ("url = 'http://x/'\nevents = []", 0o600, "webhook[0].events", "no event"),
        ("url = 'http://x/'\nsecret_file = 's'", 0o644, "webhook[0].secret_file", "by others"),
        ("url = 'http://x/'\nretry_for = 0", 0o600, "webhook[0].retry_for", ""),
        ("url = 'http://x/'\nsecrets = 's'", 0o600, "webhook[0].secrets", "unknown key"),
    ],
)  # fmt: skip
def test_webhook_config_errors(
    tmp_path: Path, webhook: str, mode: int, key: str, problem: str
) -> None:
    (tmp_path / "s").write_text("secret\n", encoding="utf-8")
    (tmp_path / "s").chmod(mode)
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[[webhook]]\n{webhook}\n", base=tmp_path)
    assert (caught.value.key, problem in caught.value.problem) == (key, True)
    assert "secret\n" not in str(caught.value)
    twice = "[[webhook]]\nurl = 'http://x/'\n" * 2
    with pytest.raises(ConfigError, match="twice"):
        parse_config(twice)
