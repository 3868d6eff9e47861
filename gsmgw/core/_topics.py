"""The MQTT topic layout of SPEC.md, in one place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Topics", "valid_publish_topic"]

#: MQTT 3.1.1 §1.5.3 and MQTT 5 §1.5.4: a UTF-8 string is at most 65,535 bytes.
MAX_TOPIC_BYTES = 65_535


def valid_publish_topic(topic: str) -> bool:
    """Return True when we may publish to ``topic`` (no wildcards, no NUL, not ``$...``)."""
    return (
        bool(topic)
        and not topic.startswith("$")
        and not any(c in topic for c in "+#\x00")
        and len(topic.encode("utf-8", "surrogatepass")) <= MAX_TOPIC_BYTES
    )


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic of one node (SPEC.md, "MQTT API")."""

    prefix: str
    node: str

    def __post_init__(self) -> None:
        if not valid_publish_topic(self.prefix) or self.prefix.startswith("/"):
            raise ValueError(f"{self.prefix!r} cannot start an MQTT topic")
        if not self.node or any(c in self.node for c in "/+#$\x00"):
            raise ValueError(f"the node name {self.node!r} cannot be one MQTT topic level")

    @property
    def send(self) -> str:
        """Send requests any node may take."""
        return f"{self.prefix}/send"

    @property
    def shared_send(self) -> str:
        """`send` as an MQTT 5 shared subscription; a share name has no "/" (MQTT 5 §4.8.2)."""
        return f"$share/{self.prefix.replace('/', '_')}/{self.send}"

    def node_topic(self, relative: str) -> str:
        """Return ``{prefix}/{node}/{relative}``."""
        return f"{self.prefix}/{self.node}/{relative}"

    @property
    def node_send(self) -> str:
        """Send requests for this node only."""
        return self.node_topic("send")

    @property
    def ussd(self) -> str:
        """USSD requests for this node."""
        return self.node_topic("ussd")

    @property
    def state(self) -> str:
        """State events of outbound messages."""
        return self.node_topic("sms/state")

    @property
    def inbox(self) -> str:
        """Inbound SMS."""
        return self.node_topic("inbox")

    @property
    def availability(self) -> str:
        """``online`` / ``offline``, retained; ``offline`` is the Last Will."""
        return self.node_topic("availability")

    @property
    def errors(self) -> str:
        """Rejections of requests that named no reply topic."""
        return self.node_topic("errors")

    @property
    def status(self) -> str:
        """The node's counters (queue by state, sent today, uptime), retained."""
        return self.node_topic("status")

    def ussd_answer(self, modem_id: str) -> str:
        """Where Home Assistant's USSD entity asks the answers of a modem's codes to go."""
        return self.node_topic(f"ussd/answer/{modem_id}")

    def modem(self, modem_id: str) -> str:
        """Retained health of one modem."""
        return self.node_topic(f"modem/{modem_id}")

    def subscriptions(self, *, shared: bool) -> tuple[str, ...]:
        """Return the topic filters the bridge subscribes to."""
        return (self.shared_send if shared else self.send, self.node_send, self.ussd)

    def is_request_topic(self, topic: str) -> bool:
        """Return True for a topic we take requests on (never a reply destination)."""
        return topic in (self.send, self.node_send, self.ussd)
