"""Message storage of the simulated modem: SIM ("SM") and phone ("ME") memory."""

from __future__ import annotations

from dataclasses import dataclass
import enum


class MessageStat(enum.IntEnum):
    """<stat> of +CMGL/+CMGR in PDU mode (3GPP TS 27.005 §3.1)."""

    REC_UNREAD = 0
    REC_READ = 1
    STO_UNSENT = 2
    STO_SENT = 3


#: <stat> 4 of AT+CMGL: every message (TS 27.005 §3.4.2).
STAT_ALL = 4


@dataclass(frozen=True, slots=True)
class StoredPdu:
    """One stored message: its PDU (SMSC field included) and <stat>."""

    pdu: bytes
    stat: MessageStat

    @property
    def tpdu_length(self) -> int:
        """The TPDU length in octets, as +CMGL/+CMGR report it (without the SMSC field)."""
        return len(self.pdu) - 1 - self.pdu[0]


class StorageFull(Exception):
    """No free location (3GPP TS 27.005 §3.2.5: +CMS ERROR 322, memory full)."""


class Storage:
    """Numbered locations ``first_index .. first_index + capacity - 1``."""

    def __init__(self, name: str, *, capacity: int, first_index: int = 1) -> None:
        self.name = name
        self.capacity = capacity
        self.first_index = first_index
        self._slots: dict[int, StoredPdu] = {}

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def full(self) -> bool:
        """True when no location is free."""
        return len(self._slots) >= self.capacity

    def valid(self, index: int) -> bool:
        """Tell whether ``index`` names a location of this storage."""
        return self.first_index <= index < self.first_index + self.capacity

    def store(self, pdu: bytes, stat: MessageStat) -> int:
        """Store in the lowest free location and return its index; StorageFull if none."""
        for index in range(self.first_index, self.first_index + self.capacity):
            if index not in self._slots:
                self._slots[index] = StoredPdu(pdu, stat)
                return index
        raise StorageFull(self.name)

    def get(self, index: int) -> StoredPdu | None:
        """Return the message at ``index``, or None for an empty location."""
        return self._slots.get(index)

    def mark_read(self, index: int) -> None:
        """Turn a read REC UNREAD message into REC READ, as a real SIM does."""
        entry = self._slots.get(index)
        if entry is not None and entry.stat is MessageStat.REC_UNREAD:
            self._slots[index] = StoredPdu(entry.pdu, MessageStat.REC_READ)

    def items(self, stat: int = STAT_ALL) -> list[tuple[int, StoredPdu]]:
        """Return the stored messages with ``stat`` (4: all), in index order."""
        return [
            (index, entry)
            for index, entry in sorted(self._slots.items())
            if stat == STAT_ALL or entry.stat == stat
        ]

    def delete(self, index: int) -> None:
        """Empty one location (deleting an empty one is fine, as on real modems)."""
        self._slots.pop(index, None)

    def delete_flagged(self, flag: int) -> None:
        """AT+CMGD's <delflag> 1-4 (TS 27.005 §3.5.4): read, +sent, +unsent, all."""
        doomed = {
            1: {MessageStat.REC_READ},
            2: {MessageStat.REC_READ, MessageStat.STO_SENT},
            3: {MessageStat.REC_READ, MessageStat.STO_SENT, MessageStat.STO_UNSENT},
        }.get(flag, set(MessageStat))
        for index, entry in list(self._slots.items()):
            if entry.stat in doomed:
                del self._slots[index]
