"""EnerLink telemetry: v1 ``<prefix>/sensors`` and v2 ``enerlink/meters/data`` into `Reading`s.

Both carry subsystems (load, solar, export, import, battery; v2 adds load_smart_mtr, load_home,
solar_input, solar_output, net_solar, net_grid), each an object of measured fields. A field
becomes ``values["<subsystem>.<key>"]`` in a base unit: ``load.power_w``, ``solar.current_a``,
``battery.voltage_v``, ``export.settlement_energy_wh``, plus ``import.active``,
``solar.generating``, ``battery.state``, ``battery.soc_pct``.

Units
    v1 has no units block: its documented units are `V1_UNITS` (W, A, V, Wh), which a caller can
    replace for a device known to send mW/mA. v2 carries a ``units`` block keyed by quantity
    (``"power": "mW"``) or by field name; a field's unit is, in this order, the block's entry for
    the field's own name, the unit its name spells (``total_energy_wh`` is in Wh), the block's
    entry for its quantity. A missing or unknown unit drops the field (``unknown_unit``). The
    state of charge is a percentage; a units block that gives it another unit drops it.

Timestamps
    v1 ``timestamp`` is milliseconds since boot, not a clock: kept as ``values["uptime_ms"]``.
    v2 ``datetime`` is the meter's clock (`Reading.meter_clock`). `Reading.received_at` is always
    the caller's receive time.

Normalized fields
    ``import_energy_wh`` / ``export_energy_wh`` are ``import.total_energy_wh`` /
    ``export.total_energy_wh`` rounded *down* to whole Wh (a counter never shows energy the meter
    has not reported yet, and flooring keeps a rising counter rising); ``import_power_va`` /
    ``export_power_va`` are ``import.power_w`` / ``export.power_w`` rounded to the nearest watt
    (for these meters the "VA" fields hold active power in W). The exact values stay in `values`.

Energy counters (daily, total, settlement, energy) must not be negative (``negative_total``),
except in the net_* subsystems, whose energy is a signed balance. Decreasing counters are not a
stateless decoder's business: see `totals.TotalTracker`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Final

import voluptuous as vol

from ..reading import Reading
from .problems import DecodeResult, Problem, ProblemKind, join_path
from .schema import (
    CORRELATION_KEYS,
    LenientSchema,
    counter,
    flag,
    iso_datetime,
    load_json,
    meter_id,
    number,
    percent,
    text,
    unit_name,
    uptime_ms,
    validate,
)
from .units import Quantity, Scale, convert, scale_for

type Payload = bytes | bytearray | str

V1_SUBSYSTEMS: Final = ("load", "solar", "export", "import", "battery")
V2_SUBSYSTEMS: Final = (
    "battery",
    "export",
    "import",
    "load_smart_mtr",
    "load_home",
    "solar_input",
    "solar_output",
    "net_solar",
    "net_grid",
)
SUBSYSTEMS: Final = frozenset(V1_SUBSYSTEMS + V2_SUBSYSTEMS)
"""Both profiles accept the subsystems of both (a v2 meter sending ``load`` loses nothing)."""
SIGNED_SUBSYSTEMS: Final = frozenset({"net_solar", "net_grid"})
"""Subsystems whose energy is a signed balance, not a counter."""

V1_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        Quantity.POWER: "W",
        Quantity.CURRENT: "A",
        Quantity.VOLTAGE: "V",
        Quantity.ENERGY: "Wh",
        Quantity.UPTIME: "ms",
        Quantity.FREE_HEAP: "bytes",
        Quantity.RSSI: "dBm",
    }
)
"""The units EnerLink v1 documents (its payloads have no units block)."""

ISO_8601_UNITS: Final = frozenset({"ISO8601", "ISO 8601", "ISO-8601"})
"""What a v2 units block may say for ``datetime``."""


class _Is(Enum):
    MEASURE = "measure"
    COUNTER = "counter"
    PERCENT = "percent"
    FLAG = "flag"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class _Field:
    key: str
    """The key in `Reading.values`, after the subsystem and a dot."""
    shape: _Is
    quantity: Quantity | None = None
    unit: str | None = None
    """The unit the field's own name spells, if it does."""


def _fields() -> dict[str, _Field]:
    fields = {
        "power": _Field("power_w", _Is.MEASURE, Quantity.POWER),
        "current": _Field("current_a", _Is.MEASURE, Quantity.CURRENT),
        "voltage": _Field("voltage_v", _Is.MEASURE, Quantity.VOLTAGE),
        "active": _Field("active", _Is.FLAG),
        "generating": _Field("generating", _Is.FLAG),
        "state": _Field("state", _Is.TEXT),
        "soc": _Field("soc_pct", _Is.PERCENT),
    }
    for energy in ("energy", "daily_energy", "total_energy", "settlement_energy"):
        fields[energy] = _Field(f"{energy}_wh", _Is.COUNTER, Quantity.ENERGY)
        fields[f"{energy}_wh"] = _Field(f"{energy}_wh", _Is.COUNTER, Quantity.ENERGY, "Wh")
    return fields


FIELDS: Final[Mapping[str, _Field]] = MappingProxyType(_fields())
"""Every known field of a subsystem, v1 and v2 spellings."""

_VALUE_KEYS: Final[Mapping[tuple[str, str], str]] = MappingProxyType(
    {
        (subsystem, name): f"{subsystem}.{spec.key}"
        for subsystem in SUBSYSTEMS
        for name, spec in FIELDS.items()
    }
)
"""(subsystem, field name) -> key in `Reading.values`, built once rather than per message."""

_VALIDATORS: Final[dict[_Is, Callable[[object], object]]] = {
    _Is.MEASURE: number,
    _Is.COUNTER: counter,
    _Is.PERCENT: percent,
    _Is.FLAG: flag,
    _Is.TEXT: text,
}


def _validator(spec: _Field, *, signed: bool) -> Callable[[object], object]:
    """The field validator of `spec`; a signed subsystem's energy is a balance, not a counter."""
    if signed and spec.shape is _Is.COUNTER:
        return number
    return _VALIDATORS[spec.shape]


def _subsystem_schema(*, signed: bool) -> vol.Schema:
    return vol.Schema(
        {vol.Optional(name): _validator(spec, signed=signed) for name, spec in FIELDS.items()},
        extra=vol.ALLOW_EXTRA,
    )


_COUNTER_SUBSYSTEM: Final = _subsystem_schema(signed=False)
_SIGNED_SUBSYSTEM: Final = _subsystem_schema(signed=True)
_SUBSYSTEM_KEYS: Final = {
    vol.Optional(name): _SIGNED_SUBSYSTEM if name in SIGNED_SUBSYSTEMS else _COUNTER_SUBSYSTEM
    for name in sorted(SUBSYSTEMS)
}

V1_SENSORS_SCHEMA: Final = LenientSchema(
    vol.Schema({vol.Optional("timestamp"): uptime_ms, **_SUBSYSTEM_KEYS}, extra=vol.ALLOW_EXTRA)
)


def v2_schema(data: vol.Schema) -> vol.Schema:
    """The v2 envelope (``meterId``, ``datetime``, ``units``) around a ``data`` schema."""
    return vol.Schema(
        {
            vol.Optional("meterId"): meter_id,
            vol.Optional("datetime"): iso_datetime,
            vol.Optional("units"): vol.Schema({str: unit_name}),
            vol.Optional("data"): data,
        },
        extra=vol.ALLOW_EXTRA,
    )


V2_DATA_SCHEMA: Final = LenientSchema(v2_schema(vol.Schema(_SUBSYSTEM_KEYS, extra=vol.ALLOW_EXTRA)))


# ---- Shared pieces ----------------------------------------------------------------------------


def unknown_key(path: tuple[object, ...], value: object) -> Problem:
    """An ``unknown_section`` (an object) or ``unknown_field`` (anything else) problem."""
    if isinstance(value, dict):
        return Problem(ProblemKind.UNKNOWN_SECTION, join_path(*path), "unknown section, ignored")
    return Problem(ProblemKind.UNKNOWN_FIELD, join_path(*path), "unknown field, ignored")


def measured(
    value: int | float,
    quantity: Quantity,
    unit: str | None,
    path: tuple[object, ...],
    problems: list[Problem],
) -> int | float | None:
    """`value` converted from `unit` to the base unit of `quantity`, or None with a problem."""
    scale = None if unit is None else scale_for(quantity, unit)
    if scale is None:
        detail = (
            f"no {quantity} unit given"
            if unit is None
            else f"unit {join_path(unit)} is not a {quantity} unit"
        )
        problems.append(Problem(ProblemKind.UNKNOWN_UNIT, join_path(*path), detail))
        return None
    converted = convert(value, scale)
    if converted is None:
        problems.append(
            Problem(ProblemKind.NOT_FINITE, join_path(*path), "too large once converted")
        )
    return converted


@dataclass(frozen=True, slots=True)
class V2Envelope:
    """The validated v2 envelope of a payload."""

    meter_id: str
    meter_clock: datetime | None
    units: Mapping[str, str]
    data: Mapping[str, object]


def _unknown_meter(raw: object, meters: Container[str] | None) -> Problem | None:
    """An ``unknown_meter`` problem when `meters` is given and does not hold the payload's id.

    Checked before anything else, so a meter the caller does not want costs no validation and
    reports nothing but this.
    """
    if meters is None or not isinstance(raw, dict):
        return None
    meter = raw.get("meterId")
    if not isinstance(meter, str) or not meter.strip() or meter.strip() in meters:
        return None  # a missing or invalid id is reported by validation
    return Problem(ProblemKind.UNKNOWN_METER, "meterId", "meter not configured")


def read_v2_envelope(
    payload: Payload,
    schema: LenientSchema,
    meters: Container[str] | None,
    problems: list[Problem],
) -> V2Envelope | None:
    """Load, screen and validate a v2 payload down to its envelope, for the data and status
    decoders alike; None (with problems) when it cannot be decoded.

    An invalid JSON or a refused meter is the only problem reported (nothing else is checked).
    """
    raw, bad_json = load_json(payload)
    if bad_json is not None:
        problems.append(bad_json)
        return None
    return _checked_v2_envelope(raw, schema, meters, problems)


def _checked_v2_envelope(
    raw: object,
    schema: LenientSchema,
    meters: Container[str] | None,
    problems: list[Problem],
) -> V2Envelope | None:
    """`read_v2_envelope` of a payload already loaded."""
    refused = _unknown_meter(raw, meters)
    if refused is not None:
        problems.append(refused)
        return None
    clean = validate(schema, raw, problems)
    if clean is None:
        return None
    return _v2_envelope(raw, clean, problems)


def _v2_envelope(
    raw: object, clean: Mapping[str, object], problems: list[Problem]
) -> V2Envelope | None:
    """Check what a v2 payload must have; None (with problems) when it cannot be decoded."""
    known = {"meterId", "datetime", "units", "data"}
    for key, value in clean.items():
        if key not in known and key not in CORRELATION_KEYS:
            problems.append(unknown_key((key,), value))
    meter = clean.get("meterId")
    if not isinstance(meter, str):
        if isinstance(raw, dict) and "meterId" not in raw:
            problems.append(Problem(ProblemKind.MISSING_FIELD, "meterId", "no meter id"))
        return None
    data = clean.get("data")
    if not isinstance(data, dict):
        if isinstance(raw, dict) and "data" not in raw:
            problems.append(Problem(ProblemKind.MISSING_SECTION, "data", "no data section"))
        return None
    units = clean.get("units")
    if not isinstance(units, dict):
        units = {}
        if isinstance(raw, dict) and "units" not in raw:
            problems.append(Problem(ProblemKind.MISSING_SECTION, "units", "no units section"))
    clock = clean.get("datetime")
    if not isinstance(clock, datetime):
        clock = None
    clock_unit = units.get("datetime")
    if clock is not None and clock_unit is not None and clock_unit not in ISO_8601_UNITS:
        problems.append(
            Problem(ProblemKind.UNKNOWN_UNIT, "units.datetime", "datetime unit is not ISO 8601")
        )
        clock = None
    return V2Envelope(meter, clock, units, data)


# ---- Telemetry --------------------------------------------------------------------------------


def _subsystem_values(
    data: Mapping[str, object],
    units: Mapping[str, str],
    path: tuple[str, ...],
    problems: list[Problem],
    values: dict[str, object],
) -> None:
    for subsystem, fields in data.items():
        if subsystem not in SUBSYSTEMS or not isinstance(fields, dict):
            problems.append(unknown_key((*path, subsystem), fields))
            continue
        for name, value in fields.items():
            spec = FIELDS.get(name)
            if spec is None:
                problems.append(unknown_key((*path, subsystem, name), value))
                continue
            key = _VALUE_KEYS[subsystem, name]
            if spec.quantity is None:
                unit = units.get(name)
                if spec.shape is _Is.PERCENT and unit is not None and unit.strip() != "%":
                    where = join_path(*path, subsystem, name)
                    problems.append(Problem(ProblemKind.UNKNOWN_UNIT, where, "not a % unit"))
                    continue
                values[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue  # pragma: no cover - the schema let through numbers only
            unit = units.get(name) or spec.unit or units.get(spec.quantity)
            scale = None if unit is None else scale_for(spec.quantity, unit)
            if scale is not None and (converted := convert(value, scale)) is not None:
                values[key] = converted  # the common case, without building the field's path
                continue
            # Unknown unit or out of range: `measured` says which, and the field is dropped.
            measured(value, spec.quantity, unit, (*path, subsystem, name), problems)


# ---- One walk for a clean v2 data payload -----------------------------------------------------
#
# Nearly every data message is clean, and a meter sends the same units block every time. So the
# conversion of each field under a units block is planned once (`_plan`), and a clean payload is
# validated and converted in one walk over it (`_clean_v2_reading`) instead of a validating walk
# that copies it, then a converting one that looks every field's unit up again. The first thing
# amiss sends the payload to the general path, which finds and reports every problem; so the
# walk only has to give the general path's result for a payload without any.

type _Convert = Callable[[int | float], int | float | None]
type _Step = tuple[str, Callable[[object], object], _Convert | None]
"""What the general path does with one field: the key in `Reading.values`, the field's
validator, and its conversion to the base unit (None: kept as validated, not a measured
field)."""
type _Plan = dict[str, dict[str, _Step]]
"""Steps by subsystem and field name; a field the general path would report has no step."""

_ENVELOPE_KEYS: Final = frozenset({"meterId", "datetime", "units", "data"}) | CORRELATION_KEYS
_PLANS: Final[dict[tuple[tuple[str, str], ...], _Plan]] = {}
_MAX_PLANS: Final = 64
"""Units blocks planned at most; more (a broker full of odd meters) starts the cache afresh."""


def _build_plan(units: Mapping[str, str]) -> _Plan:
    """`_subsystem_values`'s choices for every known field under `units`, made once."""
    plan: _Plan = {}
    for subsystem in SUBSYSTEMS:
        signed = subsystem in SIGNED_SUBSYSTEMS
        steps: dict[str, _Step] = {}
        for name, spec in FIELDS.items():
            check = _validator(spec, signed=signed)
            key = _VALUE_KEYS[subsystem, name]
            if spec.quantity is None:
                unit = units.get(name)
                if spec.shape is not _Is.PERCENT or unit is None or unit.strip() == "%":
                    steps[name] = (key, check, None)
                continue
            unit = units.get(name) or spec.unit or units.get(spec.quantity)
            scale = None if unit is None else scale_for(spec.quantity, unit)
            if scale is not None:
                steps[name] = (key, check, _converter(scale))
        plan[subsystem] = steps
    return plan


def _converter(scale: Scale) -> _Convert:
    """`convert` by `scale`; by one, what it does to a validated (finite, float-sized) number."""
    if scale.multiply == scale.divide == 1:
        return _as_base
    return lambda value: convert(value, scale)


def _as_base(value: int | float) -> int | float:
    return value + 0  # as `convert` by one: an int stays itself, -0.0 becomes 0.0


def _plan(units: dict[str, str]) -> _Plan:
    block = tuple(units.items())
    plan = _PLANS.get(block)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[block] = _build_plan(units)
    return plan


def _clean_v2_reading(raw: object, received_at: datetime) -> Reading | None:
    """The `Reading` of a v2 data payload in which nothing is amiss, in one walk; None as soon as
    anything is (the general path then says what)."""
    if type(raw) is not dict or not raw.keys() <= _ENVELOPE_KEYS:
        return None
    data, block = raw.get("data"), raw.get("units")
    if type(data) is not dict or not data or type(block) is not dict or "meterId" not in raw:
        return None
    try:
        meter = meter_id(raw["meterId"])
        units = {name: unit_name(unit) for name, unit in block.items()}
        clock = iso_datetime(raw["datetime"]) if "datetime" in raw else None
        if clock is not None and units.get("datetime", "ISO8601") not in ISO_8601_UNITS:
            return None
        plan = _plan(units)
        values: dict[str, object] = {}
        for subsystem, fields in data.items():
            steps = plan.get(subsystem)
            if steps is None or type(fields) is not dict:
                return None
            for name, value in fields.items():
                step = steps.get(name)
                if step is None:
                    return None
                key, check, to_base = step
                clean = check(value)
                if to_base is not None:
                    clean = to_base(clean)  # type: ignore[arg-type]
                    if clean is None:
                        return None
                values[key] = clean
    except vol.Invalid:
        return None
    return _reading(meter, received_at, values, clock)


def _floor_wh(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # pragma: no cover - never stored
    return math.floor(value) if value >= 0 else None


def _round_w(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # pragma: no cover - never stored
    return round(value)


def _reading(
    meter: str,
    received_at: datetime,
    values: Mapping[str, object],
    meter_clock: datetime | None,
) -> Reading:
    return Reading(
        meter_id=meter,
        received_at=received_at,
        values=values,
        import_energy_wh=_floor_wh(values.get("import.total_energy_wh")),
        export_energy_wh=_floor_wh(values.get("export.total_energy_wh")),
        import_power_va=_round_w(values.get("import.power_w")),
        export_power_va=_round_w(values.get("export.power_w")),
        meter_clock=meter_clock,
    )


def _no_subsystem(path: str) -> Problem:
    return Problem(ProblemKind.MISSING_SECTION, path, "no known subsystem")


def decode_v1_sensors(
    payload: Payload,
    *,
    meter_id: str,
    received_at: datetime,
    units: Mapping[str, str] = V1_UNITS,
) -> DecodeResult[Reading]:
    """Decode an EnerLink v1 ``<prefix>/sensors`` payload. Never raises.

    v1 payloads name no meter: `meter_id` is the caller's (the configured device). `units`
    replaces the documented v1 units (keys: quantity or field names, as in a v2 units block).
    """
    problems: list[Problem] = []
    raw, bad_json = load_json(payload)
    if bad_json is not None:
        return DecodeResult(None, (bad_json,))
    clean = validate(V1_SENSORS_SCHEMA, raw, problems)
    if clean is None:
        return DecodeResult(None, tuple(problems))
    values: dict[str, object] = {}
    uptime = clean.get("timestamp")
    if isinstance(uptime, int):
        values["uptime_ms"] = uptime
    subsystems = {k: v for k, v in clean.items() if k != "timestamp" and k not in CORRELATION_KEYS}
    _subsystem_values(subsystems, units, (), problems, values)
    if not any(k in SUBSYSTEMS and isinstance(v, dict) for k, v in subsystems.items()):
        problems.append(_no_subsystem(""))
        return DecodeResult(None, tuple(problems))
    return DecodeResult(_reading(meter_id, received_at, values, None), tuple(problems))


def decode_v2_data(
    payload: Payload,
    *,
    received_at: datetime,
    meters: Container[str] | None = None,
) -> DecodeResult[Reading]:
    """Decode an EnerLink v2 ``enerlink/meters/data`` payload. Never raises.

    With `meters`, a payload whose ``meterId`` is not in it is refused (``unknown_meter``);
    without, every meter id is accepted (discovery).
    """
    raw, bad_json = load_json(payload)
    if bad_json is not None:
        return DecodeResult(None, (bad_json,))
    if meters is None or _unknown_meter(raw, meters) is None:
        reading = _clean_v2_reading(raw, received_at)
        if reading is not None:
            return DecodeResult(reading, ())
    return _explained_v2_data(raw, received_at, meters)


def _explained_v2_data(
    raw: object, received_at: datetime, meters: Container[str] | None
) -> DecodeResult[Reading]:
    """The general path of `decode_v2_data`: validate, drop and report what is amiss."""
    problems: list[Problem] = []
    envelope = _checked_v2_envelope(raw, V2_DATA_SCHEMA, meters, problems)
    if envelope is None:
        return DecodeResult(None, tuple(problems))
    values: dict[str, object] = {}
    _subsystem_values(envelope.data, envelope.units, ("data",), problems, values)
    if not any(k in SUBSYSTEMS and isinstance(v, dict) for k, v in envelope.data.items()):
        problems.append(_no_subsystem("data"))
        return DecodeResult(None, tuple(problems))
    reading = _reading(envelope.meter_id, received_at, values, envelope.meter_clock)
    return DecodeResult(reading, tuple(problems))
