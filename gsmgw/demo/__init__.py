"""``gsmgw demo``: the whole gateway on simulated modems with a private Mosquitto, and its tour."""

from gsmgw.demo._demo import run_demo
from gsmgw.demo._mosquitto import Mosquitto, MosquittoMissing, find_mosquitto, free_port

__all__ = [
    "Mosquitto",
    "MosquittoMissing",
    "find_mosquitto",
    "free_port",
    "run_demo",
]
