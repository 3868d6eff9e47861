"""``POST /v1/alertmanager`` (SPEC.md "HTTP API"): a Prometheus Alertmanager (or Grafana) webhook.

Alertmanager posts a fixed JSON shape it cannot template, and retries a notification whose POST
failed or timed out. Each notification becomes one SMS per ``to``: its text from the status, the
alert names and their summaries (else descriptions), cut to fit ``gateway.max_parts`` as the SMS
codec counts parts. The message id is a digest of what identifies the notification (group key,
status, every alert's fingerprint and start time) and the 10-minute window it arrived in; a
notification whose previous window already holds it, created less than 10 minutes ago, is a retry
and answered with the stored messages. A reminder (``repeat_interval``, hours by default) lands in
a later window and is sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import hashlib

from aiohttp import web

from gsmgw.bridges.http._errors import ApiError, json_response
from gsmgw.bridges.http._routes import read_body
from gsmgw.bridges.requests import error_object, parse_json
from gsmgw.core import Core, SubmitResult
from gsmgw.errors import GsmgwError, RequestError
from gsmgw.models import SendRequest, utc_now
from gsmgw.sms import EncodingMode, count_parts
from gsmgw.validate import to_field

__all__ = ["ALERTMANAGER_PATH", "Alertmanager", "Notification", "notification_text"]

ALERTMANAGER_PATH = "/v1/alertmanager"
#: A notification seen again within this many seconds is a retry, not a reminder.
RETRY_WINDOW = 600
ID_PREFIX = "am-"
#: Alert names in the first line at most (a storm of 40 alerts still leaves room for lines).
HEAD_NAMES = 3


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert of a notification: what the SMS needs of it."""

    status: str
    name: str
    summary: str
    fingerprint: str
    starts_at: str


@dataclass(frozen=True, slots=True)
class Notification:
    """Alertmanager's webhook payload (version 4), the fields gsmgw reads."""

    group_key: str
    status: str
    alerts: tuple[Alert, ...]

    @classmethod
    def from_json(cls, obj: object) -> Notification:
        """Read a decoded payload; raise ``RequestError`` (``invalid_request``) if it is not one."""
        if not isinstance(obj, dict) or not isinstance(obj.get("alerts"), list):
            raise RequestError("invalid_request", "not an Alertmanager notification")
        alerts = tuple(_alert(item) for item in obj["alerts"])
        status = obj.get("status")
        if status not in ("firing", "resolved"):
            raise RequestError("invalid_request", "'status' must be firing or resolved")
        return cls(str(obj.get("groupKey", "")), status, alerts)

    def digest(self) -> str:
        """Return what identifies this notification: group key, status, alerts and their starts."""
        hashed = hashlib.sha256(f"{self.group_key}\0{self.status}".encode())
        for key in sorted(f"{alert.fingerprint}\0{alert.starts_at}" for alert in self.alerts):
            hashed.update(b"\0" + key.encode())
        return hashed.hexdigest()[:32]


def _alert(item: object) -> Alert:
    if not isinstance(item, dict):
        raise RequestError("invalid_request", "an alert must be an object")
    labels, annotations = item.get("labels") or {}, item.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        raise RequestError("invalid_request", "labels and annotations must be objects")
    summary = annotations.get("summary") or annotations.get("description") or ""
    return Alert(
        status=str(item.get("status", "firing")),
        name=str(labels.get("alertname", "alert")),
        summary=" ".join(str(summary).split()),
        fingerprint=str(item.get("fingerprint", "")),
        starts_at=str(item.get("startsAt", "")),
    )


def notification_text(
    notification: Notification,
    *,
    max_parts: int,
    mode: EncodingMode = EncodingMode.AUTO,
    languages: Sequence[str] = (),
) -> str:
    """Return the SMS text: a status line, then one line per alert, within ``max_parts``.

    Firing alerts come first; lines that do not fit are counted in a last "+N more" line, and a
    text that does not fit even so is cut.
    """
    firing = [a for a in notification.alerts if a.status == "firing"]
    resolved = [a for a in notification.alerts if a.status != "firing"]
    if notification.status == "resolved":
        head = f"RESOLVED: {_names(resolved or list(notification.alerts))}"
    else:
        head = f"FIRING:{len(firing)} {_names(firing)}"
    # In a firing notification, alerts of its group that ended are marked; a resolved one is all.
    marked = "resolved " if notification.status == "firing" else ""
    lines = [_line(a, "") for a in firing] + [_line(a, marked) for a in resolved]

    def fits(text: str) -> bool:
        return count_parts(text, mode=mode, languages=languages)[1] <= max_parts

    text = head
    for shown, line in enumerate(lines):
        more = len(lines) - shown - 1
        candidate = f"{text}\n{line}"
        if fits(candidate if not more else f"{candidate}\n+{more} more"):
            text = candidate
            continue
        text = f"{text}\n+{len(lines) - shown} more"
        break
    while not fits(text):  # a head or one line too long on its own
        text = text[: len(text) * 9 // 10].rstrip() + "..."
    return text


def _names(alerts: Sequence[Alert]) -> str:
    """Return the distinct alert names, the first few: the lines below carry the rest."""
    names = list(dict.fromkeys(alert.name for alert in alerts))
    shown = ", ".join(names[:HEAD_NAMES])
    return shown + ", ..." if len(names) > HEAD_NAMES else shown


def _line(alert: Alert, prefix: str) -> str:
    return f"{prefix}{alert.name}: {alert.summary}" if alert.summary else f"{prefix}{alert.name}"


class Alertmanager:
    """The handler: one SMS per recipient per notification, a retry answered, not sent."""

    def __init__(
        self,
        core: Core,
        *,
        default_region: str,
        max_parts: int,
        mode: EncodingMode,
        languages: Sequence[str],
    ) -> None:
        self._core = core
        self._default_region = default_region
        self._max_parts = max_parts
        self._mode = mode
        self._languages = tuple(languages)

    def table(self) -> list[web.RouteDef]:
        """Return the route."""
        return [web.post(ALERTMANAGER_PATH, self.notify)]

    async def notify(self, request: web.Request) -> web.Response:
        """Queue the notification's SMS; 202 with each message's id and state."""
        numbers = request.query.getall("to", [])
        unknown = sorted(set(request.query) - {"to"})
        if unknown or not numbers:
            message = f"unknown parameter {unknown[0]!r}" if unknown else "'to' names no recipient"
            raise ApiError(RequestError("invalid_request", message))
        to, to_list = to_field(numbers if len(numbers) > 1 else numbers[0], self._default_region)
        notification = Notification.from_json(parse_json(await read_body(request)))
        text = notification_text(
            notification, max_parts=self._max_parts, mode=self._mode, languages=self._languages
        )
        now = utc_now()
        message_id = await self._message_id(notification.digest(), now, to_list)
        send = SendRequest(to=to, to_list=to_list, text=text, id=message_id)
        try:
            results = await self._core.submit(send)
        except RequestError as exc:
            raise ApiError(exc, message_id=message_id) from None
        except GsmgwError as exc:
            error = RequestError("internal_error", "the notification could not be stored")
            raise ApiError(error, message_id=message_id) from exc
        created = any(result.created for result in results)
        body = {"id": message_id, "text": text, "results": [_result(r) for r in results]}
        return json_response(body, status=202 if created else 200)

    async def _message_id(self, digest: str, now: datetime, to_list: bool) -> str:
        """Return the id for this window, or the previous window's if that is a retry's."""
        window = int(now.timestamp()) // RETRY_WINDOW
        previous = f"{ID_PREFIX}{digest}-{window - 1}"
        found = await self._core.message(f"{previous}:1" if to_list else previous)
        if found is not None and now - found.created_at < timedelta(seconds=RETRY_WINDOW):
            return previous
        return f"{ID_PREFIX}{digest}-{window}"


def _result(result: SubmitResult) -> dict[str, object]:
    if result.error is not None:
        return {"id": result.id, "error": error_object(result.error)}
    return {"id": result.id, "state": str(result.state)}
