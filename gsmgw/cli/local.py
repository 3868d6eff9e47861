"""What the data commands share: finding the config, the database and the daemon's socket.

``gsmgw outbox``, ``inbox``, ``optout`` and ``status`` read the config named by ``-c`` (default
``/etc/gsmgw/config.toml``) for ``gateway.database`` and ``gateway.control``. Reads use the
store's read-only reader, safe while the daemon writes (WAL). Writes go through the daemon's
control socket when it runs, so its one writer commits them and the dispatcher hears at once;
with no daemon they open the database themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from gsmgw.config import Config
    from gsmgw.store import Store

T = TypeVar("T")
DEFAULT_CONFIG = "/etc/gsmgw/config.toml"


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``-c FILE`` and ``--json``."""
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for machines")


def load(args: argparse.Namespace) -> Config:
    """Load the config named by ``-c``; raise ``ConfigError``."""
    from gsmgw.config import load_config

    return load_config(Path(args.config))


async def through_daemon(
    config: Config, op: str, fields: dict[str, Any], direct: Callable[[Store], Awaitable[T]]
) -> T | Any:
    """Run ``op`` on the daemon; without a daemon, run ``direct`` on the database itself."""
    from gsmgw.cli.control import request
    from gsmgw.core import make_store
    from gsmgw.errors import ControlError

    try:
        return await request(str(config.gateway.control), op, **fields)
    except ControlError as exc:
        if exc.code != "not_running":
            raise
    async with make_store(config) as store:
        return await direct(store)


def iso(value: object) -> str | None:
    """Return a datetime as ISO 8601 (None stays None)."""
    from datetime import datetime

    if value is None:
        return None
    assert isinstance(value, datetime)
    return value.isoformat(timespec="seconds")


async def send_through_daemon(args: argparse.Namespace) -> int:
    """``gsmgw send --to N --text T`` without ``--port``: queue it in the running daemon.

    Prints ``{"id", "state"}`` (or the refusal) per recipient; exit 1 when one was refused.
    """
    from gsmgw.cli.control import request
    from gsmgw.cli.output import error, print_json
    from gsmgw.errors import GsmgwError

    fields: dict[str, Any] = {"to": args.to, "text": args.text}
    for key in ("id", "priority", "modem", "valid_for"):
        value = getattr(args, key, None)
        if value is not None:
            fields[key] = value
    for key in ("report", "flash", "marketing"):
        if getattr(args, key, False):
            fields[key] = True
    if getattr(args, "encoding", None) not in (None, "auto"):
        fields["encoding"] = args.encoding
    try:
        results = await request(str(load(args).gateway.control), "send", request=fields)
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json(results)
    for result in results:
        if "error" in result:
            if not args.json:
                error(f"{result['id']}: {result['error']['code']}: {result['error']['message']}")
            return 1
        if not args.json:
            print(f"{result['id']}: {result['state']}")
    return 0
