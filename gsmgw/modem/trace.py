"""Writing traces of a modem's serial line (the format: :mod:`gsmgw.at.trace`).

``gsmgw probe --trace FILE`` and ``gsmgw run --trace-dir DIR`` put a :class:`TraceWriter` on
the driver's raw tap; ``gsmgw simulate --replay FILE`` answers from what it wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
import logging
from pathlib import Path
import time

from gsmgw.at.trace import Chunk, chunk_line, header_line, parse_trace

LOGGER = logging.getLogger(__name__)


class TraceWriter:
    """A raw tap (``Modem.add_tap``) that appends every chunk to a trace file."""

    def __init__(self, path: Path, *, port: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)  # a line at a time
        self._start = time.monotonic()
        self._line(header_line(port, datetime.now(UTC).isoformat(timespec="milliseconds")))

    def write(self, incoming: bool, data: bytes) -> None:
        """Record one chunk (the tap's signature: incoming means read from the modem)."""
        if not self._file.closed:
            self._line(chunk_line(time.monotonic() - self._start, not incoming, data))

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def _line(self, line: str) -> None:
        try:
            self._file.write(line)
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
    """Return every chunk of a trace file (ValueError when it is not one)."""
    with path.open(encoding="utf-8") as file:
        return parse_trace(file, name=str(path))
