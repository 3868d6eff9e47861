"""``gsmgw run [-c FILE]``: the daemon."""

from __future__ import annotations

import argparse

from gsmgw.cli.local import DEFAULT_CONFIG


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw run``."""
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}"
    )
    parser.add_argument(
        "--trace-dir",
        metavar="DIR",
        help="write every byte to and from each modem to DIR/<modem id>.trace (for bug reports)",
    )


async def run(args: argparse.Namespace) -> int:
    """Load the config (1 on any mistake in it) and run the daemon until SIGTERM."""
    import logging

    from gsmgw.cli.output import error
    from gsmgw.config import load_config
    from gsmgw.daemon import setup_logging
    from gsmgw.errors import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        error(f"{exc.file}: {exc.key}: {exc.problem}")
        return 1
    setup_logging(logging.DEBUG if args.verbose > 1 else logging.INFO)
    if args.trace_dir:
        from pathlib import Path

        from gsmgw.modem.trace import set_trace_dir

        set_trace_dir(Path(args.trace_dir))
    from gsmgw.daemon import run as run_daemon

    return await run_daemon(config)
