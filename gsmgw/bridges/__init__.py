"""Bridges from the core to the outside world, each in its own package (``mqtt``, ``http``).

A bridge sees the core only through ``gsmgw.core`` (submit, USSD, reads, the publication queue);
``guards`` holds what every bridge uses to protect the core (rate limits), ``requests`` the
request parsing they share (strict JSON, USSD requests, the rejection object).
"""

__all__: list[str] = []
