"""A simulated modem that speaks AT on a pseudo-terminal."""
