"""The seam between the core and the bridges: what MQTT, HTTP and SMPP may ask of a node.

The core (``gsmgw.daemon.Gateway`` over the store and the dispatcher) implements ``Core``; the
bridges import this package and never the daemon, and nothing below the bridges imports them.
"""

from gsmgw.core._node import make_store, node_topics
from gsmgw.core._seam import Core, NodeHealth, Publication, SmppCore, SubmitResult
from gsmgw.core._topics import Topics, valid_publish_topic
from gsmgw.store import (
    MessageView,
    PartView,
    SegmentResult,
    SmppDelivery,
    SmppOrigin,
    SmppSegment,
)

__all__ = [
    "Core",
    "MessageView",
    "NodeHealth",
    "PartView",
    "Publication",
    "SegmentResult",
    "SmppCore",
    "SmppDelivery",
    "SmppOrigin",
    "SmppSegment",
    "SubmitResult",
    "Topics",
    "make_store",
    "node_topics",
    "valid_publish_topic",
]
