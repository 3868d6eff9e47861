"""The durable store: outbox, inbox, parts, reports and the publication queue, on SQLite."""

from gsmgw.store.deliveries import DLR_CONSUMER, Delivery
from gsmgw.store.inbox import InboundResult, Undecodable, UndecodableResult
from gsmgw.store.outbox import EnqueuePolicy, EnqueueResult
from gsmgw.store.progress import ReportMatch
from gsmgw.store.queries import InboundRawPart, OptOutEntry, Publication
from gsmgw.store.retention import DatabaseSize, Purged
from gsmgw.store.schema import SCHEMA_VERSION
from gsmgw.store.smpp import SegmentResult, SmppDelivery, SmppHooks, SmppOrigin, SmppSegment
from gsmgw.store.store import RouteFilter, Store, StoreReader
from gsmgw.store.views import MessageView, PartView

__all__ = [
    "DLR_CONSUMER",
    "SCHEMA_VERSION",
    "DatabaseSize",
    "Delivery",
    "EnqueuePolicy",
    "EnqueueResult",
    "InboundRawPart",
    "InboundResult",
    "MessageView",
    "OptOutEntry",
    "PartView",
    "Publication",
    "Purged",
    "ReportMatch",
    "RouteFilter",
    "SegmentResult",
    "SmppDelivery",
    "SmppHooks",
    "SmppOrigin",
    "SmppSegment",
    "Store",
    "StoreReader",
    "Undecodable",
    "UndecodableResult",
]
