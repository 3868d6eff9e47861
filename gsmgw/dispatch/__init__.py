"""Dispatch: one sender per modem takes the outbox to the modems; inbound PDUs go to the store.

``Dispatcher`` runs a ``Sender`` per modem (its life is one ``SenderState``), routes each
message by SPEC.md's rule (``best_modem`` over ``Candidate`` snapshots), sends it part by part
(``send_message``), keeps the due-time timers (``Schedule``) and requeues what a failed store
write stranded. ``Inbound`` decodes what the modems deliver and stores it before the SIM copy
goes (or the delivery is acknowledged); ``ModemInbox`` is each modem's one consumer of received
work, so SIM reads and deletes never interleave.
"""

from gsmgw.dispatch._dispatcher import Dispatcher
from gsmgw.dispatch._inbound import Inbound, InboundOutcome, InboxLink
from gsmgw.dispatch._modem_inbox import ModemInbox, ReceivedWork
from gsmgw.dispatch._pool import (
    Candidate,
    allowed_modems,
    best_modem,
    rank,
    updated_send_time,
)
from gsmgw.dispatch._send import (
    Attempt,
    ModemLink,
    Outcome,
    SendPolicy,
    encode,
    send_message,
)
from gsmgw.dispatch._sender import Sender, SenderState, load_counts, route_filter

__all__ = [
    "Attempt",
    "Candidate",
    "Dispatcher",
    "Inbound",
    "InboundOutcome",
    "InboxLink",
    "ModemInbox",
    "ModemLink",
    "Outcome",
    "ReceivedWork",
    "SendPolicy",
    "Sender",
    "SenderState",
    "allowed_modems",
    "best_modem",
    "encode",
    "load_counts",
    "rank",
    "route_filter",
    "send_message",
    "updated_send_time",
]
