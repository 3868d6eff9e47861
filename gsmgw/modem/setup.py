"""The start-up sequence of a modem: sync, echo off, errors, SIM PIN, PDU mode, storage, CNMI."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import TYPE_CHECKING, Any, TypeVar

from gsmgw.at import commands as at
from gsmgw.at.codes import ErrorKind
from gsmgw.errors import CommandError, ModemTimeout, RemoteProtocolError, SimError
from gsmgw.modem.events import Capabilities, ModemInfo, ReceiveMode, ReportMode
from gsmgw.modem.profiles import GENERIC, profile_for, unswap_iccid

if TYPE_CHECKING:
    from gsmgw.modem.driver import Modem

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# All of these are in seconds.
SYNC_TIMEOUT = 2.0
SYNC_ATTEMPTS = 5
SIM_READY_TIMEOUT = 20.0
SIM_POLL_INTERVAL = 0.5

_NO_SIM = {10, 13, 15}  # +CME ERROR: SIM not inserted, SIM failure, SIM wrong (TS 27.007 §9.2)
_SIM_BUSY = 14


class WrongPin(SimError):
    """The SIM rejected the configured PIN: it must not be entered again (3 tries lock the SIM)."""


async def initialize(modem: Modem, *, pin: str | None) -> ModemInfo:
    """Bring a freshly opened modem into the state the gateway needs, and identify it.

    Required steps (the modem answers AT, its SIM is ready, it takes PDU mode) raise when they
    fail; every other step is optional: its failure or timeout is logged once, named in
    ``Capabilities.missing`` and skipped, so a modem that can send is ready to send.
    """
    steps = _Steps(modem)
    await _sync(modem)
    await steps.succeeded("echo_off", at.ATE0)  # the codec drops echo that cannot be turned off
    if not await steps.succeeded("verbose_errors", at.CMEE, quiet=True):
        await steps.succeeded("verbose_errors", at.CMEE_NUMERIC)
    manufacturer = await steps.optional("manufacturer", at.CGMI) or ""
    if modem.profile is GENERIC:
        modem.profile = profile_for(manufacturer)
    await _unlock(modem, pin)
    await modem.execute(at.CMGF_PDU)  # required: gsmgw speaks PDU mode only
    await steps.succeeded("charset", at.CSCS_GSM)
    modem.storage = await _choose_storage(steps)
    if await steps.optional("message_service", at.CSMS_QUERY) == 1 and not modem.profile.ack_direct:
        # Phase 2+ (AT+CSMS=1): +CMT and +CDS must be acknowledged with AT+CNMA, or the
        # network resends them and the modem stops routing them (TS 27.005 §3.4.4).
        modem.profile = replace(modem.profile, ack_direct=True)
    receive, reports = await _choose_indications(steps, modem.storage)
    for text in ("AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2", *modem.profile.init_commands):
        await _try(modem, at.raw(text))  # per radio and vendor: not every modem has each
    await steps.succeeded("operator_format", at.COPS_FORMAT_LONG)
    ussd = await steps.succeeded("ussd", at.CUSD_SUPPORT, quiet=True)
    imsi: str | None = await steps.optional("imsi", at.CIMI)
    info = ModemInfo(
        manufacturer=manufacturer,
        model=await steps.optional("model", at.CGMM) or "",
        revision=await steps.optional("revision", at.CGMR) or "",
        imei=await steps.optional("imei", at.CGSN) or "",
        imsi=imsi,
        iccid=await _iccid(steps),
        profile=modem.profile.name,
        storage=modem.storage,
        capabilities=Capabilities(
            receive=receive,
            reports=reports,
            ussd=ussd,
            storage=modem.storage,
            missing=tuple(dict.fromkeys(steps.missing)),
        ),
    )
    modem.capabilities = info.capabilities
    await refresh(modem)
    LOGGER.info(
        "%s: ready: %s %s (%s profile); receive %s, reports %s%s",
        modem.name,
        info.manufacturer or "?",
        info.model or "?",
        info.profile,
        receive,
        reports,
        f"; lacks {', '.join(info.capabilities.missing)}" if info.capabilities.missing else "",
    )
    return info


async def refresh(modem: Modem) -> None:
    """Ask registration, signal and operator again (the slow periodic check)."""
    for query in (modem.registration, modem.signal_quality, modem.operator_name):
        try:
            await query()
        except (CommandError, RemoteProtocolError) as exc:
            LOGGER.debug("%s: %s", modem.name, exc)


async def _sync(modem: Modem) -> None:
    """Send AT until the modem answers: after power-up it may print noise or be booting."""
    probe = at.Command("AT", at.parse_none, timeout=SYNC_TIMEOUT)
    await modem.end_stale_prompt()
    for attempt in range(1, SYNC_ATTEMPTS + 1):
        try:
            await modem.execute(probe)
            return
        except CommandError:
            return  # it answered: alive (a half-typed line before ours gave ERROR)
        except ModemTimeout:
            LOGGER.debug("%s: no answer to AT (attempt %d)", modem.name, attempt)
    raise ModemTimeout("AT", SYNC_TIMEOUT * SYNC_ATTEMPTS)


class _Steps:
    """Runs optional set-up steps and remembers which failed."""

    def __init__(self, modem: Modem) -> None:
        self.modem = modem
        self.missing: list[str] = []

    async def optional(self, name: str, command: at.Command[T], *, quiet: bool = False) -> T | None:
        """Run ``command``; on an error or timeout log it, note ``name`` missing, give None."""
        try:
            return await self.modem.execute(command)
        except (CommandError, RemoteProtocolError, ModemTimeout) as exc:
            self._failed(name, command, exc, quiet)
            return None

    async def succeeded(self, name: str, command: at.Command[Any], *, quiet: bool = False) -> bool:
        """Run ``command`` as :meth:`optional` does; True when the modem accepted it."""
        try:
            await self.modem.execute(command)
        except (CommandError, RemoteProtocolError, ModemTimeout) as exc:
            self._failed(name, command, exc, quiet)
            return False
        return True

    def _failed(self, name: str, command: at.Command[Any], exc: Exception, quiet: bool) -> None:
        level = logging.DEBUG if quiet else logging.INFO
        text = command.text
        LOGGER.log(level, "%s: optional %s (%s) skipped: %s", self.modem.name, name, text, exc)
        if not quiet:
            self.missing.append(name)


async def _try(modem: Modem, command: at.Command[Any]) -> bool:
    try:
        await modem.execute(command)
    except (CommandError, RemoteProtocolError, ModemTimeout) as exc:
        LOGGER.debug("%s: optional %s: %s", modem.name, command.text, exc)
        return False
    return True


async def _pin_state(modem: Modem) -> at.PinState:
    try:
        return await modem.execute(at.CPIN_QUERY)
    except CommandError as exc:
        if exc.kind == ErrorKind.CME and exc.code in _NO_SIM:
            raise SimError(f"{modem.name}: no usable SIM ({exc.text or exc.code})") from exc
        if exc.kind == ErrorKind.CME and exc.code == _SIM_BUSY:
            return at.PinState.OTHER
        raise


async def _unlock(modem: Modem, pin: str | None) -> None:
    """Enter the PIN once if the SIM asks for it; never again after a rejection."""
    state = await _wait_sim(modem)
    if state is at.PinState.READY:
        return
    if state is not at.PinState.SIM_PIN:
        raise SimError(f"{modem.name}: the SIM needs {state.value}; an operator must unlock it")
    if pin is None:
        raise SimError(f"{modem.name}: the SIM needs a PIN and none is configured (pin_file)")
    try:
        await modem.execute(at.cpin_enter(pin))
    except CommandError as exc:
        raise WrongPin(
            f"{modem.name}: the SIM rejected the PIN ({exc.text or exc.code}); it is not tried "
            "again, since three wrong PINs lock the SIM: fix pin_file and restart"
        ) from exc
    state = await _wait_sim(modem)
    if state is not at.PinState.READY:
        raise SimError(f"{modem.name}: the SIM still asks for {state.value} after the PIN")


async def _wait_sim(modem: Modem) -> at.PinState:
    """Poll AT+CPIN? while the SIM is busy (after power-up or the PIN)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SIM_READY_TIMEOUT
    while True:
        state = await _pin_state(modem)
        if state is not at.PinState.OTHER:
            return state
        if loop.time() > deadline:
            raise SimError(f"{modem.name}: the SIM stays busy")
        await asyncio.sleep(SIM_POLL_INTERVAL)


async def _choose_storage(steps: _Steps) -> str | None:
    """AT+CPMS with the first memory the modem lists (or the profile's, if it lists none).

    Phase 1 modems (a Wavecom answering AT+CPMS=? with two lists) take two memories and
    refuse three; a modem that refuses every choice (a Nokia N79 phone) has no storage
    gsmgw can reach: it then receives only what +CMT delivers, or nothing.
    """
    modem = steps.modem
    support = await steps.optional("storage", at.CPMS_SUPPORT, quiet=True)
    usable = [
        mem
        for mem in modem.profile.storages
        if support is None
        or not support.listed
        or all(mem in s for s in (support.read, support.write, support.receive))
    ]
    forms = (False,) if support is not None and support.phase1 else (True, False)
    for mem in usable or ["SM"]:
        for three in forms:
            if await _try(modem, at.cpms(mem, mem, mem if three else None)):
                return mem
    LOGGER.warning("%s: no message storage accepted (AT+CPMS): no stored SMS", modem.name)
    steps.missing.append("storage")
    return None


def _pick(allowed: frozenset[int], *preferred: int) -> int:
    return next((v for v in preferred if v in allowed), min(allowed, default=0))


async def _choose_indications(steps: _Steps, storage: str | None) -> tuple[ReceiveMode, ReportMode]:
    """AT+CNMI from what the modem offers: +CMTI to storage, else +CMT; +CDS, else +CDSI.

    Without any accepted setting, stored messages are polled (ReceiveMode.POLL) and a modem
    without storage receives nothing.
    """
    modem = steps.modem
    support = await steps.optional("indications", at.CNMI_SUPPORT, quiet=True)
    for mt in (1, 2) if storage is not None else (2,):  # +CMTI points into a storage
        for choice in _cnmi_choices(support, mt, storage is not None):
            if await _try(modem, at.cnmi(*choice)):
                LOGGER.debug("%s: AT+CNMI=%s", modem.name, ",".join(map(str, choice)))
                receive = ReceiveMode.CMTI if mt == 1 else ReceiveMode.CMT
                reports = {1: ReportMode.CDS, 2: ReportMode.CDSI}.get(choice[3], ReportMode.NONE)
                return receive, reports
    steps.missing.append("indications")
    if storage is None:
        LOGGER.warning("%s: no AT+CNMI and no storage: this modem only sends", modem.name)
        return ReceiveMode.NONE, ReportMode.NONE
    LOGGER.warning("%s: no AT+CNMI accepted: its storage will be polled", modem.name)
    return ReceiveMode.POLL, ReportMode.NONE


def _cnmi_choices(
    support: at.IndicationSupport | None, mt: int, stored: bool
) -> list[tuple[int, int, int, int, int]]:
    reports = (1, 2, 0) if stored else (1, 0)  # +CDSI, too, needs a storage
    if support is None:
        return [(2, mt, 0, 1, 0), (1, mt, 0, 0, 0)]
    if mt not in support.mt:
        return []
    mode = _pick(support.mode, 2, 1, 3)
    bm, bfr = _pick(support.bm, 0), _pick(support.bfr, 0)
    return [(mode, mt, bm, ds, bfr) for ds in reports if ds in support.ds or ds == 0]


async def _iccid(steps: _Steps) -> str | None:
    modem = steps.modem
    for text in modem.profile.iccid_commands:
        raw = await steps.optional("iccid", at.Command(text, at.parse_iccid), quiet=True)
        if raw is not None:
            return (unswap_iccid(raw) if modem.profile.iccid_swapped else raw).rstrip("F")
    steps.missing.append("iccid")
    return None
