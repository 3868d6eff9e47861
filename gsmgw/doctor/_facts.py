"""The checks of ``gsmgw doctor`` that need no modem: accounts, folders, database, broker, clock.

Each function gathers facts (stat, the database, a CONNACK) and leaves the judgment to
``_judge``. The broker check connects as ``gsmgw-doctor-<pid>`` with a clean session,
never with the daemon's client id: taking that id would throw the running daemon off the broker
and touch the persistent session holding its undelivered requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
import grp
import os
from pathlib import Path
import pwd
import socket
import stat
from typing import TYPE_CHECKING

from gsmgw.doctor._judge import (
    Account,
    Check,
    FileFacts,
    Status,
    access_check,
    allowed,
    broker_refused,
    broker_unreachable,
    clock_check,
    fail,
    ok,
    warn,
)
from gsmgw.doctor._smpp import listener_answers, listener_free, users_file_check

if TYPE_CHECKING:
    import aiomqtt

    from gsmgw.config import Config

#: Seconds to wait for the broker's CONNACK.
BROKER_TIMEOUT = 5.0
#: The service's account and its SupplementaryGroups= (systemd/gsmgw.service).
SERVICE_USER = "gsmgw"
SERVICE_GROUPS = ("dialout",)
READ, WRITE, SEARCH = 4, 2, 1


def current_account() -> Account:
    """Return the user running this process, with its groups now and at its next login."""
    uid = os.geteuid()
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return Account(name=str(uid), uid=uid, groups=_process_groups(), listed=_process_groups())
    return Account(
        name=entry.pw_name,
        uid=uid,
        groups=_process_groups(),
        listed=_listed_groups(entry.pw_name, entry.pw_gid),
    )


def service_account() -> Account | None:
    """Return the ``gsmgw`` service user as systemd starts it, or None when it does not exist."""
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    groups = set(_listed_groups(entry.pw_name, entry.pw_gid))
    for name in SERVICE_GROUPS:
        try:
            groups.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue
    return Account(
        name=entry.pw_name, uid=entry.pw_uid, groups=frozenset(groups), listed=frozenset(groups)
    )


def daemon_account() -> Account:
    """Return whose permissions matter: the service user when root runs us, else ourselves.

    Root may open anything, so judging root would hide the problems the service will meet.
    """
    if os.geteuid() == 0:
        service = service_account()
        if service is not None:
            return service
    return current_account()


def _process_groups() -> frozenset[int]:
    return frozenset({os.getegid(), *os.getgroups()})


def _listed_groups(user: str, primary: int) -> frozenset[int]:
    return frozenset({primary} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem})


def file_facts(path: str | Path) -> FileFacts:
    """Return the mode, owner and group of ``path`` (follows links); raises ``OSError``."""
    info = os.stat(path)
    try:
        group: str | None = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = None
    return FileFacts(mode=info.st_mode, uid=info.st_uid, gid=info.st_gid, group=group)


def folder_check(name: str, folder: Path, account: Account, *, made_by: str) -> Check:
    """Judge a folder the daemon writes in; a missing one is fine if it can be created.

    ``made_by`` says who creates a missing folder that we may not create ourselves.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        facts = file_facts(existing)
    except OSError as exc:
        return fail(name, f"{existing}: {exc.strerror}", "check the path in the config")
    if not stat.S_ISDIR(facts.mode):
        return fail(
            name,
            f"{existing} is a file, not a folder",
            f"move the file away, or set the path in the config to another folder than {folder}",
        )
    verdict = access_check(name, str(existing), facts, account, want=WRITE | SEARCH)
    if existing == folder:
        return verdict
    if verdict.status is Status.OK:
        return ok(name, f"{folder} does not exist yet; created at start in {existing}")
    return warn(name, f"{folder} does not exist and user {account.name} may not create it", made_by)


def database_check(config: Config, account: Account) -> Check:
    """Judge ``gateway.database``: its folder is writable and the file opens (schema version)."""
    from gsmgw.errors import StoreError
    from gsmgw.store import SCHEMA_VERSION, StoreReader

    path = config.gateway.database
    folder = folder_check(
        "database",
        path.parent,
        account,
        made_by="the service gets it from StateDirectory=gsmgw; by hand: "
        f"sudo install -d -o {account.name} {path.parent}",
    )
    if folder.status is not Status.OK:
        return folder
    if not path.exists():
        return ok(
            "database", f"{path} does not exist yet; created at start (schema v{SCHEMA_VERSION})"
        )
    if not path.is_file():
        return fail("database", f"{path} is not a file", "set gateway.database to a file path")
    access = access_check("database", str(path), file_facts(path), account, want=READ | WRITE)
    if access.status is not Status.OK:
        return access
    try:
        with StoreReader(path):
            pass
    except StoreError as exc:
        return fail(
            "database",
            str(exc),
            "just upgraded? start the daemon once, it migrates the file; otherwise restore a "
            "backup, or move the file away and the daemon starts an empty one",
        )
    return ok("database", f"{path} opens, schema version {SCHEMA_VERSION}, folder writable")


def control_check(config: Config, account: Account, *, running: bool) -> Check:
    """Judge ``gateway.control``: the daemon answers there, or it can create its socket."""
    path = config.gateway.control
    if running:
        return ok("control socket", f"the daemon answers on {path}")
    made_by = (
        "the service gets it from RuntimeDirectory=gsmgw while it runs; by hand: "
        f"sudo install -d -o {account.name} {path.parent}"
    )
    check = folder_check("control socket", path.parent, account, made_by=made_by)
    if check.status is Status.OK and path.is_socket():
        return ok("control socket", f"{path} is left from an earlier run; replaced at start")
    return check


def tls_check(config: Config, account: Account) -> Check | None:
    """Judge the TLS files of ``mqtts://`` (None when TLS is off and no file is set)."""
    mqtt = config.mqtt
    files = {"ca_file": mqtt.ca_file, "cert_file": mqtt.cert_file, "key_file": mqtt.key_file}
    named = {key: path for key, path in files.items() if path is not None}
    if not named:
        return ok("broker TLS", "the system's CAs, no client certificate") if mqtt.tls else None
    for key, path in named.items():
        try:
            facts = file_facts(path)
        except OSError as exc:
            return fail("broker TLS", f"{key} {path}: {exc.strerror}", f"fix mqtt.{key}")
        if not allowed(facts, account, READ, groups=account.groups):
            return access_check("broker TLS", str(path), facts, account, want=READ)
    if not mqtt.tls:
        return warn(
            "broker TLS", "TLS files are set but mqtt.url is mqtt://", "use mqtts:// to use them"
        )
    return ok("broker TLS", "readable: " + ", ".join(f"{k} {p}" for k, p in named.items()))


async def broker_check(config: Config, *, limit: float = BROKER_TIMEOUT) -> Check:
    """Connect and disconnect once, as ``gsmgw-doctor-<pid>`` with a clean session."""
    import aiomqtt
    from aiomqtt.exceptions import MqttConnectError

    mqtt = config.mqtt
    if not mqtt.enabled:
        return ok("broker", "MQTT is off (mqtt.url is empty): CLI and control socket only")
    where = f"{mqtt.host}:{mqtt.port}"
    try:
        client = _client(config, limit)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a bad CA or key file
        hint = "ca_file, cert_file and key_file must be PEM files (the key unencrypted)"
        return fail("broker", f"cannot use the TLS files: {exc}", hint)
    try:
        async with asyncio.timeout(limit * 2), client:
            pass
    except MqttConnectError as exc:
        code = exc.rc if isinstance(exc.rc, int) else getattr(exc.rc, "value", -1)
        reason = str(exc).partition("] ")[2] or str(exc)
        return broker_refused("broker", where, int(code or 0), reason, user=mqtt.username)
    except aiomqtt.MqttError as exc:
        return broker_unreachable("broker", where, str(exc), tls=mqtt.tls)
    except TimeoutError:
        return broker_unreachable("broker", where, f"no answer in {limit * 2:g} s", tls=mqtt.tls)
    user = f"user {mqtt.username}" if mqtt.username else "no user name"
    return ok("broker", f"connected to {where} with {user} (MQTT {mqtt.protocol})")


def _client(config: Config, limit: float) -> aiomqtt.Client:
    """Return a client with doctor's own id and a session that ends with the connection."""
    from gsmgw.bridges.mqtt import client_settings, make_client

    doctor = f"gsmgw-doctor-{os.getpid()}"
    return make_client(client_settings(config, client_id=doctor, persistent=False, timeout=limit))


def system_clock_check() -> Check:
    """Judge the system clock's year."""
    return clock_check(datetime.now(UTC))


def systemd_check() -> Check:
    """Say whether systemd-python is there (journal fields) or not (plain lines); never fails."""
    try:
        import systemd.journal  # noqa: F401
    except ImportError:
        return ok(
            "systemd-python",
            "not installed: under systemd the log goes to the journal as plain lines",
            "for structured journal fields: sudo apt install python3-systemd",
        )
    return ok("systemd-python", "installed: the journal gets structured fields")


def smpp_users_check(config: Config, account: Account) -> Check:
    """Judge ``[smpp] users_file`` as the daemon reads it at start."""
    path = config.smpp.users_file
    assert path is not None  # the config requires it with listen
    try:
        facts = file_facts(path)
    except OSError as exc:
        return users_file_check(str(path), None, account, None, error=exc.strerror or str(exc))
    try:
        # Undecodable octets become U+FFFD, which no system_id or password may hold: the
        # line is named, as a line with any other stray character is.
        text: str | None = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        return users_file_check(str(path), facts, account, None, error=exc.strerror or str(exc))
    return users_file_check(str(path), facts, account, text)


async def smpp_listen_check(
    config: Config, account: Account, *, running: bool | None, sessions: int | None, limit: float
) -> Check:
    """Connect to ``[smpp] listen`` when a daemon may run there; else try listening on it.

    ``running`` is None when a daemon may run but could not be asked.
    """
    smpp = config.smpp
    if running is not False:
        problem = await _connect(_LOOPBACK.get(smpp.host, smpp.host), smpp.port, limit)
        if running or problem is None:
            return listener_answers(smpp.listen, problem, sessions=sessions)
    refused = await asyncio.to_thread(_try_listen, smpp.host, smpp.port)
    lowest = _lowest_free_port()
    return listener_free(smpp.listen, smpp.port, refused, uid=account.uid, lowest_free=lowest)


#: Where a wildcard listen address is reached from this machine.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
#: net.ipv4.ip_unprivileged_port_start: ports below it need root or CAP_NET_BIND_SERVICE.
_UNPRIVILEGED_PORT_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")


async def _connect(host: str, port: int, limit: float) -> str | None:
    """Open and close a TCP connection; return what went wrong, or None."""
    try:
        async with asyncio.timeout(limit):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return f"no answer in {limit:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def _try_listen(host: str, port: int) -> int | str | None:
    """Listen and stop at once, as the daemon would; return the errno or a message, or None."""
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return exc.strerror or str(exc)
    for family, kind, protocol, _, address in found:
        try:
            with socket.socket(family, kind, protocol) as probe:
                # asyncio.start_server sets it too: a port left in TIME_WAIT is free to it.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
                probe.listen()
        except OSError as exc:
            return exc.errno if exc.errno is not None else str(exc)
    return None


def _lowest_free_port() -> int:
    try:
        return int(_UNPRIVILEGED_PORT_START.read_text())
    except (OSError, ValueError):
        return 1024
