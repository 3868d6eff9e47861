"""The SMPP 3.4 server (SPEC.md "SMPP server"): gsmgw as an SMSC for Kannel, Jasmin and ESMEs."""

from gsmgw.bridges.smpp._counts import BIND_TYPES, SmppMetrics
from gsmgw.bridges.smpp._server import SmppServer, SmppSettings, settings_from_config
from gsmgw.bridges.smpp._session import BindState, Session

__all__ = [
    "BIND_TYPES",
    "BindState",
    "Session",
    "SmppMetrics",
    "SmppServer",
    "SmppSettings",
    "settings_from_config",
]
