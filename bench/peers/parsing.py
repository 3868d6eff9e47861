"""Reading what the peers stored: gammu-smsd's and smsd's inbox files. Pure, except the readers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

#: gammu-smsd-files(7): IN<date>_<time>_<serial>_<sender>_<sequence>.<ext>
_GAMMU_NAME = re.compile(r"^IN(\d{8})_(\d{6})_(\d{2})_(?P<sender>.+)_(?P<part>\d{2})\.(txt|bin)$")
_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class Stored:
    """One inbound message (or one part, where a peer stores parts apart) as a system kept it."""

    sender: str  # digits only, so "+4917..." and "4917..." compare equal
    text: str
    stored_at: float  # wall-clock time it was written or published
    name: str = ""  # file name (orders gammu's parts) or message id

    def __post_init__(self) -> None:
        if not self.sender.isdigit():
            raise ValueError(f"sender {self.sender!r} must be digits only")


def digits(number: str) -> str:
    """Return ``number`` without a leading '+' or anything else that is not a digit."""
    return "".join(c for c in number if c.isdigit())


def parse_gammu_name(name: str) -> tuple[str, int] | None:
    """Return (sender digits, part sequence) of a gammu-smsd inbox file name, or None."""
    match = _GAMMU_NAME.match(name)
    if match is None:
        return None
    return digits(match["sender"]), int(match["part"])


def decode_gammu_text(data: bytes) -> str:
    """Decode a gammu-smsd inbox file: UTF-16 with a BOM ("unicode"), else the locale's UTF-8."""
    if data.startswith(_BOMS):
        return data.decode("utf-16")
    return data.decode("utf-8", "replace")


def parse_smstools_message(data: bytes) -> tuple[str, str]:
    """Return (sender digits, text) of an smsd incoming file (smstools3 "fileformat.html").

    The body's character set follows its ``Alphabet`` header: UCS2 is stored raw (big-endian,
    ``decode_unicode_text = no``), UTF-8 as such, ISO and GSM as ISO-8859-15.
    """
    head, _, body = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        key, colon, value = line.partition(":")
        if colon:
            headers[key.strip()] = value.strip()
    alphabet = headers.get("Alphabet", "ISO").upper()
    if alphabet.startswith("UCS"):
        text = body.decode("utf-16-be", "replace")
    elif alphabet.startswith("UTF"):
        text = body.decode("utf-8", "replace")
    else:
        text = body.decode("iso-8859-15", "replace")
    sender = digits(headers.get("From", ""))
    if not sender:
        raise ValueError("no From header")
    return sender, text


def read_gammu_inbox(folder: Path) -> list[Stored]:
    """Return gammu-smsd's inbox files, one per stored part, in name order."""
    stored: list[Stored] = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        parsed = parse_gammu_name(path.name)
        if parsed is None:
            continue
        try:
            data, mtime = path.read_bytes(), path.stat().st_mtime
        except FileNotFoundError:
            continue
        stored.append(Stored(parsed[0], decode_gammu_text(data), mtime, path.name))
    return stored


def read_smstools_inbox(folder: Path) -> list[Stored]:
    """Return smsd's incoming files (one per message when it combined the parts)."""
    stored: list[Stored] = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not path.is_file() or path.name.startswith("smsd_script"):
            continue
        try:
            data, mtime = path.read_bytes(), path.stat().st_mtime
            sender, text = parse_smstools_message(data)
        except (FileNotFoundError, ValueError):
            continue  # a file still being written, or not a message
        stored.append(Stored(sender, text, mtime, path.name))
    return stored


def pieces_of(stored: list[Stored], sender: str) -> list[Stored]:
    """Return what was stored from ``sender``, in name order (gammu's part sequence)."""
    return sorted((s for s in stored if s.sender == digits(sender)), key=lambda s: s.name)
