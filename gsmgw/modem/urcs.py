"""What the driver makes of URCs that are not about messages: caches and typed events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gsmgw.at import events as at_events
from gsmgw.modem.events import (
    ModemEvent,
    ModemRestarted,
    RegistrationChanged,
    SignalChanged,
    StorageFull,
    UssdNotification,
)
from gsmgw.modem.ussd import decode_ussd

if TYPE_CHECKING:
    from gsmgw.modem.driver import Modem

LOGGER = logging.getLogger(__name__)


def translate(modem: Modem, urc: at_events.Urc) -> ModemEvent | None:
    """Update the modem's cached state from a URC and return the event to report, if any."""
    if isinstance(urc, at_events.RegistrationChanged):
        reg = urc.registration
        modem.registrations[reg.kind.value] = reg
        LOGGER.info("%s: %s %s", modem.name, reg.kind.value, reg.state.name)
        return RegistrationChanged(modem.name, reg)
    if isinstance(urc, at_events.SignalChanged):
        modem.signal = urc.signal
        return SignalChanged(modem.name, urc.signal)
    if isinstance(urc, at_events.StorageFull):
        LOGGER.warning("%s: message storage %s is full", modem.name, urc.storage or "")
        return StorageFull(modem.name, urc.storage)
    if isinstance(urc, at_events.UssdReceived):
        return UssdNotification(modem.name, decode_ussd(urc.response))
    if isinstance(urc, at_events.Ring):
        LOGGER.debug("%s: RING (calls are not answered)", modem.name)
        return None
    if isinstance(urc, at_events.UnknownUrc):
        return _unknown(modem, urc)
    LOGGER.debug("%s: unhandled %r", modem.name, urc)
    return None


def _unknown(modem: Modem, urc: at_events.UnknownUrc) -> ModemEvent | None:
    text = urc.text.strip()
    if modem.ready and text in modem.profile.boot_markers:
        LOGGER.warning("%s: the modem restarted (%r)", modem.name, text)
        modem.ready = False
        return ModemRestarted(modem.name, text)
    if urc.prefix in modem.profile.quiet_urcs or text in modem.profile.quiet_urcs:
        LOGGER.debug("%s: %s", modem.name, text)
    else:
        LOGGER.info("%s: unsolicited %r", modem.name, text)
    return None
