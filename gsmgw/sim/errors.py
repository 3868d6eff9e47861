"""Verbose texts of error numbers (AT+CMEE=2), from the AT codec's own tables."""

from __future__ import annotations

from gsmgw.at.codes import CME_ERRORS, CMS_ERRORS
from gsmgw.sim.command import ErrorKind


def error_text(kind: ErrorKind, code: int) -> str:
    """Return the TS 27.007 §9.2 / TS 27.005 §3.2.5 text of ``code``, or the number if none."""
    table = CME_ERRORS if kind is ErrorKind.CME else CMS_ERRORS
    entry = table.get(code)
    return entry.name if entry is not None else str(code)
