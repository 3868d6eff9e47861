"""The durable store: outbox, inbox, parts, reports and the publication queue, on SQLite."""

from gsmgw.store.inbox import InboundResult
from gsmgw.store.outbox import EnqueuePolicy, EnqueueResult
from gsmgw.store.progress import ReportMatch
from gsmgw.store.queries import InboundRawPart, OptOutEntry, Publication
from gsmgw.store.retention import DatabaseSize, Purged
from gsmgw.store.schema import SCHEMA_VERSION
from gsmgw.store.store import RouteFilter, Store, StoreReader

__all__ = [
    "SCHEMA_VERSION",
    "DatabaseSize",
    "EnqueuePolicy",
    "EnqueueResult",
    "InboundRawPart",
    "InboundResult",
    "OptOutEntry",
    "Publication",
    "Purged",
    "ReportMatch",
    "RouteFilter",
    "Store",
    "StoreReader",
]
