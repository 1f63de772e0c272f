"""EnerLink commands: the payloads the platform sends, their validation, and their tracking."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.energy_ledger.core.mqtt import GridMode
from custom_components.energy_ledger.core.mqtt.commands import (
    DEFAULT_TIMEOUT,
    MAX_COMMAND_BYTES,
    SENSOR_INTERVAL_MAX_MS,
    SENSOR_INTERVAL_MIN_MS,
    Command,
    CommandStatus,
    CommandTracker,
    EnergyReset,
    InvalidCommandError,
    TrackedCommand,
    command_settings,
    correlation_ids_in,
    energy_reset_command,
    grid_mode_command,
    raw_command,
    sensor_interval_command,
    setting_as_dict,
    setting_from_dict,
    settlement_reset_command,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "enerlink"
NOW = datetime(2025, 7, 16, 4, 47, 22, 732_000, tzinfo=UTC)
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def real_command_payloads() -> list[dict[str, Any]]:
    """The command payloads the EnerLink platform really sent (device_commands dump)."""
    rows = (SAMPLES / "dump_device_commands_rows.tsv").read_text().splitlines()[1:]
    return [json.loads(row.split("\t")[3]) for row in rows if row.count("\t") > 3]


def body_of(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("timestamp", "correlation_id")}


# ---- Payloads ---------------------------------------------------------------------------------


def test_builders_produce_the_real_platforms_payload_shapes() -> None:
    """Every builder's output has the shape of a real row, envelope included."""
    real_bodies = [body_of(p) for p in real_command_payloads()]
    assert {"grid": "export"} in real_bodies
    assert {"energy": {"reset_settlement": "all"}} in real_bodies
    built = {
        "grid": grid_mode_command(GridMode.EXPORT, now=NOW),
        "settlement": settlement_reset_command(now=NOW),
        "reset": energy_reset_command(EnergyReset.BATTERY, now=NOW),
        "interval": sensor_interval_command(5000, now=NOW),
    }
    assert json.loads(built["grid"].encode()) == {
        "grid": "export",
        "timestamp": "2025-07-16T04:47:22.732Z",
        "correlation_id": built["grid"].correlation_id,
    }
    assert body_of(json.loads(built["settlement"].encode())) == {
        "energy": {"reset_settlement": "all"}
    }
    assert body_of(json.loads(built["reset"].encode())) == {"energy": {"reset": "battery"}}
    assert body_of(json.loads(built["interval"].encode())) == {"mqtt": {"sensor_interval": 5000}}
    for command in built.values():
        payload = json.loads(command.encode())
        assert uuid.UUID(payload["correlation_id"]).version == 4
        assert ISO_MILLIS.match(payload["timestamp"]), payload["timestamp"]
    # The real platform's envelope has the same two keys, in the same format.
    for real in real_command_payloads():
        assert ISO_MILLIS.match(real["timestamp"])
        uuid.UUID(real["correlation_id"])


def test_every_command_gets_its_own_correlation_id() -> None:
    ids = {grid_mode_command("off", now=NOW).correlation_id for _ in range(50)}
    assert len(ids) == 50


def test_timestamp_is_utc_whatever_the_callers_zone() -> None:
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    assert grid_mode_command("import", now=paris).payload["timestamp"] == (
        "2025-07-16T04:47:22.732Z"
    )
    with pytest.raises(ValueError, match="timezone"):
        grid_mode_command("import", now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize("payload", real_command_payloads())
def test_every_real_command_is_a_valid_raw_command(payload: dict[str, Any]) -> None:
    """Grid, settlement and motor commands the platform sent pass validation unchanged."""
    command = raw_command(body_of(payload), now=NOW)
    assert body_of(json.loads(command.encode())) == body_of(payload)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "the command is empty"),
        ([{"grid": "off"}], "must be a JSON object"),
        ("grid", "must be a JSON object"),
        ({"grid": "exporting"}, "data['grid']"),
        ({"energy": {"rest": "all"}}, "data['energy']['rest']"),
        ({"energy": {"reset": "wind"}}, "data['energy']['reset']"),
        ({"energy": {"reset_settlement": "battery"}}, "data['energy']['reset_settlement']"),
        ({"energy": {}}, "energy needs reset or reset_settlement"),
        ({"mqtt": {"sensor_interval": 5}}, "between 1000 and 3600000 ms"),
        ({"mqtt": {"sensor_interval": 5000.5}}, "whole number of milliseconds"),
        ({"mqtt": {"sensor_interval": True}}, "whole number of milliseconds"),
        ({"motor1": {"percent": float("nan")}}, "data['motor1']['percent']"),
        ({"motor1": {"percent": object()}}, "is not a JSON value"),
        ({"relay": {1: "open"}}, "keys must be text"),
        ({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "nested deeper"),
        ({"grid": "off", "correlation_id": "mine"}, "data['correlation_id']"),
        ({"grid": "off", "timestamp": "2025-01-01T00:00:00Z"}, "data['timestamp']"),
        ({"blob": "x" * MAX_COMMAND_BYTES}, "longer than 4096 bytes"),
    ],
)
def test_invalid_raw_commands_say_which_field_is_wrong(body: object, message: str) -> None:
    with pytest.raises(InvalidCommandError) as caught:
        raw_command(body, now=NOW)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_builders_validate_their_arguments() -> None:
    with pytest.raises(InvalidCommandError):
        grid_mode_command("exporting", now=NOW)
    with pytest.raises(InvalidCommandError):
        energy_reset_command("wind", now=NOW)
    with pytest.raises(InvalidCommandError):
        sensor_interval_command(SENSOR_INTERVAL_MIN_MS - 1, now=NOW)
    with pytest.raises(InvalidCommandError):
        sensor_interval_command(SENSOR_INTERVAL_MAX_MS + 1, now=NOW)
    assert sensor_interval_command(SENSOR_INTERVAL_MAX_MS, now=NOW).body == {
        "mqtt": {"sensor_interval": SENSOR_INTERVAL_MAX_MS}
    }


def test_command_settings_are_what_the_meter_runs_with_once_acknowledged() -> None:
    assert command_settings({"grid": "export"}) == {"grid": GridMode.EXPORT}
    assert command_settings({"mqtt": {"sensor_interval": 5000}}) == {"sensor_interval": 5000}
    assert command_settings({"energy": {"reset": "all"}}) == {}
    assert command_settings({"motor1": {"percent": 70}}) == {}


# ---- Acknowledgements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b'{"correlation_id": "c-1"}',
        b'{"ack": {"correlationId": "c-1", "ok": true}}',
        b'{"timestamp": 5, "grid": {"mode": "export"}, "correlation_id": "c-1"}',
        b'{"results": [{"correlation_id": "c-1"}]}',
    ],
)
def test_correlation_ids_are_found_wherever_the_device_puts_them(payload: bytes) -> None:
    assert correlation_ids_in(payload) == {"c-1"}


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"802",
        b"not json but says correlation_id",
        b'{"correlation_id": 42}',
        b'{"note": "correlation"}',
        b"\xff\xfe correlation",
    ],
)
def test_payloads_without_a_correlation_id_acknowledge_nothing(payload: bytes) -> None:
    assert correlation_ids_in(payload) == frozenset()


def _ack(command: Command) -> bytes:
    return json.dumps({"status": "ok", "correlation_id": command.correlation_id}).encode()


def test_pending_then_acknowledged_by_a_message_carrying_its_id() -> None:
    tracker = CommandTracker()
    first = grid_mode_command("export", now=NOW)
    second = energy_reset_command("all", now=NOW)
    tracked, given_up = tracker.track("METER001", first, NOW)
    tracker.track("METER001", second, NOW)
    assert given_up == ()
    assert tracked.status is CommandStatus.PENDING
    assert tracked.deadline == NOW + DEFAULT_TIMEOUT == NOW + timedelta(minutes=5)
    assert tracker.observe(b'{"correlation_id": "someone-else"}', NOW) == ()
    later = NOW + timedelta(seconds=2)
    (acked,) = tracker.observe(_ack(first), later)
    assert (acked.meter, acked.status, acked.settled_at) == (
        "METER001",
        CommandStatus.ACKNOWLEDGED,
        later,
    )
    assert acked.command is first
    assert list(tracker.pending) == [second.correlation_id]
    # A second acknowledgement of the same command changes nothing.
    assert tracker.observe(_ack(first), later) == ()


def test_one_message_may_acknowledge_several_commands() -> None:
    tracker = CommandTracker()
    commands = [grid_mode_command("off", now=NOW) for _ in range(3)]
    for command in commands:
        tracker.track("m", command, NOW)
    payload = json.dumps({"acks": [{"correlation_id": c.correlation_id} for c in commands]})
    acked = tracker.observe(payload.encode(), NOW)
    assert {t.command.correlation_id for t in acked} == {c.correlation_id for c in commands}
    assert not tracker.pending


def test_timed_out_when_its_timer_fires_and_late_acks_are_ignored() -> None:
    tracker = CommandTracker(timeout=timedelta(seconds=30))
    command = settlement_reset_command(now=NOW)
    tracked, _ = tracker.track("v1", command, NOW)
    assert tracked.deadline == NOW + timedelta(seconds=30)
    expired = tracker.expire(command.correlation_id, tracked.deadline)
    assert expired is not None
    assert expired.status is CommandStatus.TIMED_OUT
    assert expired.settled_at == tracked.deadline
    assert tracker.expire(command.correlation_id, tracked.deadline) is None
    assert tracker.observe(_ack(command), tracked.deadline) == ()


def test_an_acknowledged_command_never_times_out() -> None:
    tracker = CommandTracker()
    command = grid_mode_command("import", now=NOW)
    tracker.track("v1", command, NOW)
    tracker.observe(_ack(command), NOW)
    assert tracker.expire(command.correlation_id, NOW + DEFAULT_TIMEOUT) is None


def test_memory_is_bounded_the_oldest_is_given_up() -> None:
    tracker = CommandTracker(max_pending=3)
    commands = [grid_mode_command("off", now=NOW) for _ in range(5)]
    given_up_all: list[TrackedCommand] = []
    for command in commands:
        _, given_up = tracker.track("m", command, NOW)
        given_up_all += given_up
    assert [t.command for t in given_up_all] == commands[:2]
    assert {t.status for t in given_up_all} == {CommandStatus.TIMED_OUT}
    assert list(tracker.pending) == [c.correlation_id for c in commands[2:]]


def test_discarded_commands_are_forgotten() -> None:
    tracker = CommandTracker()
    command = grid_mode_command("off", now=NOW)
    tracker.track("m", command, NOW)
    tracker.discard(command.correlation_id)
    assert not tracker.pending
    assert tracker.observe(_ack(command), NOW) == ()


def test_tracker_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="timeout"):
        CommandTracker(timeout=timedelta(0))
    with pytest.raises(ValueError, match="max_pending"):
        CommandTracker(max_pending=0)
    tracker = CommandTracker()
    command = grid_mode_command("off", now=NOW)
    tracker.track("m", command, NOW)
    with pytest.raises(ValueError, match="already pending"):
        tracker.track("m", command, NOW)


def test_a_command_may_carry_its_own_timeout() -> None:
    """The user changed the timeout: new commands get it, pending ones keep their deadline."""
    tracker = CommandTracker()
    before = grid_mode_command("off", now=NOW)
    after = grid_mode_command("import", now=NOW)
    first, _ = tracker.track("v1", before, NOW)
    second, _ = tracker.track("v1", after, NOW, timedelta(seconds=60))
    assert first.deadline == NOW + timedelta(minutes=5)
    assert second.deadline == NOW + timedelta(seconds=60)
    with pytest.raises(ValueError, match="timeout"):
        tracker.track("v1", energy_reset_command("all", now=NOW), NOW, timedelta(0))
    assert list(tracker.pending) == [before.correlation_id, after.correlation_id]


def _round_trip(tracked: TrackedCommand) -> TrackedCommand:
    """Through JSON, as Home Assistant stores restore data."""
    return TrackedCommand.from_dict(tracked.meter, json.loads(json.dumps(tracked.as_dict())))


def test_tracked_commands_survive_storage_as_they_were() -> None:
    tracker = CommandTracker()
    command = sensor_interval_command(5000, now=NOW)
    pending, _ = tracker.track("METER001", command, NOW)
    (acknowledged,) = tracker.observe(_ack(command), NOW + timedelta(seconds=2))
    for tracked in (pending, acknowledged):
        restored = _round_trip(tracked)
        assert restored == tracked
        assert restored.command.payload == command.payload
    assert _round_trip(acknowledged).settled_at == NOW + timedelta(seconds=2)


def test_a_command_pending_at_shutdown_comes_back_timed_out() -> None:
    """Nobody listened while Home Assistant was stopped: the outcome is unknown, not pending."""
    tracker = CommandTracker()
    pending, _ = tracker.track("v1", settlement_reset_command(now=NOW), NOW)
    back = NOW + timedelta(minutes=1)  # well before its deadline
    restored = _round_trip(pending).after_restart(back)
    assert (restored.status, restored.settled_at) == (CommandStatus.TIMED_OUT, back)
    assert restored.command == pending.command
    command = grid_mode_command("off", now=NOW)
    tracker.track("v1", command, NOW)
    (acknowledged,) = tracker.observe(_ack(command), NOW)
    assert acknowledged.after_restart(back) is acknowledged


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"command": {"grid": "sideways"}}, "grid"),
        ({"command": {"correlation_id": "x"}}, "correlation_id"),
        ({"sent_at": "2025-07-16T04:47:22"}, "sent_at"),
        ({"deadline": "yesterday"}, "deadline"),
        ({"correlation_id": 42}, "correlation_id"),
        ({"settled_at": 3}, "settled_at"),
    ],
)
def test_stored_commands_that_make_no_sense_are_refused_by_field(
    change: dict[str, object], field: str
) -> None:
    tracked, _ = CommandTracker().track("v1", grid_mode_command("off", now=NOW), NOW)
    data = {**tracked.as_dict(), **change}
    with pytest.raises(InvalidCommandError, match=field):
        TrackedCommand.from_dict("v1", data)


def test_a_stored_command_missing_a_field_is_refused() -> None:
    tracked, _ = CommandTracker().track("v1", grid_mode_command("off", now=NOW), NOW)
    data = tracked.as_dict()
    del data["deadline"]
    with pytest.raises(InvalidCommandError, match="deadline"):
        TrackedCommand.from_dict("v1", data)


@pytest.mark.parametrize(
    ("name", "value"), [("grid", GridMode.EXPORT), ("sensor_interval", SENSOR_INTERVAL_MIN_MS)]
)
def test_acknowledged_settings_survive_storage_with_their_time(name: str, value: object) -> None:
    stored = json.loads(json.dumps(setting_as_dict(NOW, value)))
    assert setting_from_dict(name, stored) == (NOW, value)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("grid", {"value": "sideways", "acknowledged_at": NOW.isoformat()}, "grid"),
        ("sensor_interval", {"value": 5, "acknowledged_at": NOW.isoformat()}, "between"),
        ("sensor_interval", {"value": "5000", "acknowledged_at": NOW.isoformat()}, "whole"),
        ("grid", {"value": "export"}, "ISO"),
        ("grid", {"value": "export", "acknowledged_at": "2025-07-16T04:47"}, "time zone"),
        ("relay", {"value": "on", "acknowledged_at": NOW.isoformat()}, "unknown setting"),
    ],
)
def test_stored_settings_that_make_no_sense_are_refused(
    name: str, data: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidCommandError, match=reason):
        setting_from_dict(name, data)
