"""+CME and +CMS error numbers: names, and whether retrying later can help."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """Which family a final error result belongs to."""

    ERROR = "ERROR"  # plain ERROR: no number (AT+CMEE=0, or the command is unknown)
    CME = "CME"  # 3GPP TS 27.007 §9.2: mobile equipment errors
    CMS = "CMS"  # 3GPP TS 27.005 §3.2.5: message service errors


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One +CME or +CMS ERROR number with its meaning."""

    kind: ErrorKind
    code: int
    name: str
    #: True when the same request may succeed later (network busy, SIM busy).
    temporary: bool


# 3GPP TS 27.007 §9.2.1 and §9.2.2. (code, name, temporary)
_CME: tuple[tuple[int, str, bool], ...] = (
    (0, "phone failure", True),
    (1, "no connection to phone", True),
    (2, "phone-adaptor link reserved", True),
    (3, "operation not allowed", False),
    (4, "operation not supported", False),
    (5, "PH-SIM PIN required", False),
    (6, "PH-FSIM PIN required", False),
    (7, "PH-FSIM PUK required", False),
    (10, "SIM not inserted", False),
    (11, "SIM PIN required", False),
    (12, "SIM PUK required", False),
    (13, "SIM failure", False),
    (14, "SIM busy", True),
    (15, "SIM wrong", False),
    (16, "incorrect password", False),
    (17, "SIM PIN2 required", False),
    (18, "SIM PUK2 required", False),
    (20, "memory full", True),
    (21, "invalid index", False),
    (22, "not found", False),
    (23, "memory failure", True),
    (24, "text string too long", False),
    (25, "invalid characters in text string", False),
    (26, "dial string too long", False),
    (27, "invalid characters in dial string", False),
    (30, "no network service", True),
    (31, "network timeout", True),
    (32, "network not allowed - emergency calls only", True),
    (40, "network personalization PIN required", False),
    (41, "network personalization PUK required", False),
    (100, "unknown", True),
    (103, "illegal MS", False),
    (106, "illegal ME", False),
    (107, "GPRS services not allowed", False),
    (111, "PLMN not allowed", False),
    (112, "location area not allowed", False),
    (113, "roaming not allowed in this location area", False),
    (132, "service option not supported", False),
    (133, "requested service option not subscribed", False),
    (134, "service option temporarily out of order", True),
    (148, "unspecified GPRS error", True),
    (149, "PDP authentication failure", False),
)

# 3GPP TS 27.005 §3.2.5: 0...127 are TS 24.011 Annex E-2 RP causes, 128...255 TS 23.040
# §9.2.3.22 TP-FCS values, 300... are errors of the ME or the SIM.
_CMS: tuple[tuple[int, str, bool], ...] = (
    (1, "unassigned (unallocated) number", False),
    (8, "operator determined barring", False),
    (10, "call barred", False),
    (17, "network failure", True),
    (21, "short message transfer rejected", False),
    (22, "memory capacity exceeded", True),
    (27, "destination out of service", True),
    (28, "unidentified subscriber", False),
    (29, "facility rejected", False),
    (30, "unknown subscriber", False),
    (38, "network out of order", True),
    (41, "temporary failure", True),
    (42, "congestion", True),
    (47, "resources unavailable, unspecified", True),
    (50, "requested facility not subscribed", False),
    (69, "requested facility not implemented", False),
    (81, "invalid short message transfer reference value", True),
    (95, "invalid message, unspecified", False),
    (96, "invalid mandatory information", False),
    (97, "message type non-existent or not implemented", False),
    (98, "message not compatible with short message protocol state", True),
    (99, "information element non-existent or not implemented", False),
    (111, "protocol error, unspecified", True),
    (127, "interworking, unspecified", True),
    (128, "telematic interworking not supported", False),
    (129, "short message type 0 not supported", False),
    (130, "cannot replace short message", False),
    (143, "unspecified TP-PID error", False),
    (144, "data coding scheme (alphabet) not supported", False),
    (145, "message class not supported", False),
    (159, "unspecified TP-DCS error", False),
    (160, "command cannot be actioned", False),
    (161, "command unsupported", False),
    (175, "unspecified TP-Command error", False),
    (176, "TPDU not supported", False),
    (192, "SC busy", True),
    (193, "no SC subscription", False),
    (194, "SC system failure", True),
    (195, "invalid SME address", False),
    (196, "destination SME barred", False),
    (197, "SM rejected-duplicate SM", False),
    (198, "TP-VPF not supported", False),
    (199, "TP-VP not supported", False),
    (208, "SIM SMS storage full", True),
    (209, "no SMS storage capability in SIM", False),
    (210, "error in MS", True),
    (211, "memory capacity exceeded", True),
    (212, "SIM application toolkit busy", True),
    (213, "SIM data download error", True),
    (255, "unspecified error cause", True),
    (300, "ME failure", True),
    (301, "SMS service of ME reserved", True),
    (302, "operation not allowed", False),
    (303, "operation not supported", False),
    (304, "invalid PDU mode parameter", False),
    (305, "invalid text mode parameter", False),
    (310, "SIM not inserted", False),
    (311, "SIM PIN required", False),
    (312, "PH-SIM PIN required", False),
    (313, "SIM failure", False),
    (314, "SIM busy", True),
    (315, "SIM wrong", False),
    (316, "SIM PUK required", False),
    (317, "SIM PIN2 required", False),
    (318, "SIM PUK2 required", False),
    (320, "memory failure", True),
    (321, "invalid memory index", False),
    (322, "memory full", True),
    (330, "SMSC address unknown", False),
    (331, "no network service", True),
    (332, "network timeout", True),
    (340, "no +CNMA acknowledgement expected", False),
    (500, "unknown error", True),
)

CME_ERRORS: dict[int, ErrorCode] = {c: ErrorCode(ErrorKind.CME, c, n, t) for c, n, t in _CME}
CMS_ERRORS: dict[int, ErrorCode] = {c: ErrorCode(ErrorKind.CMS, c, n, t) for c, n, t in _CMS}
_TABLES = {ErrorKind.CME: CME_ERRORS, ErrorKind.CMS: CMS_ERRORS}
_BY_NAME = {kind: {e.name.lower(): e for e in table.values()} for kind, table in _TABLES.items()}


def lookup(kind: ErrorKind, code: int) -> ErrorCode:
    """Return the meaning of an error number; unknown numbers count as temporary.

    Numbers from 512 up are manufacturer specific (TS 27.005 §3.2.5); a bounded retry
    elsewhere is safer than failing a message on a number we cannot read.
    """
    table = _TABLES.get(kind, {})
    if code in table:
        return table[code]
    name = "manufacturer specific" if code >= 512 else "unknown"
    return ErrorCode(kind, code, name, True)


def code_for_text(kind: ErrorKind, text: str) -> int | None:
    """Return the number of a verbose error (``AT+CMEE=2``), or None if the text is unknown."""
    entry = _BY_NAME.get(kind, {}).get(text.strip().lower())
    return entry.code if entry is not None else None


def is_temporary(kind: ErrorKind | str, code: int | None) -> bool:
    """Tell whether retrying later may help: plain ERROR and unknown numbers count as temporary."""
    if code is None:
        return True
    return lookup(ErrorKind(kind), code).temporary
