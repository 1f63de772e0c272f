"""Diagnostics of a TIC meter entry: what was detected, counters, the last frames.

The meter address (ADSC/ADCO) and the PRM identify a household, so they are redacted wherever
they appear: entry data, unique id, title and inside the raw frames.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_PORT
from .core.tic import TicFrame
from .core.tic.profile import profile_of
from .entry import EnergyLedgerConfigEntry

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
    coordinator = entry.runtime_data.coordinator
    source = coordinator.source
    parser = source.parser
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
            "bytes_received": parser.bytes_received,
            "groups_valid": parser.groups_valid,
            "frames_valid": parser.frames_valid,
            "rejected_groups": dict(parser.rejected),
        },
        "meter": _meter_profile(
            coordinator.recent_frames[-1] if coordinator.recent_frames else None
        ),
        "frames_received": coordinator.frames_received,
        "labels": sorted(coordinator.labels),
        "meter_clock_drift_s": coordinator.meter_clock_drift,
        "recent_frames": [
            {
                group.label: REDACTED if group.label in PERSONAL_LABELS else group.data
                for group in frame.groups
            }
            for frame in coordinator.recent_frames
        ],
    }
