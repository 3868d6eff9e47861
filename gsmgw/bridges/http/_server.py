"""The HTTP API's server: aiohttp in the daemon's event loop, behind one guard for every path.

The guard runs before routing decides anything, so a request without a valid token gets 401 on
any path, existing or not, and learns nothing else (SPEC.md). Then the per-token rate limit,
then the handler; whatever goes wrong becomes SPEC.md's JSON rejection object, and an unexpected
exception a logged 500 (a task boundary: one bad request never stops the daemon). Bodies are
capped at 1 MiB by aiohttp's ``client_max_size`` and by ``read_body``; request lines and header
fields at aiohttp's 8 KiB (400 beyond). The access log is off: it would print query strings,
which may carry Kannel passwords; the guard logs method, path, status and the token's name.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import logging
import math
import ssl

from aiohttp import hdrs, web

from gsmgw.bridges.guards import RateLimiter
from gsmgw.bridges.http._alertmanager import Alertmanager
from gsmgw.bridges.http._auth import CHALLENGE, Tokens
from gsmgw.bridges.http._errors import ApiError
from gsmgw.bridges.http._kannel import KANNEL_PATH, Kannel
from gsmgw.bridges.http._routes import Routes
from gsmgw.bridges.requests import MAX_PAYLOAD, RATE_BURST, RATE_PER_SECOND
from gsmgw.config import Config
from gsmgw.core import Core
from gsmgw.errors import ConfigError, GsmgwError, RequestError
from gsmgw.sms import EncodingMode

__all__ = ["HttpApi", "HttpSettings", "settings_from_config"]

LOGGER = logging.getLogger(__package__)

#: Paths anyone may ask (SPEC.md: ``/v1/health`` needs no token).
OPEN_PATHS = frozenset({"/v1/health"})
#: Paths whose handler checks credentials itself: Kannel's, from its query, refused with a 403.
SELF_CHECKED_PATHS = frozenset({KANNEL_PATH})
# All of these are in seconds.
#: An idle keep-alive connection is closed after this long (aiohttp's default is an hour).
KEEPALIVE_TIMEOUT = 75.0
#: How long a stop lets requests in progress finish.
SHUTDOWN_TIMEOUT = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """Where to listen, the tokens, TLS and the guards."""

    host: str
    port: int
    tokens: tuple[tuple[str, str], ...] = field(repr=False)
    ssl_context: ssl.SSLContext | None = None
    default_region: str = ""
    #: ``[gateway]``'s, for the Alertmanager texts' part count.
    max_parts: int = 10
    encoding: str = "auto"
    languages: tuple[str, ...] = ()
    rate: float = RATE_PER_SECOND
    burst: int = RATE_BURST
    #: The config file, for the error that says the address is taken.
    config_file: str = "<config>"


def settings_from_config(config: Config) -> HttpSettings:
    """Return the settings of ``[http]``; load the TLS certificate now.

    Raises:
        ConfigError: the certificate or key cannot be loaded.
    """
    http = config.http
    context = None
    if http.tls_cert_file is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(http.tls_cert_file, http.tls_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(config.file, "http.tls_cert_file", f"cannot load: {exc}") from exc
    return HttpSettings(
        host=http.host,
        port=http.port,
        tokens=http.tokens,
        ssl_context=context,
        default_region=config.gateway.default_region,
        max_parts=config.gateway.max_parts,
        encoding=config.gateway.encoding,
        languages=config.gateway.languages,
        config_file=config.file,
    )


class HttpApi:
    """The HTTP API; ``run()`` serves until cancelled."""

    def __init__(self, core: Core, settings: HttpSettings) -> None:
        self._core = core
        self._settings = settings
        self._tokens = Tokens(settings.tokens)
        self._limiter = RateLimiter(rate=settings.rate, burst=settings.burst)
        self.routes = Routes(core, default_region=settings.default_region)
        self.kannel = Kannel(
            core, self._tokens, self._limiter, default_region=settings.default_region
        )
        self.app = web.Application(middlewares=[self._guard], client_max_size=MAX_PAYLOAD)
        self.app.add_routes(self.routes.table())
        self.app.add_routes(self.kannel.table())
        alertmanager = Alertmanager(
            core,
            default_region=settings.default_region,
            max_parts=settings.max_parts,
            mode=EncodingMode(settings.encoding),
            languages=settings.languages,
        )
        self.app.add_routes(alertmanager.table())
        #: Answers given, by (route, status); the route is ``"METHOD /path/{template}"``, or
        #: ``"other"`` for paths that match none (bounded: a scan of random paths adds nothing).
        self.requests: Counter[tuple[str, int]] = Counter()
        #: The bound port (the configured one, or the one the system chose for port 0).
        self.port: int | None = None
        self.listening = asyncio.Event()

    @property
    def url(self) -> str:
        """Return the base URL clients on this host use."""
        scheme = "https" if self._settings.ssl_context is not None else "http"
        host = self._settings.host
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.port}"

    def status(self) -> dict[str, object]:
        """Return ``gsmgw status``'s view: where it listens, once it does."""
        listening = self.listening.is_set()
        return {"url": self.url if listening else None, "listening": listening}

    async def run(self) -> None:
        """Listen and serve until cancelled; raise ``ConfigError`` if the address is taken."""
        runner = web.AppRunner(
            self.app,
            access_log=None,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        try:
            site = web.TCPSite(
                runner,
                self._settings.host,
                self._settings.port,
                ssl_context=self._settings.ssl_context,
            )
            try:
                await site.start()
            except OSError as exc:
                raise ConfigError(
                    self._settings.config_file, "http.listen", f"cannot listen: {exc}"
                ) from exc
            self.port = _bound_port(runner)
            self.listening.set()
            LOGGER.info("HTTP API on %s", self.url)
            await asyncio.Event().wait()  # serve until the daemon's TaskGroup cancels us
        finally:
            await asyncio.shield(runner.cleanup())

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        name: str | None = None
        try:
            if request.path not in OPEN_PATHS and request.path not in SELF_CHECKED_PATHS:
                name = self._tokens.check(request.headers.get(hdrs.AUTHORIZATION))
                if name is None:
                    raise ApiError(
                        RequestError("unauthorized", "a valid token is needed"),
                        headers={hdrs.WWW_AUTHENTICATE: CHALLENGE},
                    )
                self._check_rate(name)
            response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except RequestError as exc:  # parse_json, parse_ussd
            response = ApiError(exc).response()
        except web.HTTPException as exc:
            response = _from_aiohttp(exc)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            LOGGER.exception("%s %s failed; answered internal_error", request.method, request.path)
            error = RequestError("internal_error", "the gateway failed on this request")
            response = ApiError(error).response()
        LOGGER.debug("%s %s %d (%s)", request.method, request.path, response.status, name)
        self.requests[(_route(request), response.status)] += 1
        return response

    def _check_rate(self, name: str) -> None:
        if self._limiter.allow(name):
            return
        wait = max(1, math.ceil(1 / self._limiter.rate))
        error = RequestError(
            "rate_limited", f"more than {self._limiter.rate:g} requests/s with this token"
        )
        raise ApiError(error, headers={hdrs.RETRY_AFTER: str(wait)})


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    if resource is None or request.match_info.http_exception is not None:
        return "other"
    return f"{request.method} {resource.canonical}"


def _from_aiohttp(exc: web.HTTPException) -> web.Response:
    """Answer aiohttp's own refusals (no route, wrong method, too large) with SPEC.md's object."""
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status, "invalid_request" if exc.status < 500 else "internal_error")
    headers: dict[str, str] = {}
    if hdrs.ALLOW in exc.headers:
        headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
    message = exc.reason if code != "not_found" else "no such path"
    return ApiError(RequestError(code, message), status=exc.status, headers=headers).response()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise GsmgwError("the HTTP API has no socket")
