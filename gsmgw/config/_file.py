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
import stat
import tomllib
from urllib.parse import urlsplit

from gsmgw.config._table import Table
from gsmgw.config._webhook import WebhookConfig, parse_webhooks
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
#: A port spec with a scheme (``sim:NAME``), as `gsmgw.modem.port.open_port` tells them apart.
_PORT_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:(?!/)", re.IGNORECASE)
#: A token's name is its Basic user name and appears in logs and metrics; the token is a secret.
_TOKEN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TOKEN = re.compile(r"[\x21-\x7e]{16,256}")
#: SMPP 3.4 §5.2.1-2: system_id is at most 15 octets, password at most 8 (C-octet strings of
#: 16 and 9 with the NUL); printable ASCII without ':' so the users file's lines split cleanly.
_SMPP_SYSTEM_ID = re.compile(r"[\x21-\x39\x3b-\x7e]{1,15}")
_SMPP_PASSWORD = re.compile(r"[\x21-\x39\x3b-\x7e]{1,8}")
#: A notify target's number as typed: E.164, national or a short code (normalised when sent).
_TARGET_NUMBER = re.compile(r"\+?[0-9]{2,20}")


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
class NotifyTarget:
    """``[[homeassistant.notify]]``: a named recipient, its own notify entity in Home Assistant."""

    name: str
    to: tuple[str, ...]

    @property
    def slug(self) -> str:
        """The name as an object id: lowercase letters, digits and ``_``."""
        return re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_") or "target"


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """``[http]``: the HTTP API (SPEC.md "HTTP API"); ``listen == ""`` runs without it."""

    listen: str = ""
    tokens_file: Path | None = None
    #: (name, token) per line of ``tokens_file``, read at load time; never in ``repr``.
    tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    @property
    def enabled(self) -> bool:
        """Return False when the gateway runs without the HTTP API."""
        return bool(self.listen)

    @property
    def tls(self) -> bool:
        """Return True when the API speaks HTTPS."""
        return self.tls_cert_file is not None

    @property
    def host(self) -> str:
        """Return the address to bind (``[::]`` without its brackets)."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """Return the port to bind (0: any free port, for tests)."""
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppUser:
    """One line of ``[smpp] users_file``: an ESME's credentials and whether it gets MO SMS."""

    system_id: str
    password: str = field(repr=False)
    mo: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppConfig:
    """``[smpp]``: the SMPP 3.4 server (SPEC.md "SMPP server"); ``listen == ""`` runs without it."""

    listen: str = ""
    users_file: Path | None = None
    #: The users of ``users_file``, read at load time (passwords never in ``repr``).
    users: tuple[SmppUser, ...] = ()

    @property
    def enabled(self) -> bool:
        """Return False when the gateway runs without the SMPP server."""
        return bool(self.listen)

    @property
    def host(self) -> str:
        """Return the address to bind (``[::]`` without its brackets)."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """Return the port to bind (0: one the system chooses, for tests)."""
        return int(self.listen.rpartition(":")[2])

    def mo_users(self) -> tuple[str, ...]:
        """Return the system_ids marked ``mo``: they receive inbound SMS as deliver_sm."""
        return tuple(user.system_id for user in self.users if user.mo)


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
    #: This SIM's own number (SPEC.md ``[[modem]] number``): the destination of MO deliver_sm.
    number: str | None = None

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
    http: HttpConfig = HttpConfig()
    smpp: SmppConfig = SmppConfig()
    modems: tuple[ModemConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    opt_out: OptOutConfig = OptOutConfig()
    #: ``[[homeassistant.notify]]``, in file order.
    notify_targets: tuple[NotifyTarget, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()

    def modem_ids(self, name: str) -> frozenset[str]:
        """Return the modem ids a modem id or group name stands for (empty when unknown)."""
        return frozenset(m.id for m in self.modems if name == m.id or name in m.groups)

    def names(self) -> frozenset[str]:
        """Return every modem id and group name (what a request's ``modem`` may say)."""
        return frozenset(m.id for m in self.modems) | {g for m in self.modems for g in m.groups}

    def rule_for(self, number: str, text: str) -> RuleConfig | None:
        """Return the first rule that matches a message, or None."""
        return next((rule for rule in self.rules if rule.matches(number, text)), None)


def load_config(path: str | Path = DEFAULT_PATH, *, smpp_users: bool = True) -> Config:
    """Read and validate a config file; relative paths in it are relative to its directory.

    ``smpp_users=False`` leaves ``[smpp] users_file`` unread (``gsmgw doctor`` judges it itself).

    Raises:
        ConfigError: naming the file, the key and what is wrong.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "-", f"cannot read the file: {exc}") from exc
    return parse_config(text, file=file, base=Path(path).parent, smpp_users=smpp_users)


def parse_config(
    text: str, *, file: str = "<config>", base: Path | None = None, smpp_users: bool = True
) -> Config:
    """Validate TOML text as a config (``base`` resolves relative paths; default: cwd)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "-", f"not valid TOML: {exc}") from exc
    root = Table(file, "", data, base or Path.cwd())
    gateway = _gateway(root.table("gateway"))
    mqtt = _mqtt(root.table("mqtt"), gateway.node)
    http = _http(root.table("http"))
    smpp = _smpp(root.table("smpp"), read_users=smpp_users)
    modems = tuple(_modem(table) for table in root.tables("modem"))
    _check_names(root, modems)
    names = frozenset(m.id for m in modems) | {g for m in modems for g in m.groups}
    rules = tuple(_rule(table, names) for table in root.tables("rule"))
    opt_out = OptOutConfig(
        keywords=root.table("opt_out").strings("keywords", ("STOP", "UNSUBSCRIBE"))
    )
    targets = _notify_targets(root.table("homeassistant"))
    webhooks = parse_webhooks(root)
    root.finish()
    return Config(
        file=file,
        gateway=gateway,
        mqtt=mqtt,
        http=http,
        smpp=smpp,
        modems=modems,
        rules=rules,
        opt_out=opt_out,
        notify_targets=targets,
        webhooks=webhooks,
    )


def _notify_targets(table: Table) -> tuple[NotifyTarget, ...]:
    targets: list[NotifyTarget] = []
    for entry in table.tables("notify"):
        name = entry.string("name", "").strip()
        if not name or len(name) > 64:
            raise entry.error("name", "must be a name of 1 to 64 characters")
        # One number or a list, as the old integration's ``recipient`` took.
        one = isinstance(entry.data.get("to"), str)
        numbers = (entry.string("to", ""),) if one else entry.strings("to")
        if not numbers:
            raise entry.error("to", "must be a number or a list of numbers")
        for number in numbers:
            if not _TARGET_NUMBER.fullmatch(number.replace(" ", "")):
                raise entry.error("to", f"{number!r} is not a phone number")
        target = NotifyTarget(name=name, to=tuple(n.replace(" ", "") for n in numbers))
        if any(t.slug == target.slug for t in targets):
            raise entry.error("name", f"{name!r} is a second target of the same name")
        targets.append(target)
    return tuple(targets)


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


def _http(table: Table) -> HttpConfig:
    listen = table.string("listen", "")
    tokens_file = table.path_value("tokens_file", None)
    cert, key = _optional_file(table, "tls_cert_file"), _optional_file(table, "tls_key_file")
    if not listen:
        return HttpConfig()
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})", listen)
    if match is None or int(match[2]) > 65535:
        raise table.error("listen", f"{listen!r} is not HOST:PORT (or [IPv6]:PORT)")
    if tokens_file is None:
        raise table.error("tokens_file", "required when listen is set")
    if (cert is None) != (key is None):
        raise table.error("tls_key_file", "tls_cert_file and tls_key_file go together")
    return HttpConfig(
        listen=listen,
        tokens_file=tokens_file,
        tokens=_tokens(table, tokens_file),
        tls_cert_file=cert,
        tls_key_file=key,
    )


def _smpp(table: Table, *, read_users: bool) -> SmppConfig:
    listen = table.string("listen", "")
    users_file = table.path_value("users_file", None)
    if not listen:
        return SmppConfig()
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})", listen)
    if match is None or int(match[2]) > 65535:
        raise table.error("listen", f"{listen!r} is not HOST:PORT (or [IPv6]:PORT)")
    if users_file is None:
        raise table.error("users_file", "required when listen is set")
    users = _smpp_users(table, users_file) if read_users else ()
    return SmppConfig(listen=listen, users_file=users_file, users=users)


def _private_text(table: Table, key: str, path: Path) -> str:
    """Read a file of secrets; refuse one others may read, as one holding SIM PINs."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise table.error(key, f"cannot read {path}: {exc.__class__.__name__}") from exc
    if readable_by_others(mode):
        raise table.error(key, f"{path} is readable by others: chmod o-r (0640, group gsmgw)")
    return text


def _smpp_users(table: Table, path: Path) -> tuple[SmppUser, ...]:
    """Read ``system_id:password[:mo]`` lines (SPEC.md "SMPP server")."""
    users, problems = parse_smpp_users(_private_text(table, "users_file", path))
    if problems:
        raise table.error("users_file", f"{path} {problems[0]}")
    if not users:
        raise table.error("users_file", f"{path} holds no user")
    return users


def parse_smpp_users(text: str) -> tuple[tuple[SmppUser, ...], tuple[str, ...]]:
    """Return the users of a ``users_file``'s text and one ``line N: problem`` per bad line.

    The config refuses the file on its first problem; ``gsmgw doctor`` names them all. A
    problem names its line, never quotes it: the line holds a password.
    """
    users: dict[str, SmppUser] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        problem = None
        if len(fields) not in (2, 3) or (len(fields) == 3 and fields[2] != "mo"):
            problem = "not system_id:password[:mo]"
        elif not _SMPP_SYSTEM_ID.fullmatch(fields[0]):
            problem = "a system_id is 1-15 printable characters"
        elif not _SMPP_PASSWORD.fullmatch(fields[1]):
            problem = "a password is 1-8 printable characters"
        elif fields[0] in users:
            problem = f"the system_id {fields[0]!r} is there twice"
        if problem is not None:
            problems.append(f"line {number}: {problem}")
            continue
        users[fields[0]] = SmppUser(system_id=fields[0], password=fields[1], mo=len(fields) == 3)
    return tuple(users.values()), tuple(problems)


def readable_by_others(mode: int) -> bool:
    """Return whether a secrets file's mode lets every user read it (refused: chmod o-r)."""
    return bool(mode & stat.S_IROTH)


def _tokens(table: Table, path: Path) -> tuple[tuple[str, str], ...]:
    """Read ``name:token`` lines; refuse a file others may read, as one holding SIM PINs."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise table.error("tokens_file", f"cannot read {path}: {exc.__class__.__name__}") from exc
    if readable_by_others(mode):
        problem = f"{path} is readable by others: chmod o-r (0640, group gsmgw)"
        raise table.error("tokens_file", problem)
    tokens: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, token = line.partition(":")
        # The line's content is a secret: the error names the line, never quotes it.
        where = f"{path} line {number}"
        if not colon or not _TOKEN_NAME.fullmatch(name):
            raise table.error("tokens_file", f"{where}: not NAME:TOKEN (name: letters, digits)")
        if not _TOKEN.fullmatch(token):
            raise table.error("tokens_file", f"{where}: a token is 16-256 printable characters")
        if name in tokens:
            raise table.error("tokens_file", f"{where}: the name {name!r} is there twice")
        tokens[name] = token
    if not tokens:
        raise table.error("tokens_file", f"{path} holds no token")
    return tuple(tokens.items())


def _optional_file(table: Table, key: str) -> Path | None:
    """Return a readable file's path; "" (SPEC.md's default for the TLS files) is none."""
    if table.data.get(key) == "":
        table.optional_string(key)
        return None
    return _readable(table, key)


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
    if not _PORT_SCHEME.match(port):
        # A device path: relative to the config file's folder like every other path (README),
        # not to wherever the daemon happens to be started from.
        port = str(table.base / Path(port).expanduser())
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
        number=_own_number(table),
    )


def _own_number(table: Table) -> str | None:
    number = table.optional_string("number")
    if number is not None and not re.fullmatch(r"\+?\d{1,20}", number):
        raise table.error("number", f"{number!r} is not a phone number like '+491701234567'")
    return number


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
