"""The Prometheus endpoint (``gateway.metrics``): ``GET /metrics`` served on the event loop.

Imported only when ``gateway.metrics`` is set, so start-up without it never loads
prometheus_client. Every value is read at scrape time from the running daemon's own state (modem
health, the dispatcher's slots, the receiver, the SMPP server's counts by user, the store's outbox
and deliver_sm counts), on the event loop that owns it: no thread and no second database
connection. A fresh ``CollectorRegistry`` keeps the library's global default registry, and the
process collectors on it, out of our output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from gsmgw import __version__
from gsmgw.bridges.smpp import BIND_TYPES, SmppMetrics
from gsmgw.config import Config
from gsmgw.daemon._gateway import Gateway
from gsmgw.daemon._health import HealthReport
from gsmgw.errors import ConfigError
from gsmgw.models import MessageState

if TYPE_CHECKING:
    from gsmgw.bridges.http import HttpApi, Webhooks

LOGGER = logging.getLogger(__package__)

#: The classic text format (what ``generate_latest`` writes), understood by every Prometheus.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# All of these are in seconds.
#: A scraper gets this long to send its request line and headers.
REQUEST_TIMEOUT = 10.0
#: Longest request line or header line we read.
MAX_LINE = 8192
MAX_HEADERS = 100


class GatewayCollector:
    """A prometheus_client collector reading one running ``Gateway``."""

    def __init__(
        self, gateway: Gateway, *, http: HttpApi | None = None, webhooks: Webhooks | None = None
    ) -> None:
        self._gateway = gateway
        self._http = http
        self._webhooks = webhooks
        self._outbox: Mapping[MessageState, int] = {}
        self._publications = 0
        self._backlog: Mapping[str, tuple[int, str | None]] = {}
        self._deliveries: Mapping[str, int] = {}

    async def refresh(self) -> None:
        """Read what lives in the store (outbox counts, publications, deliver_sm waiting).

        Call before each scrape.
        """
        self._outbox = await self._gateway.store.state_counts()
        self._publications = await self._gateway.store.publication_count()
        if self._webhooks is not None:
            self._backlog = await self._gateway.store.delivery_backlog()
        if self._gateway.smpp_metrics is not None:
            self._deliveries = await self._gateway.pending_deliveries()

    def collect(self) -> Iterator[Metric]:
        """Return every metric, read now (``refresh`` first for the outbox counts)."""
        gateway = self._gateway
        yield InfoMetricFamily(
            "gsmgw_build",
            "gsmgw version and node name",
            value={"version": __version__, "node": gateway.config.gateway.node},
        )
        outbox = GaugeMetricFamily(
            "gsmgw_outbox_messages", "Outbound messages by state", labels=["state"]
        )
        for state in MessageState:
            outbox.add_metric([str(state)], self._outbox.get(state, 0))
        yield outbox
        yield CounterMetricFamily(
            "gsmgw_inbox_received",
            "Inbound SMS stored since start",
            value=gateway.receiver.received,
        )
        yield CounterMetricFamily(
            "gsmgw_status_reports_received",
            "Status reports received since start",
            value=gateway.receiver.reports,
        )
        yield GaugeMetricFamily(
            "gsmgw_publications_pending",
            "Inbound SMS and state events stored for the broker, not yet acknowledged",
            value=self._publications,
        )
        mqtt = gateway.mqtt_state()
        if mqtt != "off":
            yield GaugeMetricFamily(
                "gsmgw_mqtt_connected", "1 while connected to the broker", value=mqtt == "connected"
            )
        yield from self._modems()
        if gateway.smpp_metrics is not None:
            yield from self._smpp(gateway.smpp_metrics())
        yield from self._http_metrics()

    def _http_metrics(self) -> Iterator[Metric]:
        if self._http is not None:
            requests = CounterMetricFamily(
                "gsmgw_http_requests",
                "HTTP API answers since start, by route (METHOD /path) and status",
                labels=["route", "status"],
            )
            for (route, status), count in sorted(self._http.requests.items()):
                requests.add_metric([route, str(status)], count)
            yield requests
        if self._webhooks is None:
            return
        outcomes = CounterMetricFamily(
            "gsmgw_webhook_deliveries",
            "Webhook and dlr-url attempts since start, by outcome: delivered, retried,"
            " refused (a final 4xx), dropped (retry_for passed)",
            labels=["webhook", "outcome"],
        )
        backlog = GaugeMetricFamily(
            "gsmgw_webhook_backlog",
            "Events stored for a webhook, not yet delivered",
            labels=["webhook"],
        )
        for consumer in self._webhooks.consumers:
            for outcome in self._webhooks.OUTCOMES:
                outcomes.add_metric([consumer.label, outcome], consumer.outcomes[outcome])
            backlog.add_metric([consumer.label], self._backlog.get(consumer.name, (0, None))[0])
        yield outcomes
        yield backlog

    def _smpp(self, smpp: SmppMetrics) -> Iterator[Metric]:
        """Yield the SMPP server's metrics; every user of ``users_file`` has its series."""
        sessions = GaugeMetricFamily(
            "gsmgw_smpp_sessions", "Bound SMPP sessions", labels=["user", "bind"]
        )
        accepted = CounterMetricFamily(
            "gsmgw_smpp_submits_accepted",
            "submit_sm and data_sm answered with ESME_ROK since start",
            labels=["user"],
        )
        refused = CounterMetricFamily(
            "gsmgw_smpp_submits_refused",
            "submit_sm and data_sm answered with an error since start, by command_status",
            labels=["user", "status"],
        )
        pending = GaugeMetricFamily(
            "gsmgw_smpp_deliver_sm_pending",
            "Delivery receipts and MO SMS stored for the user, not yet answered with status 0",
            labels=["user"],
        )
        sent = CounterMetricFamily(
            "gsmgw_smpp_deliver_sm_sent",
            "deliver_sm (receipts and MO SMS) answered with status 0 since start",
            labels=["user"],
        )
        for user in smpp.users:
            for bind in BIND_TYPES:
                sessions.add_metric([user, bind], smpp.sessions.get((user, bind), 0))
            accepted.add_metric([user], smpp.accepted.get(user, 0))
            pending.add_metric([user], self._deliveries.get(user, 0))
            sent.add_metric([user], smpp.delivered.get(user, 0))
        for (user, status), count in sorted(smpp.refused.items()):
            refused.add_metric([user, status], count)
        yield from (sessions, accepted, refused, pending, sent)

    def _modems(self) -> Iterator[Metric]:
        gauges = {
            "up": "1 while the modem is open and initialised",
            "ready": "1 while the modem can send: attached, registered, not resting",
            "registered": "1 while the modem is registered on a network",
            "signal_dbm": "Signal strength in dBm (absent when unknown or down)",
            "queue_depth": "Messages waiting for this modem (handed over or held)",
        }
        counters = {
            "messages_sent": "Messages sent (every part accepted by the network) since start",
            "messages_failed": "Messages failed on this modem since start",
            "messages_retried": "Messages put back for a later attempt since start",
            "messages_requeued": "Messages given back to the queue (modem lost) since start",
            "parts_sent": "Parts accepted by the network since start",
        }
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            name: GaugeMetricFamily(f"gsmgw_modem_{name}", text, labels=["modem"])
            for name, text in gauges.items()
        }
        families |= {
            name: CounterMetricFamily(f"gsmgw_modem_{name}", text, labels=["modem"])
            for name, text in counters.items()
        }
        now = time.monotonic()
        senders = self._gateway.dispatcher.senders
        for modem in self._gateway.config.modems:
            health = self._gateway.health.get(modem.id, HealthReport())
            up = health.state == "ready"
            values: dict[str, float | None] = {
                "up": up,
                "signal_dbm": health.signal if up else None,
            }
            sender = senders.get(modem.id)
            if sender is not None:
                values |= {
                    "ready": sender.ready(now),
                    "registered": up and sender.registered,
                    "queue_depth": sender.waiting,
                    "messages_sent": sender.sent,
                    "messages_failed": sender.failed,
                    "messages_retried": sender.retried,
                    "messages_requeued": sender.requeued,
                    # One send-time sample per part the network accepted.
                    "parts_sent": sender.samples,
                }
            for name, value in values.items():
                if value is not None:
                    families[name].add_metric([modem.id], value)
        yield from families.values()


class MetricsServer:
    """``GET /metrics`` over HTTP/1.x on the event loop; everything else is a 404."""

    def __init__(self, collector: GatewayCollector) -> None:
        self._collector = collector
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)

    async def scrape(self) -> bytes:
        """Return the metrics in the text format."""
        await self._collector.refresh()
        return generate_latest(self._registry)

    async def listen(self, config: Config) -> asyncio.Server:
        """Listen on ``gateway.metrics``; raise ``ConfigError`` naming it when that fails."""
        address = config.gateway.metrics
        host, _, port = address.rpartition(":")
        try:
            return await asyncio.start_server(
                self._serve, host.strip("[]") or None, int(port), limit=MAX_LINE
            )
        except (OSError, OverflowError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            problem = f"cannot listen on {address}: {reason}"
            raise ConfigError(config.file, "gateway.metrics", problem) from exc

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                method, path = await _read_request(reader)
            if method in ("GET", "HEAD") and path.partition("?")[0] == "/metrics":
                body = await self.scrape()
                head = _head("200 OK", CONTENT_TYPE, len(body))
                writer.write(head if method == "HEAD" else head + body)
            else:
                body = b"Not found: try /metrics\n"
                writer.write(_head("404 Not Found", "text/plain; charset=utf-8", len(body)) + body)
            await writer.drain()
        except (ConnectionError, TimeoutError, ValueError) as exc:
            LOGGER.debug("metrics request dropped: %s", exc)
        except Exception:
            LOGGER.exception("metrics request failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def serve_metrics(
    gateway: Gateway,
    config: Config,
    *,
    http: HttpApi | None = None,
    webhooks: Webhooks | None = None,
) -> None:
    """Serve the Prometheus endpoint ``gateway.metrics`` until cancelled.

    Raises:
        ConfigError: the address cannot be listened on (in use, unknown host).
    """
    collector = GatewayCollector(gateway, http=http, webhooks=webhooks)
    server = await MetricsServer(collector).listen(config)
    async with server:
        LOGGER.info("Prometheus metrics on http://%s/metrics", config.gateway.metrics)
        await server.serve_forever()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """Read a request line and its headers (ignored); return method and target."""
    words = (await reader.readline()).decode("latin-1").split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise ValueError(f"not an HTTP request line: {words!r}")
    for _ in range(MAX_HEADERS):
        if (await reader.readline()).strip() == b"":
            return words[0], words[1]
    raise ValueError("too many header lines")


def _head(status: str, content_type: str, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
