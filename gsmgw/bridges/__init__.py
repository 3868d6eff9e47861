"""Bridges from the gateway to the outside world (MQTT)."""
