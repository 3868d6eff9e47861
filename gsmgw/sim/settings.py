"""What AT commands set on the simulated modem, and how it schedules what takes time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Cancellable]


@dataclass(slots=True)
class Settings:
    """What AT commands set; back to these defaults on every power-up."""

    echo: bool = True
    cmee: int = 0
    cscs: str = "IRA"
    #: AT+CNMI <mode>,<mt>,<bm>,<ds>,<bfr> (TS 27.005 §3.4.1).
    cnmi: tuple[int, int, int, int, int] = (2, 1, 0, 0, 0)
    #: <n> of AT+CREG, AT+CGREG and AT+CEREG.
    creg: dict[str, int] = field(default_factory=lambda: {"+CREG": 0, "+CGREG": 0, "+CEREG": 0})
    cops_format: int = 0
    #: <mem1> (read, list, delete), <mem2> (write, send), <mem3> (received) of AT+CPMS.
    memories: list[str] = field(default_factory=lambda: ["SM", "SM", "SM"])
    csms: int = 0
    functionality: int = 1
    #: Periodic vendor codes (Huawei ^RSSI, ^MODE) on; Huawei's AT^CURC=0 turns them off.
    vendor_urcs: bool = True
