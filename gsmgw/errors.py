"""The one exception hierarchy shared by every layer of gsmgw."""

from __future__ import annotations


class GsmgwError(Exception):
    """Root of every error gsmgw raises on purpose."""


class ProtocolError(GsmgwError):
    """Bytes or values that break a protocol (AT, TS 23.040)."""


class RemoteProtocolError(ProtocolError):
    """The other side (a modem, a phone, the network) sent what we cannot parse."""


class LocalProtocolError(ProtocolError):
    """We asked a codec for something it cannot do (a programming error)."""


class PduError(RemoteProtocolError):
    """A malformed SMS PDU: the one error the PDU decoder raises."""


class SmppError(RemoteProtocolError):
    """An SMPP peer sent what we cannot accept: the one error the SMPP decoder raises."""

    def __init__(self, message: str, *, status: int, sequence: int | None = None) -> None:
        super().__init__(message)
        #: The command_status to answer with (SMPP 3.4 §5.1.3), e.g. 0x02 ESME_RINVCMDLEN.
        self.status = status
        #: The sequence_number of the offending PDU, when its header was read.
        self.sequence = sequence


class EncodingError(GsmgwError):
    """Text or parameters that cannot be encoded as requested."""

    def __init__(self, message: str, *, code: str = "invalid_request") -> None:
        super().__init__(message)
        #: The error code of SPEC.md's reply payloads (``text_too_long``, ``invalid_number``...).
        self.code = code


class CommandError(GsmgwError):
    """A modem answered a command with ERROR, +CME ERROR or +CMS ERROR."""

    def __init__(self, command: str, *, kind: str, code: int | None, text: str = "") -> None:
        detail = f"{kind} {code}" if code is not None else kind
        if text:
            detail = f"{detail} ({text})"
        super().__init__(f"{command}: {detail}")
        self.command = command
        #: ``"ERROR"``, ``"CME"`` or ``"CMS"``.
        self.kind = kind
        self.code = code
        self.text = text


class ModemTimeout(GsmgwError):
    """A modem did not answer a command in time."""

    def __init__(self, command: str, timeout: float) -> None:
        super().__init__(f"{command}: no answer within {timeout:g} s")
        self.command = command
        self.timeout = timeout


class ModemUnavailable(GsmgwError):
    """A modem's port is missing, busy, unplugged or not permitted."""


class SimError(GsmgwError):
    """The SIM needs an operator: missing, PUK-locked, no PIN configured, or the PIN was wrong."""


class StoreError(GsmgwError):
    """The database failed (disk full, locked, corrupt)."""


class RequestError(GsmgwError):
    """A send request was refused; ``code`` is one of SPEC.md's reply error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        #: ``invalid_json``, ``invalid_request``, ``invalid_number``, ``text_too_long``,
        #: ``unknown_modem``, ``destination_blocked`` or ``queue_full``.
        self.code = code
        self.message = message


class ConfigError(GsmgwError):
    """A configuration file is invalid; the message names file, key and problem."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


class ControlError(GsmgwError):
    """The daemon refused a control request, or could not be reached."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
