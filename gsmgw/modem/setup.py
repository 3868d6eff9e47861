"""The start-up sequence of a modem: sync, echo off, errors, SIM PIN, PDU mode, storage, CNMI."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import TYPE_CHECKING, Any, TypeVar

from gsmgw.at import commands as at
from gsmgw.at.codes import ErrorKind
from gsmgw.errors import CommandError, ModemTimeout, RemoteProtocolError, SimError
from gsmgw.modem.events import ModemInfo
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
    """Bring a freshly opened modem into the state the gateway needs, and identify it."""
    await _sync(modem)
    await modem.execute(at.ATE0)
    await _first_that_works(modem, at.CMEE, at.CMEE_NUMERIC)
    manufacturer = await modem.execute(at.CGMI)
    if modem.profile is GENERIC:
        modem.profile = profile_for(manufacturer)
    await _unlock(modem, pin)
    await modem.execute(at.CMGF_PDU)
    await _try(modem, at.CSCS_GSM)
    modem.storage = await _choose_storage(modem)
    if await _optional(modem, at.CSMS_QUERY) == 1 and not modem.profile.ack_direct:
        # Phase 2+ (AT+CSMS=1): +CMT and +CDS must be acknowledged with AT+CNMA, or the
        # network resends them and the modem stops routing them (TS 27.005 §3.4.4).
        modem.profile = replace(modem.profile, ack_direct=True)
    await _choose_indications(modem)
    for text in ("AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2", *modem.profile.init_commands):
        await _try(modem, at.raw(text))
    await _try(modem, at.COPS_FORMAT_LONG)
    imsi = await _optional(modem, at.CIMI)
    info = ModemInfo(
        manufacturer=manufacturer,
        model=await modem.execute(at.CGMM),
        revision=await modem.execute(at.CGMR),
        imei=await modem.execute(at.CGSN),
        imsi=imsi,
        iccid=await _iccid(modem),
        profile=modem.profile.name,
        storage=modem.storage,
    )
    await refresh(modem)
    LOGGER.info(
        "%s: ready: %s %s (%s profile)", modem.name, info.manufacturer, info.model, info.profile
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


async def _optional(modem: Modem, command: at.Command[T]) -> T | None:
    try:
        return await modem.execute(command)
    except (CommandError, RemoteProtocolError) as exc:
        LOGGER.debug("%s: optional %s: %s", modem.name, command.text, exc)
        return None


async def _try(modem: Modem, command: at.Command[Any]) -> bool:
    try:
        await modem.execute(command)
    except (CommandError, RemoteProtocolError) as exc:
        LOGGER.debug("%s: optional %s: %s", modem.name, command.text, exc)
        return False
    return True


async def _first_that_works(modem: Modem, *commands: at.Command[None]) -> None:
    for command in commands:
        if await _try(modem, command):
            return


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


async def _choose_storage(modem: Modem) -> str:
    support = await _optional(modem, at.CPMS_SUPPORT)
    usable = [
        mem
        for mem in modem.profile.storages
        if support is None or all(mem in s for s in (support.read, support.write, support.receive))
    ]
    storage = usable[0] if usable else "SM"
    await modem.execute(at.cpms(storage, storage, storage))
    return storage


def _pick(allowed: frozenset[int], *preferred: int) -> int:
    return next((v for v in preferred if v in allowed), min(allowed, default=0))


async def _choose_indications(modem: Modem) -> None:
    """AT+CNMI from what the modem offers: +CMTI to storage, +CDS direct, else +CDSI."""
    support = await _optional(modem, at.CNMI_SUPPORT)
    if support is None:
        choices = [(2, 1, 0, 1, 0), (1, 1, 0, 0, 0)]
    else:
        mode = _pick(support.mode, 2, 1, 3)
        mt = _pick(support.mt, 1, 2, 0)
        bm, bfr = _pick(support.bm, 0), _pick(support.bfr, 0)
        choices = [(mode, mt, bm, ds, bfr) for ds in (1, 2, 0) if ds in support.ds or ds == 0]
    for choice in choices:
        if await _try(modem, at.cnmi(*choice)):
            LOGGER.debug("%s: AT+CNMI=%s", modem.name, ",".join(map(str, choice)))
            return
    LOGGER.warning("%s: no AT+CNMI accepted: new messages are found by the sweep", modem.name)


async def _iccid(modem: Modem) -> str | None:
    for text in modem.profile.iccid_commands:
        raw = await _optional(modem, at.Command(text, at.parse_iccid))
        if raw is not None:
            return (unswap_iccid(raw) if modem.profile.iccid_swapped else raw).rstrip("F")
    return None
