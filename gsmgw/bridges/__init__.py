"""Bridges from the core to the outside world, each in its own package (``mqtt``).

A bridge sees the core only through ``gsmgw.core`` (submit, USSD, the publication queue);
``guards`` holds what every bridge uses to protect the core (rate limits).
"""

__all__: list[str] = []
