"""Hours of a simulated meter through Home Assistant: few state writes, exact hourly statistics.

Frames come from the simulator at the real three-phase pace (one every 1.3 s) with the clock
frozen and moved by the test, so hours of meter time take seconds. Their bytes go through the
serial source's reader into the coordinator, as the source does with what the port delivers
(the source itself is covered on a real pseudo-terminal in test_tic_end_to_end.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from tools.tic_simulator import MeterModel

from .test_tic_end_to_end import setup_meter

FRAME_PERIOD = timedelta(seconds=1.3)
HOURS = 3
START = datetime(2026, 1, 14, 5, 0, tzinfo=UTC)
"""A winter weekday morning: the off-peak to peak switch at 06:00 local (05:00 UTC) included."""


async def test_hours_of_frames_write_little_and_hourly_sums_are_exact(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Defaults write at most a tenth of every-frame writes; hourly sums equal register deltas."""
    freezer.move_to(START)
    model = MeterModel("standard", phases=3, producer=True, seed=11, start=START)
    entry = await setup_meter(hass, "/nonexistent/ttyTIC")
    coordinator = entry.runtime_data.coordinator
    coordinator.handle_connection(True)
    reader = coordinator.source.reader

    writes = 0

    our_entities: set[str] = set()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in our_entities

    @callback
    def count(_event: Event) -> None:
        nonlocal writes
        writes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count, event_filter=ours)
    hass.bus.async_listen(EVENT_STATE_REPORTED, count, event_filter=ours)

    registers_at_hour_end: dict[datetime, dict[str, int]] = {}
    first_registers: dict[str, int] | None = None
    frames = 0
    now = START
    end = START + timedelta(hours=HOURS)
    next_flush = START.replace(minute=59, second=59)
    while now < end:
        for reading in reader.read(model.frame_at(now), dt_util.utcnow):
            coordinator.handle_reading(reading)
            frames += 1
        if first_registers is None:
            first_registers = model.registers()
            await hass.async_block_till_done()
            our_entities = {
                e.entity_id
                for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            }
        registers_at_hour_end[now.replace(minute=0, second=0, microsecond=0)] = model.registers()
        now += FRAME_PERIOD
        freezer.move_to(now)
        if now >= next_flush:
            async_fire_time_changed(hass, next_flush)
            next_flush += timedelta(hours=1)
        await hass.async_block_till_done()

    # Writing every entity at every frame is what the naive integration does.
    enabled = [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.disabled_by is None
    ]
    every_frame = len(enabled) * frames
    assert writes * 10 <= every_frame, (writes, every_frame)

    # Hourly statistics, compiled by the recorder as Home Assistant does every 5 minutes.
    for minutes in range(0, HOURS * 60, 5):
        do_adhoc_statistics(hass, start=START + timedelta(minutes=minutes))
    await async_wait_recording_done(hass)
    east = er.async_get(hass).async_get_entity_id(
        "sensor", "energy_ledger", f"{entry.unique_id}_east"
    )
    assert east is not None
    stats = await hass.async_add_executor_job(
        statistics_during_period, hass, START, end, {east}, "hour", None, {"change"}
    )
    changes = {datetime.fromtimestamp(row["start"], UTC): row["change"] for row in stats[east]}
    assert first_registers is not None
    previous = first_registers["EAST"]
    for hour in sorted(registers_at_hour_end):
        expected_wh = registers_at_hour_end[hour]["EAST"] - previous
        previous = registers_at_hour_end[hour]["EAST"]
        assert round(changes[hour] * 1000, 3) == expected_wh, hour
