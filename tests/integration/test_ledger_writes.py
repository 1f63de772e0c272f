"""State writes of a ledger's sensors over a simulated day: only when what they show changes.

A day of 5-minute windows with sources that do not move: registers stand still and powers
flicker by 1 W for the first minute of each window (as a live meter's do; a power state that
never changes is a gap to the power statistics after 15 minutes), so every window has the same
statistics. Each power statistic writes once per window (its window bounds move), the period
and the price write at the two schedule switches, and money and energy totals that did not move
write nothing. One import step at noon is then written once, by the sensors it changes. Every
write counts: `state_changed` (a new value or attributes) and `state_reported` (the same state
written again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_ledger.const import (
    CONF_CONSUMPTION_POWER_ENTITY,
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_KIND,
    CONF_NAME,
    CONF_OFF_PEAK_HOURS,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_PRODUCTION_POWER_ENTITY,
    CONF_WINDOW_MINUTES,
    DOMAIN,
    KIND_LEDGER,
)
from custom_components.energy_ledger.core.tariff import PlanKind, PricePlan

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 1, 7, tzinfo=PARIS)
"""A Wednesday, local midnight."""
WINDOWS = 24 * 12
WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
W = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}
POWER_KEYS = {
    f"{series}_power_{stat}"
    for series in ("consumption", "production")
    for stat in ("min", "max", "mean")
}


async def _ledger(hass: HomeAssistant) -> MockConfigEntry:
    """A solar HC/HP ledger on a 22:00-06:00 schedule, 5-minute windows."""
    await hass.config.async_set_time_zone(PARIS.key)
    plan = PricePlan(kind=PlanKind.HC_HP, zone=PARIS, energy={}).with_prices(
        "2026-01-01", energy={"off_peak": "0.2068", "peak": "0.27"}, feed_in="0.1269"
    )
    for entity_id, value, attributes in (
        ("sensor.grid", 1_000_000, WH),
        ("sensor.eait", 50_000, WH),
        ("sensor.pv", 80_000, WH),
        ("sensor.grid_power", 801, W),
        ("sensor.pv_power", 1, W),
    ):
        hass.states.async_set(entity_id, str(value), attributes)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="ledger_home",
        data={CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"},
        options={
            CONF_IMPORT_ENTITIES: ["sensor.grid"],
            CONF_EXPORT_ENTITY: "sensor.eait",
            CONF_PRODUCTION_ENTITY: "sensor.pv",
            CONF_CONSUMPTION_POWER_ENTITY: "sensor.grid_power",
            CONF_PRODUCTION_POWER_ENTITY: "sensor.pv_power",
            CONF_PLAN: "hc_hp",
            CONF_PERIOD_SOURCE: "schedule",
            CONF_OFF_PEAK_HOURS: "22:00-06:00",
            CONF_PRICES: plan.to_dict(),
            CONF_WINDOW_MINUTES: 5,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_a_quiet_day_writes_only_what_changed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    now = DAY
    freezer.move_to(now)
    entry = await _ledger(hass)
    key_of = {
        e.entity_id: e.unique_id.removeprefix(f"{entry.entry_id}_")
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    assert POWER_KEYS | {"saving", "grid_cost_peak", "tariff_period"} <= set(key_of.values())
    writes: Counter[str] = Counter()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in key_of

    @callback
    def count(event: Event) -> None:
        writes[key_of[event.data["entity_id"]]] += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count, event_filter=ours)
    hass.bus.async_listen(EVENT_STATE_REPORTED, count, event_filter=ours)
    noon = DAY.replace(hour=12, minute=2)
    while now < DAY + timedelta(days=1):
        now += timedelta(minutes=1)
        freezer.move_to(now)
        flicker = int(now.minute % 5 == 0)
        hass.states.async_set("sensor.grid_power", str(800 + flicker), W)
        hass.states.async_set("sensor.pv_power", str(flicker), W)
        if now == noon:  # 400 Wh drawn in the 12:00-12:05 window, at the peak price
            hass.states.async_set("sensor.grid", "1000400", WH)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done()

    assert hass.states.get("sensor.home_grid_cost_peak").state == "0.11"  # 400 Wh x 0.27
    expected = Counter(dict.fromkeys(POWER_KEYS, WINDOWS))
    expected.update(
        {
            "power_balance": 1,  # from unknown to 0.2 - 800.2 W at the first window's end
            "tariff_period": 2,  # peak at 06:00, off-peak at 22:00
            "price": 2,
            "grid_cost_peak": 1,  # the noon import, written once
            "self_sufficiency": 1,  # the home used grid energy only: 0 %
        }
    )
    assert writes == expected
    assert sum(writes.values()) == 6 * WINDOWS + 7
