"""Printing for the CLI: JSON for machines, aligned text for people."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import json
import sys
from typing import TextIO

JsonValue = None | bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


def print_json(value: JsonValue, *, file: TextIO | None = None) -> None:
    """Print one JSON document on one line (UTF-8, no ASCII escapes)."""
    print(json.dumps(value, ensure_ascii=False), file=file or sys.stdout)


def print_fields(fields: Sequence[tuple[str, object]], *, file: TextIO | None = None) -> None:
    """Print ``name: value`` lines with the values aligned."""
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        shown = "-" if value is None else value
        print(f"{name + ':':<{width + 1}} {shown}", file=file or sys.stdout)


def error(message: str) -> None:
    """Print an error for a person on standard error."""
    print(f"gsmgw: error: {message}", file=sys.stderr)
