"""What every PDU shares: the header fields, self-checking, and the common body fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gsmgw.smpp._constants import Status
from gsmgw.smpp._fields import Field, cstring, field_problem, integer

MAX_U32 = 0xFFFF_FFFF

# Maximum sizes, NUL included (SMPP 3.4 §5.2): the status says which field was too long.
SYSTEM_ID = cstring("system_id", 16, Status.ESME_RINVSYSID)
PASSWORD = cstring("password", 9, Status.ESME_RINVPASWD)
SYSTEM_TYPE = cstring("system_type", 13, Status.ESME_RINVSYSTYP)
ADDRESS_RANGE = cstring("address_range", 41)
SERVICE_TYPE = cstring("service_type", 6, Status.ESME_RINVSERTYP)
SOURCE_ADDR = cstring("source_addr", 21, Status.ESME_RINVSRCADR)
DESTINATION_ADDR = cstring("destination_addr", 21, Status.ESME_RINVDSTADR)
MESSAGE_ID = cstring("message_id", 65, Status.ESME_RINVMSGID)
SOURCE_ADDR_TON, SOURCE_ADDR_NPI = integer("source_addr_ton"), integer("source_addr_npi")
DEST_ADDR_TON, DEST_ADDR_NPI = integer("dest_addr_ton"), integer("dest_addr_npi")


@dataclass(frozen=True, slots=True, kw_only=True)
class PduBase:
    """The header fields every PDU carries (§3.2): sequence_number and command_status."""

    sequence: int
    status: int = 0
    BODY: ClassVar[tuple[Field, ...]] = ()

    def __post_init__(self) -> None:
        for name in ("sequence", "status"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_U32:
                raise ValueError(f"{name} {value} is not an unsigned 32-bit integer")
        for spec in self.BODY:
            problem = field_problem(spec, getattr(self, spec.name))
            if problem is not None:
                raise ValueError(problem)
