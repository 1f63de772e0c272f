"""The MQTT simulator sends what our decoders accept, with counters a ledger can trust.

Its payloads go through the integration's own EnerLink decoders, which must find nothing wrong;
its counters are checked against its powers and against each other over whole simulated days.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m`: make `tools` importable
    sys.path.insert(0, str(ROOT))

from custom_components.energy_ledger.core.mqtt import (  # noqa: E402
    GridMode,
    TotalTracker,
    decode_v1_heartbeat,
    decode_v1_sensors,
    decode_v1_status,
    decode_v2_data,
    decode_v2_status,
)
from tools.mqtt_simulator import (  # noqa: E402
    BATTERY_RESERVE,
    BATTERY_WH,
    EnerLinkMeter,
    build_devices,
    data_rounds,
)

PARIS = ZoneInfo("Europe/Paris")
SUMMER = datetime(2026, 6, 20, 18, 0, tzinfo=PARIS)
"""Evening before the longest day: a night, a sunny day with surplus, two midnights."""
WINTER = datetime(2026, 1, 14, 6, 0, tzinfo=PARIS)
NOW = datetime(2026, 6, 21, tzinfo=UTC)
ENERGY = ("daily_energy_wh", "total_energy_wh", "settlement_energy_wh")


def _raw(payload: dict[str, object]) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize("start", [SUMMER, WINTER], ids=["summer", "winter"])
def test_v1_payloads_decode_without_problems(start: datetime) -> None:
    """Sensors, heartbeat and status of several v1 meters over 30 hours: no problem, every
    subsystem, values equal to the simulated flows."""
    devices = build_devices("v1", 3, interval=5, start=start, clock=0.0)
    assert [d.prefix for d in devices] == [
        "home/energy-monitor",
        "home/energy-monitor-2",
        "home/energy-monitor-3",
    ]
    seen_states: set[str] = set()
    for _ in range(30 * 6):  # every 10 minutes
        for device in devices:
            meter = device.meter
            meter.advance(600)
            sensors = decode_v1_sensors(_raw(meter.v1_sensors()), meter_id="m", received_at=NOW)
            heartbeat = decode_v1_heartbeat(_raw(meter.v1_heartbeat()), received_at=NOW)
            status = decode_v1_status(_raw(meter.v1_status()), received_at=NOW)
            assert sensors.problems == heartbeat.problems == status.problems == ()
            assert sensors.value is not None
            assert heartbeat.value is not None
            assert status.value is not None
            values = sensors.value.values
            flows = meter.flows()
            assert values["load.power_w"] == pytest.approx(flows.load, abs=0.05)
            assert values["solar.power_w"] == pytest.approx(flows.solar, abs=0.05)
            assert values["import.power_w"] == pytest.approx(flows.grid_import, abs=0.05)
            assert values["export.power_w"] == pytest.approx(flows.grid_export, abs=0.05)
            assert values["import.active"] is (flows.grid_import > 0)
            assert {k.split(".")[0] for k in values if "." in k} == {
                "load",
                "solar",
                "import",
                "export",
                "battery",
            }
            assert values["uptime_ms"] == heartbeat.value.uptime_ms == status.value.uptime_ms
            assert status.value.grid_mode is GridMode.EXPORT
            assert status.value.ip_address is not None
            assert status.value.ip_address.startswith("192.0.2.")  # documentation range
            seen_states.add(str(values["battery.state"]))
    assert seen_states <= {"charging", "discharging", "idle", "full", "empty"}
    if start == SUMMER:
        assert {"charging", "discharging"} <= seen_states


def test_v2_payloads_decode_without_problems() -> None:
    """Data and status of several v2 meters: no problem, units honoured, one id per meter."""
    devices = build_devices("v2", 4, interval=5, start=SUMMER, clock=0.0)
    ids = {d.meter.meter_id for d in devices}
    assert ids == {"METER001", "METER002", "METER003", "METER004"}
    for topic, payload in data_rounds(devices, 30 * 6, 600.0):
        assert topic == "enerlink/meters/data"
        data = decode_v2_data(payload, received_at=NOW, meters=ids)
        assert data.problems == ()
        assert data.value is not None
        raw = json.loads(payload)
        assert raw["units"]["power"] == "mW"
        # mW and mA on the wire, W and A once decoded.
        assert data.value.values["battery.power_w"] == raw["data"]["battery"]["power"] / 1000
        assert data.value.values["import.current_a"] == raw["data"]["import"]["current"] / 1000
        assert data.value.meter_clock is not None
        assert data.value.meter_id == raw["meterId"]
        # The grid's net power is what the import and export subsystems say.
        net = data.value.values["net_grid.power_w"]
        imported = data.value.values["import.power_w"]
        exported = data.value.values["export.power_w"]
        assert isinstance(net, float | int)
        assert isinstance(imported, float | int)
        assert isinstance(exported, float | int)
        assert net == pytest.approx(imported - exported, abs=0.002)
    for device in devices:
        topic, payload = device.status_message()
        assert topic == "enerlink/meters/status"
        status = decode_v2_status(payload, received_at=NOW, meters=ids)
        assert status.problems == ()
        assert status.value is not None
        assert status.value.meter_id == device.meter.meter_id
        assert status.value.wifi_rssi_dbm is not None
        assert status.value.uptime_ms is not None


def test_counters_never_decrease() -> None:
    """Over two days, decoded totals and settlement counters only rise, the daily ones fall at
    local midnight only (to less than what a few minutes bring), and our reset detector never
    sees a reset."""
    meter = EnerLinkMeter("METER001", 7, start=SUMMER)
    tracker = TotalTracker()
    previous: dict[str, float] | None = None
    previous_day = meter.now.astimezone(PARIS).date()
    midnights = 0
    for _ in range(48 * 60 // 7):
        meter.advance(7 * 60)
        reading = decode_v2_data(_raw(meter.v2_data()), received_at=NOW).value
        assert reading is not None
        counters = {
            k: float(v)
            for k, v in reading.values.items()
            if k.endswith(ENERGY) and not k.startswith("net_")
        }
        assert len(counters) == 18  # 6 subsystems x daily, total, settlement
        day = meter.now.astimezone(PARIS).date()
        new_day = day != previous_day
        midnights += new_day
        for key, value in counters.items():
            assert value >= 0
            if not key.endswith("daily_energy_wh"):
                assert not tracker.update("m", key, value).reset, key
            if previous is None:
                continue
            if key.endswith("daily_energy_wh") and new_day:
                assert value < 1000  # restarted at midnight: 7 minutes of energy at most
            else:
                assert value >= previous[key], key
        previous, previous_day = counters, day
    assert midnights == 2


def test_energy_is_conserved_and_independent_of_the_reading_pace() -> None:
    """Sun + grid in = home + grid out + what the battery stored; and a meter read every
    second counts the same energy as one read once an hour."""
    often = EnerLinkMeter("a", 3, start=SUMMER)
    rarely = EnerLinkMeter("b", 3, start=SUMMER)
    before = {name: counter.total for name, counter in often.counters.items()}
    soc_before = often.soc_wh
    for _ in range(6):
        for _ in range(3600):
            often.advance(1.0)
        rarely.advance(3600.0)
    delta = {name: often.counters[name].total - before[name] for name in before}
    stored = often.soc_wh - soc_before
    assert delta["solar"] + delta["import"] - delta["load"] - delta["export"] == pytest.approx(
        stored, abs=1e-6
    )
    assert delta["load"] > 1000  # six hours of a home: not a vacuous balance
    for name, counter in often.counters.items():
        assert counter.total == pytest.approx(rarely.counters[name].total, rel=1e-9), name
    assert often.soc_wh == pytest.approx(rarely.soc_wh, rel=1e-9)
    assert BATTERY_RESERVE * BATTERY_WH - 1e-6 <= often.soc_wh <= BATTERY_WH + 1e-6


def test_grid_mode_commands_change_the_flows() -> None:
    """``export`` sends the summer surplus to the grid, ``import`` never exports, ``off`` neither
    imports nor exports; the status shows the mode."""
    exported = {}
    for mode in ("export", "import", "off"):
        meter = EnerLinkMeter("METER001", 2, start=SUMMER)
        outcome = meter.apply_command({"grid": mode, "correlation_id": "c-1"})
        assert outcome.applied == [f"grid {mode}"]
        flows = []
        for _ in range(24 * 12):
            meter.advance(300)
            flows.append(meter.flows())
        exported[mode] = sum(f.grid_export for f in flows)
        if mode != "export":
            assert exported[mode] == 0
        if mode == "off":
            assert sum(f.grid_import for f in flows) == 0
        status = decode_v2_status(_raw(meter.v2_status()), received_at=NOW).value
        assert status is not None
        assert status.grid_mode == GridMode(mode)
    assert exported["export"] > 0


def test_reset_commands() -> None:
    """An energy reset zeroes that subsystem's counters (a device reset, as our tracker sees
    it); a settlement reset zeroes the settlement counters and leaves the totals alone."""
    meter = EnerLinkMeter("METER001", 4, start=SUMMER)
    meter.advance(3600)
    tracker = TotalTracker()
    before = decode_v1_sensors(_raw(meter.v1_sensors()), meter_id="m", received_at=NOW).value
    assert before is not None
    for key, value in before.values.items():
        if key.endswith(ENERGY):
            tracker.update("m", key, value)

    outcome = meter.apply_command({"energy": {"reset": "solar"}})
    assert outcome.applied == ["energy reset solar"]
    assert outcome.ignored == []
    meter.advance(5)
    after = decode_v1_sensors(_raw(meter.v1_sensors()), meter_id="m", received_at=NOW).value
    assert after is not None
    assert tracker.update("m", "solar.total_energy_wh", after.values["solar.total_energy_wh"]).reset
    assert after.values["solar.total_energy_wh"] < 10  # five seconds of sun at most
    assert after.values["load.total_energy_wh"] >= before.values["load.total_energy_wh"]

    meter.apply_command({"energy": {"reset_settlement": "all"}, "correlation_id": "c-2"})
    settled = decode_v1_sensors(_raw(meter.v1_sensors()), meter_id="m", received_at=NOW).value
    assert settled is not None
    assert settled.values["import.settlement_energy_wh"] == 0
    assert settled.values["export.settlement_energy_wh"] == 0
    assert settled.values["load.total_energy_wh"] == after.values["load.total_energy_wh"]


def test_interval_and_component_commands() -> None:
    """The sensor interval and component settings are applied and shown in the status; what
    the device does not understand is reported, not applied."""
    meter = EnerLinkMeter("METER001", 5, start=SUMMER)
    outcome = meter.apply_command(
        {
            "mqtt": {"sensor_interval": 10000},
            "motor1": {"percent": 70, "direction": "forward"},
            "grid": "sideways",
            "timestamp": "2026-06-21T10:00:00Z",
        }
    )
    assert outcome.applied == ["sensor interval 10000 ms", "motor1"]
    assert outcome.ignored == ["grid"]
    assert meter.grid_mode == "export"
    status = decode_v1_status(_raw(meter.v1_status()), received_at=NOW)
    assert status.problems == ()
    assert status.value is not None
    assert status.value.extra["mqtt.sensor_interval"] == 10000
    assert status.value.extra["motor1.percent"] == 70
    assert meter.apply_command({"mqtt": {"sensor_interval": 5}}).ignored == ["mqtt"]


def test_acknowledgement_carries_the_correlation_id() -> None:
    """The answer to a command is a status with the command's correlation id and its effect."""
    devices = build_devices("v1", 1, interval=5, start=SUMMER, clock=0.0)
    devices += build_devices("v2", 1, interval=5, start=SUMMER, clock=0.0)
    for device in devices:
        outcome = device.meter.apply_command({"grid": "off", "correlation_id": "5ab8df2b"})
        assert outcome.correlation_id == "5ab8df2b"
        topic, payload = device.status_message(outcome.correlation_id)
        assert topic == device.status_topic
        assert json.loads(payload)["correlation_id"] == "5ab8df2b"
        if device.profile == "v1":
            result = decode_v1_status(payload, received_at=NOW)
        else:
            result = decode_v2_status(payload, received_at=NOW)
        assert result.problems == ()
        assert result.value is not None
        assert result.value.grid_mode is GridMode.OFF


def test_same_seed_same_payloads() -> None:
    """Deterministic: two simulators with the same seed and calls publish the same bytes."""
    start = SUMMER + timedelta(hours=3)
    first = list(data_rounds(build_devices("v2", 2, interval=5, start=start, clock=0.0), 5, 5))
    again = list(data_rounds(build_devices("v2", 2, interval=5, start=start, clock=0.0), 5, 5))
    assert first == again
    assert len({payload for _, payload in first}) == len(first)


def test_no_settlement_counters_on_request() -> None:
    meter = EnerLinkMeter("METER001", 1, start=SUMMER, settlement=False)
    values = decode_v2_data(_raw(meter.v2_data()), received_at=NOW).value
    assert values is not None
    assert not [k for k in values.values if k.endswith("settlement_energy_wh")]
    assert "import.total_energy_wh" in values.values
