"""The daemon: wiring, the modems' runner, the core the bridges see, control socket, systemd.

``Daemon`` holds one TaskGroup for the store, the ``ModemRunner`` (a supervisor per modem), the
dispatcher, the bridges, the ``ControlServer`` and, when asked, the Prometheus metrics
(``gsmgw.daemon._metrics``, imported only then: it loads prometheus-client). ``Gateway`` is the
core: it implements ``gsmgw.core.Core`` for the bridges and the control socket's operations.
"""

from gsmgw.daemon._control import ControlServer
from gsmgw.daemon._daemon import Daemon, install_signals, run
from gsmgw.daemon._gateway import Gateway
from gsmgw.daemon._health import HealthReport
from gsmgw.daemon._modems import ModemRunner
from gsmgw.daemon._systemd import Notifier, setup_logging, watchdog_interval

__all__ = [
    "ControlServer",
    "Daemon",
    "Gateway",
    "HealthReport",
    "ModemRunner",
    "Notifier",
    "install_signals",
    "run",
    "setup_logging",
    "watchdog_interval",
]
