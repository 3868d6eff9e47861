"""The daemon's side of the local control socket: one JSON request per line, one reply per line.

The CLI (`gsmgw status`, `gsmgw send`, `gsmgw doctor`...) talks to the running daemon through a
Unix socket (``gateway.control``), so nothing but local users with access to the socket's
folder can drive the gateway. A request is ``{"op": NAME, ...}``; the reply is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from gsmgw.errors import ControlError, GsmgwError

LOGGER = logging.getLogger(__package__)

MAX_LINE = 1024 * 1024

Handler = Callable[[Mapping[str, Any]], Awaitable[object]]


class ControlServer:
    """Serves control requests on a Unix socket by dispatching ``op`` to handlers."""

    def __init__(self, path: str, handlers: Mapping[str, Handler]) -> None:
        self.path = path
        self._handlers = dict(handlers)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on the socket, replacing a stale one left by a crash."""
        socket_path = Path(self.path)
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        if socket_path.is_socket():
            if await _is_alive(self.path):
                raise ControlError("busy", f"another gsmgw daemon listens on {self.path}")
            socket_path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_LINE)
        # Group-writable so that members of the daemon's group may use the CLI.
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        """Stop listening and remove the socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self._handle(line)
                writer.write(json.dumps(reply, ensure_ascii=False, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            LOGGER.debug("control connection dropped: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _handle(self, line: bytes) -> dict[str, object]:
        try:
            request = json.loads(line)
        except ValueError:
            return _error("invalid_json", "the request is not one line of JSON")
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return _error("invalid_request", 'a request is an object with an "op" string')
        handler = self._handlers.get(request["op"])
        if handler is None:
            return _error("unknown_op", f"unknown operation {request['op']!r}")
        try:
            return {"ok": True, "result": await handler(request)}
        except ControlError as exc:
            return _error(exc.code, str(exc))
        except GsmgwError as exc:
            return _error(getattr(exc, "code", "failed"), str(exc))
        except Exception:
            LOGGER.exception("control operation %r failed", request["op"])
            return _error("internal", "the daemon failed to handle the request; see its log")


def _error(code: str, message: str) -> dict[str, object]:
    return {"ok": False, "error": {"code": code, "message": message}}


async def _is_alive(path: str) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(path)
    except OSError:
        return False
    writer.close()
    return True
