"""The real source on a pseudo-terminal, through Home Assistant, to entity states."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_ledger.const import (
    CONF_BAUDRATE,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MODE,
    CONF_PORT,
    DOMAIN,
)
from custom_components.energy_ledger.core.tic.encode import (
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)
from custom_components.energy_ledger.diagnostics import async_get_config_entry_diagnostics

from .conftest import STANDARD_TRI, MeterFeed, TicLine, one_frame

ADSC = "041776199277"


async def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll `condition` while the event loop runs; fail after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def entity_id(hass: HomeAssistant, platform: str, key: str) -> str:
    """The entity id of one of the meter's entities, by its unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{ADSC}_{key}")
    assert found is not None, f"no {platform} entity for {key}"
    return found


async def setup_meter(hass: HomeAssistant, port: str, **options: int) -> MockConfigEntry:
    """Add and set up a meter entry on `port`."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Linky three-phase",
        unique_id=ADSC,
        data={CONF_PORT: port, CONF_MODE: "standard", CONF_BAUDRATE: 9600},
        options=options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


def state_of(hass: HomeAssistant, platform: str, key: str) -> str | None:
    """The state of an entity, None when it does not exist yet."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{ADSC}_{key}")
    state = hass.states.get(found) if found else None
    return state.state if state else None


async def test_frames_become_entities(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """Every label of a real three-phase Tempo frame shows up, typed and decoded."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "east") not in (None, STATE_UNAVAILABLE))

    east = hass.states.get(entity_id(hass, "sensor", "east"))
    assert east is not None
    assert float(east.state) == 21849.106  # 021849106 Wh shown in kWh
    assert east.attributes["unit_of_measurement"] == "kWh"
    assert east.attributes["state_class"] == "total_increasing"
    assert east.attributes["device_class"] == "energy"
    assert state_of(hass, "sensor", "easf02") == "14090.959"
    assert state_of(hass, "sensor", "sinsts") == "2700"
    assert state_of(hass, "sensor", "urms3") == "235"
    assert state_of(hass, "sensor", "ltarf") == "HC BLANC"
    assert state_of(hass, "sensor", "tariff_period") == "off_peak_white"
    assert state_of(hass, "sensor", "ntarf") == "3"
    assert state_of(hass, "binary_sensor", "connection") == STATE_ON
    smaxsn = hass.states.get(entity_id(hass, "sensor", "smaxsn"))
    assert smaxsn is not None
    assert smaxsn.attributes["horodate"].startswith("2020-02-14T")
    clock = hass.states.get(entity_id(hass, "sensor", "date"))
    assert clock is not None
    assert clock.state == "2020-02-14T22:08:04+00:00"  # H200214230804, winter time

    # Nothing personal becomes an entity; a producer-only label the meter lacks creates nothing.
    registry = er.async_get(hass)
    unique_ids = {e.unique_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    assert f"{ADSC}_adsc" not in unique_ids
    assert f"{ADSC}_prm" not in unique_ids
    assert f"{ADSC}_eait" not in unique_ids
    assert f"{ADSC}_injecting" not in unique_ids


async def test_unplug_and_replug_without_reload(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """Dongle pulled out: unavailable. Plugged back: values again, same entry, no reload."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "sinsts") == "2700")
    setup_count = entry.state

    tic_line.unplug()
    await wait_for(lambda: state_of(hass, "sensor", "sinsts") == STATE_UNAVAILABLE)
    assert state_of(hass, "binary_sensor", "connection") == STATE_OFF

    tic_line.plug()
    await wait_for(lambda: state_of(hass, "sensor", "sinsts") == "2700", seconds=20)
    assert state_of(hass, "binary_sensor", "connection") == STATE_ON
    assert entry.state is setup_count
    assert entry.runtime_data.coordinator.source.reconnects >= 1


async def test_restart_with_dongle_unplugged_keeps_entities(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """Entities known from an earlier run come back unavailable, not missing."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "east") not in (None, STATE_UNAVAILABLE))
    tic_line.unplug()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", "east") == STATE_UNAVAILABLE
    assert state_of(hass, "binary_sensor", "connection") == STATE_OFF


async def test_changing_values_are_throttled_and_flushed_at_the_hour(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """A value that changes between writes is held back, then written before the hour ends."""
    base = one_frame(STANDARD_TRI.read_bytes())
    feed = MeterFeed(tic_line, base)
    try:
        await setup_meter(hass, tic_line.port, **{CONF_MIN_WRITE_INTERVAL: 3600})
        await wait_for(lambda: state_of(hass, "sensor", "sinsts") == "2700")

        old_group = encode_standard_group("SINSTS", "02700")
        assert old_group in base
        feed.frame = base.replace(old_group, encode_standard_group("SINSTS", "03100"))
        await asyncio.sleep(1.0)
        assert state_of(hass, "sensor", "sinsts") == "2700"

        end_of_hour = dt_util.utcnow().replace(minute=59, second=59, microsecond=0)
        if end_of_hour <= dt_util.utcnow():
            end_of_hour += timedelta(hours=1)
        async_fire_time_changed(hass, end_of_hour)
        await hass.async_block_till_done()
        assert state_of(hass, "sensor", "sinsts") == "3100"
    finally:
        await feed.stop()


async def test_label_appearing_later_adds_its_entity(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """A label the meter starts sending later (e.g. injection begins) gets its entity then."""
    address = encode_standard_group("ADSC", ADSC)
    feed = MeterFeed(tic_line, encode_frame([address, encode_standard_group("EAST", "000001000")]))
    try:
        entry = await setup_meter(hass, tic_line.port)
        await wait_for(lambda: state_of(hass, "sensor", "east") == "1.0")
        assert state_of(hass, "sensor", "eait") is None
        feed.frame = encode_frame(
            [
                address,
                encode_standard_group("EAST", "000001000"),
                encode_standard_group("EAIT", "000000250"),
                encode_standard_group("NEWLBL", "  FUTURE  "),
            ]
        )
        await wait_for(lambda: state_of(hass, "sensor", "eait") == "0.25")
        # A label no specification knows still gets an entity, named after it.
        await wait_for(lambda: state_of(hass, "sensor", "newlbl") == "FUTURE")
        unknown = hass.states.get(entity_id(hass, "sensor", "newlbl"))
        assert unknown is not None
        assert unknown.attributes["friendly_name"] == "Linky three-phase TIC label NEWLBL"
        # Restarted with the dongle out: it comes back unavailable, not missing.
        tic_line.unplug()
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert state_of(hass, "sensor", "newlbl") == STATE_UNAVAILABLE
        assert state_of(hass, "sensor", "eait") == STATE_UNAVAILABLE
    finally:
        await feed.stop()


async def test_historic_three_phase_overload_keeps_other_values(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """During an overrun the meter sends short frames; indexes stay, currents update."""
    common = [encode_historic_group("ADCO", ADSC)]
    long_frame = encode_frame(
        [
            *common,
            encode_historic_group("OPTARIF", "BASE"),
            encode_historic_group("BASE", "001181243"),
            encode_historic_group("PTEC", "TH.."),
            encode_historic_group("IINST1", "000"),
            encode_historic_group("IINST2", "002"),
            encode_historic_group("IINST3", "000"),
            encode_historic_group("PAPP", "00540"),
            encode_historic_group("PPOT", "02"),  # bit 1 set: phase 1 has no voltage
        ]
    )
    short_frame = encode_frame(
        [
            encode_historic_group("ADIR1", "031"),
            *common,
            encode_historic_group("IINST1", "031"),
            encode_historic_group("IINST2", "002"),
            encode_historic_group("IINST3", "000"),
        ]
    )
    feed = MeterFeed(tic_line, long_frame)
    try:
        entry = await setup_meter(hass, tic_line.port, **{CONF_MIN_WRITE_INTERVAL: 0})
        await wait_for(lambda: state_of(hass, "sensor", "base") == "1181.243")
        feed.frame = short_frame
        await wait_for(lambda: state_of(hass, "sensor", "adir1") == "31")
        assert state_of(hass, "sensor", "iinst1") == "31"
        assert state_of(hass, "sensor", "base") == "1181.243"
        assert state_of(hass, "sensor", "papp") == "540"
        assert state_of(hass, "sensor", "tariff_period") == "base"
        assert state_of(hass, "binary_sensor", "phase_1_present") == STATE_OFF
        assert state_of(hass, "binary_sensor", "phase_2_present") == STATE_ON
        # Diagnostics show the bulletins as sent, and still profile the meter by a long frame.
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        assert "ADIR1" in diagnostics["recent_frames"][-1]
        assert diagnostics["meter"] == {
            "three_phase": True,
            "producer": False,
            "tariff_option": "BASE",
        }
    finally:
        await feed.stop()


async def test_repair_issue_while_the_port_stays_unreadable(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """Minutes without the adapter raise a repair issue; frames again withdraw it."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "sinsts") == "2700")
    issue_id = f"port_unavailable_{entry.entry_id}"
    issues = ir.async_get(hass)

    tic_line.unplug()
    await wait_for(lambda: state_of(hass, "binary_sensor", "connection") == STATE_OFF)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=2))
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None  # a short outage is not an issue
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=6))
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "port_unavailable"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["port"] == tic_line.port

    tic_line.plug()
    await wait_for(lambda: state_of(hass, "sensor", "sinsts") == "2700", seconds=40)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
