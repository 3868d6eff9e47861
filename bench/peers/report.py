"""Statistics and the printed table of the peer benchmark. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import enum
import math

SYSTEMS = (
    "gsmgw",
    "gammu-smsd-default",
    "gammu-smsd-tuned",
    "smstools3-default",
    "smstools3-tuned",
)
PEERS_TUNED = ("gammu-smsd-tuned", "smstools3-tuned")


class Better(enum.Enum):
    """Which way a figure is good."""

    LOWER = "lower"
    HIGHER = "higher"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    key: str
    label: str
    better: Better
    unit: str = ""


ROWS = (
    Row("idle_latency_s_p50", "idle latency p50", Better.LOWER, "s"),
    Row("idle_latency_s_p99", "idle latency p99", Better.LOWER, "s"),
    Row("idle_missing", "idle: messages never sent", Better.LOWER),
    Row("throughput_msgs_per_s", "throughput, 1 modem, 0 s send", Better.HIGHER, "msg/s"),
    Row("throughput_4_modems_msgs_per_s", "throughput, 4 modems, 0 s", Better.HIGHER, "msg/s"),
    Row("utilisation_2s", "4 modems, 2 s send: share of limit", Better.HIGHER, "%"),
    Row("inbound_latency_s_p50", "inbound latency p50", Better.LOWER, "s"),
    Row("inbound_multipart_reassembled", "inbound multipart reassembled", Better.HIGHER, "%"),
    Row("unplug_lost", "unplug: messages lost", Better.LOWER),
    Row("unplug_duplicates", "unplug: messages sent twice", Better.LOWER),
    Row("unplug_still_queued", "unplug: still queued, not sent", Better.LOWER),
    Row("unplug_recovery_s", "unplug: recovery", Better.LOWER, "s"),
    Row("text_intact", "text intact", Better.HIGHER, "%"),
    Row("text_intact_unicode_option", "text intact, peer's Unicode option", Better.HIGHER, "%"),
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q``-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0-100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def format_value(value: float | None, unit: str) -> str:
    """Render one figure: seconds in s or ms, shares in percent, rates with 3 significant digits."""
    if value is None:
        return "-"
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "msg/s":
        return f"{value:.3g}/s"
    return f"{value:g}"


def ratio(row: Row, results: Mapping[str, Mapping[str, float | None]]) -> str:
    """How far gsmgw is ahead of the best tuned peer on this row ("12x"), or "" if undefined."""
    ours = results.get("gsmgw", {}).get(row.key)
    theirs = [v for name in PEERS_TUNED if (v := results.get(name, {}).get(row.key)) is not None]
    if ours is None or not theirs or row.unit not in ("s", "msg/s", "%"):
        return ""
    best = min(theirs) if row.better is Better.LOWER else max(theirs)
    if row.better is Better.LOWER:
        return f"{best / ours:.3g}x" if ours > 0 else ""
    return f"{ours / best:.3g}x" if best > 0 else ""


def format_table(results: Mapping[str, Mapping[str, float | None]]) -> str:
    """Return the table: one column per system, and gsmgw's lead over the best tuned peer."""
    header = ["", *SYSTEMS, "gsmgw vs best tuned peer"]
    lines = [header]
    for row in ROWS:
        if not any(results.get(name, {}).get(row.key) is not None for name in SYSTEMS):
            continue
        values = [format_value(results.get(name, {}).get(row.key), row.unit) for name in SYSTEMS]
        lines.append([row.label, *values, ratio(row, results)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = []
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        rendered.append("  ".join(cells).rstrip())
        if n == 0:
            rendered.append("-" * len(rendered[0]))
    return "\n".join(rendered)
