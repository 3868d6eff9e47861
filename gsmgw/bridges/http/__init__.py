"""The HTTP API (SPEC.md "HTTP API"): REST over aiohttp in the daemon's loop, token-guarded."""

from gsmgw.bridges.http._auth import Tokens
from gsmgw.bridges.http._server import HttpApi, HttpSettings, settings_from_config

__all__ = ["HttpApi", "HttpSettings", "Tokens", "settings_from_config"]
