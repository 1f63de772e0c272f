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

# Which kind of meter an entry is; entries created before MQTT meters have no kind: TIC.
CONF_KIND: Final = "kind"
KIND_TIC: Final = "tic"
KIND_MQTT: Final = "mqtt"

# Config entry data of an MQTT meter entry (broker connection and payload profile).
CONF_HOST: Final = "host"
CONF_MQTT_PORT: Final = "port"
"""The broker's TCP port (an int), under the same key as the TIC port: kinds never mix."""
CONF_USERNAME: Final = "username"
CONF_PASSWORD: Final = "password"
CONF_TLS: Final = "tls"
CONF_TLS_INSECURE: Final = "tls_insecure"
CONF_PROFILE: Final = "profile"
CONF_TOPIC_PREFIX: Final = "topic_prefix"

PROFILE_ENERLINK_V1: Final = "enerlink_v1"
PROFILE_ENERLINK_V2: Final = "enerlink_v2"
PROFILES: Final = (PROFILE_ENERLINK_V1, PROFILE_ENERLINK_V2)
DEFAULT_MQTT_PORT: Final = 1883
DEFAULT_V1_PREFIX: Final = "home/energy-monitor"
V2_TOPIC_ROOT: Final = "enerlink/meters"

CONF_EXPECTED_INTERVAL: Final = "expected_interval"
DEFAULT_EXPECTED_INTERVAL: Final = 30
"""Seconds between two messages of an MQTT meter; offline after three intervals of silence."""
OFFLINE_AFTER_INTERVALS: Final = 3
