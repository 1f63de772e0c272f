"""Cost of a frame inside a running Home Assistant, and state writes over a simulated day.

Run: `.venv/bin/python -m pytest benchmarks/test_bench_home_assistant.py -s -p no:logging`
(a pytest file because it needs the Home Assistant test harness; not part of `scripts/test`).

Figures printed, all measured in the same run:
- event-loop time per frame (what the serial source does with a chunk holding a frame: its
  reader frames and decodes it, the coordinator, entities, state machine and recorder queueing
  take the reading) next to the time the reader alone takes for that frame;
- state writes in 24 simulated hours at the three-phase frame pace with the default write policy,
  against what writing every enabled entity at every frame would cost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_ledger.const import CONF_BAUDRATE, CONF_PORT, DOMAIN
from custom_components.energy_ledger.core.tic.reader import TicReader
from tools.tic_simulator import MeterModel

FRAME_PERIOD = timedelta(seconds=1.3)
START = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: object, enable_custom_integrations: None
) -> None:
    """Real recorder, custom integration allowed."""


async def _meter(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Linky three-phase",
        unique_id="021963000001",
        data={CONF_PORT: "/nonexistent/ttyTIC", CONF_BAUDRATE: 9600},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    entry.runtime_data.coordinator.handle_connection(True)
    return entry


def clock() -> datetime:
    """The time the benchmark's own reader stamps its readings with."""
    return START


async def test_event_loop_time_per_frame(hass: HomeAssistant) -> None:
    """Microseconds of event loop per frame, against framing and decoding it alone."""
    model = MeterModel("standard", phases=3, producer=True, seed=3, start=START)
    first, *raw = [model.frame_at(START + FRAME_PERIOD * i) for i in range(3001)]

    bench_reader = TicReader()
    bench_reader.read(first, clock)
    parse_start = time.perf_counter()
    frames = 0
    for chunk in raw:
        frames += len(bench_reader.read(chunk, clock))
    parse_us = (time.perf_counter() - parse_start) / frames * 1e6
    assert frames == len(raw)

    entry = await _meter(hass)
    coordinator = entry.runtime_data.coordinator
    reader = coordinator.source.reader
    for reading in reader.read(first, dt_util.utcnow):  # creates the entities
        coordinator.handle_reading(reading)
    await hass.async_block_till_done()
    loop_start = time.perf_counter()
    for chunk in raw:
        for reading in reader.read(chunk, dt_util.utcnow):
            coordinator.handle_reading(reading)
        await hass.async_block_till_done()
    loop_us = (time.perf_counter() - loop_start) / frames * 1e6
    assert coordinator.frames_received == 1 + frames
    print(
        f"\nevent loop per frame: {loop_us:.0f} µs (reader alone: {parse_us:.0f} µs,"
        f" {loop_us / parse_us:.1f}x); one frame every 1.3 s = {loop_us / 1.3e4:.3f}% of a core"
    )


async def test_state_writes_in_a_day(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """State writes in 24 simulated hours with the default policy versus every frame."""
    freezer.move_to(START)
    model = MeterModel("standard", phases=3, producer=True, seed=5, start=START)
    entry = await _meter(hass)
    coordinator = entry.runtime_data.coordinator
    reader = coordinator.source.reader
    ours: set[str] = set()
    writes = 0

    @callback
    def is_ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in ours

    @callback
    def count(_event: Event) -> None:
        nonlocal writes
        writes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count, event_filter=is_ours)
    hass.bus.async_listen(EVENT_STATE_REPORTED, count, event_filter=is_ours)
    registry = er.async_get(hass)
    frames = 0
    now = START
    next_flush = START.replace(minute=59, second=59)
    while now < START + timedelta(days=1):
        for reading in reader.read(model.frame_at(now), dt_util.utcnow):
            coordinator.handle_reading(reading)
            frames += 1
        if not ours:
            await hass.async_block_till_done()
            ours = {
                e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            }
        now += FRAME_PERIOD
        freezer.move_to(now)
        if now >= next_flush:
            async_fire_time_changed(hass, next_flush)
            next_flush += timedelta(hours=1)
        await hass.async_block_till_done()
    enabled = sum(
        1
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.disabled_by is None
    )
    every_frame = enabled * frames
    print(
        f"\nstate writes in a day: {writes} with defaults, {every_frame} writing every frame"
        f" ({enabled} enabled entities x {frames} frames): {writes / every_frame:.2%}"
    )
