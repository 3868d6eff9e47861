"""A simulated modem that speaks AT on a pseudo-terminal."""

from __future__ import annotations

from gsmgw.sim.basic import PinState
from gsmgw.sim.device import SimModem
from gsmgw.sim.messaging import SentMessage
from gsmgw.sim.profiles import PROFILES, Identity, Knobs, Profile, get_profile
from gsmgw.sim.pty import PtyModem
from gsmgw.sim.registry import (
    get_sim,
    parse_sim_spec,
    register_sim_scheme,
    resolve_sim_port,
    start_sim,
    stop_sim,
    stop_sims,
)
from gsmgw.sim.storage import MessageStat, Storage

__all__ = [
    "PROFILES",
    "Identity",
    "Knobs",
    "MessageStat",
    "PinState",
    "Profile",
    "PtyModem",
    "SentMessage",
    "SimModem",
    "Storage",
    "get_profile",
    "get_sim",
    "parse_sim_spec",
    "register_sim_scheme",
    "resolve_sim_port",
    "start_sim",
    "stop_sim",
    "stop_sims",
]
