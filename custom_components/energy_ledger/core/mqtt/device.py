"""EnerLink device health: v1 ``/heartbeat`` and ``/status``, v2 ``enerlink/meters/status``.

These are not meter readings, so they decode to small typed records, `Heartbeat` and
`DeviceStatus`. The fields the integration shows are typed (Wi-Fi, MQTT, grid mode, uptime, free
heap); every other scalar of the payload (PWM, motors, relays, sensor flags, a broker name...) is
kept in `extra` under its dotted path (``motor1.direction``), so a firmware that adds a field loses
nothing and raises no problem. Nested deeper than one object, or not a finite scalar: a problem.

v1 uptime is milliseconds since boot (the v1 ``timestamp``, or ``uptime``/``system.uptime``); v2
gives units for ``uptime``, ``free_heap`` and ``rssi`` in its units block, converted like telemetry
(ms, bytes, dBm), and an unknown or missing unit drops the field.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import voluptuous as vol

from .enerlink import V1_UNITS, Payload, measured, read_v2_envelope, v2_schema
from .problems import DecodeResult, Problem
from .schema import (
    InvalidValue,
    LenientSchema,
    flag,
    load_json,
    non_negative,
    number,
    scalar,
    scalars,
    text,
    uptime_ms,
    validate,
)
from .units import Quantity


class GridMode(StrEnum):
    """The grid relay mode a device reports and accepts as a command."""

    IMPORT = "import"
    EXPORT = "export"
    OFF = "off"


def _grid_mode(value: object) -> GridMode:
    name = text(value)
    try:
        return GridMode(name)
    except ValueError:
        raise InvalidValue("grid mode is not import, export or off") from None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A v1 heartbeat."""

    received_at: datetime
    status: str | None = None
    """What the device says of itself ("alive")."""
    uptime_ms: int | None = None
    free_heap_bytes: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    """Other scalars of the payload (v1 sends the ``qos`` it published with)."""


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A v1 or v2 status message."""

    received_at: datetime
    meter_id: str | None = None
    """v2 ``meterId``; None for v1 (the caller knows which device it subscribed to)."""
    meter_clock: datetime | None = None
    """v2 ``datetime``."""
    uptime_ms: int | None = None
    free_heap_bytes: int | None = None
    wifi_connected: bool | None = None
    wifi_rssi_dbm: float | None = None
    ip_address: str | None = None
    """Personal: redact it in diagnostics and logs."""
    mqtt_connected: bool | None = None
    mqtt_attempts: int | None = None
    grid_mode: GridMode | None = None
    grid_importing: bool | None = None
    grid_exporting: bool | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    """Every other scalar, keyed by its dotted path (``pwm.led_duty``, ``motor1.percent``)."""


_TYPED: Final[Mapping[tuple[str, str], tuple[str, Callable[[object], object]]]] = MappingProxyType(
    {
        ("wifi", "connected"): ("wifi_connected", flag),
        ("wifi", "rssi"): ("wifi_rssi_dbm", number),
        ("wifi", "ip"): ("ip_address", text),
        ("mqtt", "connected"): ("mqtt_connected", flag),
        ("mqtt", "attempts"): ("mqtt_attempts", non_negative),
        ("grid", "mode"): ("grid_mode", _grid_mode),
        ("grid", "exporting"): ("grid_exporting", flag),
        ("grid", "importing"): ("grid_importing", flag),
        ("system", "uptime"): ("uptime_ms", non_negative),
        ("system", "free_heap"): ("free_heap_bytes", non_negative),
    }
)
"""(section, field) of a status -> (`DeviceStatus` attribute, validator)."""


def _section(name: str) -> vol.Schema:
    schema: dict[object, object] = {
        vol.Optional(key): validator
        for (section, key), (_, validator) in _TYPED.items()
        if section == name
    }
    schema[str] = scalar
    return vol.Schema(schema)


_STATUS_SECTIONS: Final[dict[object, object]] = {
    **{vol.Optional(name): _section(name) for name in ("wifi", "mqtt", "grid", "system")},
    str: scalars,
}

V1_HEARTBEAT_SCHEMA: Final = LenientSchema(
    vol.Schema(
        {
            vol.Optional("status"): text,
            vol.Optional("uptime"): non_negative,
            vol.Optional("free_heap"): non_negative,
            vol.Optional("timestamp"): uptime_ms,
            str: scalars,
        }
    )
)
V1_STATUS_SCHEMA: Final = LenientSchema(
    vol.Schema({vol.Optional("timestamp"): uptime_ms, **_STATUS_SECTIONS})
)
V2_STATUS_SCHEMA: Final = LenientSchema(v2_schema(vol.Schema(_STATUS_SECTIONS)))

_QUANTITY: Final[Mapping[str, Quantity]] = MappingProxyType(
    {
        "wifi_rssi_dbm": Quantity.RSSI,
        "uptime_ms": Quantity.UPTIME,
        "free_heap_bytes": Quantity.FREE_HEAP,
    }
)
_INTEGRAL: Final = frozenset({"uptime_ms", "free_heap_bytes", "mqtt_attempts"})


def _flatten(clean: Mapping[str, object], skip: Container[str]) -> dict[str, object]:
    extra: dict[str, object] = {}
    for key, value in clean.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            for inner, item in value.items():
                if (key, inner) not in _TYPED:
                    extra[f"{key}.{inner}"] = item
        else:
            extra[key] = value
    return extra


def _typed(
    clean: Mapping[str, object],
    units: Mapping[str, str],
    path: tuple[str, ...],
    problems: list[Problem],
) -> dict[str, object]:
    typed: dict[str, object] = {}
    for (section, name), (attribute, _) in _TYPED.items():
        fields = clean.get(section)
        if not isinstance(fields, dict) or name not in fields:
            continue
        value = fields[name]
        quantity = _QUANTITY.get(attribute)
        if quantity is not None and isinstance(value, (int, float)):
            value = measured(
                value,
                quantity,
                units.get(name) or units.get(quantity),
                (*path, section, name),
                problems,
            )
            if value is None:
                continue
        if attribute in _INTEGRAL and isinstance(value, float):
            value = round(value)
        typed[attribute] = value
    return typed


def decode_v1_heartbeat(payload: Payload, *, received_at: datetime) -> DecodeResult[Heartbeat]:
    """Decode an EnerLink v1 ``<prefix>/heartbeat`` payload. Never raises."""
    problems: list[Problem] = []
    raw, bad_json = load_json(payload)
    if bad_json is not None:
        return DecodeResult(None, (bad_json,))
    clean = validate(V1_HEARTBEAT_SCHEMA, raw, problems)
    if clean is None:
        return DecodeResult(None, tuple(problems))
    status = clean.get("status")
    uptime = clean.get("uptime", clean.get("timestamp"))
    heap = clean.get("free_heap")
    heartbeat = Heartbeat(
        received_at=received_at,
        status=status if isinstance(status, str) else None,
        uptime_ms=round(uptime) if isinstance(uptime, (int, float)) else None,
        free_heap_bytes=round(heap) if isinstance(heap, (int, float)) else None,
        extra=_flatten(clean, {"status", "uptime", "free_heap", "timestamp"}),
    )
    return DecodeResult(heartbeat, tuple(problems))


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _status(
    clean: Mapping[str, object],
    units: Mapping[str, str],
    path: tuple[str, ...],
    problems: list[Problem],
    *,
    received_at: datetime,
    meter_id: str | None = None,
    meter_clock: datetime | None = None,
    uptime_fallback: object = None,
) -> DeviceStatus:
    typed = _typed(clean, units, path, problems)
    mode = typed.get("grid_mode")
    return DeviceStatus(
        received_at=received_at,
        meter_id=meter_id,
        meter_clock=meter_clock,
        uptime_ms=_int(typed.get("uptime_ms", uptime_fallback)),
        free_heap_bytes=_int(typed.get("free_heap_bytes")),
        wifi_connected=_bool(typed.get("wifi_connected")),
        wifi_rssi_dbm=_float(typed.get("wifi_rssi_dbm")),
        ip_address=_str(typed.get("ip_address")),
        mqtt_connected=_bool(typed.get("mqtt_connected")),
        mqtt_attempts=_int(typed.get("mqtt_attempts")),
        grid_mode=mode if isinstance(mode, GridMode) else None,
        grid_importing=_bool(typed.get("grid_importing")),
        grid_exporting=_bool(typed.get("grid_exporting")),
        extra=_flatten(clean, ()),
    )


def decode_v1_status(
    payload: Payload, *, received_at: datetime, units: Mapping[str, str] = V1_UNITS
) -> DecodeResult[DeviceStatus]:
    """Decode an EnerLink v1 ``<prefix>/status`` payload. Never raises."""
    problems: list[Problem] = []
    raw, bad_json = load_json(payload)
    if bad_json is not None:
        return DecodeResult(None, (bad_json,))
    clean = validate(V1_STATUS_SCHEMA, raw, problems)
    if clean is None:
        return DecodeResult(None, tuple(problems))
    timestamp = clean.get("timestamp")
    body = {k: v for k, v in clean.items() if k != "timestamp"}
    status = _status(body, units, (), problems, received_at=received_at, uptime_fallback=timestamp)
    return DecodeResult(status, tuple(problems))


def decode_v2_status(
    payload: Payload,
    *,
    received_at: datetime,
    meters: Container[str] | None = None,
) -> DecodeResult[DeviceStatus]:
    """Decode an EnerLink v2 ``enerlink/meters/status`` payload. Never raises.

    `meters` as for `enerlink.decode_v2_data`.
    """
    problems: list[Problem] = []
    envelope = read_v2_envelope(payload, V2_STATUS_SCHEMA, meters, problems)
    if envelope is None:
        return DecodeResult(None, tuple(problems))
    status = _status(
        envelope.data,
        envelope.units,
        ("data",),
        problems,
        received_at=received_at,
        meter_id=envelope.meter_id,
        meter_clock=envelope.meter_clock,
    )
    return DecodeResult(status, tuple(problems))
