"""What the network delivers to the simulated modem: SMS and status reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gsmgw.sim.storage import MessageStat, StorageFull

if TYPE_CHECKING:
    from gsmgw.sim.device import SimModem


def _tpdu_length(pdu: bytes) -> int:
    return len(pdu) - 1 - pdu[0]


def deliver_sms(modem: SimModem, pdu: bytes, *, direct: bool) -> int | None:
    """Route a DELIVER as AT+CNMI's <mt> says (TS 27.005 §3.4.1); return its index if stored."""
    mode, mt = modem.settings.cnmi[0], modem.settings.cnmi[1]
    if direct or mt in (2, 3):
        modem.urc(f"+CMT: ,{_tpdu_length(pdu)}", pdu.hex().upper())
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
        modem.urc(f"+CDS: {_tpdu_length(pdu)}", pdu.hex().upper())
    elif ds == 2:
        storage = modem.storage(2)
        try:
            index = storage.store(pdu, MessageStat.REC_UNREAD)
        except StorageFull:
            return  # a report that finds no room is lost, as on a real SIM
        modem.urc(f'+CDSI: "{storage.name}",{index}')
