"""``gsmgw doctor``: its arguments and its printing; ``gsmgw.doctor`` runs the checks."""

from __future__ import annotations

import argparse

DEFAULT_CONFIG = "/etc/gsmgw/config.toml"
#: Seconds per question to a modem (``gsmgw.doctor.MODEM_TIMEOUT``; here so --help loads nothing).
MODEM_TIMEOUT = 3.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw doctor``."""
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout",
        type=float,
        default=MODEM_TIMEOUT,
        help=f"seconds per question to a modem (default {MODEM_TIMEOUT:g})",
    )


async def run(args: argparse.Namespace) -> int:
    """Run every check; exit 0 when none failed (warnings allowed), 1 otherwise."""
    from gsmgw.cli.output import print_json

    if args.timeout <= 0:
        from gsmgw.cli.output import error

        error("--timeout must be positive")
        return 2
    from gsmgw.doctor import diagnose

    report = await diagnose(args.config, limit=args.timeout)
    if args.json:
        print_json(report.to_json())
    else:
        print(report.render())
    return 0 if report.ok else 1
