r"""SimModem: the device side of an AT modem, free of any transport.

Bytes from the host go in through :meth:`SimModem.feed`; bytes for the host come out through
the ``output`` callback, framed as a modem in V.250 verbose mode frames them: information and
final results as ``\r\n<text>\r\n``, the ``> `` prompt with no line end, echo of each byte
while echo is on. Anything that takes time (a network send, a status report, a USSD answer)
is scheduled with the ``schedule`` callback (``loop.call_later`` on a pseudo-terminal).

Command handlers live in :mod:`gsmgw.sim.basic`, :mod:`gsmgw.sim.network` and
:mod:`gsmgw.sim.messaging`, registered per command in :data:`gsmgw.sim.command.COMMANDS`;
the control methods (inject an SMS, hang, ...) are the test's and the operator's side.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
import enum
import logging
import random

from gsmgw.sim import inbound, network
from gsmgw.sim.basic import PinState
from gsmgw.sim.command import (
    COMMANDS,
    CommandFailed,
    ErrorKind,
    Pending,
    parse_command_line,
)
from gsmgw.sim.errors import error_text
from gsmgw.sim.messaging import SentMessage
from gsmgw.sim.profiles import Identity, Knobs, Profile, get_profile
from gsmgw.sim.settings import Cancellable, Scheduler, Settings
from gsmgw.sim.storage import Storage
from gsmgw.sms import encode_deliver, encode_status_report

LOGGER = logging.getLogger(__name__)

CTRL_Z = 0x1A
ESC = 0x1B
#: Line noise: what a flaky USB-serial link or a modem's power-up puts on the wire.
_NOISE = bytes([0x00, 0xFF, 0xFE, 0x7F, 0x80, 0x3F, 0x0D, 0x0A, 0x41, 0x54])


class _Mode(enum.Enum):
    COMMAND = "command"
    PROMPT = "prompt"  # after AT+CMGS=<n>: collecting a PDU until Ctrl-Z or ESC


class SimModem:
    """A simulated GSM modem with SIM storage; see the module docstring."""

    def __init__(
        self,
        profile: Profile | str = "generic",
        *,
        knobs: Knobs | None = None,
        identity: Identity | None = None,
        output: Callable[[bytes], None] | None = None,
        schedule: Scheduler | None = None,
    ) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.knobs = knobs or Knobs()
        self.identity = identity or Identity()
        self.output = output
        self.scheduler = schedule
        self.settings = Settings(csms=self.knobs.csms)
        first = self.profile.first_index
        self.storages = {
            name: Storage(name, capacity=self.knobs.capacity, first_index=first)
            for name in ("SM", "ME")
        }
        #: SUBMITs accepted so far, in order.
        self.sent: list[SentMessage] = []
        self.send_delay = self.knobs.send_delay
        self.report_delay = self.knobs.report_delay
        self.ussd_delay = self.knobs.ussd_delay
        self.rssi = 20
        self.registration = 1
        self.hung = False
        self.pin = self.knobs.pin
        self.pin_state = PinState.READY
        self.smsc = self.identity.smsc
        self.pin_tries = 3
        self.sim_busy = self.profile.sim_busy
        self.fail_sends: list[int] = []
        self.hang_after_sends = 0
        self.network_queue: list[bytes] = []
        #: Direct deliveries (+CMT/+CDS) waiting for AT+CNMA, and the <n> of each AT+CNMA seen.
        self.direct = inbound.DirectDeliveries()
        self.acks: list[int] = []
        self._mode = _Mode.COMMAND
        self._line = bytearray()
        self._pdu = bytearray()
        self._on_pdu: Callable[[str], None] | None = None
        self._inbuf = bytearray()
        self._busy = False
        self._info: list[str] = []
        self._after: list[Callable[[], None]] = []
        self._next_mr = 0
        self._next_concat_ref = 1
        self._timers: list[Cancellable] = []
        self._random = random.Random(self.knobs.seed)

    # ------------------------------------------------------------------ power

    def power_on(self) -> None:
        """Boot: settings back to defaults, SIM locked if it has a PIN, boot lines sent."""
        self.settings = Settings(csms=self.knobs.csms)
        self._mode = _Mode.COMMAND
        self._line.clear()
        self._inbuf.clear()
        self._busy = False
        locked = self.pin is not None and self.pin_state is not PinState.SIM_PUK
        if locked:
            self.pin_state = PinState.SIM_PIN
        ready = set(self.profile.ready_lines)
        self._write(self.knobs.boot_garbage)
        for line in self.profile.boot_lines:
            if locked and line == "+CPIN: READY":
                self.urc("+CPIN: SIM PIN")
            elif not (locked and line in ready):
                self.urc(line)

    def close(self) -> None:
        """Cancel every scheduled action (the modem lost power)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes) -> None:
        """Bytes from the host; answers go to ``output``."""
        if self.hung:
            LOGGER.debug("sim: hung, dropping %r", data)
            return
        self._inbuf += data
        self._process()

    def _process(self) -> None:
        while self._inbuf and not self._busy and not self.hung:
            if self._mode is _Mode.PROMPT:
                self._take_pdu()
            else:
                self._take_command()

    def _take_command(self) -> None:
        end = self._inbuf.find(b"\r")
        chunk = bytes(self._inbuf if end < 0 else self._inbuf[: end + 1])
        del self._inbuf[: len(chunk)]
        if self.settings.echo:
            self._write(chunk)
        if end < 0:
            self._line += chunk
            return
        line = (bytes(self._line) + chunk[:-1]).decode("latin-1")
        self._line.clear()
        self._command_line(line)

    def _take_pdu(self) -> None:
        end = next((i for i, b in enumerate(self._inbuf) if b in (CTRL_Z, ESC)), -1)
        chunk = bytes(self._inbuf if end < 0 else self._inbuf[:end])
        del self._inbuf[: len(chunk)]
        if self.settings.echo:
            self._write(chunk)
        self._pdu += chunk
        if end < 0:
            return
        terminator = self._inbuf.pop(0)
        text = self._pdu.decode("latin-1").strip()
        self._pdu.clear()
        self._mode = _Mode.COMMAND
        on_pdu, self._on_pdu = self._on_pdu, None
        if terminator == ESC:
            # TS 27.005 §3.5.1: ESC quits without sending.
            self._final("OK")
        elif on_pdu is not None:
            self._run_deferred(lambda: on_pdu(text))

    def _command_line(self, line: str) -> None:
        line = line.strip(" \n\t\x00")
        if not line.upper().startswith("AT"):
            if line:
                LOGGER.debug("sim: ignoring %r (no AT prefix)", line)
            return
        commands = parse_command_line(line[2:])
        if commands is None:
            self._fail(CommandFailed())
            return
        self._info = []
        self._after = []
        for command in commands:
            handler = COMMANDS.lookup(command.name, self.profile.vendor_commands)
            if handler is None or command.name in self.profile.refused:
                self._fail(CommandFailed())
                return
            try:
                result = handler(self, command)
            except CommandFailed as failed:
                self._fail(failed)
                return
            if result is Pending.LATER:
                return  # the handler finishes the line with complete() or a prompt
        self.complete()

    def _run_deferred(self, action: Callable[[], None]) -> None:
        self._busy = True
        try:
            action()
        except CommandFailed as failed:
            self._fail(failed)

    # ------------------------------------------------------------ for handlers

    def reply(self, *lines: str) -> None:
        """Information lines of the running command, sent before its final result."""
        self._info.extend(lines)

    def complete(self, failed: CommandFailed | None = None) -> None:
        """End the running command line with OK or the error; go on with queued input."""
        if failed is not None:
            self._fail(failed)
            return
        if self._info:
            urc = self.profile.answer_urc
            if urc is not None:  # Huawei: ^RSSI between the lines of an answer
                self._info.insert(1, urc)
            self._write_lines(self._info)
            self._info = []
        self._final("OK")

    def answer_without_final(self) -> Pending:
        """Send the information lines and no final result (old Wavecom's AT+CPIN?)."""
        self._write_lines(self._info)
        self._info, self._after = [], []
        return Pending.LATER

    def prompt(self, on_pdu: Callable[[str], None]) -> Pending:
        """Send the ``> `` prompt; ``on_pdu`` gets the hex text typed before Ctrl-Z."""
        self._mode = _Mode.PROMPT
        self._on_pdu = on_pdu
        self._pdu.clear()
        if self.profile.answer_urc is not None:
            self.urc(self.profile.answer_urc)  # a URC just before the prompt
        self._write(b"\r\n> ")  # TS 27.005 §3.5.1: <CR><LF><greater_than><space>
        return Pending.LATER

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` seconds (at once without a scheduler)."""
        if self.scheduler is None:
            action()
            return
        timer: Cancellable | None = None

        def fire() -> None:
            if timer is not None and timer in self._timers:
                self._timers.remove(timer)
            try:
                action()
            except CommandFailed as failed:
                self._fail(failed)

        timer = self.scheduler(delay, fire)
        self._timers.append(timer)

    def after_final(self, action: Callable[[], None]) -> None:
        """Run ``action`` right after the running command line's final result."""
        self._after.append(action)

    def busy_until_complete(self) -> Pending:
        """Hold further input until :meth:`complete` (e.g. while the network answers)."""
        self._busy = True
        return Pending.LATER

    def urc(self, *lines: str) -> None:
        """Send an unsolicited result code (a header and its PDU line for +CMT/+CDS)."""
        self._write_lines(list(lines))

    def storage(self, which: int) -> Storage:
        """Return the storage of <mem1> (0), <mem2> (1) or <mem3> (2)."""
        return self.storages[self.settings.memories[which]]

    # ------------------------------------------------------------------ output

    def _fail(self, failed: CommandFailed) -> None:
        self._info = []
        self._after = []
        if failed.kind is ErrorKind.ERROR or self.settings.cmee == 0:
            self._final(self.profile.error_word)
        elif self.settings.cmee == 1:
            self._final(f"{failed.kind.value}: {failed.code}")
        else:
            self._final(f"{failed.kind.value}: {error_text(failed.kind, failed.code)}")

    def _final(self, text: str) -> None:
        self._write_lines([text])
        after, self._after = self._after, []
        for action in after:
            action()
        if self._busy:
            self._busy = False
            self._process()

    def _write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        noisy = self.knobs.noise > 0 and self._random.random() < self.knobs.noise
        noise = bytes(self._random.choices(_NOISE, k=self._random.randint(1, 4))) if noisy else b""
        body = "\r\n".join(lines).encode("latin-1", "replace")
        self._write(noise + b"\r\n" + body + b"\r\n")

    def _write(self, data: bytes) -> None:
        if self.hung or self.output is None or not data:
            return
        self.output(data)

    # ----------------------------------------------------------------- control

    def hang(self) -> None:
        """Stop answering: input is dropped and nothing is sent until :meth:`unhang`."""
        self.hung = True

    def unhang(self) -> None:
        """Answer again, with a clean command line and nothing in progress."""
        self.hung = False
        self._line.clear()
        self._inbuf.clear()
        self._pdu.clear()
        self._mode = _Mode.COMMAND
        self._busy = False
        self._info, self._after = [], []

    def send_noise(self, data: bytes) -> None:
        """Put raw bytes on the line, as a flaky link does: a hung modem's garbage too."""
        if self.output is not None and data:
            self.output(data)

    def fail_next_send(self, cms_code: int) -> None:
        """Make the next AT+CMGS answer ``+CMS ERROR: cms_code`` (after the PDU is sent)."""
        self.fail_sends.append(cms_code)

    def hang_after_next_send(self) -> None:
        """Let the network accept the next message, then hang before the +CMGS answer.

        The host cannot know whether the message went out: SPEC.md's "outcome unknown" case.
        """
        self.hang_after_sends += 1

    def set_signal(self, rssi: int) -> None:
        """Set the <rssi> of AT+CSQ (0-31, 99 unknown; TS 27.007 §8.5)."""
        if not (0 <= rssi <= 31 or rssi == 99):
            raise ValueError(f"rssi must be 0-31 or 99, not {rssi}")
        self.rssi = rssi
        if self.profile.signal_urc is not None and self.settings.vendor_urcs:
            self.urc(self.profile.signal_urc.format(rssi=rssi))

    def set_registration(self, stat: int) -> None:
        """Set the registration <stat> (0-5; TS 27.007 §7.2) and send +CREG-style URCs."""
        if not 0 <= stat <= 5:
            raise ValueError(f"registration stat must be 0-5, not {stat}")
        self.registration = stat
        for name, n in self.settings.creg.items():
            if n:
                self.urc(network.registration_line(self, name, n, solicited=False))

    def inject_sms(
        self,
        sender: str,
        text: str,
        *,
        direct: bool = False,
        timestamp: datetime | None = None,
        flash: bool = False,
    ) -> list[int]:
        """Receive an SMS from ``sender`` (in parts when long); return the storage indices."""
        when = timestamp or datetime.now(UTC).replace(microsecond=0)
        pdus = encode_deliver(
            sender,
            text,
            timestamp=when,
            smsc=self.smsc,
            concat_ref=self._next_concat_ref,
            flash=flash,
        )
        self._next_concat_ref = self._next_concat_ref % 255 + 1
        indices: list[int] = []
        for pdu in pdus:
            index = self.inject_pdu(pdu, direct=direct)
            if index is not None:
                indices.append(index)
        return indices

    def inject_pdu(self, pdu: bytes, *, direct: bool = False) -> int | None:
        """Receive one DELIVER PDU (SMSC field first), e.g. a malformed one; return its index."""
        return inbound.deliver_sms(self, pdu, direct=direct)

    def retry_network_queue(self) -> None:
        """Deliver what the network held back while the storage was full."""
        while self.network_queue and not self.storage(2).full:
            self.inject_pdu(self.network_queue.pop(0))

    def inject_status_report(
        self, reference: int, status: int = 0, *, recipient: str | None = None
    ) -> None:
        """Receive a status report for TP-MR ``reference``, shown as AT+CNMI's <ds> asks."""
        if recipient is None:
            recipient = next(
                (m.submit.recipient for m in reversed(self.sent) if m.reference == reference),
                "+491701234567",
            )
        now = datetime.now(UTC).replace(microsecond=0)
        pdu = encode_status_report(
            reference,
            recipient,
            status=status,
            timestamp=now,
            discharge_time=now,
            smsc=self.smsc,
        )
        inbound.deliver_status_report(self, pdu)

    def next_reference(self) -> int:
        """Return the next TP-MR, 0-255 round (TS 23.040 §9.2.3.6)."""
        reference = self._next_mr
        self._next_mr = (self._next_mr + 1) % 256
        return reference
