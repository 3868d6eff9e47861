"""The CLI's side of the daemon's control socket (the server is ``gsmgw.daemon.ControlServer``).

A request is ``{"op": NAME, ...}`` on one line; the reply is ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"code": ..., "message": ...}}``. Kept apart from the daemon so that
``gsmgw status`` loads nothing of it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gsmgw.errors import ControlError

#: The longest reply line read (a ``status`` of many modems stays far below it).
MAX_LINE = 1024 * 1024
CLIENT_TIMEOUT = 30.0


async def request(path: str, op: str, **fields: object) -> Any:
    """Send one request to the daemon and return its result, or raise `ControlError`."""
    try:
        reader, writer = await asyncio.open_unix_connection(path, limit=MAX_LINE)
    except FileNotFoundError:
        raise ControlError(
            "not_running", f"no gsmgw daemon listens on {path} (is `gsmgw run` started?)"
        ) from None
    except PermissionError:
        raise ControlError(
            "permission", f"no permission to use {path}: run as root or join the gsmgw group"
        ) from None
    except OSError as exc:
        raise ControlError("not_running", f"cannot reach the daemon at {path}: {exc}") from exc
    try:
        writer.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        async with asyncio.timeout(CLIENT_TIMEOUT):
            await writer.drain()
            line = await reader.readline()
    except TimeoutError:
        raise ControlError("timeout", f"the daemon did not answer {op!r} in time") from None
    finally:
        writer.close()
    if not line:
        raise ControlError("not_running", "the daemon closed the connection")
    reply = json.loads(line)
    if not reply.get("ok"):
        error = reply.get("error", {})
        raise ControlError(error.get("code", "failed"), error.get("message", "request failed"))
    return reply.get("result")
