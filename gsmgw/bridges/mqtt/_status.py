"""The node status publisher: the counters Home Assistant shows, current and coalesced.

The publisher of the publication queue calls `NodeStatus.changed` after each entry (an inbound
SMS, a state event, a modem's health): every one may move a counter. The status is read from
the core then, at most once every ``interval`` seconds however fast entries come, and at least
every ``refresh`` seconds (a new day resets "sent today"; uptime moves). Retained at QoS 1 on
``{prefix}/{node}/status``; it is a view of the store, so none is queued or stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import NoReturn

from gsmgw.bridges.mqtt._client import MqttClient
from gsmgw.core import Core, Topics
from gsmgw.errors import GsmgwError

__all__ = ["STATUS_INTERVAL", "STATUS_REFRESH_INTERVAL", "NodeStatus"]

LOGGER = logging.getLogger(__package__)

# All of these are in seconds.
#: The shortest time between two publications of the status.
STATUS_INTERVAL = 5.0
#: The longest time between two, changed or not.
STATUS_REFRESH_INTERVAL = 300.0


class NodeStatus:
    """Publishes the core's `node_status` when something changed, coalesced."""

    def __init__(
        self,
        core: Core,
        topics: Topics,
        *,
        interval: float = STATUS_INTERVAL,
        refresh: float = STATUS_REFRESH_INTERVAL,
    ) -> None:
        self._core = core
        self._topic = topics.status
        self._interval = interval
        self._refresh = refresh
        self._changed = asyncio.Event()
        self._changed.set()  # the first connection publishes at once
        #: How many times the status was published (for tests and ``gsmgw status``).
        self.published = 0

    def changed(self) -> None:
        """Say that a counter may have moved (cheap; call it for every publication)."""
        self._changed.set()

    async def run(self, client: MqttClient) -> NoReturn:
        """Publish until cancelled; raises `MqttError` when the connection drops."""
        self._changed.set()  # a new connection: the broker may have lost the retained one
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh):
                    await self._changed.wait()
            self._changed.clear()
            try:
                status = await self._core.node_status()
            except GsmgwError as exc:
                # A full or locked store: the counters wait; the next change asks again.
                LOGGER.warning("node status unreadable: %s", exc)
            except Exception:
                # A task boundary: counters are not worth the bridge (requests, the inbox).
                LOGGER.exception("node status failed")
            else:
                payload = json.dumps(status, separators=(",", ":")).encode()
                await client.publish(self._topic, payload, retain=True)
                self.published += 1
            await asyncio.sleep(self._interval)
