"""Constants shared by the Home Assistant side of the integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "energy_ledger"

# Config entry data of a TIC meter entry.
CONF_PORT: Final = "port"
"""Device path (/dev/serial/by-id/...) or serialx URL (socket://host:port, rfc2217://...)."""
CONF_MODE: Final = "mode"
"""Detected TIC mode ("historic" / "standard"), a hint for the next start; re-detected if wrong."""
CONF_BAUDRATE: Final = "baudrate"
"""Detected baud rate (1200 / 9600), a hint for the next start."""

# Options.
CONF_MIN_WRITE_INTERVAL: Final = "min_write_interval"
DEFAULT_MIN_WRITE_INTERVAL: Final = 30
"""Seconds between two state writes of one entity whose value keeps changing."""

BAUDRATES: Final = (9600, 1200)
