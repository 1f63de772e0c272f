"""MQTT smart-meter payloads into `Reading`s and device records (no Home Assistant imports).

Three profiles: EnerLink v1 (`decode_v1_sensors`, `decode_v1_heartbeat`, `decode_v1_status`),
EnerLink v2 (`decode_v2_data`, `decode_v2_status`) and one value per topic, TIC-to-MQTT bridges
(`decode_topic_value`, `TopicAccumulator`). Every decoder takes the raw payload, never raises, and
returns what it could decode with the `Problem`s it met; `TotalTracker` turns successive energy
totals into deltas that are never negative.
"""

from __future__ import annotations

from .device import (
    DeviceStatus,
    GridMode,
    Heartbeat,
    decode_v1_heartbeat,
    decode_v1_status,
    decode_v2_status,
)
from .enerlink import (
    SIGNED_SUBSYSTEMS,
    SUBSYSTEMS,
    V1_SUBSYSTEMS,
    V1_UNITS,
    V2_SUBSYSTEMS,
    decode_v1_sensors,
    decode_v2_data,
)
from .per_topic import TopicAccumulator, TopicValue, decode_topic_value
from .problems import DecodeResult, Problem, ProblemKind
from .schema import load_json
from .totals import TotalStep, TotalTracker
from .units import BASE_UNITS, Quantity, Scale, convert, known_units, scale_for

__all__ = [
    "BASE_UNITS",
    "SIGNED_SUBSYSTEMS",
    "SUBSYSTEMS",
    "V1_SUBSYSTEMS",
    "V1_UNITS",
    "V2_SUBSYSTEMS",
    "DecodeResult",
    "DeviceStatus",
    "GridMode",
    "Heartbeat",
    "Problem",
    "ProblemKind",
    "Quantity",
    "Scale",
    "TopicAccumulator",
    "TopicValue",
    "TotalStep",
    "TotalTracker",
    "convert",
    "decode_topic_value",
    "decode_v1_heartbeat",
    "decode_v1_sensors",
    "decode_v1_status",
    "decode_v2_data",
    "decode_v2_status",
    "known_units",
    "load_json",
    "scale_for",
]
