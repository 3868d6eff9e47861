"""What the bench scripts share: their command line (``--quick``, ``--json``) and their output.

Each script measures in ``main(quick)`` and returns its figures; ``run`` prints them for people,
one labelled line each, or as one JSON object for machines. ``cpu_seconds`` and ``rss_mb`` read
a daemon's process (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Mapping
import json
import os
from pathlib import Path
import statistics
from typing import Any

Figures = dict[str, Any]


def p99(values: list[float]) -> float:
    """Return the 99th percentile, as every script computes it."""
    return statistics.quantiles(values, n=100)[98]


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time a process used so far."""
    # proc(5): utime and stime are fields 14 and 15, after the parenthesised command name.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Return a process's resident memory (VmRSS) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(
    doc: str | None,
    main: Callable[[bool], Coroutine[Any, Any, Figures]],
    labels: Mapping[str, str] | Callable[[Figures], Mapping[str, str]],
    *,
    quick: str = "fewer samples and messages",
) -> None:
    """Parse ``--quick``/``--json``, run ``main`` and print its figures with their labels."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = asyncio.run(main(args.quick))
    if args.json:
        print(json.dumps(figures))
        return
    named = labels(figures) if callable(labels) else labels
    width = max(len(label) for label in named.values()) + 2
    for key, label in named.items():
        print(f"{label:<{width}} {figures[key]!s:>10}")
