"""Tokens: ``Authorization: Bearer <token>`` or HTTP Basic (the token's name and the token).

Every check compares the presented secret with every configured token, each in constant time
(``hmac.compare_digest``), and never stops at the first match: how long a refusal takes says
nothing about which token came close, nor how many there are. A token never reaches a log; its
name does (the Basic user name, the rate limiter's key).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
import hmac

__all__ = ["Tokens"]

#: RFC 7235 §4.1: a 401 names the schemes the client may use.
CHALLENGE = 'Bearer realm="gsmgw", Basic realm="gsmgw", charset="UTF-8"'


class Tokens:
    """The configured tokens, by name."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self._entries = tuple((name, token.encode()) for name, token in entries)

    def __repr__(self) -> str:
        return f"Tokens({len(self._entries)} tokens)"

    def check(self, authorization: str | None) -> str | None:
        """Return the name of the token an ``Authorization`` header carries, or None."""
        if authorization is None:
            return None
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return self.match(None, credentials.strip())
        if scheme == "basic":
            user, password = _basic(credentials.strip())
            if user is None or password is None:
                return None
            return self.match(user, password)
        return None

    def match(self, name: str | None, secret: str) -> str | None:
        """Return the name whose token is ``secret`` (and whose name is ``name``, if given)."""
        presented = secret.encode("utf-8", "surrogateescape")
        found: str | None = None
        for entry_name, token in self._entries:
            # No short-circuit: every entry costs one comparison, match or not.
            same = hmac.compare_digest(presented, token)
            if same and (name is None or hmac.compare_digest(name.encode(), entry_name.encode())):
                found = entry_name
        return found


def _basic(credentials: str) -> tuple[str | None, str | None]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, None
    user, colon, password = decoded.partition(":")
    if not colon:
        return None, None
    return user, password
