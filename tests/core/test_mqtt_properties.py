"""Property tests (hypothesis) of the MQTT decoders and of TotalTracker.

What is asserted, precisely:

1. Every decoder, on arbitrary bytes, on arbitrary JSON values (NaN and infinities included, as
   Python's json writes them), on payloads shaped like the real ones but with arbitrary values
   in every place (wrong types, NaN, negative and huge numbers, ISO text, unknown units), and on
   the real samples with bytes replaced: never raises, and returns a `DecodeResult` whose
   problems all have a known kind. A `Reading` it returns has no non-finite number anywhere in
   its values, no negative (or negative-zero) energy counter outside the signed net_* balances,
   a state of charge within 0-100 %, and normalized energy totals that are None or non-negative
   ints. Device records hold non-negative int uptime and heap and finite numbers only.
2. Per-topic decoding and the accumulator, on arbitrary topics under the base and arbitrary
   payloads: never raise; the assembled Reading's energy totals are None or non-negative ints.
3. TotalTracker, on any sequence of totals (negative, NaN, infinite, booleans included): every
   delta is finite and non-negative; an invalid total is ignored and changes nothing; energy is
   conserved: the sum of deltas is the last baseline minus the first plus every baseline a reset
   abandoned; a non-decreasing sequence gives exactly last - first and no reset.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from mqtt_samples import V1_HEARTBEAT, V1_SENSORS, V1_STATUS

from custom_components.energy_ledger.core.mqtt import (
    SIGNED_SUBSYSTEMS,
    SUBSYSTEMS,
    DecodeResult,
    DeviceStatus,
    Heartbeat,
    Problem,
    ProblemKind,
    TopicAccumulator,
    TopicValue,
    TotalTracker,
    decode_topic_value,
    decode_v1_heartbeat,
    decode_v1_sensors,
    decode_v1_status,
    decode_v2_data,
    decode_v2_status,
)
from custom_components.energy_ledger.core.mqtt.enerlink import FIELDS
from custom_components.energy_ledger.core.reading import Reading

FAST = settings(max_examples=300, deadline=None)
RECEIVED = datetime(2025, 10, 26, 4, 27, 11, tzinfo=UTC)

# ---- Strategies -------------------------------------------------------------------------------

numbers = (
    st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([10**400, -(10**400), 2**63, -1, 0])
    | st.floats()  # NaN, infinities, -0.0, subnormals
    | st.sampled_from([1.7e308, -1.7e308, 5e-324, -0.0, 0.1101, 994.8])
)
texts = st.text(max_size=12) | st.sampled_from(
    ["", " ", "994.8", "NaN", "2025-10-26T04:27:10Z", "2025-10-26T04:27:10", "import", "x" * 300]
)
scalars = st.none() | st.booleans() | numbers | texts
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
field_names = st.sampled_from([*FIELDS, "temperature", "", "x" * 40])
sections = st.dictionaries(field_names, values, max_size=9)
subsystem_names = st.sampled_from([*sorted(SUBSYSTEMS), "wind", "timestamp", "qos"])
unit_names = st.sampled_from(
    [
        *("W", "mW", "kW", "MW", "A", "mA", "V", "mV", "kV", "Wh", "kWh", "mWh", "MWh", "%"),
        *("ISO8601", "ms", "s", "bytes", "B", "dBm", "KB", "?", ""),
    ]
)
unit_keys = st.sampled_from(
    [
        *("power", "current", "voltage", "energy", "soc", "datetime", "uptime", "free_heap"),
        *("rssi", "total_energy", "settlement_energy_wh", "daily_energy"),
    ]
)
units_blocks = st.dictionaries(unit_keys, unit_names | values, max_size=8)
meter_ids = st.sampled_from(["METER001", "METER002", "", "  ", "x" * 80]) | values
clocks = (
    st.sampled_from(
        ["2025-10-26T04:27:10Z", "2025-10-26T04:27:10+07:00", "2025-10-26T04:27:10", "9999-99-99"]
    )
    | values
)

v1_sensors = st.dictionaries(subsystem_names, sections | values, max_size=7)
v2_data = st.fixed_dictionaries(
    {},
    optional={
        "meterId": meter_ids,
        "datetime": clocks,
        "units": units_blocks | values,
        "data": st.dictionaries(subsystem_names, sections | values, max_size=10) | values,
        "extra": values,
    },
)
status_fields = st.sampled_from(
    [
        *("connected", "rssi", "ip", "attempts", "mode", "exporting", "importing", "uptime"),
        *("free_heap", "temperature", "direction"),
    ]
)
status_sections = st.dictionaries(status_fields, values | st.sampled_from(["export", "off"]))
status_names = st.sampled_from(["wifi", "mqtt", "grid", "system", "pwm", "motor1", "timestamp"])
v1_status = st.dictionaries(status_names, status_sections | values, max_size=6)
v2_status = st.fixed_dictionaries(
    {},
    optional={
        "meterId": meter_ids,
        "datetime": clocks,
        "units": units_blocks | values,
        "data": st.dictionaries(status_names, status_sections | values, max_size=6) | values,
    },
)
heartbeats = st.dictionaries(
    st.sampled_from(["status", "uptime", "free_heap", "timestamp", "qos", "x"]),
    values,
    max_size=6,
)


def as_json(value: object) -> bytes:
    return json.dumps(value).encode()


# ---- Invariants -------------------------------------------------------------------------------


def _finite(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def check_problems(result: DecodeResult[object]) -> None:
    assert isinstance(result, DecodeResult)
    for problem in result.problems:
        assert isinstance(problem, Problem)
        assert problem.kind in set(ProblemKind)
        assert len(problem.field) < 200


def check_reading(result: DecodeResult[Reading]) -> None:
    check_problems(result)
    reading = result.value
    if reading is None:
        return
    assert isinstance(reading, Reading)
    for total in (reading.import_energy_wh, reading.export_energy_wh):
        assert total is None or (type(total) is int and total >= 0)
    for power in (reading.import_power_va, reading.export_power_va):
        assert power is None or type(power) is int
    assert reading.meter_clock is None or reading.meter_clock.utcoffset() is not None
    for key, value in reading.values.items():
        assert _finite(value), key
        subsystem, _, field = key.partition(".")
        if field.endswith("_energy_wh") and subsystem not in SIGNED_SUBSYSTEMS:
            assert isinstance(value, (int, float))
            assert not isinstance(value, bool)
            assert value >= 0
            assert not isinstance(value, float) or math.copysign(1, value) > 0, key  # no -0.0
        if isinstance(value, int) and not isinstance(value, bool):
            assert abs(value) <= sys.float_info.max, key
        if field.endswith(("_w", "_a", "_v")):
            assert isinstance(value, (int, float))
            assert not isinstance(value, bool)
        if field == "soc_pct":
            assert isinstance(value, (int, float))
            assert 0 <= value <= 100


def check_device(result: DecodeResult[Heartbeat] | DecodeResult[DeviceStatus]) -> None:
    check_problems(result)
    record = result.value
    if record is None:
        return
    for count in (record.uptime_ms, record.free_heap_bytes):
        assert count is None or (type(count) is int and count >= 0)
    assert all(_finite(v) and not isinstance(v, (dict, list)) for v in record.extra.values())
    if isinstance(record, DeviceStatus):
        assert record.wifi_rssi_dbm is None or math.isfinite(record.wifi_rssi_dbm)
        assert record.mqtt_attempts is None or record.mqtt_attempts >= 0


def decode_all(payload: bytes) -> None:
    check_reading(decode_v1_sensors(payload, meter_id="M", received_at=RECEIVED))
    check_reading(decode_v2_data(payload, received_at=RECEIVED))
    check_reading(decode_v2_data(payload, received_at=RECEIVED, meters={"METER001"}))
    check_device(decode_v1_heartbeat(payload, received_at=RECEIVED))
    check_device(decode_v1_status(payload, received_at=RECEIVED))
    check_device(decode_v2_status(payload, received_at=RECEIVED))


# ---- 1. The JSON decoders ---------------------------------------------------------------------


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes(payload: bytes) -> None:
    decode_all(payload)


@FAST
@given(values)
def test_arbitrary_json(value: object) -> None:
    decode_all(as_json(value))


@FAST
@given(v1_sensors)
def test_shaped_v1_sensors(payload: dict[str, object]) -> None:
    check_reading(decode_v1_sensors(as_json(payload), meter_id="M", received_at=RECEIVED))
    units = {"power": "mW", "current": "mA", "energy": "kWh"}
    check_reading(
        decode_v1_sensors(as_json(payload), meter_id="M", received_at=RECEIVED, units=units)
    )


@FAST
@given(v2_data)
def test_shaped_v2_data(payload: dict[str, object]) -> None:
    check_reading(decode_v2_data(as_json(payload), received_at=RECEIVED))
    check_reading(decode_v2_data(as_json(payload), received_at=RECEIVED, meters={"METER001"}))


@FAST
@given(v1_status, v2_status, heartbeats)
def test_shaped_device_payloads(
    status: dict[str, object], status2: dict[str, object], heartbeat: dict[str, object]
) -> None:
    check_device(decode_v1_status(as_json(status), received_at=RECEIVED))
    check_device(decode_v2_status(as_json(status2), received_at=RECEIVED))
    check_device(decode_v1_heartbeat(as_json(heartbeat), received_at=RECEIVED))


@FAST
@given(
    st.sampled_from([V1_SENSORS, V1_STATUS, V1_HEARTBEAT]),
    st.lists(st.tuples(st.integers(min_value=0), st.binary(max_size=3)), min_size=1, max_size=4),
)
def test_damaged_samples(sample: bytes, damage: list[tuple[int, bytes]]) -> None:
    payload = bytearray(sample)
    for position, replacement in damage:
        at = position % len(payload)
        payload[at : at + 1] = replacement
    decode_all(bytes(payload))


# ---- 2. One value per topic -------------------------------------------------------------------

BASE = "TeleInfo/LinkyConsommation"
labels = st.sampled_from(
    [
        *("EAST", "EAIT", "EASF01", "HCHC", "HCHP", "SINSTS", "SINSTI", "PAPP", "NTARF", "PTEC"),
        *("LTARF", "DATE", "ADSC", "ADCO", "STGE", "RELAIS", "DEMAIN", "PJOURF+1", "SMAXSN"),
        "PPOT",
    ]
) | st.text("ABCDEHNPST0123+-/h", max_size=11)
payloads = (
    st.binary(max_size=40)
    | st.text(max_size=20)
    | st.integers().map(str)
    | st.sampled_from(["E241011010531", " 000000000000", "HP..", "003A0101", "----", "-802"])
)


@FAST
@given(st.lists(st.tuples(labels, st.booleans(), payloads), max_size=25))
def test_per_topic_never_raises(messages: list[tuple[str, bool, bytes | str]]) -> None:
    accumulator = TopicAccumulator(BASE)
    for label, horodate, payload in messages:
        topic = f"{BASE}/{label}/h" if horodate else f"{BASE}/{label}"
        single = decode_topic_value(BASE, topic, payload)
        fed = accumulator.feed(topic, payload)
        assert isinstance(single, (TopicValue, Problem))
        assert fed == single
        if isinstance(fed, Problem):
            assert fed.kind in set(ProblemKind)
        reading = accumulator.reading(RECEIVED)
        assert reading is not None or not accumulator.labels
        if reading is not None:
            for total in (reading.import_energy_wh, reading.export_energy_wh):
                assert total is None or (type(total) is int and total >= 0)
            assert all(v >= 0 for v in reading.import_registers_wh.values())


# ---- 3. TotalTracker --------------------------------------------------------------------------

totals = (
    st.integers(min_value=-5, max_value=10**15)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
)


def _valid(total: object) -> bool:
    return (
        not isinstance(total, bool)
        and isinstance(total, (int, float))
        and math.isfinite(total)
        and total >= 0
    )


@FAST
@given(st.lists(totals, max_size=40), st.sampled_from([0, 0.5, 10, 1000]))
def test_total_tracker_deltas_are_never_negative(sequence: list[float], jitter: float) -> None:
    tracker = TotalTracker(jitter=jitter)
    first: float | None = None
    abandoned = Fraction(0)
    counted = Fraction(0)
    rounding = Fraction(0)  # each float subtraction rounds by at most half an ulp
    resets = 0
    for total in sequence:
        before = tracker.last("M", "import.total_energy_wh")
        step = tracker.update("M", "import.total_energy_wh", total)
        assert math.isfinite(step.delta)
        assert step.delta >= 0
        assert math.copysign(1, step.delta) > 0
        assert step.ignored is not _valid(total)
        if step.ignored:
            assert tracker.last("M", "import.total_energy_wh") == before
            assert step.delta == 0
            continue
        if first is None:
            first = total
            assert step.delta == 0
        if step.reset:
            resets += 1
            assert before is not None
            assert total < before - jitter
            assert step.delta == total
            abandoned += Fraction(before)
        counted += Fraction(step.delta)
        rounding += Fraction(math.ulp(step.delta)) if isinstance(step.delta, float) else 0
    assert tracker.resets("M", "import.total_energy_wh") == resets
    last = tracker.last("M", "import.total_energy_wh")
    if first is None:
        assert last is None
        return
    assert last is not None
    assert abs(counted - (Fraction(last) - Fraction(first) + abandoned)) <= rounding


@FAST
@given(st.lists(st.integers(min_value=0, max_value=10**15), max_size=40))
def test_total_tracker_on_ints_is_exact(sequence: list[int]) -> None:
    tracker = TotalTracker()
    steps = [tracker.update("M", "load.total_energy_wh", total) for total in sequence]
    assert all(type(step.delta) is int and step.delta >= 0 for step in steps)
    falls = sum(1 for a, b in itertools.pairwise(sequence) if b < a)
    assert tracker.resets("M", "load.total_energy_wh") == falls
    if sequence:
        lost = sum(a for a, b in itertools.pairwise(sequence) if b < a)
        assert sum(step.delta for step in steps) == sequence[-1] - sequence[0] + lost


@FAST
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=40))
def test_total_tracker_rising_totals_count_exactly(sequence: list[int]) -> None:
    rising = sorted(sequence)
    tracker = TotalTracker()
    steps = [tracker.update("M", "export.total_energy_wh", total) for total in rising]
    assert sum(step.delta for step in steps) == rising[-1] - rising[0]
    assert all(type(step.delta) is int for step in steps)
    assert not any(step.reset for step in steps)
    assert tracker.resets("M", "export.total_energy_wh") == 0
