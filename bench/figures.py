"""What the bench scripts share: their command line (``--quick``, ``--json``) and their output.

Each script measures in ``main(quick)`` and returns its figures; ``run`` prints them for people,
one labelled line each, or as one JSON object for machines.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Mapping
import json
import statistics
from typing import Any

Figures = dict[str, Any]


def p99(values: list[float]) -> float:
    """Return the 99th percentile, as every script computes it."""
    return statistics.quantiles(values, n=100)[98]


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
