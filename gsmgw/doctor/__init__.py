"""``gsmgw doctor``: facts gathered (``_facts``), judged (``_judge``, pure), and run (``_run``).

Every judgement is a pure function of facts, so it is tested with plain values; gathering
touches the system (stat, /proc, the modem, the broker) and running orders and guards them.
"""

from gsmgw.doctor._judge import Check, Report, Status
from gsmgw.doctor._run import MODEM_TIMEOUT, DaemonState, diagnose

__all__ = ["MODEM_TIMEOUT", "Check", "DaemonState", "Report", "Status", "diagnose"]
