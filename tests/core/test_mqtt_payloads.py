"""EnerLink payload decoders: the real samples to the figure, units, and every problem kind.

The v1 payloads and the seed rows are real (see mqtt_samples.py). The v2 samples are skeletons
with ``...`` placeholders, not valid JSON: `V2_DATA` and `V2_STATUS` below are complete payloads
built from them (their envelope, sections, units and ids), with the readings of the v1 sample
read in the v2 units (mW, mA: the v1 figures only make physical sense that way, 4.1212 V x
240.75 mA = 992 mW for "power": 994.8) and the settlement figures of the real settlement rows
(export 0.1101 kWh, import 0.0100 kWh, net 0.1001 kWh -> 0.10 ETK).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import mqtt_samples
import pytest
from mqtt_samples import (
    SAMPLE_FILES,
    SAMPLES,
    SEED_SENSORS,
    SEED_STATUS,
    V1_HEARTBEAT,
    V1_SENSORS,
    V1_STATUS,
)

from custom_components.energy_ledger.core.mqtt import (
    BASE_UNITS,
    DecodeResult,
    DeviceStatus,
    GridMode,
    Heartbeat,
    Problem,
    ProblemKind,
    Quantity,
    Scale,
    TopicAccumulator,
    TotalStep,
    TotalTracker,
    convert,
    decode_topic_value,
    decode_v1_heartbeat,
    decode_v1_sensors,
    decode_v1_status,
    decode_v2_data,
    decode_v2_status,
    known_units,
    load_json,
    scale_for,
)
from custom_components.energy_ledger.core.reading import Reading

RECEIVED = datetime(2025, 7, 16, 12, 25, 1, tzinfo=UTC)

V2_DATA: dict[str, object] = {
    "meterId": "METER001",
    "datetime": "2025-10-26T04:27:10Z",
    "units": {
        "datetime": "ISO8601",
        "voltage": "V",
        "current": "mA",
        "power": "mW",
        "energy": "Wh",
        "soc": "%",
    },
    "data": {
        "battery": {
            "voltage": 4.176,
            "current": -36.49,
            "power": 152.2,
            "state": "charging",
            "soc": 87,
            "daily_energy": 1.793849,
            "total_energy": 1.793849,
            "settlement_energy": 1.793849,
        },
        "export": {
            "voltage": 4.126,
            "current": 9.51,
            "power": 38.6,
            "active": True,
            "daily_energy": 110.1,
            "total_energy": 110.1,
            "settlement_energy": 110.1,
        },
        "import": {
            "voltage": 5.550399,
            "current": 0.13,
            "power": 0.8,
            "active": False,
            "daily_energy": 10.0,
            "total_energy": 10.0,
            "settlement_energy": 10.0,
        },
        "load_smart_mtr": {
            "voltage": 4.1212,
            "current": 240.75,
            "power": 994.8,
            "daily_energy": 10.1163,
            "total_energy": 10.1163,
            "settlement_energy": 10.1163,
        },
        "load_home": {"voltage": 4.1212, "current": 231, "power": 952, "total_energy": 9.87},
        "solar_input": {
            "voltage": 8.813601,
            "current": 144.47,
            "power": 1275.8,
            "generating": True,
            "daily_energy": 15.23495,
            "total_energy": 15.23495,
            "settlement_energy": 15.23495,
        },
        "solar_output": {"voltage": 4.13, "current": 300, "power": 1239, "total_energy": 14.8},
        "net_solar": {"power": 244.2, "energy": 4.9},
        "net_grid": {"power": -37.8, "energy": -100.1},
    },
}

V2_STATUS: dict[str, object] = {
    "meterId": "METER001",
    "datetime": "2025-10-26T04:26:57Z",
    "units": {"datetime": "ISO8601", "uptime": "ms", "free_heap": "bytes", "rssi": "dBm"},
    "data": {
        "wifi": {"connected": True, "rssi": -60, "ip": "192.168.1.2"},
        "grid": {"mode": "export", "exporting": True, "importing": False},
        "mqtt": {"connected": True, "attempts": 0},
        "system": {"uptime": 33860400, "free_heap": 225968},
        "sensors": {"load": True, "solar": True, "battery": False},
    },
}


def dumps(payload: object) -> bytes:
    return json.dumps(payload).encode()


def v2(**changes: object) -> bytes:
    """V2_DATA with top-level keys replaced (None removes the key)."""
    payload = {**V2_DATA, **changes}
    return dumps({k: v for k, v in payload.items() if v is not None})


def v2_section(section: str, **fields: object) -> bytes:
    """V2_DATA with the fields of one section replaced (None removes the field)."""
    data = dict(V2_DATA["data"])  # type: ignore[call-overload]
    merged = {**data.get(section, {}), **fields}
    data[section] = {k: v for k, v in merged.items() if v is not None}
    return v2(data=data)


def sensors(**decoded: object) -> DecodeResult[Reading]:
    return decode_v1_sensors(dumps(decoded), meter_id="METER001", received_at=RECEIVED)


def kinds(result: DecodeResult[object] | Problem | object) -> set[tuple[ProblemKind, str]]:
    if isinstance(result, DecodeResult):
        return {(p.kind, p.field) for p in result.problems}
    assert isinstance(result, Problem)
    return {(result.kind, result.field)}


# ---- The samples themselves -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_embedded_samples_match_the_files(name: str) -> None:
    path = SAMPLES / SAMPLE_FILES[name]
    if not path.exists():
        pytest.skip("shared samples directory not available")
    embedded = getattr(mqtt_samples, name)
    if isinstance(embedded, str):
        assert embedded in path.read_text()
    else:
        assert embedded in path.read_bytes()


# ---- EnerLink v1: the real payloads -----------------------------------------------------------


def test_v1_sensors_sample_to_the_figure() -> None:
    result = decode_v1_sensors(V1_SENSORS, meter_id="METER001", received_at=RECEIVED)
    assert result.problems == ()
    assert result.ok
    reading = result.value
    assert reading is not None
    assert reading.values == {
        "uptime_ms": 33857692,
        "load.power_w": 994.8,
        "load.current_a": 240.75,
        "load.voltage_v": 4.1212,
        "load.daily_energy_wh": 10.1163,
        "load.total_energy_wh": 10.1163,
        "load.settlement_energy_wh": 10.1163,
        "solar.power_w": 1275.8,
        "solar.current_a": 144.47,
        "solar.voltage_v": 8.813601,
        "solar.generating": True,
        "solar.daily_energy_wh": 15.23495,
        "solar.total_energy_wh": 15.23495,
        "solar.settlement_energy_wh": 15.23495,
        "export.power_w": 38.6,
        "export.active": True,
        "export.current_a": 9.51,
        "export.voltage_v": 4.126,
        "export.daily_energy_wh": 1.959955,
        "export.total_energy_wh": 1.959955,
        "export.settlement_energy_wh": 1.959955,
        "import.power_w": 0.8,
        "import.active": False,
        "import.current_a": 0.13,
        "import.voltage_v": 5.550399,
        "import.daily_energy_wh": 0.004,
        "import.total_energy_wh": 0.004,
        "import.settlement_energy_wh": 0.004,
        "battery.power_w": 152.2,
        "battery.state": "charging",
        "battery.current_a": -36.49,
        "battery.voltage_v": 4.176,
        "battery.daily_energy_wh": 1.793849,
        "battery.total_energy_wh": 1.793849,
        "battery.settlement_energy_wh": 1.793849,
    }
    assert reading.meter_id == "METER001"
    assert reading.received_at == RECEIVED  # "timestamp" is ms since boot, not a clock
    assert reading.meter_clock is None
    assert reading.timestamps == {}
    # Normalized: totals floored to whole Wh, powers rounded to the watt.
    assert reading.import_energy_wh == 0  # 0.004 Wh
    assert reading.export_energy_wh == 1  # 1.959955 Wh
    assert reading.import_power_va == 1  # 0.8 W
    assert reading.export_power_va == 39  # 38.6 W
    assert reading.import_registers_wh == {}
    assert reading.tariff_period is None
    assert reading.tariff_index is None


def test_v1_sensors_sample_in_milliwatts_when_the_caller_says_so() -> None:
    units = {"power": "mW", "current": "mA", "voltage": "V", "energy": "Wh"}
    result = decode_v1_sensors(V1_SENSORS, meter_id="METER001", received_at=RECEIVED, units=units)
    reading = result.value
    assert reading is not None
    assert result.problems == ()
    assert reading.values["load.power_w"] == 0.9948
    assert reading.values["load.current_a"] == 0.24075
    assert reading.values["battery.current_a"] == -0.03649
    assert reading.values["load.total_energy_wh"] == 10.1163  # named in Wh by the field itself
    assert reading.export_power_va == 0  # 38.6 mW


def test_v1_heartbeat_sample() -> None:
    result = decode_v1_heartbeat(V1_HEARTBEAT, received_at=RECEIVED)
    assert result.problems == ()
    assert result.value == Heartbeat(
        received_at=RECEIVED,
        status="alive",
        uptime_ms=33215145,
        free_heap_bytes=226024,
        extra={"qos": 2},
    )


def test_v1_status_sample() -> None:
    result = decode_v1_status(V1_STATUS, received_at=RECEIVED)
    assert result.problems == ()
    assert result.value == DeviceStatus(
        received_at=RECEIVED,
        uptime_ms=33860400,
        free_heap_bytes=225968,
        wifi_connected=True,
        wifi_rssi_dbm=-60,
        ip_address="192.168.1.2",
        mqtt_connected=True,
        mqtt_attempts=0,
        grid_mode=GridMode.EXPORT,
        grid_exporting=True,
        grid_importing=False,
        extra={
            "pwm.max_pwm": 255,
            "pwm.led_duty": 63,
            "motor.duty": 0,
            "motor.max_pwm": 1023,
            "motor.percent": 0,
            "motor.direction": "forward",
            "motor1.duty": 0,
            "motor1.percent": 0,
            "motor1.direction": "forward",
            "motor2.duty": 0,
            "motor2.percent": 0,
            "motor2.direction": "forward",
        },
    )


def test_seed_sensors_row_decodes_but_its_iso_timestamp_is_reported() -> None:
    result = decode_v1_sensors(SEED_SENSORS, meter_id="METER001", received_at=RECEIVED)
    assert kinds(result) == {(ProblemKind.BAD_TIMESTAMP, "timestamp")}
    reading = result.value
    assert reading is not None
    assert "uptime_ms" not in reading.values
    assert reading.values["export.total_energy_wh"] == 487632
    assert reading.values["export.settlement_energy_wh"] == 1524
    assert reading.values["import.daily_energy_wh"] == 8760
    assert reading.values["battery.soc_pct"] == 85
    assert reading.values["battery.power_w"] == 250
    assert reading.values["solar.power_w"] == 2500
    assert reading.values["load.total_energy_wh"] == 342156
    assert reading.import_energy_wh == 298451
    assert reading.export_energy_wh == 487632
    assert type(reading.import_energy_wh) is int
    assert reading.import_power_va is None  # the seed has no import power


def test_seed_status_row_keeps_what_it_can() -> None:
    result = decode_v1_status(SEED_STATUS, received_at=RECEIVED)
    assert kinds(result) == {
        (ProblemKind.BAD_TIMESTAMP, "timestamp"),
        (ProblemKind.WRONG_TYPE, "grid"),  # "importing": a state, not the {"mode": ...} object
    }
    status = result.value
    assert status is not None
    assert status.wifi_rssi_dbm == -38
    assert status.ip_address == "192.168.1.101"
    assert status.free_heap_bytes == 42000
    assert status.uptime_ms == 172800
    assert status.grid_mode is None
    assert status.extra == {
        "mqtt.broker": "mqtt.enerlink.local",
        "system.temperature": 40.2,
        "components.motor": "idle",
        "components.pwm": 0,
        "components.relay": "open",
    }


# ---- EnerLink v2 ------------------------------------------------------------------------------


def test_v2_data_normalized_from_its_units_block() -> None:
    result = decode_v2_data(dumps(V2_DATA), received_at=RECEIVED)
    assert result.problems == ()
    reading = result.value
    assert reading is not None
    assert reading.meter_id == "METER001"
    assert reading.meter_clock == datetime(2025, 10, 26, 4, 27, 10, tzinfo=UTC)
    assert reading.received_at == RECEIVED
    values = reading.values
    assert values["load_smart_mtr.power_w"] == 0.9948  # 994.8 mW
    assert values["load_smart_mtr.current_a"] == 0.24075  # 240.75 mA
    assert values["load_smart_mtr.voltage_v"] == 4.1212
    assert values["load_home.power_w"] == 0.952  # int 952 mW
    assert values["load_home.current_a"] == 0.231
    assert values["solar_input.power_w"] == 1.2758
    assert values["solar_input.generating"] is True
    assert values["battery.current_a"] == -0.03649
    assert values["battery.state"] == "charging"
    assert values["battery.soc_pct"] == 87
    assert values["export.settlement_energy_wh"] == 110.1
    assert values["import.settlement_energy_wh"] == 10.0
    assert values["net_grid.energy_wh"] == -100.1  # a signed balance, not a counter
    assert values["net_grid.power_w"] == -0.0378
    assert reading.export_energy_wh == 110
    assert reading.import_energy_wh == 10
    assert reading.export_power_va == 0  # 38.6 mW
    assert len(values) == 8 + 7 + 7 + 6 + 4 + 7 + 4 + 2 + 2  # every field of every section


def test_v2_settlement_figures_of_the_real_rows() -> None:
    """Export 0.1101 kWh, import 0.0100 kWh -> net 0.1001 kWh -> 0.10 ETK (domain.md §3)."""
    data = dict(V2_DATA["data"])  # type: ignore[call-overload]
    data["export"] = {"settlement_energy": 0.1101}
    data["import"] = {"settlement_energy": 0.0100}
    payload = v2(units={"energy": "kWh"}, data=data)
    reading = decode_v2_data(payload, received_at=RECEIVED).value
    assert reading is not None
    export_wh = reading.values["export.settlement_energy_wh"]
    import_wh = reading.values["import.settlement_energy_wh"]
    assert export_wh == 110.1  # exactly: 0.1101 * 1000 in floats is 110.10000000000001
    assert import_wh == 10.0
    net_wh = Decimal(repr(export_wh)) - Decimal(repr(import_wh))
    assert net_wh == Decimal("100.1")
    tokens = (net_wh.to_integral_value(ROUND_FLOOR) / 1000).quantize(Decimal("0.01"), ROUND_FLOOR)
    assert tokens == Decimal("0.10")


def test_v2_status() -> None:
    result = decode_v2_status(dumps(V2_STATUS), received_at=RECEIVED)
    assert result.problems == ()
    assert result.value == DeviceStatus(
        received_at=RECEIVED,
        meter_id="METER001",
        meter_clock=datetime(2025, 10, 26, 4, 26, 57, tzinfo=UTC),
        uptime_ms=33860400,
        free_heap_bytes=225968,
        wifi_connected=True,
        wifi_rssi_dbm=-60,
        ip_address="192.168.1.2",
        mqtt_connected=True,
        mqtt_attempts=0,
        grid_mode=GridMode.EXPORT,
        grid_exporting=True,
        grid_importing=False,
        extra={"sensors.load": True, "sensors.solar": True, "sensors.battery": False},
    )


def test_v2_status_units_convert_uptime_and_drop_unknown_ones() -> None:
    payload = {**V2_STATUS, "units": {"uptime": "s", "free_heap": "KB", "rssi": "dBm"}}
    result = decode_v2_status(dumps(payload), received_at=RECEIVED)
    assert kinds(result) == {(ProblemKind.UNKNOWN_UNIT, "data.system.free_heap")}
    assert result.value is not None
    assert result.value.uptime_ms == 33860400000
    assert result.value.free_heap_bytes is None


def test_v2_clock_with_an_offset_is_kept_as_sent() -> None:
    reading = decode_v2_data(v2(datetime="2025-10-26T11:27:10+07:00"), received_at=RECEIVED).value
    assert reading is not None
    assert reading.meter_clock == datetime(2025, 10, 26, 4, 27, 10, tzinfo=UTC)
    assert reading.meter_clock.utcoffset() == timedelta(hours=7)


def test_v2_meters_filter() -> None:
    accepted = decode_v2_data(v2(), received_at=RECEIVED, meters={"METER001"})
    assert accepted.value is not None
    refused = decode_v2_data(v2(), received_at=RECEIVED, meters={"METER002"})
    assert refused.value is None
    assert kinds(refused) == {(ProblemKind.UNKNOWN_METER, "meterId")}
    status = decode_v2_status(dumps(V2_STATUS), received_at=RECEIVED, meters=frozenset())
    assert status.value is None
    assert kinds(status) == {(ProblemKind.UNKNOWN_METER, "meterId")}


def test_v2_without_units_keeps_flags_and_drops_measures() -> None:
    result = decode_v2_data(v2(units=None), received_at=RECEIVED)
    reading = result.value
    assert reading is not None
    assert (ProblemKind.MISSING_SECTION, "units") in kinds(result)
    assert (ProblemKind.UNKNOWN_UNIT, "data.load_home.power") in kinds(result)
    assert reading.values == {
        "battery.state": "charging",
        "battery.soc_pct": 87,
        "export.active": True,
        "import.active": False,
        "solar_input.generating": True,
    }
    assert reading.import_energy_wh is None


def test_v1_style_field_names_in_v2_are_in_wh_by_their_name() -> None:
    payload = v2_section("import", total_energy=None, total_energy_wh=298451)
    reading = decode_v2_data(payload, received_at=RECEIVED).value
    assert reading is not None
    assert reading.import_energy_wh == 298451
    per_field = v2(units={**V2_DATA["units"], "total_energy": "kWh"})  # type: ignore[dict-item]
    reading = decode_v2_data(per_field, received_at=RECEIVED).value
    assert reading is not None
    assert reading.values["export.total_energy_wh"] == 110100  # a per-field entry wins
    assert reading.values["export.daily_energy_wh"] == 110.1


# ---- Units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "quantity", "unit", "expected"),
    [
        (349296, Quantity.POWER, "mW", 349.296),
        (5000, Quantity.POWER, "mW", 5),
        (2, Quantity.POWER, "kW", 2000),
        (1520, Quantity.CURRENT, "mA", 1.52),
        (230400, Quantity.VOLTAGE, "mV", 230.4),
        (0.1101, Quantity.ENERGY, "kWh", 110.1),
        (0.01, Quantity.ENERGY, "kWh", 10.0),
        (3, Quantity.ENERGY, "MWh", 3_000_000),
        (1500, Quantity.ENERGY, "mWh", 1.5),
        (12.5, Quantity.UPTIME, "s", 12500.0),
        (-0.0, Quantity.POWER, "W", 0.0),
    ],
)
def test_convert(value: float, quantity: Quantity, unit: str, expected: float) -> None:
    scale = scale_for(quantity, unit)
    assert scale is not None
    result = convert(value, scale)
    assert result == expected
    assert type(result) is type(expected)
    assert not math.copysign(1, result) < 0


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        (Quantity.POWER, "MW"),  # not mW: units are case-sensitive
        (Quantity.POWER, "mw"),
        (Quantity.ENERGY, "kwh"),
        (Quantity.ENERGY, "W"),
        (Quantity.CURRENT, "mW"),
        (Quantity.FREE_HEAP, "KB"),  # 1000 or 1024?
        (Quantity.POWER, ""),
    ],
)
def test_unknown_units_are_not_guessed(quantity: Quantity, unit: str) -> None:
    assert scale_for(quantity, unit) is None


def test_convert_refuses_what_is_not_finite() -> None:
    milli = Scale(1, 1000)
    assert convert(float("nan"), Scale(1, 1)) is None
    assert convert(float("inf"), milli) is None
    assert convert(1.7e308, Scale(1000, 1)) is None
    assert convert(10**400 + 1, milli) is None
    assert convert(10**400, milli) is None
    assert convert(10**400, Scale(1, 1)) is None  # would overflow wherever it becomes a float
    assert convert(10**300, milli) == 10**297
    assert convert(10**300 + 1, milli) == 1e297
    assert convert(10**306, Scale(1000, 1)) is None  # 1e309 > 1.8e308


def test_every_quantity_has_its_base_unit() -> None:
    for quantity in Quantity:
        assert BASE_UNITS[quantity] in known_units(quantity)
        assert scale_for(quantity, BASE_UNITS[quantity]) == Scale(1, 1)


# ---- Problems, kind by kind -------------------------------------------------------------------

type Decoder = Callable[[bytes], DecodeResult[object] | Problem | object]


def _v1(payload: bytes) -> DecodeResult[Reading]:
    return decode_v1_sensors(payload, meter_id="METER001", received_at=RECEIVED)


def _v1_status(payload: bytes) -> DecodeResult[DeviceStatus]:
    return decode_v1_status(payload, received_at=RECEIVED)


def _v1_heartbeat(payload: bytes) -> DecodeResult[Heartbeat]:
    return decode_v1_heartbeat(payload, received_at=RECEIVED)


def _v2(payload: bytes) -> DecodeResult[Reading]:
    return decode_v2_data(payload, received_at=RECEIVED, meters={"METER001"})


def _v2_status(payload: bytes) -> DecodeResult[DeviceStatus]:
    return decode_v2_status(payload, received_at=RECEIVED)


def _topic(topic: str) -> Callable[[bytes], object]:
    def decode(payload: bytes) -> object:
        return decode_topic_value("TeleInfo/LinkyConsommation", topic, payload)

    return decode


# (decoder, payload, expected problems, whether a value is still decoded)
CASES: dict[str, tuple[Callable[[bytes], object], bytes, set[tuple[ProblemKind, str]], bool]] = {
    "not utf-8": (_v1, b'{"load": {"state": "\xff"}}', {(ProblemKind.INVALID_JSON, "")}, False),
    "truncated json": (_v2, V1_SENSORS[:-3], {(ProblemKind.INVALID_JSON, "")}, False),
    "empty payload": (_v1_status, b"", {(ProblemKind.INVALID_JSON, "")}, False),
    "a list": (_v1, b"[1, 2]", {(ProblemKind.WRONG_TYPE, "")}, False),
    "null": (_v2, b"null", {(ProblemKind.WRONG_TYPE, "")}, False),
    "power as text": (
        _v1,
        dumps({"load": {"power": "994.8", "voltage": 4.1}}),
        {(ProblemKind.WRONG_TYPE, "load.power")},
        True,
    ),
    "boolean as a number": (
        _v2,
        v2_section("import", power=True),
        {(ProblemKind.WRONG_TYPE, "data.import.power")},
        True,
    ),
    "null current": (
        _v1,
        dumps({"solar": {"current": None, "power": 1}}),
        {(ProblemKind.WRONG_TYPE, "solar.current")},
        True,
    ),
    "section not an object": (
        _v1,
        dumps({"load": {"power": 1}, "battery": [152.2]}),
        {(ProblemKind.WRONG_TYPE, "battery")},
        True,
    ),
    "flag as a number": (
        _v1,
        dumps({"export": {"active": 1}}),
        {(ProblemKind.WRONG_TYPE, "export.active")},
        True,
    ),
    "nothing known": (
        _v1,
        dumps({"timestamp": 5, "qos": 2}),
        {(ProblemKind.MISSING_SECTION, ""), (ProblemKind.UNKNOWN_FIELD, "qos")},
        False,
    ),
    "no data": (_v2, v2(data=None), {(ProblemKind.MISSING_SECTION, "data")}, False),
    "no units": (
        _v2_status,
        dumps({**V2_STATUS, "units": None}),
        {
            (ProblemKind.WRONG_TYPE, "units"),
            (ProblemKind.UNKNOWN_UNIT, "data.wifi.rssi"),
            (ProblemKind.UNKNOWN_UNIT, "data.system.uptime"),
            (ProblemKind.UNKNOWN_UNIT, "data.system.free_heap"),
        },
        True,
    ),
    "no meter id": (_v2, v2(meterId=None), {(ProblemKind.MISSING_FIELD, "meterId")}, False),
    "unknown section": (
        _v1,
        dumps({"load": {"power": 1}, "wind": {"power": 5}}),
        {(ProblemKind.UNKNOWN_SECTION, "wind")},
        True,
    ),
    "unknown field": (
        _v2,
        v2_section("battery", temperature=31.5),
        {(ProblemKind.UNKNOWN_FIELD, "data.battery.temperature")},
        True,
    ),
    "unknown unit": (
        _v2,
        v2(units={"power": "MW", "voltage": "V", "current": "A", "energy": "Wh"}),
        {
            (ProblemKind.UNKNOWN_UNIT, f"data.{section}.power")
            for section in (
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
        },
        True,
    ),
    "soc not in %": (
        _v2,
        v2(units={**V2_DATA["units"], "soc": "ratio"}),  # type: ignore[dict-item]
        {(ProblemKind.UNKNOWN_UNIT, "data.battery.soc")},
        True,
    ),
    "clock unit": (
        _v2,
        v2(units={**V2_DATA["units"], "datetime": "epoch"}),  # type: ignore[dict-item]
        {(ProblemKind.UNKNOWN_UNIT, "units.datetime")},
        True,
    ),
    "unit not text": (
        _v2,
        v2(units={**V2_DATA["units"], "voltage": 1}),  # type: ignore[dict-item]
        {(ProblemKind.WRONG_TYPE, "units.voltage")}
        | {
            (ProblemKind.UNKNOWN_UNIT, f"data.{section}.voltage")
            for section in (
                "battery",
                "export",
                "import",
                "load_smart_mtr",
                "load_home",
                "solar_input",
                "solar_output",
            )
        },
        True,
    ),
    "NaN": (
        _v1,
        b'{"load": {"power": NaN, "voltage": 4.1}}',
        {(ProblemKind.NOT_FINITE, "load.power")},
        True,
    ),
    "Infinity": (
        _v2,
        v2_section("load_home", power=float("inf")),
        {(ProblemKind.NOT_FINITE, "data.load_home.power")},
        True,
    ),
    "overflow": (
        _v1,
        b'{"load": {"power": 1e999, "voltage": 4.1}}',
        {(ProblemKind.NOT_FINITE, "load.power")},
        True,
    ),
    "int too large for a float": (
        _v1,
        b'{"import": {"total_energy_wh": 1' + b"0" * 400 + b"}}",
        {(ProblemKind.NOT_FINITE, "import.total_energy_wh")},
        True,
    ),
    "too large once converted": (
        _v2,
        v2(units={**V2_DATA["units"], "energy": "MWh"}, data={"import": {"energy": 1.7e305}}),  # type: ignore[dict-item]
        {(ProblemKind.NOT_FINITE, "data.import.energy")},
        True,
    ),
    "negative total": (
        _v1,
        dumps({"import": {"total_energy_wh": -3.5, "daily_energy_wh": 1}}),
        {(ProblemKind.NEGATIVE_TOTAL, "import.total_energy_wh")},
        True,
    ),
    "negative settlement": (
        _v2,
        v2_section("export", settlement_energy=-110.1),
        {(ProblemKind.NEGATIVE_TOTAL, "data.export.settlement_energy")},
        True,
    ),
    "soc over 100": (
        _v1,
        dumps({"battery": {"soc": 120}}),
        {(ProblemKind.OUT_OF_RANGE, "battery.soc")},
        True,
    ),
    "negative heap": (
        _v1_heartbeat,
        dumps({"status": "alive", "free_heap": -1}),
        {(ProblemKind.OUT_OF_RANGE, "free_heap")},
        True,
    ),
    "negative uptime": (
        _v1,
        dumps({"timestamp": -5, "load": {"power": 1}}),
        {(ProblemKind.OUT_OF_RANGE, "timestamp")},
        True,
    ),
    "ISO where ms": (
        _v1_heartbeat,
        dumps({"status": "alive", "timestamp": "2024-06-09T14:00:00Z"}),
        {(ProblemKind.BAD_TIMESTAMP, "timestamp")},
        True,
    ),
    "fractional ms": (
        _v1_status,
        dumps({"timestamp": 3.5}),
        {(ProblemKind.BAD_TIMESTAMP, "timestamp")},
        True,
    ),
    "ms where ISO": (
        _v2,
        v2(datetime=1761452830000),
        {(ProblemKind.BAD_TIMESTAMP, "datetime")},
        True,
    ),
    "ISO without zone": (
        _v2,
        v2(datetime="2025-10-26T04:27:10"),
        {(ProblemKind.BAD_TIMESTAMP, "datetime")},
        True,
    ),
    "not a date": (
        _v2_status,
        dumps({**V2_STATUS, "datetime": "yesterday"}),
        {(ProblemKind.BAD_TIMESTAMP, "datetime")},
        True,
    ),
    "grid mode": (
        _v2_status,
        dumps({**V2_STATUS, "data": {"grid": {"mode": "sideways"}}}),
        {(ProblemKind.INVALID_VALUE, "data.grid.mode")},
        True,
    ),
    "empty meter id": (_v2, v2(meterId="  "), {(ProblemKind.INVALID_VALUE, "meterId")}, False),
    "unknown meter": (_v2, v2(meterId="METER002"), {(ProblemKind.UNKNOWN_METER, "meterId")}, False),
    "topic outside the base": (
        _topic("TeleInfo/LinkyProduction/EASF01"),
        b"802",
        {(ProblemKind.UNKNOWN_TOPIC, "")},
        False,
    ),
    "not a label topic": (
        _topic("TeleInfo/LinkyConsommation/summary"),
        b"{}",
        {(ProblemKind.UNKNOWN_TOPIC, "summary")},
        False,
    ),
    "malformed TIC value": (
        _topic("TeleInfo/LinkyConsommation/STGE"),
        b"003A01",
        {(ProblemKind.INVALID_VALUE, "STGE")},
        False,
    ),
    "negative TIC index": (
        _topic("TeleInfo/LinkyConsommation/EASF01"),
        b"-802",
        {(ProblemKind.NEGATIVE_TOTAL, "EASF01")},
        False,
    ),
    "TIC number as text": (
        _topic("TeleInfo/LinkyConsommation/SINSTS"),
        b"13 VA",
        {(ProblemKind.WRONG_TYPE, "SINSTS")},
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_problem(case: str) -> None:
    decoder, payload, expected, has_value = CASES[case]
    result = decoder(payload)
    assert kinds(result) == expected
    if isinstance(result, DecodeResult):
        assert (result.value is not None) is has_value
        assert not result.ok
    else:
        assert not has_value


def test_every_problem_kind_is_exercised() -> None:
    seen = {kind for _, _, expected, _ in CASES.values() for kind, _ in expected}
    assert seen == set(ProblemKind)


def test_a_bad_field_drops_that_field_only() -> None:
    payload = json.loads(V1_SENSORS)
    payload["load"]["power"] = float("nan")
    payload["battery"]["total_energy_wh"] = -1.793849
    payload["solar"]["generating"] = "yes"
    result = decode_v1_sensors(json.dumps(payload), meter_id="METER001", received_at=RECEIVED)
    assert kinds(result) == {
        (ProblemKind.NOT_FINITE, "load.power"),
        (ProblemKind.NEGATIVE_TOTAL, "battery.total_energy_wh"),
        (ProblemKind.WRONG_TYPE, "solar.generating"),
    }
    reading = result.value
    assert reading is not None
    full = decode_v1_sensors(V1_SENSORS, meter_id="METER001", received_at=RECEIVED).value
    assert full is not None
    dropped = {"load.power_w", "battery.total_energy_wh", "solar.generating"}
    assert reading.values == {k: v for k, v in full.values.items() if k not in dropped}
    assert reading.export_energy_wh == 1


def test_negative_power_and_current_are_not_problems() -> None:
    result = sensors(battery={"power": -152.2, "current": -36.49}, export={"power": -1})
    assert result.problems == ()
    assert result.value is not None
    assert result.value.values["battery.power_w"] == -152.2
    assert result.value.export_power_va == -1


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"[" * 20_000, "JSON nested too deeply"),
        (b" " * 70_000, "payload larger than 64 KiB"),
        (b'{"load": {"power": ' + b"9" * 5000 + b"}}", "payload is not valid JSON"),
        (b"\xc3\x28", "payload is not UTF-8 text"),
    ],
    ids=["deep", "large", "long int", "not utf-8"],
)
def test_invalid_json(payload: bytes, detail: str) -> None:
    value, problem = load_json(payload)
    assert value is None
    assert problem == Problem(ProblemKind.INVALID_JSON, "", detail)
    assert _v1(payload).problems == (problem,)


def test_problems_never_quote_values_and_cut_long_names() -> None:
    secret = "PRM-19528654014760"
    long_name = "x" * 500
    payload = v2(meterId=secret, data={"battery": {long_name: secret, "state": 5}})
    result = decode_v2_data(payload, received_at=RECEIVED, meters={"METER001"})
    assert kinds(result) == {(ProblemKind.UNKNOWN_METER, "meterId")}
    result = decode_v2_data(payload, received_at=RECEIVED)
    assert result.problems
    for problem in result.problems:
        assert secret not in problem.detail
        assert secret not in problem.field
        assert len(problem.field) <= len("data.battery.") + 32
    unknown = next(p for p in result.problems if p.kind is ProblemKind.UNKNOWN_FIELD)
    assert unknown.field == "data.battery." + "x" * 31 + "…"


def test_problems_are_hashable_for_log_once() -> None:
    result = sensors(load={"power": "x"}, battery={"power": "x"})
    assert len(set(result.problems)) == 2
    assert all(re.fullmatch(r"[a-z_]+", p.kind.value) for p in result.problems)


def test_v2_data_does_not_need_every_section() -> None:
    payload = v2(data={"net_grid": {"power": -37800, "energy": -100.1}})
    reading = decode_v2_data(payload, received_at=RECEIVED).value
    assert reading is not None
    assert reading.values == {"net_grid.power_w": -37.8, "net_grid.energy_wh": -100.1}
    assert reading.import_energy_wh is None
    assert reading.export_energy_wh is None


def test_meter_clock_keeps_its_offset_winter_example() -> None:
    paris = timezone(timedelta(hours=1))
    reading = decode_v2_data(v2(datetime="2025-01-15T10:00:00+01:00"), received_at=RECEIVED).value
    assert reading is not None
    assert reading.meter_clock == datetime(2025, 1, 15, 10, 0, tzinfo=paris)


def test_accumulator_is_exported() -> None:
    assert TopicAccumulator("TeleInfo/LinkyConsommation").reading(RECEIVED) is None


# ---- TotalTracker, by example -----------------------------------------------------------------


def test_total_tracker_counts_a_decrease_as_a_reset() -> None:
    tracker = TotalTracker()
    meter, field = "METER001", "export.total_energy_wh"
    assert tracker.update(meter, field, 487632) == TotalStep(0)  # the baseline
    assert tracker.update(meter, field, 487640) == TotalStep(8)
    assert tracker.update(meter, field, 487640) == TotalStep(0)
    # {"energy": {"reset": "all"}} was obeyed: the counter restarts; what it shows is new energy
    assert tracker.update(meter, field, 12) == TotalStep(12, reset=True)
    assert tracker.update(meter, field, 20) == TotalStep(8)
    assert tracker.resets(meter, field) == 1
    assert tracker.last(meter, field) == 20
    assert tracker.resets(meter, "import.total_energy_wh") == 0
    assert tracker.update("METER002", field, 5) == TotalStep(0)  # meters are independent


def test_total_tracker_ignores_what_is_not_a_total() -> None:
    tracker = TotalTracker()
    tracker.update("M", "f", 10)
    for bad in (float("nan"), float("inf"), -1, -0.5, True):
        assert tracker.update("M", "f", bad) == TotalStep(0, ignored=True)
    assert tracker.last("M", "f") == 10
    assert tracker.update("M", "f", 11) == TotalStep(1)
    assert tracker.update("M", "f", 11.5) == TotalStep(0.5)
    assert tracker.update("M", "zero", -0.0) == TotalStep(0)  # -0.0 is 0, not negative
    zero = tracker.last("M", "zero")
    assert zero is not None
    assert math.copysign(1, zero) == 1


def test_total_tracker_jitter_is_noise_not_a_reset() -> None:
    """A float counter re-rounded by the device (10.1163 then 10.1162) is not a reset."""
    tracker = TotalTracker(jitter=0.01)
    tracker.update("M", "load.total_energy_wh", 10.1163)
    assert tracker.update("M", "load.total_energy_wh", 10.1162) == TotalStep(0)
    assert tracker.last("M", "load.total_energy_wh") == 10.1163  # the baseline stays up
    step = tracker.update("M", "load.total_energy_wh", 10.1263)
    assert step.delta == pytest.approx(0.01)  # counted once, from the higher baseline
    assert tracker.update("M", "load.total_energy_wh", 0.5) == TotalStep(0.5, reset=True)
    with pytest.raises(ValueError, match="jitter"):
        TotalTracker(jitter=-1)
    with pytest.raises(ValueError, match="jitter"):
        TotalTracker(jitter=float("nan"))


def test_total_tracker_forget() -> None:
    tracker = TotalTracker()
    tracker.update("M", "f", 10)
    tracker.update("M", "f", 5)
    tracker.update("N", "f", 7)
    tracker.forget("M")
    assert tracker.last("M", "f") is None
    assert tracker.resets("M", "f") == 0
    assert tracker.update("M", "f", 3) == TotalStep(0)  # a new baseline, not a reset
    assert tracker.last("N", "f") == 7


# ---- No Home Assistant ------------------------------------------------------------------------

PURITY_SCRIPT = """
import sys
from importlib.abc import MetaPathFinder

class NoHomeAssistant(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "homeassistant" or name.startswith("homeassistant."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoHomeAssistant())
from datetime import datetime, timezone
from custom_components.energy_ledger.core.mqtt import decode_topic_value, decode_v2_data

now = datetime.now(timezone.utc)
payload = b'{"meterId": "M", "units": {"energy": "kWh"}, "data": {"import": {"total_energy": 2}}}'
assert decode_v2_data(payload, received_at=now).value.import_energy_wh == 2000
assert decode_topic_value("T", "T/EASF01", b"802").value == 802
assert not any(m.startswith("homeassistant") for m in sys.modules)
print("ok")
"""


def test_mqtt_core_runs_without_home_assistant() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PURITY_SCRIPT],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("key", ["correlation_id", "correlationId"])
def test_telemetry_echoing_a_command_id_is_not_a_problem(key: str) -> None:
    """A meter acknowledging inside its telemetry must not raise the unknown-field warning."""
    v1 = json.loads(V1_SENSORS)
    v1[key] = "0f8fad5b-d9cb-469f-a165-70867728950e"
    v1_result = decode_v1_sensors(json.dumps(v1), meter_id="METER001", received_at=RECEIVED)
    assert v1_result.problems == ()
    assert v1_result.value is not None
    assert key not in v1_result.value.values
    v2 = {**V2_DATA, key: "0f8fad5b-d9cb-469f-a165-70867728950e"}
    v2_result = decode_v2_data(dumps(v2), received_at=RECEIVED)
    assert v2_result.problems == ()
    assert v2_result.value is not None
