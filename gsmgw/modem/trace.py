r"""Transcripts of a modem's serial line: every byte in and out, with timestamps.

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

from dataclasses import dataclass
from datetime import UTC, datetime
import json
import logging
from pathlib import Path
import time

LOGGER = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True, slots=True)
class Chunk:
    """One recorded chunk: who sent it, when, and its bytes."""

    t: float
    from_host: bool
    data: bytes


class TraceWriter:
    """A raw tap (``Modem.add_tap``) that appends every chunk to a trace file."""

    def __init__(self, path: Path, *, port: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)  # a line at a time
        self._start = time.monotonic()
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        self._line({"gsmgw_trace": VERSION, "port": port, "started": started})

    def write(self, incoming: bool, data: bytes) -> None:
        """Record one chunk (the tap's signature: incoming means read from the modem)."""
        if self._file.closed:
            return
        when = round(time.monotonic() - self._start, 6)
        self._line({"t": when, "modem" if incoming else "host": data.decode("latin-1")})

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def _line(self, record: dict[str, object]) -> None:
        try:
            self._file.write(json.dumps(record, ensure_ascii=True) + "\n")
        except OSError as exc:  # a full disk must not stop the modem
            LOGGER.warning("trace %s: %s; tracing stopped", self.path, exc)
            self._file.close()


_trace_dir: Path | None = None


def set_trace_dir(path: Path | None) -> None:
    """Make every supervised modem trace to ``path/<name>.trace`` (``gsmgw run --trace-dir``)."""
    global _trace_dir
    _trace_dir = path


def trace_for(name: str, port: str) -> TraceWriter | None:
    """Return a writer for modem ``name`` when tracing is on, else None."""
    if _trace_dir is None:
        return None
    try:
        return TraceWriter(_trace_dir / f"{name}.trace", port=port)
    except OSError as exc:
        LOGGER.warning("%s: cannot trace to %s: %s", name, _trace_dir, exc)
        return None


def read_trace(path: Path) -> list[Chunk]:
    """Return every chunk of a trace file, all sessions in order.

    Raises:
        ValueError: not a gsmgw trace (the message names the line).
    """
    chunks: list[Chunk] = []
    with path.open(encoding="utf-8") as file:
        for number, text in enumerate(file, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(record, dict) or "gsmgw_trace" in record:
                continue
            for key, from_host in (("host", True), ("modem", False)):
                data = record.get(key)
                if isinstance(data, str):
                    chunks.append(
                        Chunk(float(record.get("t", 0.0)), from_host, data.encode("latin-1"))
                    )
    if not chunks:
        raise ValueError(f"{path}: no recorded bytes (is it a gsmgw trace?)")
    return chunks
