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
PROFILE_TIC_PER_TOPIC: Final = "tic_per_topic"
"""A TIC-to-MQTT bridge: one TIC label per topic under a base topic, one Linky per entry."""
PROFILES: Final = (PROFILE_ENERLINK_V1, PROFILE_ENERLINK_V2, PROFILE_TIC_PER_TOPIC)
CONF_BASE_TOPIC: Final = "base_topic"
"""The per-topic profile's base topic (`TeleInfo/LinkyConsommation`), without slashes around."""
CONF_TRANSPORT: Final = "transport"
"""How an MQTT entry reaches its broker; entries without one connect directly."""
TRANSPORT_DIRECT: Final = "direct"
TRANSPORT_HOME_ASSISTANT: Final = "home_assistant"
"""Through Home Assistant's own `mqtt` integration: no broker settings of ours."""
DEFAULT_MQTT_PORT: Final = 1883
DEFAULT_V1_PREFIX: Final = "home/energy-monitor"
V2_TOPIC_ROOT: Final = "enerlink/meters"

CONF_EXPECTED_INTERVAL: Final = "expected_interval"
DEFAULT_EXPECTED_INTERVAL: Final = 30
"""Seconds between two messages of an MQTT meter; offline after three intervals of silence."""
OFFLINE_AFTER_INTERVALS: Final = 3
CONF_COMMAND_TIMEOUT: Final = "command_timeout"
"""Seconds an EnerLink meter has to acknowledge a command (default: `core` DEFAULT_TIMEOUT)."""

# A ledger entry (kind "ledger"): sources, tariff and prices live in the entry's options so the
# options flow can change them; the data holds only the kind and the name.
KIND_LEDGER: Final = "ledger"
CONF_NAME: Final = "name"
CONF_IMPORT_ENTITIES: Final = "import_entities"
CONF_EXPORT_ENTITY: Final = "export_entity"
CONF_PRODUCTION_ENTITY: Final = "production_entity"
CONF_CONSUMPTION_POWER_ENTITY: Final = "consumption_power_entity"
CONF_PRODUCTION_POWER_ENTITY: Final = "production_power_entity"
CONF_PLAN: Final = "plan"
CONF_PERIOD_SOURCE: Final = "period_source"
PERIOD_SOURCE_ENTITY: Final = "entity"
PERIOD_SOURCE_SCHEDULE: Final = "schedule"
CONF_PERIOD_ENTITY: Final = "period_entity"
CONF_INDEX_MAP: Final = "index_map"
"""Tariff index to period, as the user typed it ("1=peak, 2=off_peak"); empty: plan order."""
CONF_OFF_PEAK_HOURS: Final = "off_peak_hours"
"""Daily off-peak spans of the schedule ("22:00-06:00, 12:30-14:30")."""
DEFAULT_OFF_PEAK_HOURS: Final = "22:00-06:00"
CONF_PRICES: Final = "prices"
"""The `PricePlan` as its JSON dict (dated decimal strings)."""
CONF_WINDOW_MINUTES: Final = "window_minutes"
DEFAULT_WINDOW_MINUTES: Final = 5
WINDOW_MINUTES: Final = (1, 2, 3, 5, 10, 15, 20, 30, 60)
"""Window lengths offered: they divide one hour (power statistics need it)."""
