"""SMS codec after 3GPP TS 23.040 and 23.038: text <-> PDUs. Pure: no I/O, no asyncio."""
