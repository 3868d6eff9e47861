"""One async driver and supervisor per modem, over a serial port or a simulated modem."""
