"""How long the fuzz properties run: Hypothesis settings for the quick and the long variants.

The quick tests run in the default suite (a few hundred examples each). The long ones are
marked ``slow`` and check ``GSMGW_FUZZ_EXAMPLES`` inputs each (default 200,000): Hypothesis
draws one seed per example and the same generator builds a batch of inputs from it
(choice.py), in Hypothesis runs of ``ROUND_EXAMPLES`` seeds so that its bookkeeping stays
small however many millions are asked for (the memory test feeds one flood per thousand)::

    GSMGW_FUZZ_EXAMPLES=2000000 .venv/bin/python -m pytest -m slow tests/fuzz
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
import os
from typing import TypeVar

from hypothesis import HealthCheck, given, settings, strategies as st

#: Examples per quick test (the whole of tests/fuzz stays well under 20 s).
QUICK_EXAMPLES = 300
#: Inputs per long test unless GSMGW_FUZZ_EXAMPLES says otherwise.
LONG_EXAMPLES = 200_000
#: A long run is several Hypothesis runs of at most this many examples.
ROUND_EXAMPLES = 20_000
#: Every input here is at most a few hundred KiB and every call is linear in it: a call
#: that takes this long is a hang (generous, because two cores are shared with other suites).
EXAMPLE_DEADLINE = timedelta(seconds=2)
#: The slowest rate (inputs/s) a long run may fall to before its test-level timeout fires.
SLOWEST_INPUTS_PER_S = 100
QUICK_TIMEOUT = 60.0

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

QUICK = settings(
    max_examples=QUICK_EXAMPLES,
    deadline=EXAMPLE_DEADLINE,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)
_LONG = settings(
    max_examples=ROUND_EXAMPLES,
    deadline=EXAMPLE_DEADLINE,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
    database=None,
)

#: Inputs each property has checked in this process, by property name (for bench/fuzz.py).
CHECKED: Counter[str] = Counter()


def long_examples() -> int:
    """Return the inputs a long test checks: GSMGW_FUZZ_EXAMPLES, else LONG_EXAMPLES."""
    return int(os.environ.get("GSMGW_FUZZ_EXAMPLES", LONG_EXAMPLES))


def long_timeout() -> float:
    """Return the test-level timeout of a long test, in seconds."""
    return 120.0 + long_examples() / SLOWEST_INPUTS_PER_S


T = TypeVar("T")


def run_rounds(check: Callable[[T], None], strategy: st.SearchStrategy[T], examples: int) -> None:
    """Check ``examples`` inputs drawn from ``strategy`` in all, one Hypothesis run per round."""
    done = 0
    while done < examples:
        count = min(ROUND_EXAMPLES, examples - done)
        settings(_LONG, max_examples=count)(given(strategy)(check))()
        done += count
