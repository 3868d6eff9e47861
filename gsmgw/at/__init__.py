"""AT command codec after 3GPP TS 27.007 and 27.005: bytes <-> events. Pure: no I/O, no asyncio."""
