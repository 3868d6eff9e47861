"""Fuzzing the AT command parsers: a value or RemoteProtocolError, in bounded memory."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import tracemalloc

from hypothesis import example, given
import pytest

from gsmgw.at import commands
from gsmgw.at.events import InfoLine
from gsmgw.errors import RemoteProtocolError
from tests.fuzz.answers import (
    DIGIT_BUG_OPEN,
    PARSER_MEMORY,
    RANGE_BUG_OPEN,
    answer,
    check_parsers,
)
from tests.fuzz.budget import QUICK, QUICK_TIMEOUT, long_examples, long_timeout, run_rounds
from tests.fuzz.choice import BATCH, SEEDS, check_batch, strategy


@pytest.mark.timeout(QUICK_TIMEOUT)
@QUICK
@given(strategy(answer))
@example(())
@example((InfoLine('+CMGL: 1,0,"",23', "0011"), InfoLine("+CMGL: x")))
def test_parsers_return_a_value_or_raise_remote_protocol_error(lines: tuple[InfoLine, ...]) -> None:
    check_parsers(lines)


@pytest.mark.slow
@pytest.mark.timeout(long_timeout())
def test_long_parsers() -> None:
    run_rounds(check_batch("at-parsers", answer, check_parsers), SEEDS, long_examples() // BATCH)


# -- findings: minimal inputs of open parser bugs (the generator steers around them) --------


@pytest.mark.xfail(DIGIT_BUG_OPEN, reason="isdigit() then int()", raises=ValueError, strict=True)
@pytest.mark.parametrize(
    ("parse", "line"),
    [
        (commands.parse_csq, "+CSQ: 17,²"),
        (commands.parse_cops, '+COPS: 0,0,"Vodafone",³'),
        (commands.parse_cmgr, "+CMGR: 0,,²"),
        (commands.parse_csca, '+CSCA: "+491710760000",¹'),
        (commands.parse_cnmi_support, "+CNMI: (0-²)"),
        (commands.parse_cmgs, "+CMGS: " + "9" * 4400),
    ],
)
def test_a_digit_int_refuses_is_a_remote_protocol_error(
    parse: Callable[[commands.Lines], object], line: str
) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse([InfoLine(line)])


@pytest.mark.xfail(RANGE_BUG_OPEN, reason="ranges expanded", raises=AssertionError, strict=True)
def test_a_huge_range_costs_no_memory() -> None:
    tracemalloc.start()
    try:
        with contextlib.suppress(RemoteProtocolError):
            commands.parse_cnmi_support([InfoLine("+CNMI: (0-1000000)")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= PARSER_MEMORY  # 1,000,001 ints in a set: about 97 MB (a 20-byte line)
