"""Diagnostics of a TIC meter entry: what was detected, counters, the last frames.

The meter address (ADSC/ADCO) and the PRM identify a household, so they are redacted wherever
they appear: entry data, unique id, title and inside the raw frames. For an MQTT entry, the
broker's host and credentials, the meters' ids and IP addresses are redacted: meters are listed
by their rank of appearance.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import (
    CONF_CA_FILE,
    CONF_CLIENT_ID,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
)
from .core.tic import TicFrame
from .core.tic.profile import profile_of
from .entry import EnergyLedgerConfigEntry, LedgerRuntimeData, MqttRuntimeData
from .mqtt_coordinator import MeterState, MqttCoordinator

PERSONAL_LABELS = frozenset({"ADSC", "ADCO", "PRM"})


def _redact_port(port: str) -> str:
    """Keep the kind of port, hide host names and serial numbers in by-id paths."""
    if "://" in port:
        return port.split("://", 1)[0] + "://" + REDACTED
    return port.rsplit("/", 1)[0] + "/" + REDACTED if "/by-id/" in port else port


def _meter_profile(frame: TicFrame | None) -> dict[str, Any] | None:
    """Phases, producer and tariff option of the meter, from its last frame (no address)."""
    if frame is None:
        return None
    profile = profile_of(frame)
    return {
        "three_phase": profile.three_phase,
        "producer": profile.producer,
        "tariff_option": profile.tariff_option,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EnergyLedgerConfigEntry
) -> dict[str, Any]:
    """Return diagnostics with personal data redacted."""
    runtime = entry.runtime_data
    if isinstance(runtime, MqttRuntimeData):
        return mqtt_diagnostics(entry, runtime.coordinator)
    if isinstance(runtime, LedgerRuntimeData):
        return {"entry": {"options": dict(entry.options)}, **runtime.coordinator.diagnostics()}
    coordinator = runtime.coordinator
    source = coordinator.source
    reader = source.reader
    recent_frames = reader.recent_frames()
    return {
        "entry": {
            "data": {
                **async_redact_data(entry.data, {CONF_PORT}),
                CONF_PORT: _redact_port(entry.data[CONF_PORT]),
            },
            "options": dict(entry.options),
        },
        "source": {
            "connected": source.connected,
            "mode": str(source.mode) if source.mode else None,
            "baudrate": source.baudrate,
            "reconnects": source.reconnects,
            "last_error": source.last_error,
            "bytes_received": reader.bytes_received,
            "groups_valid": reader.groups_valid,
            "frames_valid": reader.frames_valid,
            "rejected_groups": dict(reader.rejected),
        },
        # An overload bulletin (short frame) lacks the tariff option: profile a long frame.
        "meter": _meter_profile(reader.last_long_frame()),
        "frames_received": coordinator.frames_received,
        "labels": sorted(coordinator.labels),
        "meter_clock_drift_s": coordinator.meter_clock_drift,
        "recent_frames": [
            {
                group.label: REDACTED if group.label in PERSONAL_LABELS else group.data
                for group in frame.groups
            }
            for frame in recent_frames
        ],
    }


MQTT_SECRETS = frozenset({CONF_HOST, CONF_USERNAME, CONF_PASSWORD, CONF_CA_FILE, CONF_CLIENT_ID})
"""Client ids often name the household or enter broker ACLs; CA paths can carry a user name."""


def _meter_diagnostics(meter: MeterState) -> dict[str, Any]:
    reading, heartbeat, status = meter.reading, meter.heartbeat, meter.status
    return {
        "online": meter.online,
        "messages": meter.messages,
        "values": None if reading is None else dict(reading.values),
        "meter_clock": None
        if reading is None or reading.meter_clock is None
        else (reading.meter_clock.isoformat()),
        "heartbeat": None
        if heartbeat is None
        else {
            "status": heartbeat.status,
            "uptime_ms": heartbeat.uptime_ms,
            "free_heap_bytes": heartbeat.free_heap_bytes,
            "other_fields": sorted(heartbeat.extra),
        },
        "status": None
        if status is None
        else {
            "uptime_ms": status.uptime_ms,
            "free_heap_bytes": status.free_heap_bytes,
            "wifi_connected": status.wifi_connected,
            "wifi_rssi_dbm": status.wifi_rssi_dbm,
            "ip_address": None if status.ip_address is None else REDACTED,
            "mqtt_connected": status.mqtt_connected,
            "grid_mode": None if status.grid_mode is None else str(status.grid_mode),
            "other_fields": sorted(status.extra),
        },
        "energy_resets": dict(meter.resets),
    }


def mqtt_diagnostics(
    entry: EnergyLedgerConfigEntry, coordinator: MqttCoordinator
) -> dict[str, Any]:
    """Diagnostics of an MQTT entry: broker link, problem counts, each meter's latest data."""
    source = coordinator.source
    return {
        "entry": {
            "data": async_redact_data(entry.data, MQTT_SECRETS),
            "options": dict(entry.options),
        },
        "source": {
            "connected": source.connected,
            "topics": len(source.topics),
            "refused_subscriptions": len(source.refused_subscriptions),
            "reconnects": source.reconnects,
            "last_error": source.last_error,
            "messages_received": source.messages_received,
            "handler_errors": source.handler_errors,
        },
        "problems": {str(kind): count for kind, count in sorted(coordinator.problems.items())},
        "ignored_messages": coordinator.ignored_messages,
        "meters": {
            f"meter_{rank}": _meter_diagnostics(meter)
            for rank, meter in enumerate(coordinator.meters.values(), start=1)
        },
    }
