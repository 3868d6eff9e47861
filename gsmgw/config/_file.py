"""The config file (SPEC.md "Config"): TOML read with tomllib into frozen dataclasses, checked once.

Every problem raises ``ConfigError(file, key, problem)`` with the key's full path, such as
``modem[1].per_minute``; the daemon refuses to start on the first one. Secrets (the MQTT password,
SIM PINs) are read from their files here and kept out of ``repr`` so they never reach a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import re
import socket
import tomllib
from urllib.parse import urlsplit

from gsmgw.config._table import Table
from gsmgw.errors import ConfigError

DEFAULT_PATH = Path("/etc/gsmgw/config.toml")
DEFAULT_DATABASE = Path("/var/lib/gsmgw/gsmgw.db")
DEFAULT_CONTROL = Path("/run/gsmgw/control.sock")
ENCODINGS = ("auto", "smart", "ucs2")
#: National language tables of 3GPP TS 23.038 §6.2.1.2.4 that gsmgw.sms implements.
LANGUAGES = ("tr", "es", "pt", "bn", "gu", "hi", "kn", "ml", "or", "pa", "ta", "te", "ur")
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
MQTT_PROTOCOLS = ("5", "3.1.1")
#: ``keep_days`` beyond this is a typo (and past what ``datetime`` can subtract from today).
MAX_KEEP_DAYS = 36_500

_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")  # modem ids and groups appear in MQTT topics
_PREFIX = re.compile(r"\+\d{0,15}")
_REGION = re.compile(r"[A-Z]{2}")
_PIN = re.compile(r"\d{4,8}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    """``[gateway]``: this node and its message policy."""

    node: str
    encoding: str = "auto"
    database: Path = DEFAULT_DATABASE
    control: Path = DEFAULT_CONTROL
    default_region: str = ""
    allow_prefixes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    max_parts: int = 10
    max_attempts: int = 5
    max_queue: int = 1_000_000
    incomplete_after: float = 3600.0
    per_destination_per_hour: int = 0
    metrics: str = ""
    #: Finished messages and inbound SMS older than this many days are deleted (0: kept).
    keep_days: int = 90

    def allows(self, number: str) -> bool:
        """Return True when ``allow_prefixes`` lets a message go to ``number``."""
        return not self.allow_prefixes or number.startswith(self.allow_prefixes)


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConfig:
    """``[mqtt]``: the broker; ``url == ""`` runs without MQTT."""

    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password_file: Path | None = None
    password: str | None = field(default=None, repr=False)
    prefix: str = "gsmgw"
    shared: bool = False
    discovery: bool = True
    protocol: str = "5"
    client_id: str = ""
    keepalive: int = 60
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def enabled(self) -> bool:
        """Return False when the gateway runs without MQTT."""
        return bool(self.url)

    @property
    def tls(self) -> bool:
        """Return True for ``mqtts://``."""
        return self.url.startswith("mqtts://")

    @property
    def host(self) -> str:
        """Return the broker's host name."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """Return the broker's port (1883, or 8883 for TLS, unless the URL names one)."""
        return urlsplit(self.url).port or (8883 if self.tls else 1883)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModemConfig:
    """One ``[[modem]]``: a serial port (or ``sim:NAME``), its SIM and its limits."""

    id: str
    port: str
    baudrate: int = 115200
    pin_file: Path | None = None
    pin: str | None = field(default=None, repr=False)
    per_minute: int | None = None
    per_day: int | None = None
    groups: tuple[str, ...] = ()
    #: (prefix, price per part), longest prefix first.
    cost: tuple[tuple[str, float], ...] = ()
    reset_on_failure: bool = False

    def cost_for(self, number: str) -> float:
        """Return the price per part to ``number`` (longest matching prefix; 0.0 when none)."""
        for prefix, price in self.cost:
            if number.startswith(prefix):
                return price
        return 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleConfig:
    """One ``[[rule]]``: destination prefix and text pattern -> priority and allowed modems."""

    prefix: str | None = None
    text: re.Pattern[str] | None = None
    priority: int | None = None
    modems: tuple[str, ...] = ()

    def matches(self, number: str, text: str) -> bool:
        """Return True when the rule applies to a message to ``number`` with ``text``."""
        if self.prefix is not None and not number.startswith(self.prefix):
            return False
        return self.text is None or self.text.search(text) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class OptOutConfig:
    """``[opt_out]``: the inbound keywords that put their sender on the opt-out list."""

    keywords: tuple[str, ...] = ("STOP", "UNSUBSCRIBE")

    def matches(self, text: str) -> bool:
        """Return True when an inbound ``text`` is one of the keywords (any case, trimmed)."""
        return text.strip().casefold() in {keyword.casefold() for keyword in self.keywords}


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole config file."""

    file: str
    gateway: GatewayConfig
    mqtt: MqttConfig = MqttConfig()
    modems: tuple[ModemConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    opt_out: OptOutConfig = OptOutConfig()

    def modem_ids(self, name: str) -> frozenset[str]:
        """Return the modem ids a modem id or group name stands for (empty when unknown)."""
        return frozenset(m.id for m in self.modems if name == m.id or name in m.groups)

    def names(self) -> frozenset[str]:
        """Return every modem id and group name (what a request's ``modem`` may say)."""
        return frozenset(m.id for m in self.modems) | {g for m in self.modems for g in m.groups}

    def rule_for(self, number: str, text: str) -> RuleConfig | None:
        """Return the first rule that matches a message, or None."""
        return next((rule for rule in self.rules if rule.matches(number, text)), None)


def load_config(path: str | Path = DEFAULT_PATH) -> Config:
    """Read and validate a config file; relative paths in it are relative to its directory.

    Raises:
        ConfigError: naming the file, the key and what is wrong.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "-", f"cannot read the file: {exc}") from exc
    return parse_config(text, file=file, base=Path(path).parent)


def parse_config(text: str, *, file: str = "<config>", base: Path | None = None) -> Config:
    """Validate TOML text as a config (``base`` resolves relative paths; default: cwd)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "-", f"not valid TOML: {exc}") from exc
    root = Table(file, "", data, base or Path.cwd())
    gateway = _gateway(root.table("gateway"))
    mqtt = _mqtt(root.table("mqtt"), gateway.node)
    modems = tuple(_modem(table) for table in root.tables("modem"))
    _check_names(root, modems)
    names = frozenset(m.id for m in modems) | {g for m in modems for g in m.groups}
    rules = tuple(_rule(table, names) for table in root.tables("rule"))
    opt_out = OptOutConfig(
        keywords=root.table("opt_out").strings("keywords", ("STOP", "UNSUBSCRIBE"))
    )
    root.finish()
    return Config(
        file=file, gateway=gateway, mqtt=mqtt, modems=modems, rules=rules, opt_out=opt_out
    )


def _prefixes(table: Table, key: str) -> tuple[str, ...]:
    values = table.strings(key)
    for index, prefix in enumerate(values):
        if not _PREFIX.fullmatch(prefix):
            raise table.error(f"{key}[{index}]", f"{prefix!r} is not a prefix like '+49'")
    return values


def _gateway(table: Table) -> GatewayConfig:
    node = table.string("node", socket.gethostname())
    if not node or any(c in node for c in "/+#") or len(node) > 64:
        raise table.error("node", f"{node!r} cannot be an MQTT topic level")
    region = table.string("default_region", "")
    if region and not _REGION.fullmatch(region):
        raise table.error("default_region", f"{region!r} is not a country code like 'DE'")
    languages = table.strings("languages")
    for index, language in enumerate(languages):
        if language not in LANGUAGES:
            raise table.error(f"languages[{index}]", f"{language!r} is not one of {LANGUAGES}")
    metrics = table.string("metrics", "")
    if metrics and not re.fullmatch(r"[\w.:\[\]-]*:\d{1,5}", metrics):
        raise table.error("metrics", f"{metrics!r} is not HOST:PORT")
    max_parts = table.integer("max_parts", 10, minimum=1)
    if max_parts is not None and max_parts > 255:
        raise table.error("max_parts", "must be at most 255 (TS 23.040 §9.2.3.24.1)")
    return GatewayConfig(
        node=node,
        encoding=table.choice("encoding", "auto", ENCODINGS),
        database=table.path_value("database", DEFAULT_DATABASE) or DEFAULT_DATABASE,
        control=table.path_value("control", DEFAULT_CONTROL) or DEFAULT_CONTROL,
        default_region=region,
        allow_prefixes=_prefixes(table, "allow_prefixes"),
        languages=languages,
        max_parts=max_parts or 10,
        max_attempts=table.integer("max_attempts", 5, minimum=1) or 5,
        max_queue=table.integer("max_queue", 1_000_000, minimum=1) or 1_000_000,
        incomplete_after=table.number("incomplete_after", 3600.0),
        per_destination_per_hour=table.integer("per_destination_per_hour", 0) or 0,
        metrics=metrics,
        keep_days=_keep_days(table),
    )


def _keep_days(table: Table) -> int:
    value = table.integer("keep_days", 90)
    assert value is not None
    if value > MAX_KEEP_DAYS:
        raise table.error(
            "keep_days", f"must be at most {MAX_KEEP_DAYS} (100 years), or 0 to keep all"
        )
    return value


def _mqtt(table: Table, node: str) -> MqttConfig:
    url = table.string("url", "mqtt://127.0.0.1:1883")
    _check_url(table, url)
    prefix = table.string("prefix", "gsmgw")
    if not prefix or any(c in prefix for c in "+#") or prefix.startswith(("/", "$")):
        raise table.error("prefix", f"{prefix!r} cannot start an MQTT topic")
    password_file, password = table.secret("password_file")
    return MqttConfig(
        url=url,
        username=table.optional_string("username"),
        password_file=password_file,
        password=password,
        prefix=prefix,
        shared=table.boolean("shared", False),
        discovery=table.boolean("discovery", True),
        protocol=table.choice("protocol", "5", MQTT_PROTOCOLS),
        client_id=table.string("client_id", f"gsmgw-{node}"),
        keepalive=table.integer("keepalive", 60, minimum=5) or 60,
        ca_file=_readable(table, "ca_file"),
        cert_file=_readable(table, "cert_file"),
        key_file=_readable(table, "key_file"),
    )


def _check_url(table: Table, url: str) -> None:
    if not url:
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise table.error("url", f"{url!r}: {exc}") from exc
    if parts.scheme not in ("mqtt", "mqtts"):
        raise table.error("url", f"{url!r} must start with mqtt:// or mqtts:// (or be empty)")
    if not parts.hostname:
        raise table.error("url", f"{url!r} names no host")
    if parts.username or parts.password:
        raise table.error("url", "put credentials in username and password_file, not the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment or port == 0:
        raise table.error("url", f"{url!r} must be mqtt[s]://HOST[:PORT]")


def _readable(table: Table, key: str) -> Path | None:
    path = table.path_value(key, None)
    if path is not None and not path.is_file():
        raise table.error(key, f"{path} is not a readable file")
    return path


def _modem(table: Table) -> ModemConfig:
    modem_id = table.optional_string("id")
    if modem_id is None or not _NAME.fullmatch(modem_id):
        raise table.error("id", "required: 1-32 letters, digits, '_' or '-'")
    port = table.optional_string("port")
    if not port:
        raise table.error("port", "required: a serial device or sim:NAME")
    baudrate = table.integer("baudrate", 115200) or 115200
    if baudrate not in BAUDRATES:
        raise table.error("baudrate", f"{baudrate} is not one of {BAUDRATES}")
    pin_file, pin = table.secret("pin_file")
    if pin is not None and not _PIN.fullmatch(pin):
        raise table.error("pin_file", "the PIN must be 4 to 8 digits")
    groups = table.strings("groups")
    for index, group in enumerate(groups):
        if not _NAME.fullmatch(group):
            raise table.error(f"groups[{index}]", "1-32 letters, digits, '_' or '-'")
    return ModemConfig(
        id=modem_id,
        port=port,
        baudrate=baudrate,
        pin_file=pin_file,
        pin=pin,
        per_minute=table.integer("per_minute", None, minimum=1),
        per_day=table.integer("per_day", None, minimum=1),
        groups=groups,
        cost=_cost(table),
        reset_on_failure=table.boolean("reset_on_failure", False),
    )


def _cost(table: Table) -> tuple[tuple[str, float], ...]:
    cost = table.table("cost")
    prices = []
    for prefix in list(cost.data):
        if not _PREFIX.fullmatch(prefix):
            raise cost.error(prefix, "is not a prefix like '+49' (or '+' for all)")
        prices.append((prefix, cost.number(prefix, 0.0)))
    return tuple(sorted(prices, key=lambda item: -len(item[0])))


def _check_names(root: Table, modems: tuple[ModemConfig, ...]) -> None:
    ids: set[str] = set()
    for index, modem in enumerate(modems):
        if modem.id in ids:
            raise root.error(f"modem[{index}].id", f"duplicate modem id {modem.id!r}")
        ids.add(modem.id)
    for index, modem in enumerate(modems):
        for group in modem.groups:
            if group in ids:
                raise root.error(f"modem[{index}].groups", f"group {group!r} is also a modem id")


def _rule(table: Table, names: frozenset[str]) -> RuleConfig:
    prefix = table.optional_string("prefix")
    if prefix is not None and not _PREFIX.fullmatch(prefix):
        raise table.error("prefix", f"{prefix!r} is not a prefix like '+43'")
    pattern = table.optional_string("text")
    try:
        text = None if pattern is None else re.compile(pattern)
    except re.error as exc:
        raise table.error("text", f"invalid regular expression: {exc}") from exc
    priority = table.integer("priority", None, minimum=-1_000_000)
    modems = table.strings("modems")
    for index, name in enumerate(modems):
        if name not in names:
            raise table.error(f"modems[{index}]", f"no modem or group named {name!r}")
    if priority is None and not modems:
        raise table.error("priority", "a rule must set priority or modems")
    return RuleConfig(prefix=prefix, text=text, priority=priority, modems=modems)
