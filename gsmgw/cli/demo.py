"""``gsmgw demo [--once]``: the whole gateway on two simulated modems with its own Mosquitto."""

from __future__ import annotations

import argparse

#: The tour's bound: ``--once`` gives up (exit 1) after this many seconds.
ONCE_TIMEOUT = 60.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw demo``."""
    parser.add_argument(
        "--once",
        action="store_true",
        help=f"run the scripted tour and exit: 0 when all steps worked (within {ONCE_TIMEOUT:g} s)",
    )


def _say(line: str) -> None:
    print(line, flush=True)


async def run(args: argparse.Namespace) -> int:
    """Run the demo; 1 when Mosquitto is missing or a step of the tour failed."""
    import asyncio

    from gsmgw.cli.output import error
    from gsmgw.demo import MosquittoMissing, run_demo
    from gsmgw.errors import GsmgwError

    try:
        if not args.once:
            return await run_demo(once=False, say=_say)
        async with asyncio.timeout(ONCE_TIMEOUT):
            return await run_demo(once=True, say=_say)
    except MosquittoMissing as exc:
        error(f"gsmgw demo needs Mosquitto: {exc}")
        return 1
    except TimeoutError:
        error(f"gsmgw demo: the tour did not finish within {ONCE_TIMEOUT:g} s")
        return 1
    except GsmgwError as exc:
        error(f"gsmgw demo: {exc}")
        return 1
