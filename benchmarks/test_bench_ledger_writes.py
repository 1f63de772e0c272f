"""State writes per day added by a ledger's entities, and the ledger's event-loop time.

Run: `.venv/bin/python -m pytest benchmarks/test_bench_ledger_writes.py -s -p no:logging`
(a pytest file because it needs the Home Assistant test harness; not part of `scripts/test`).

One simulated spring weekday of a solar household on HC/HP (off-peak 22:00-06:00 from a
schedule, 5-minute windows) inside Home Assistant with the recorder: the house's and the
inverter's powers as states every second from real-looking curves (base load, fridge cycles,
kettle, washing machine, cooking; a 3 kWp array under passing clouds), the import, export and
production registers every minute. Two ledgers read the same sources in the same run: one whose
sensors write at every clock instant of the ledger (the behaviour before writes were limited to
changes), one as shipped (a sensor writes when its value or attributes change).

Figures printed:
- state writes in the day per ledger entity and in total, both ledgers side by side;
- event-loop time per source state, for both ledgers: taking the state (conversion and
  accounting), and the entity updates at clock instants (window ends, switches) spread over the
  states; CPU time of the event loop's thread (the clocks are frozen for the simulation).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
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
from custom_components.energy_ledger.ledger_adapter import EntityAdapter
from custom_components.energy_ledger.ledger_coordinator import LedgerCoordinator
from custom_components.energy_ledger.ledger_sensor import LedgerSensor

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 4, 15, tzinfo=PARIS)
"""A Wednesday in spring, local midnight."""
WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
W = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}
SOURCES = {
    CONF_IMPORT_ENTITIES: ["sensor.linky_import"],
    CONF_EXPORT_ENTITY: "sensor.linky_export",
    CONF_PRODUCTION_ENTITY: "sensor.inverter_energy",
    CONF_CONSUMPTION_POWER_ENTITY: "sensor.linky_power",
    CONF_PRODUCTION_POWER_ENTITY: "sensor.inverter_power",
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: object, enable_custom_integrations: None
) -> None:
    """Real recorder, custom integration allowed."""


class House:
    """Powers (W) second by second: a house's load and a 3 kWp array, both seeded."""

    def __init__(self, seed: int) -> None:
        self._random = Random(seed)
        self._cloud = 1.0

    def load(self, hour: float) -> float:
        watts = 240.0 + (90.0 if (hour * 60) % 45 < 15 else 0.0)  # base + fridge cycles
        if 7.0 <= hour < 7.08:
            watts += 2000  # kettle
        if 10.0 <= hour < 11.5:
            watts += 2000 if (hour * 60) % 20 < 4 else 350  # washing machine: heat, then turn
        if 18.5 <= hour < 19.5:
            watts += 2400  # cooking
        if 19.5 <= hour < 23.0:
            watts += 180  # television and lights
        return watts * self._random.uniform(0.97, 1.03)

    def solar(self, hour: float) -> float:
        sunrise, sunset = 7.0, 20.7
        if not sunrise < hour < sunset:
            return 0.0
        self._cloud = min(1.0, max(0.45, self._cloud + self._random.gauss(0, 0.01)))
        return 2700.0 * math.sin(math.pi * (hour - sunrise) / (sunset - sunrise)) ** 2 * self._cloud


def _options(plan: dict[str, Any]) -> dict[str, Any]:
    return {
        **SOURCES,
        CONF_PLAN: "hc_hp",
        CONF_PERIOD_SOURCE: "schedule",
        CONF_OFF_PEAK_HOURS: "22:00-06:00",
        CONF_PRICES: plan,
        CONF_WINDOW_MINUTES: 5,
    }


async def _add_ledger(hass: HomeAssistant, name: str) -> MockConfigEntry:
    plan = PricePlan(kind=PlanKind.HC_HP, zone=PARIS, energy={}).with_prices(
        "2026-01-01", energy={"off_peak": "0.2068", "peak": "0.27"}, feed_in="0.1269"
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=name,
        unique_id=f"ledger_{name.lower()}",
        data={CONF_KIND: KIND_LEDGER, CONF_NAME: name},
        options=_options(plan.to_dict()),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _timed[**P](
    spent: defaultdict[str, float], key: Callable[..., str], method: Callable[P, None]
) -> Callable[P, None]:
    """``method`` adding its CPU time to ``spent[key(self)]`` (a callback, like ``method``).

    CPU time of the event loop's thread: the clocks are frozen for the simulation, and CPU time
    is not inflated by other jobs on a shared machine.
    """

    @callback
    def timed(*args: P.args, **kwargs: P.kwargs) -> None:
        start = time.thread_time()
        try:
            method(*args, **kwargs)
        finally:
            spent[key(args[0])] += time.thread_time() - start

    return timed


async def test_state_writes_per_day(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes of the ledger's entities in a day, before and after; loop time per source state."""
    await hass.config.async_set_time_zone(PARIS.key)
    now = DAY
    freezer.move_to(now)
    house = House(seed=11)
    counters = {"linky_import": 0.0, "linky_export": 0.0, "inverter_energy": 0.0}
    for name in counters:
        hass.states.async_set(f"sensor.{name}", "0", WH)

    # Loop time of each ledger: its source-state callback, and its entity updates.
    spent: defaultdict[str, float] = defaultdict(float)
    title_of: dict[int, str] = {}
    monkeypatch.setattr(
        EntityAdapter,
        "_on_event",
        _timed(spent, lambda a: f"{title_of.get(id(a))} state", EntityAdapter._on_event),
    )
    monkeypatch.setattr(
        LedgerCoordinator,
        "_notify",
        _timed(spent, lambda c: f"{title_of.get(id(c))} notify", LedgerCoordinator._notify),
    )
    # The ledger before: every clock instant rewrites every sensor.
    with monkeypatch.context() as patch:
        patch.setattr(LedgerSensor, "_async_ledger_changed", LedgerSensor.async_write_ha_state)
        before = await _add_ledger(hass, "Before")
    after = await _add_ledger(hass, "After")
    names = {}
    for entry in (before, after):
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
            names[e.entity_id] = (entry.title, e.unique_id.removeprefix(f"{entry.entry_id}_"))
    writes: Counter[tuple[str, str]] = Counter()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in names

    @callback
    def count(event: Event[Any]) -> None:
        writes[names[event.data["entity_id"]]] += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count, event_filter=ours)
    hass.bus.async_listen(EVENT_STATE_REPORTED, count, event_filter=ours)

    for entry in (before, after):
        coordinator = entry.runtime_data.coordinator
        title_of[id(coordinator)] = title_of[id(coordinator.adapter)] = entry.title
    spent.clear()

    states = 0
    last = {"linky_power": "", "inverter_power": ""}
    while now < DAY + timedelta(days=1):
        now += timedelta(seconds=1)
        freezer.move_to(now)
        hour = (now - DAY).total_seconds() / 3600
        load, solar = house.load(hour), house.solar(hour)
        grid = load - solar
        counters["linky_import"] += max(grid, 0) / 3600
        counters["linky_export"] += max(-grid, 0) / 3600
        counters["inverter_energy"] += solar / 3600
        for name, watts in (("linky_power", max(grid, 0)), ("inverter_power", solar)):
            value = str(round(watts))
            states += value != last[name]  # an unchanged state is no state change
            last[name] = value
            hass.states.async_set(f"sensor.{name}", value, W)
        if now.second == 0:
            for name, wh in counters.items():
                value = str(int(wh))
                states += value != hass.states.get(f"sensor.{name}").state  # type: ignore[union-attr]
                hass.states.async_set(f"sensor.{name}", value, WH)
            async_fire_time_changed(hass, now)
            await hass.async_block_till_done()

    keys = sorted({key for _, key in writes})
    print(f"\nstate writes in a day per ledger entity ({states} source state changes):")
    print(f"{'entity':32} {'before':>7} {'after':>7}")
    for key in keys:
        print(f"{key:32} {writes['Before', key]:7} {writes['After', key]:7}")
    total_before = sum(n for (title, _), n in writes.items() if title == "Before")
    total_after = sum(n for (title, _), n in writes.items() if title == "After")
    print(
        f"{'total':32} {total_before:7} {total_after:7}"
        f"  ({total_after / total_before:.1%} of before)"
    )
    for title in ("Before", "After"):
        per_state = spent[f"{title} state"] / states * 1e6
        clock = spent[f"{title} notify"] * 1e3
        print(
            f"{title}: event loop per source state {per_state:.1f} µs taking it;"
            f" entity updates at clock instants {clock:.0f} ms in the day"
            f" ({clock * 1e3 / states:.1f} µs per source state)"
        )
    assert total_after < total_before
