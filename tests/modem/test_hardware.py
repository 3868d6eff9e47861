"""Against a real modem: ``GSMGW_HARDWARE_PORT=/dev/ttyUSB2 pytest -m hardware tests/modem``."""

from __future__ import annotations

import asyncio
import os

import pytest

from gsmgw.modem.driver import Modem
from gsmgw.modem.port import open_port

pytestmark = pytest.mark.hardware


async def test_real_modem_initializes() -> None:
    path = os.environ.get("GSMGW_HARDWARE_PORT")
    if not path:
        pytest.skip("set GSMGW_HARDWARE_PORT to a modem's AT port")
    modem = Modem(await open_port(path), name="hw")
    await modem.start()
    try:
        async with asyncio.timeout(60):
            info = await modem.initialize(pin=os.environ.get("GSMGW_HARDWARE_PIN"))
        assert info.imei.isdigit()
        assert info.manufacturer
        assert info.model
        signal = await modem.signal_quality()
        assert signal.rssi is None or 0 <= signal.rssi <= 31
    finally:
        await modem.close()
