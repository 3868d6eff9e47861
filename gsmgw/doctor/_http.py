"""``gsmgw doctor``'s HTTP API checks: the tokens file, and the listener.

While the daemon runs, its listener must answer ``GET /v1/health`` (no token needed); while it is
stopped, nothing else may hold its address, or the daemon would not start. The tokens file's
format was checked by loading the config (it refuses a file others may read, or a bad line);
here it must be readable by the daemon's user.
"""

from __future__ import annotations

import errno
import socket

from gsmgw.config import Config
from gsmgw.doctor._facts import READ, file_facts
from gsmgw.doctor._judge import Account, Check, Status, access_check, fail, ok, warn

#: Seconds the listener has to answer ``/v1/health``.
HEALTH_TIMEOUT = 3.0
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def tokens_check(config: Config, account: Account) -> Check | None:
    """Judge ``http.tokens_file`` (None while the HTTP API is off)."""
    http = config.http
    if not http.enabled or http.tokens_file is None:
        return None
    path = http.tokens_file
    try:
        facts = file_facts(path)
    except OSError as exc:
        return fail("HTTP tokens", f"{path}: {exc.strerror}", "fix http.tokens_file")
    access = access_check("HTTP tokens", str(path), facts, account, want=READ)
    if access.status is not Status.OK:
        return access
    count = len(http.tokens)
    return ok(
        "HTTP tokens", f"{path}: {count} tokens, mode {facts.mode & 0o777:04o}, not world-readable"
    )


async def listener_check(
    config: Config, *, running: bool, limit: float = HEALTH_TIMEOUT
) -> Check | None:
    """Judge ``http.listen``: answering ``/v1/health`` while the daemon runs, free while not."""
    http = config.http
    if not http.enabled:
        return None
    host = _ANY_ADDRESS.get(http.host, http.host)
    if not running:
        return _free_check(http.host, http.port)
    import aiohttp

    scheme = "https" if http.tls else "http"
    url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{http.port}/v1/health"
    try:
        timeout = aiohttp.ClientTimeout(total=limit)
        # The certificate is not judged here (a self-signed one is fine on a LAN): only that
        # the listener answers.
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, ssl=False) as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        hint = "journalctl -u gsmgw: the daemon logs why the HTTP API did not start"
        return fail("HTTP API", f"{url} does not answer: {exc.__class__.__name__} {exc}", hint)
    if response.status != 200 or not isinstance(body, dict):
        return fail(
            "HTTP API", f"{url} answered {response.status}", "is another server on that port?"
        )
    ready = f"{body.get('modems_ready')}/{body.get('modems')} modems ready"
    return ok("HTTP API", f"{url} answers: {ready}")


def _free_check(host: str, port: int) -> Check:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            hint = f"find it: sudo ss -ltnp 'sport = :{port}'; or change http.listen"
            return fail("HTTP API", f"{host}:{port} is in use by another program", hint)
        if exc.errno == errno.EACCES:
            return warn(
                "HTTP API", f"{host}:{port}: only root may listen there", "use a port above 1023"
            )
        return warn("HTTP API", f"cannot test {host}:{port}: {exc.strerror}", "")
    return ok("HTTP API", f"{host}:{port} is free for the daemon")
