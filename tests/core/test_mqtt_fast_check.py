"""The fast walk of each payload schema decides exactly as voluptuous does (schema.LenientSchema).

Valid payloads skip voluptuous, so the walk must accept what voluptuous accepts, return the same
mapping (same keys, same order, same validated values), and refuse what voluptuous refuses (it
then runs to explain why). Checked on the real samples and on the shaped payloads of the
property tests (hypothesis), valid and invalid alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import voluptuous as vol
from hypothesis import given
from hypothesis import strategies as st
from mqtt_samples import SEED_SENSORS, SEED_STATUS, V1_HEARTBEAT, V1_SENSORS, V1_STATUS
from test_mqtt_properties import (
    FAST,
    heartbeats,
    unit_names,
    v1_sensors,
    v1_status,
    v2_data,
    v2_status,
    values,
)

from custom_components.energy_ledger.core.mqtt import DecodeResult, decode_v2_data
from custom_components.energy_ledger.core.mqtt.device import (
    V1_HEARTBEAT_SCHEMA,
    V1_STATUS_SCHEMA,
    V2_STATUS_SCHEMA,
)
from custom_components.energy_ledger.core.mqtt.enerlink import (
    V1_SENSORS_SCHEMA,
    V2_DATA_SCHEMA,
    _clean_v2_reading,
    _explained_v2_data,
)
from custom_components.energy_ledger.core.mqtt.schema import LenientSchema
from custom_components.energy_ledger.core.reading import Reading
from tools.mqtt_simulator import build_devices, data_rounds

START = datetime(2026, 6, 21, 0, 0, tzinfo=UTC)

SCHEMAS = {
    "v1 sensors": V1_SENSORS_SCHEMA,
    "v1 heartbeat": V1_HEARTBEAT_SCHEMA,
    "v1 status": V1_STATUS_SCHEMA,
    "v2 data": V2_DATA_SCHEMA,
    "v2 status": V2_STATUS_SCHEMA,
}


def _outcome(run: object, data: object) -> tuple[str, object]:
    assert callable(run)
    try:
        return "accepted", run(data)
    except (vol.Invalid, ValueError):
        return "refused", None


def _same_decision(schema: LenientSchema, data: object) -> str:
    """Assert both decide alike; return the decision."""
    kind, result = _outcome(schema.schema, data)
    try:
        fast = schema.check(data)
    except Exception:  # any refusal sends the payload to voluptuous
        assert kind == "refused", f"voluptuous accepted what the walk refused: {data!r}"
        return kind
    assert kind == "accepted", f"the walk accepted what voluptuous refused: {data!r}"
    assert isinstance(result, dict)
    assert fast == result
    assert list(fast) == list(result)  # same order: values are built in it
    return kind


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("v1 sensors", V1_SENSORS),
        ("v1 heartbeat", V1_HEARTBEAT),
        ("v1 status", V1_STATUS),
        ("v1 sensors", SEED_SENSORS),
        ("v1 status", SEED_STATUS),
    ],
)
def test_real_samples(name: str, payload: bytes) -> None:
    """The real samples: the valid ones are accepted by the walk with voluptuous's result."""
    decision = _same_decision(SCHEMAS[name], json.loads(payload))
    assert decision == ("refused" if payload in (SEED_SENSORS, SEED_STATUS) else "accepted")


def test_simulated_payloads() -> None:
    """Valid v2 data and status of simulated meters over a day: all accepted, same result."""
    devices = build_devices("v2", 3, interval=300.0, start=START, clock=0.0)
    data = [json.loads(payload) for _, payload in data_rounds(devices, 288, 300.0)]
    status = [json.loads(device.status_message()[1]) for device in devices]
    assert {_same_decision(V2_DATA_SCHEMA, payload) for payload in data} == {"accepted"}
    assert {_same_decision(V2_STATUS_SCHEMA, payload) for payload in status} == {"accepted"}


@FAST
@given(
    st.sampled_from(sorted(SCHEMAS)),
    v1_sensors | v2_data | v1_status | v2_status | heartbeats | values,
)
def test_shaped_payloads(name: str, data: object) -> None:
    """Arbitrary shaped payloads, against every schema."""
    _same_decision(SCHEMAS[name], data)


def test_unsupported_schema_is_refused_at_import() -> None:
    """A schema the walk cannot mirror is a programming error, not a silent difference."""
    with pytest.raises(TypeError):
        LenientSchema(vol.Schema({vol.Required("meterId"): str}))
    with pytest.raises(TypeError):
        LenientSchema(vol.Schema({vol.Optional("power"): vol.All(float, vol.Range(min=0))}))


# ---- The one-walk path of v2 data (enerlink._clean_v2_reading) --------------------------------
#
# A clean v2 data payload is validated and converted in one walk; anything amiss sends it to the
# general path. Whatever path it takes, `decode_v2_data` must answer what the general path alone
# answers: the same Reading (values in the same order, of the same types) and the same problems.


def _typed(result: DecodeResult[Reading]) -> object:
    reading = result.value
    if reading is None:
        return None
    return [(key, type(value), value) for key, value in reading.values.items()]


def _same_answer(raw: object, meters: set[str] | None = None) -> DecodeResult[Reading]:
    """Assert `decode_v2_data` answers as the general path; return its answer."""
    answer = decode_v2_data(json.dumps(raw).encode(), received_at=START, meters=meters)
    general = _explained_v2_data(raw, START, meters)
    assert answer == general
    assert _typed(answer) == _typed(general)
    return answer


def test_simulated_data_take_the_one_walk() -> None:
    """Simulated meters over a day: every message is clean, walked once, with the general
    path's Reading (not vacuous: the walk answers for each of them)."""
    devices = build_devices("v2", 3, interval=300.0, start=START, clock=0.0)
    for _, payload in data_rounds(devices, 288, 300.0):
        raw = json.loads(payload)
        assert _clean_v2_reading(raw, START) is not None
        assert _same_answer(raw).problems == ()
        assert _same_answer(raw, meters={raw["meterId"]}).problems == ()
        assert _same_answer(raw, meters={"another"}).value is None


_SIMULATED = [
    json.loads(payload)
    for _, payload in data_rounds(
        build_devices("v2", 1, interval=300.0, start=START, clock=0.0), 1, 300.0
    )
]
_PLACES = st.sampled_from(
    [
        ("meterId",),
        ("datetime",),
        ("units",),
        ("data",),
        ("units", "power"),
        ("units", "energy"),
        ("units", "datetime"),
        ("units", "soc"),
        ("units", "total_energy"),
        ("data", "battery"),
        ("data", "battery", "soc"),
        ("data", "battery", "state"),
        ("data", "battery", "power"),
        ("data", "import", "active"),
        ("data", "import", "total_energy"),
        ("data", "net_grid", "energy"),
        ("data", "solar_input", "voltage"),
        ("data", "wind"),
        ("data", "export", "temperature"),
        ("correlation_id",),
        ("qos",),
    ]
)


def _damaged(raw: dict[str, object], damage: list[tuple[tuple[str, ...], object | None]]) -> object:
    """`raw` with each (path, value) set, or removed when the value is None."""
    copy = json.loads(json.dumps(raw))
    for path, value in damage:
        node = copy
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return copy


@FAST
@given(
    st.lists(
        st.tuples(
            _PLACES,
            st.none() | unit_names | values | st.sampled_from([-0.0, -5, 101, 3.5e300, "%"]),
        ),
        max_size=3,
    ),
    st.none() | st.sampled_from([{"METER001"}, {"METER002"}]),
)
def test_damaged_simulated_data(
    damage: list[tuple[tuple[str, ...], object | None]], meters: set[str] | None
) -> None:
    """A real-shaped message with a few places changed, removed or added: the same answer."""
    _same_answer(_damaged(_SIMULATED[0], damage), meters)


@FAST
@given(v2_data)
def test_shaped_v2_data_answer_alike(raw: dict[str, object]) -> None:
    """Arbitrary v2-shaped payloads: the same answer as the general path."""
    _same_answer(raw)
