"""Fuzz the PDU decoder, the AT codec, the request validator and SMPP for a while; report.

Drives the properties of ``tests/fuzz`` (the same generators and checks) through Hypothesis
for a number of inputs or seconds per target and prints inputs per second and findings.

Run: ``./dev bench fuzz`` (10 s per target), ``--seconds 600`` or
``--inputs 2000000`` for a long run, ``--target at`` for one target, ``--json`` for one
JSON object. A finding names the exact input that broke the property; a call that runs
longer than ``--hang`` seconds is a finding too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
import json
from pathlib import Path
import signal
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from hypothesis import given, settings

# The properties live in tests/fuzz; run from anywhere, import them from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fuzz.budget import CHECKED, QUICK

if TYPE_CHECKING:
    from tests.fuzz.choice import Chooser

T = TypeVar("T")

#: Seeds (or memory examples) per Hypothesis run; the clock is checked between runs.
ROUND_SEEDS = 50
ROUND_FLOODS = 5
MAX_FINDINGS = 5
#: The table shows this much of a finding (--json gives all of it, the whole input too).
FINDING_CHARS = 2000
HANG_SECONDS = 5.0
_ROUND = settings(QUICK, max_examples=ROUND_SEEDS, database=None, print_blob=False)


class Hang(Exception):
    """A single call ran longer than the hang limit."""


@dataclass(slots=True)
class Target:
    """One property (named as its counter in tests.fuzz.budget.CHECKED) and one round of it."""

    name: str
    run_round: Callable[[], None]


@dataclass(slots=True)
class Result:
    inputs: int = 0
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)


def _hang_expired(signum: int, frame: FrameType | None) -> None:
    raise Hang("no answer within the hang limit")


def _guarded(check: Callable[[T], None], hang: float) -> Callable[[T], None]:
    """Wrap check so that a call longer than hang seconds raises Hang (SIGALRM)."""

    def guarded(value: T) -> None:
        signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            check(value)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    return guarded


def _batched(
    name: str, generate: Callable[[Chooser], T], check: Callable[[T], None], hang: float
) -> Target:
    from tests.fuzz.choice import SEEDS, check_batch

    test = given(SEEDS)(check_batch(name, generate, _guarded(check, hang)))
    return Target(name, _ROUND(test))


def targets(hang: float) -> list[Target]:
    """Return the properties of tests/fuzz, each as a runner of one Hypothesis round."""
    from tests.fuzz import answers, payloads, pdus, smpp_streams, transcripts
    from tests.fuzz.choice import strategy

    memory = given(strategy(transcripts.flood))(transcripts.check_memory)
    return [
        _batched("pdu", pdus.pdu_sample, pdus.check_decode, hang),
        _batched("pdu-hex", pdus.pdu_hex_text, pdus.check_decode_hex, hang),
        _batched("at", transcripts.session, transcripts.check_session, hang),
        _batched("at-chunking", transcripts.session, transcripts.check_chunking, hang),
        _batched("at-parsers", answers.answer, answers.check_parsers, hang),
        _batched("request", payloads.payload, payloads.check_payload, hang),
        _batched("smpp", smpp_streams.stream, smpp_streams.check_stream, hang),
        _batched("smpp-round", smpp_streams.pdu_value, smpp_streams.check_round_trip, hang),
        Target("at-memory", settings(_ROUND, max_examples=ROUND_FLOODS)(memory)),
    ]


def fuzz(target: Target, *, inputs: int | None, seconds: float) -> Result:
    """Run rounds of target until inputs were checked or seconds passed."""
    result = Result()
    checked_before = CHECKED[target.name]
    start = time.perf_counter()
    while len(result.findings) < MAX_FINDINGS:
        elapsed = time.perf_counter() - start
        result.inputs = CHECKED[target.name] - checked_before
        if (result.inputs >= inputs) if inputs is not None else (elapsed >= seconds):
            break
        try:
            target.run_round()
        except Exception as exc:  # a finding: Hypothesis has shrunk it; keep it and go on
            finding = f"{type(exc).__name__}: {exc}"
            if finding not in result.findings:
                result.findings.append(finding)
    result.seconds = time.perf_counter() - start
    result.inputs = CHECKED[target.name] - checked_before
    return result


def main() -> None:
    """Print inputs/s and findings per target as a table, or as JSON with --json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=10.0, help="per target (default 10)")
    parser.add_argument("--inputs", type=int, help="per target, instead of --seconds")
    parser.add_argument("--target", action="append", help="only these (repeatable)")
    parser.add_argument("--hang", type=float, default=HANG_SECONDS, help="per call, seconds")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _hang_expired)
    chosen = [t for t in targets(args.hang) if not args.target or t.name in args.target]
    results = {t.name: fuzz(t, inputs=args.inputs, seconds=args.seconds) for t in chosen}
    if args.json:
        report = {
            name: {
                "inputs": r.inputs,
                "seconds": round(r.seconds, 1),
                "inputs_per_s": round(r.inputs / r.seconds) if r.seconds else 0,
                "findings": r.findings,
            }
            for name, r in results.items()
        }
        print(json.dumps({"fuzz": report}))
        return
    print(f"{'target':<12} {'inputs':>10} {'seconds':>8} {'inputs/s':>9} {'findings':>8}")
    for name, r in results.items():
        rate = r.inputs / r.seconds if r.seconds else 0.0
        print(f"{name:<12} {r.inputs:>10,} {r.seconds:>8.1f} {rate:>9,.0f} {len(r.findings):>8}")
    for name, r in results.items():
        for finding in r.findings:
            print(f"\n{name}: {finding[:FINDING_CHARS]}")


if __name__ == "__main__":
    main()
