"""Look-alike characters with a plain GSM 7-bit equivalent, for the "smart" encoding mode.

One typographic apostrophe is enough to push a text out of GSM-7 into UCS-2 and so from one
part to three; these characters are mapped to the GSM-7 character a reader sees as the same.
"""

from __future__ import annotations

_LOOK_ALIKES: dict[str, str] = {
    # quotes and primes
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u02bc": "'", "\u2039": "<", "\u203a": ">",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    # hyphens and dashes, minus
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2043": "-",
    # dots
    "\u2026": "...", "\u2022": "*", "\u00b7": ".", "\u2024": ".",
    # spaces of every width, and the tab
    "\t": " ", "\u00a0": " ", "\u1680": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ",
    "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ",
    "\u2009": " ", "\u200a": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ",
    # invisible characters: zero-width space, joiners, soft hyphen, byte order mark
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\u00ad": "", "\ufeff": "",
    # line and paragraph separators
    "\u2028": "\n", "\u2029": "\n",
    # letters and signs GSM-7 has only in another case or shape
    "\u00e7": "\u00c7", "\u00d7": "x", "\u2044": "/", "\u2215": "/", "\u02c6": "^",
    "\u02dc": "~", "\uff01": "!", "\uff1f": "?",
}  # fmt: skip
_TABLE = str.maketrans(_LOOK_ALIKES)


def map_look_alikes(text: str) -> str:
    """Replace every look-alike character in text with its GSM-7 equivalent."""
    return text.translate(_TABLE)
