"""gsmgw against gammu-smsd and smstools3 on the same simulated modems: ``bench/peers/run``.

    bench/peers/run                 # the full run (about 8 minutes)
    bench/peers/run --quick         # the short run (under five minutes)
    bench/peers/run --quick --json  # one JSON object keyed by system and setting

Peers that poll and sleep run side by side (they wait, they do not compute); the ones that
keep a CPU busy (gammu-smsd tuned busy-waits, gsmgw under load) run alone afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import random
import shutil
import sys
import tempfile
import time

from bench.peers import workloads as w
from bench.peers.gateway import GatewayUnavailable, Gsmgw
from bench.peers.peers import GammuSmsd, Smstools
from bench.peers.report import SYSTEMS, format_table
from bench.peers.system import System

REQUIRED = (
    "idle_latency_s_p50",
    "idle_latency_s_p99",
    "throughput_msgs_per_s",
    "utilisation_2s",
    "inbound_latency_s_p50",
    "unplug_lost",
    "unplug_duplicates",
    "unplug_recovery_s",
    "text_intact",
)
WORKLOADS = ("idle", "throughput", "throughput4", "spread", "inbound", "unplug", "text")
FACTORIES: dict[str, Callable[[], System]] = {
    "gsmgw": Gsmgw,
    "gammu-smsd-default": lambda: GammuSmsd(tuned=False),
    "gammu-smsd-tuned": lambda: GammuSmsd(tuned=True),
    "smstools3-default": lambda: Smstools(tuned=False),
    "smstools3-tuned": lambda: Smstools(tuned=True),
}
LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """One workload of one system; ``alone`` ones run by themselves, after the others."""

    key: str
    name: str
    run: Callable[[], Awaitable[w.Metrics]]
    alone: bool


def progress(text: str) -> None:
    """Tell the operator what runs (stderr, so that --json output stays clean)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def jobs_for(key: str, workdir: Path, plan: w.Plan, chosen: set[str], seed: int) -> list[Job]:
    """Return the workloads to run for one system and setting.

    gsmgw's figures are milliseconds and a busy-waiting peer's idle latency is too, so those
    run alone; the peers' other workloads wait in sleeps and share the machine.
    """
    make = FACTORIES[key]
    rng = random.Random(f"{seed}-{key}")
    busy = make().busy_waits
    jobs = [
        ("idle", "idle", lambda: w.idle_latency(make, workdir / "idle", plan, rng)),
        ("throughput", "throughput", lambda: w.zero_delay(make, workdir / "throughput", plan)),
        ("spread", "spread", lambda: w.spread(make, workdir / "spread", plan)),
        ("inbound", "inbound", lambda: w.inbound(make, workdir / "inbound", plan, rng)),
        ("unplug", "unplug", lambda: w.unplug(make, workdir / "unplug", plan)),
        ("text", "text", lambda: w.text(make, workdir / "text", plan)),
    ]
    if not key.startswith("gammu"):  # one daemon drives four modems
        jobs.append(
            ("throughput4", "throughput4", lambda: w.zero_delay(make, workdir / "4", plan, 4))
        )
    if key != "gsmgw":
        unicode = lambda: w.text(make, workdir / "text-u", plan, unicode=True)  # noqa: E731
        jobs.append(("text", "text-unicode", unicode))
    return [
        Job(key, name, job, key == "gsmgw" or (busy and name == "idle"))
        for workload, name, job in jobs
        if workload in chosen
    ]


async def run_job(job: Job, metrics: w.Metrics, errors: list[str]) -> None:
    """Run one workload; put its figures into ``metrics``, or what went wrong into ``errors``."""
    progress(f"{job.key}: {job.name} ...")
    started = time.monotonic()
    try:
        metrics.update(await job.run())
    except GatewayUnavailable as exc:
        errors.append(f"{job.name}: gsmgw's daemon is not available: {exc}")
    except Exception as exc:
        LOGGER.debug("%s: %s failed", job.key, job.name, exc_info=True)
        errors.append(f"{job.name}: {type(exc).__name__}: {exc}")
    progress(f"{job.key}: {job.name} done in {time.monotonic() - started:.0f} s")


async def run(args: argparse.Namespace) -> tuple[dict[str, w.Metrics], dict[str, list[str]]]:
    """Run every chosen system's workloads; return the figures keyed by system and setting."""
    plan = w.QUICK if args.quick else w.FULL
    chosen = set(args.workload or WORKLOADS)
    systems = [s for s in SYSTEMS if not args.only or s in args.only]
    root = Path(tempfile.mkdtemp(prefix="gsmgw-peers-"))
    results: dict[str, w.Metrics] = {s: dict.fromkeys(REQUIRED) for s in systems}
    errors: dict[str, list[str]] = {s: [] for s in systems}
    jobs = [j for s in systems for j in jobs_for(s, root / s, plan, chosen, args.seed)]
    try:
        together = [run_job(j, results[j.key], errors[j.key]) for j in jobs if not j.alone]
        await asyncio.gather(*together)
        for job in (j for j in jobs if j.alone):
            if any("not available" in e for e in errors[job.key]):
                continue  # no daemon: the other workloads would only say so again
            await run_job(job, results[job.key], errors[job.key])
    finally:
        if args.keep:
            progress(f"files kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return results, errors


def main() -> int:
    """Parse the arguments, run, print the table or the JSON object."""
    parser = argparse.ArgumentParser(prog="bench/peers/run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short run (under 5 minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", action="append", choices=SYSTEMS, help="run only this system")
    parser.add_argument("--workload", action="append", choices=WORKLOADS, help="only this one")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the working files")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say what went wrong in detail (texts that changed...)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    logging.getLogger("bench.peers").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    for program in ("gammu-smsd", "gammu-smsd-inject", "smsd"):
        if shutil.which(program) is None:
            print(f"{program} is missing: install gammu-smsd and smstools", file=sys.stderr)
            return 1
    started = time.monotonic()
    results, errors = asyncio.run(run(args))
    if args.json:
        combined = {
            k: {**v, **({"errors": errors[k]} if errors[k] else {})} for k, v in results.items()
        }
        print(json.dumps(combined, indent=2, ensure_ascii=False))
    else:
        print(format_table(results))
        window = (w.QUICK if args.quick else w.FULL).fault_patience
        print(f"-: no figure (it did not happen within the run; unplug: {window:.0f} s)")
        for key, problems in errors.items():
            for problem in problems:
                print(f"{key}: {problem}")
    progress(f"finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
