"""The HTTP API (SPEC.md "HTTP API"): REST over aiohttp in the daemon's loop, token-guarded."""

from gsmgw.bridges.http._auth import Tokens
from gsmgw.bridges.http._server import HttpApi, HttpSettings, settings_from_config
from gsmgw.bridges.http._webhooks import Consumer, Webhooks, sign

__all__ = [
    "Consumer",
    "HttpApi",
    "HttpSettings",
    "Tokens",
    "Webhooks",
    "settings_from_config",
    "sign",
]
