"""``[[webhook]]`` (SPEC.md "HTTP API"): where inbound SMS and state events are POSTed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import stat
from urllib.parse import urlsplit

from gsmgw.config._table import Table

__all__ = ["WEBHOOK_EVENTS", "WebhookConfig", "parse_webhooks"]

WEBHOOK_EVENTS = ("inbox", "state")
#: Seconds an undelivered event is retried before it is dropped (logged).
DEFAULT_RETRY_FOR = 86_400


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    """One ``[[webhook]]``: its URL, the events it wants, its signing secret, how long to retry."""

    url: str
    events: tuple[str, ...] = WEBHOOK_EVENTS
    secret_file: Path | None = None
    #: The file's content without trailing white space; never in ``repr``.
    secret: str | None = field(default=None, repr=False)
    retry_for: float = DEFAULT_RETRY_FOR

    @property
    def consumer(self) -> str:
        """Return the store's name for this webhook's deliveries (its URL: stable across edits)."""
        return f"webhook:{self.url}"


def parse_webhooks(root: Table) -> tuple[WebhookConfig, ...]:
    """Read every ``[[webhook]]``; a URL given twice is an error."""
    webhooks = tuple(_webhook(table) for table in root.tables("webhook"))
    seen: set[str] = set()
    for index, webhook in enumerate(webhooks):
        if webhook.url in seen:
            raise root.error(f"webhook[{index}].url", f"{webhook.url!r} is there twice")
        seen.add(webhook.url)
    return webhooks


def _webhook(table: Table) -> WebhookConfig:
    url = table.string("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise table.error("url", f"{url!r} is not an http:// or https:// URL")
    events = table.strings("events", WEBHOOK_EVENTS)
    for index, event in enumerate(events):
        if event not in WEBHOOK_EVENTS:
            raise table.error(f"events[{index}]", f"{event!r} is not one of {WEBHOOK_EVENTS}")
    if not events:
        raise table.error("events", "names no event")
    path, secret = table.secret("secret_file")
    if path is not None and path.stat().st_mode & stat.S_IROTH:
        raise table.error("secret_file", f"{path} is readable by others: chmod o-r")
    retry_for = table.integer("retry_for", DEFAULT_RETRY_FOR, minimum=1)
    return WebhookConfig(
        url=url,
        events=tuple(dict.fromkeys(events)),
        secret_file=path,
        secret=secret,
        retry_for=float(retry_for or DEFAULT_RETRY_FOR),
    )
