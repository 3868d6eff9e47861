r"""The trace format: transcripts of a modem's serial line: every byte in and out, with timestamps.

The format (one JSON object per line, UTF-8), which ``gsmgw simulate --replay`` reads:

* a header: ``{"gsmgw_trace": 1, "port": "/dev/ttyUSB2", "started": "<ISO 8601 UTC>"}``
* then one line per chunk, in order: ``{"t": 0.012345, "host": "AT+CGMI\\r"}`` for bytes
  gsmgw wrote, ``{"t": 0.020001, "modem": "\\r\\nWAVECOM MODEM\\r\\nOK\\r\\n"}`` for bytes it
  read; ``t`` is seconds since the header, each byte is the code point of the same value
  (Latin-1), so control bytes (Ctrl-Z, ESC, noise) survive as JSON escapes.

A file may hold several sessions (``gsmgw run`` appends one per port opening), each starting
with its header. Phone numbers and texts are in it as they crossed the line: look before
you share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import json

VERSION = 1


@dataclass(frozen=True, slots=True)
class Chunk:
    """One recorded chunk: who sent it, when, and its bytes."""

    t: float
    from_host: bool
    data: bytes


def header_line(port: str, started: str) -> str:
    """Return the line that opens a session of a trace."""
    return json.dumps({"gsmgw_trace": VERSION, "port": port, "started": started}) + "\n"


def chunk_line(t: float, from_host: bool, data: bytes) -> str:
    """Return the line of one chunk (bytes as Latin-1 code points, so every byte survives)."""
    record = {"t": round(t, 6), "host" if from_host else "modem": data.decode("latin-1")}
    return json.dumps(record, ensure_ascii=True) + "\n"


def parse_trace(lines: Iterable[str], *, name: str = "trace") -> list[Chunk]:
    """Return every chunk of a trace's lines, all sessions in order.

    Raises:
        ValueError: not a gsmgw trace (the message names the line).
    """
    chunks: list[Chunk] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}:{number}: not JSON: {exc}") from None
        if not isinstance(record, dict) or "gsmgw_trace" in record:
            continue
        for key, from_host in (("host", True), ("modem", False)):
            data = record.get(key)
            if isinstance(data, str):
                t = float(record.get("t", 0.0))
                chunks.append(Chunk(t, from_host, data.encode("latin-1", "replace")))
    if not chunks:
        raise ValueError(f"{name}: no recorded bytes (is it a gsmgw trace?)")
    return chunks
