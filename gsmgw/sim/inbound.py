"""What the network delivers to the simulated modem: SMS and status reports.

With AT+CSMS=1 (phase 2+) a message routed straight to the host (+CMT, +CDS) counts as
received only once the host acknowledges it with AT+CNMA (TS 27.005 §3.4.4): until then the
modem shows no other direct message, a negative acknowledgement (AT+CNMA=2, RP-ERROR) or no
acknowledgement within ``Knobs.ack_timeout`` makes the network deliver it again after
``Knobs.redeliver_delay``, as an SMSC retries a message the phone did not take.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gsmgw.sim.storage import MessageStat, StorageFull

if TYPE_CHECKING:
    from gsmgw.sim.device import SimModem


def _tpdu_length(pdu: bytes) -> int:
    return len(pdu) - 1 - pdu[0]


@dataclass(slots=True)
class DirectDeliveries:
    """+CMT/+CDS deliveries of a phase 2+ modem: the one shown, unacknowledged, and the rest."""

    #: (prefix, PDU) shown and waiting for AT+CNMA; None when nothing waits.
    shown: tuple[str, bytes] | None = None
    #: Deliveries waiting for the one shown to be acknowledged, in order.
    waiting: deque[tuple[str, bytes]] = field(default_factory=deque)
    #: Counts every showing, so a late timeout of an acknowledged one does nothing.
    generation: int = 0
    #: How many deliveries the network made again (refused or not acknowledged).
    redelivered: int = 0


def deliver_sms(modem: SimModem, pdu: bytes, *, direct: bool) -> int | None:
    """Route a DELIVER as AT+CNMI's <mt> says (TS 27.005 §3.4.1); return its index if stored."""
    mode, mt = modem.settings.cnmi[0], modem.settings.cnmi[1]
    if direct or mt in (2, 3):
        _deliver_direct(modem, "+CMT", pdu)
        return None
    storage = modem.storage(2)
    try:
        index = storage.store(pdu, MessageStat.REC_UNREAD)
    except StorageFull:
        # The network keeps it and tries again once a location is free (TS 23.040 §10.2).
        modem.network_queue.append(pdu)
        return None
    if mode and mt == 1:
        modem.urc(f'+CMTI: "{storage.name}",{index}')
    if storage.full:
        modem.urc(modem.profile.storage_full_urc)
    return index


def deliver_status_report(modem: SimModem, pdu: bytes) -> None:
    """Route a STATUS-REPORT as AT+CNMI's <ds> says: +CDS (1), stored and +CDSI (2), or not."""
    ds = modem.settings.cnmi[3]
    if ds == 1:
        _deliver_direct(modem, "+CDS", pdu)
    elif ds == 2:
        storage = modem.storage(2)
        try:
            index = storage.store(pdu, MessageStat.REC_UNREAD)
        except StorageFull:
            return  # a report that finds no room is lost, as on a real SIM
        modem.urc(f'+CDSI: "{storage.name}",{index}')


def _deliver_direct(modem: SimModem, prefix: str, pdu: bytes) -> None:
    direct = modem.direct
    if modem.settings.csms != 1:
        _show(modem, prefix, pdu)  # phase 2: the modem acknowledged it itself
    elif direct.shown is not None:
        direct.waiting.append((prefix, pdu))
    else:
        _show_awaiting_ack(modem, prefix, pdu)


def _show(modem: SimModem, prefix: str, pdu: bytes) -> None:
    header = f"+CMT: ,{_tpdu_length(pdu)}" if prefix == "+CMT" else f"+CDS: {_tpdu_length(pdu)}"
    modem.urc(header, pdu.hex().upper())


def _show_awaiting_ack(modem: SimModem, prefix: str, pdu: bytes) -> None:
    direct = modem.direct
    direct.shown = (prefix, pdu)
    direct.generation += 1
    generation = direct.generation
    _show(modem, prefix, pdu)

    def timed_out() -> None:
        if direct.generation == generation and direct.shown is not None:
            refused(modem)

    if modem.scheduler is not None:  # without one no time passes: it waits for AT+CNMA
        modem.later(modem.knobs.ack_timeout, timed_out)


def acknowledged(modem: SimModem) -> bool:
    """AT+CNMA (RP-ACK): the shown delivery is received; False if none waited."""
    direct = modem.direct
    if direct.shown is None:
        return False
    direct.shown = None
    direct.generation += 1
    _show_next(modem)
    return True


def refused(modem: SimModem) -> bool:
    """AT+CNMA=2 (RP-ERROR) or no answer in time: the network delivers it again later."""
    direct = modem.direct
    if direct.shown is None:
        return False
    again, direct.shown = direct.shown, None
    direct.generation += 1
    direct.redelivered += 1
    direct.waiting.appendleft(again)
    modem.later(modem.knobs.redeliver_delay, lambda: _show_next(modem))
    return True


def _show_next(modem: SimModem) -> None:
    direct = modem.direct
    if direct.shown is None and direct.waiting:
        prefix, pdu = direct.waiting.popleft()
        _show_awaiting_ack(modem, prefix, pdu)
