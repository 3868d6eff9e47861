"""The device side of an AT command line: parsing, the handler table and final results.

A command line is ``AT`` followed by basic commands (``E0``, ``I``, ``&F``) and extended
commands (``+CMGS=23``, ``^ICCID?``) separated by ``;`` (ITU-T V.250 §5.2.1, 3GPP TS 27.007
§4.1). Handlers are registered per command name with :meth:`CommandTable.reply_to`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import enum
import re
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from gsmgw.sim.device import SimModem

_EXTENDED_NAME = re.compile(r"[A-Z0-9]+")
_BASIC = re.compile(r"(&?[A-Z])(\d*)")


class Syntax(enum.Enum):
    """The four forms of an extended command (TS 27.007 §4.1)."""

    EXECUTE = "execute"  # AT+CGMI
    SET = "set"  # AT+CMGF=0
    READ = "read"  # AT+CMGF?
    TEST = "test"  # AT+CMGF=?


@dataclass(frozen=True, slots=True)
class Command:
    """One command of a command line, e.g. ``+CMGS`` SET with argument text ``23``."""

    name: str
    syntax: Syntax
    raw_args: str = ""

    @property
    def args(self) -> list[str]:
        """The comma-separated arguments with quotes removed (``"SM",1`` -> ``["SM", "1"]``)."""
        return [arg.strip('"') for arg in split_args(self.raw_args)]

    def int_arg(self, index: int, default: int | None = None) -> int:
        """Argument ``index`` as an integer; a missing one is ``default`` or an error."""
        args = self.args
        if index < len(args) and args[index] != "":
            try:
                return int(args[index])
            except ValueError:
                raise CommandFailed(ErrorKind.CME, 50) from None  # 50: incorrect parameters
        if default is None:
            raise CommandFailed(ErrorKind.CME, 50)
        return default


class ErrorKind(enum.Enum):
    """How a failed command is reported: a plain ERROR, +CME ERROR or +CMS ERROR."""

    ERROR = "ERROR"
    CME = "+CME ERROR"
    CMS = "+CMS ERROR"


class CommandFailed(Exception):
    """Raised by a handler: the command line ends with an error result."""

    def __init__(self, kind: ErrorKind = ErrorKind.ERROR, code: int = 0) -> None:
        super().__init__(f"{kind.value}: {code}")
        self.kind = kind
        self.code = code


class Pending(enum.Enum):
    """A handler's answer when the final result comes later (after a prompt or a delay)."""

    LATER = "later"


Result: TypeAlias = Pending | None
Handler: TypeAlias = Callable[["SimModem", Command], Result]


@dataclass(frozen=True, slots=True)
class _Entry:
    handler: Handler
    vendor: bool


class CommandTable:
    """Command name -> handler; ``vendor`` commands answer only on profiles that list them."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def reply_to(self, *names: str, vendor: bool = False) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of ``names``."""

        def register(handler: Handler) -> Handler:
            for name in names:
                self._entries[name.upper()] = _Entry(handler, vendor)
            return handler

        return register

    def lookup(self, name: str, vendor_commands: frozenset[str]) -> Handler | None:
        """Return the handler of ``name``, or None when this modem does not know the command."""
        entry = self._entries.get(name)
        if entry is None or (entry.vendor and name not in vendor_commands):
            return None
        return entry.handler


#: Every command the simulated modem knows; the handler modules fill it in.
COMMANDS = CommandTable()


def split_args(text: str) -> list[str]:
    """Split on commas outside double quotes and parentheses."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    depth = 0
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif char == "," and not quoted and depth == 0:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if current or args:
        args.append("".join(current).strip())
    return args


def parse_command_line(line: str) -> list[Command] | None:
    """Parse the text after ``AT`` into commands; None when the syntax is broken."""
    commands: list[Command] = []
    rest = line
    while rest:
        if rest[0] in "+^$%":
            parsed = _parse_extended(rest)
            if parsed is None:
                return None
            command, rest = parsed
        else:
            match = _BASIC.match(rest.upper())
            if match is None:
                return None
            name, number = match.groups()
            if name == "D":  # dial: the rest of the line is the number (V.250 §6.3.1)
                commands.append(Command("D", Syntax.SET, rest[1:]))
                return commands
            command = Command(name, Syntax.SET if number else Syntax.EXECUTE, number)
            rest = rest[match.end() :]
        commands.append(command)
        rest = rest.removeprefix(";").lstrip()
    return commands


def _parse_extended(text: str) -> tuple[Command, str] | None:
    match = _EXTENDED_NAME.match(text.upper(), 1)
    if match is None:
        return None
    name = text[0] + match.group()
    rest = text[match.end() :]
    end = _end_of_command(rest)
    body, rest = rest[:end], rest[end:]
    if body.startswith("=?"):
        return Command(name, Syntax.TEST), rest
    if body.startswith("?"):
        return Command(name, Syntax.READ), rest
    if body.startswith("="):
        return Command(name, Syntax.SET, body[1:]), rest
    if body.strip():
        return None
    return Command(name, Syntax.EXECUTE), rest


def _end_of_command(text: str) -> int:
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return index
    return len(text)
