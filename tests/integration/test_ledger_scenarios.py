"""A ledger over simulated time: the sensors a user reads, against values computed here by hand.

Source entities are plain states with units (as another integration would write them); time
moves with the freezer and the ledger's timers fire as Home Assistant would fire them. Every
expected figure is written out below from the story's numbers: Wh exact, EUR to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_ledger.const import (
    CONF_CONSUMPTION_POWER_ENTITY,
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_INDEX_MAP,
    CONF_KIND,
    CONF_NAME,
    CONF_OFF_PEAK_HOURS,
    CONF_PERIOD_ENTITY,
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
from custom_components.energy_ledger.diagnostics import async_get_config_entry_diagnostics
from custom_components.energy_ledger.entry import LedgerRuntimeData

PARIS = "Europe/Paris"
HP = Decimal("0.27")
HC = Decimal("0.2068")
FEED_IN = Decimal("0.1269")
T0 = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
"""A winter Monday, 21:00 in Paris."""

WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
KWH = {**WH, "unit_of_measurement": "kWh"}
W = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}


def cents(amount: Decimal) -> str:
    """The project's edge rule, written out: half to even, to the cent."""
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def cost(wh: int, price: Decimal) -> Decimal:
    return Decimal(wh) * price / 1000


def plan_dict(kind: PlanKind = PlanKind.HC_HP) -> dict[str, Any]:
    energy = {"base": HP} if kind is PlanKind.BASE else {"off_peak": HC, "peak": HP}
    plan = PricePlan(kind=kind, zone=ZoneInfo(PARIS), energy={})
    return plan.with_prices(
        date(2025, 8, 1), energy=energy, feed_in=FEED_IN, subscription=0
    ).to_dict()


class Ledger:
    """A ledger entry and the moves of a story: set states, let time pass, read sensors."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        self.hass = hass
        self.freezer = freezer
        self.now = T0
        self.entry: MockConfigEntry | None = None
        self.restart_at: datetime | None = None
        """When set, `go` unloads and sets the entry up again at that instant, on its way."""

    async def setup(self, options: Mapping[str, Any], name: str = "Home") -> MockConfigEntry:
        await self.hass.config.async_set_time_zone(PARIS)
        self.entry = MockConfigEntry(
            domain=DOMAIN,
            title=name,
            unique_id=f"ledger_{name.lower()}",
            data={CONF_KIND: KIND_LEDGER, CONF_NAME: name},
            options={CONF_PRICES: plan_dict(), CONF_WINDOW_MINUTES: 5, **options},
        )
        self.entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()
        return self.entry

    async def restart(self) -> None:
        """Unload (the ledger saves its state) and set up again (it restores it)."""
        assert self.entry is not None
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()

    def at(self, minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    async def go(self, minutes: float) -> None:
        """Let time pass to T0 + minutes, firing every timer due on the way, one by one."""
        target = self.at(minutes)
        step = timedelta(seconds=30)
        while self.now < target:
            self.now = min(self.now + step, target)
            restart = self.restart_at is not None and self.now >= self.restart_at
            if restart:
                assert self.restart_at is not None
                self.now, self.restart_at = self.restart_at, None
            self.freezer.move_to(self.now)
            async_fire_time_changed(self.hass, self.now)
            await self.hass.async_block_till_done()
            if restart:
                await self.restart()

    def set(self, entity_id: str, value: object, attributes: Mapping[str, Any] = WH) -> None:
        self.hass.states.async_set(entity_id, str(value), dict(attributes))

    def state(self, object_id: str) -> str:
        state = self.hass.states.get(f"sensor.home_{object_id}")
        assert state is not None, object_id
        return state.state

    def attributes(self, object_id: str) -> Mapping[str, Any]:
        state = self.hass.states.get(f"sensor.home_{object_id}")
        assert state is not None, object_id
        return state.attributes

    def wh(self, object_id: str) -> Decimal:
        """An energy sensor's value in Wh (it is shown in kWh)."""
        assert self.attributes(object_id)["unit_of_measurement"] == "kWh"
        return Decimal(self.state(object_id)) * 1000

    @property
    def coordinator(self) -> Any:
        assert self.entry is not None
        runtime = self.entry.runtime_data
        assert isinstance(runtime, LedgerRuntimeData)
        return runtime.coordinator


@pytest.fixture
def ledger(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Ledger:
    freezer.move_to(T0)
    return Ledger(hass, freezer)


async def test_hc_hp_consumer(ledger: Ledger) -> None:
    """Two registers, the meter's period sensor, a power sensor: costs per period, power stats.

    The period changes at 20:08:30, in the middle of a window: the energy before it is priced
    peak, after it off-peak, and the current price switches at that very state change.
    """
    ledger.set("sensor.linky_hc", 1_000_000)
    ledger.set("sensor.linky_hp", 2_000_000)
    ledger.set("sensor.linky_period", "peak")
    ledger.set("sensor.linky_power", 1000, W)
    await ledger.go(1)
    await ledger.setup(
        {
            CONF_IMPORT_ENTITIES: ["sensor.linky_hc", "sensor.linky_hp"],
            CONF_CONSUMPTION_POWER_ENTITY: "sensor.linky_power",
            CONF_PLAN: "hc_hp",
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: "sensor.linky_period",
        }
    )
    assert ledger.state("current_tariff_period") == "peak"
    assert ledger.state("current_price") == "0.27"
    assert ledger.state("grid_cost_peak") == "0.00"
    assert ledger.state("consumption_power_mean") == "unknown"  # no window has ended yet
    # Only what the sources can feed exists: no production, so no saving.
    assert ledger.hass.states.get("sensor.home_self_consumption_saving") is None
    assert ledger.hass.states.get("sensor.home_grid_cost_peak_blue") is None

    await ledger.go(2)
    ledger.set("sensor.linky_hp", 2_001_500)
    ledger.set("sensor.linky_power", 2000, W)
    await ledger.go(5)
    peak = cost(1500, HP)
    assert ledger.state("grid_cost_peak") == cents(peak) == "0.40"  # 0.405: half to even
    # 1000 W for 2 minutes, 2000 W for 3: time-weighted mean 1600 W.
    assert float(ledger.state("consumption_power_mean")) == 1600
    assert float(ledger.state("consumption_power_minimum")) == 1000
    assert float(ledger.state("consumption_power_maximum")) == 2000
    attributes = ledger.attributes("consumption_power_mean")
    assert attributes["window_start"] == ledger.at(0).isoformat()
    assert attributes["window_end"] == ledger.at(5).isoformat()

    await ledger.go(7)
    ledger.set("sensor.linky_hp", 2_002_200)
    await ledger.go(8.5)
    ledger.set("sensor.linky_period", "off_peak")
    await ledger.hass.async_block_till_done()
    assert ledger.state("current_tariff_period") == "off_peak"
    assert ledger.state("current_price") == "0.2068"
    peak += cost(700, HP)
    assert ledger.state("grid_cost_peak") == cents(peak) == "0.59"
    ledger.set("sensor.linky_hc", 1_000_900)
    await ledger.go(10)
    assert ledger.state("grid_cost_off_peak") == cents(cost(900, HC)) == "0.19"
    assert ledger.state("grid_cost_peak") == "0.59"
    # The power held at 2000 W for the whole second window.
    assert float(ledger.state("consumption_power_mean")) == 2000

    heard: list[Any] = []
    ledger.coordinator.async_add_hour_listener(heard.append)
    await ledger.go(60)
    (hour,) = heard
    # The long-term statistics wiring takes each hour as it finishes.
    assert ledger.coordinator.take_finished_hours() == []
    assert ledger.coordinator.finished_hours == []
    assert hour.start == T0
    assert hour.increments["grid_import_peak"] == 2200
    assert hour.increments["grid_import_off_peak"] == 900
    assert hour.increments["grid_cost_peak"] == peak
    assert hour.increments["grid_cost_off_peak"] == cost(900, HC)


SOLAR = {
    CONF_IMPORT_ENTITIES: ["sensor.grid_kwh"],
    CONF_EXPORT_ENTITY: "sensor.linky_eait",
    CONF_PRODUCTION_ENTITY: "sensor.pv_energy",
    CONF_CONSUMPTION_POWER_ENTITY: "sensor.linky_power",
    CONF_PRODUCTION_POWER_ENTITY: "sensor.pv_power",
    CONF_PLAN: "hc_hp",
    CONF_PERIOD_SOURCE: "schedule",
    CONF_OFF_PEAK_HOURS: "21:07-06:00",
}
"""A producer Linky (import in kWh from another integration, EAIT), an inverter, and a
schedule whose off-peak hours start at 21:07 Paris time (20:07 UTC), inside a window."""


async def _solar_story(ledger: Ledger, restart_at: float | None = None) -> None:
    ledger.set("sensor.grid_kwh", "100.000", KWH)
    ledger.set("sensor.linky_eait", 5000)
    ledger.set("sensor.pv_energy", 8000)
    ledger.set("sensor.linky_power", 800, W)
    ledger.set("sensor.pv_power", 2000, W)
    await ledger.setup(SOLAR)
    if restart_at is not None:
        ledger.restart_at = ledger.at(restart_at)
    assert ledger.state("current_tariff_period") == "peak"
    for minutes, changes in (
        (1, {"sensor.pv_power": (1500, W)}),
        (2, {"sensor.pv_power": (1000, W)}),
        (3, {"sensor.pv_energy": (18000, WH), "sensor.linky_eait": (11000, WH)}),
        (6, {"sensor.grid_kwh": ("100.250", KWH), "sensor.pv_energy": (21000, WH)}),
        (
            8,
            {
                "sensor.pv_energy": (28000, WH),
                "sensor.linky_eait": (14000, WH),
                "sensor.grid_kwh": ("100.300", KWH),
            },
        ),
    ):
        await ledger.go(minutes)
        for entity_id, (value, attributes) in changes.items():
            ledger.set(entity_id, value, attributes)
        if minutes == 6:
            # 2000 W for a minute, 1500 W for one, 1000 W for three.
            assert float(ledger.state("production_power_mean")) == 1300
            assert float(ledger.state("production_power_minimum")) == 1000
            await ledger.go(6.5)
            assert ledger.state("current_price") == "0.27"
            await ledger.go(7)  # 20:07 UTC: off-peak starts, the price switches on the instant
            assert ledger.state("current_tariff_period") == "off_peak"
            assert ledger.state("current_price") == "0.2068"
    await ledger.go(10)


SOLAR_WINDOWS = (
    # (production, export, import, price): window 1 peak; 20:05-20:07 peak; 20:07-20:10 off-peak
    (10000, 6000, 0, HP),
    (3000, 0, 250, HP),
    (7000, 3000, 50, HC),
)


def _check_solar(ledger: Ledger) -> None:
    self_consumed = sum(p - e for p, e, _, _ in SOLAR_WINDOWS)
    injected = sum(e for _, e, _, _ in SOLAR_WINDOWS)
    production = sum(p for p, _, _, _ in SOLAR_WINDOWS)
    home = sum(i + p - e for p, e, i, _ in SOLAR_WINDOWS)
    saving = sum((cost(p - e, price) for p, e, _, price in SOLAR_WINDOWS), Decimal(0))
    earnings = sum((cost(e, FEED_IN) for _, e, _, _ in SOLAR_WINDOWS), Decimal(0))
    assert ledger.wh("self_consumed_energy") == self_consumed == 11000
    assert ledger.wh("injected_energy") == injected == 9000
    assert ledger.state("self_consumption_saving") == cents(saving) == "2.72"
    assert ledger.state("injection_earnings") == cents(earnings) == "1.14"
    assert ledger.state("grid_cost_peak") == cents(cost(250, HP)) == "0.07"
    assert ledger.state("grid_cost_off_peak") == cents(cost(50, HC)) == "0.01"
    rate = Decimal(ledger.state("self_consumption_rate"))
    assert abs(rate - Decimal(self_consumed * 100) / production) < Decimal("1e-9")
    sufficiency = Decimal(ledger.state("self_sufficiency"))
    assert abs(sufficiency - Decimal(self_consumed * 100) / home) < Decimal("1e-9")
    assert ledger.state("current_feed_in_price") == "0.1269"
    # Second window: 800 W used, 1000 W produced all along.
    assert float(ledger.state("power_balance")) == 200
    assert ledger.attributes("power_balance")["unit_of_measurement"] == "W"
    assert ledger.attributes("production_power_mean")["window_end"] == ledger.at(10).isoformat()


async def test_solar_self_consumer_with_export_register(ledger: Ledger) -> None:
    """Self-consumed = production − export, priced in the period it happened; kWh import."""
    await _solar_story(ledger)
    _check_solar(ledger)


@pytest.mark.parametrize("restart_at", [1.5, 4, 6.75, 9])
async def test_a_restart_mid_window_resumes_it(ledger: Ledger, restart_at: float) -> None:
    """Unload and set up again in the middle of a window: every figure is as without it."""
    await _solar_story(ledger, restart_at=restart_at)
    _check_solar(ledger)


async def test_two_meters_all_production_sold(ledger: Ledger) -> None:
    """The reference setup: a consumption Linky (two registers), a production meter, NTARF.

    Its supplier numbers index 1 as peak: self-consumed = min(consumption, production),
    injected = the surplus.
    """
    ledger.set("sensor.conso_easf01", 500_000)
    ledger.set("sensor.conso_easf02", 700_000)
    ledger.set("sensor.prod_eait", 3_000_000)
    ledger.set("sensor.conso_ntarf", "1", {})
    await ledger.setup(
        {
            CONF_IMPORT_ENTITIES: ["sensor.conso_easf01", "sensor.conso_easf02"],
            CONF_PRODUCTION_ENTITY: "sensor.prod_eait",
            CONF_PLAN: "hc_hp",
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: "sensor.conso_ntarf",
            CONF_INDEX_MAP: "1=peak, 2=off_peak",
        }
    )
    assert ledger.state("current_tariff_period") == "peak"
    await ledger.go(2)
    ledger.set("sensor.conso_easf02", 700_300)
    ledger.set("sensor.prod_eait", 3_001_000)
    await ledger.go(5)  # peak: consumption 300, production 1000 → 300 saved, 700 sold
    ledger.set("sensor.conso_ntarf", "2", {})
    await ledger.go(7)
    ledger.set("sensor.conso_easf01", 500_800)
    ledger.set("sensor.prod_eait", 3_001_500)
    await ledger.go(10)  # off-peak: consumption 800, production 500 → 500 saved, 0 sold
    assert ledger.state("current_tariff_period") == "off_peak"
    assert ledger.wh("self_consumed_energy") == 800
    assert ledger.wh("injected_energy") == 700
    saving = cost(300, HP) + cost(500, HC)
    assert ledger.state("self_consumption_saving") == cents(saving) == "0.18"
    assert ledger.state("injection_earnings") == cents(cost(700, FEED_IN)) == "0.09"
    assert ledger.state("grid_cost_peak") == cents(cost(300, HP)) == "0.08"
    assert ledger.state("grid_cost_off_peak") == cents(cost(800, HC)) == "0.17"
    rate = Decimal(ledger.state("self_consumption_rate"))
    assert abs(rate - Decimal(800 * 100) / 1500) < Decimal("1e-9")
    sufficiency = Decimal(ledger.state("self_sufficiency"))
    assert abs(sufficiency - Decimal(800 * 100) / 1100) < Decimal("1e-9")
    # An index the plan does not price, or an unavailable index, keeps the last known period.
    ledger.set("sensor.conso_ntarf", "7", {})
    ledger.set("sensor.conso_ntarf", "unavailable", {})
    await ledger.go(11)
    assert ledger.state("current_tariff_period") == "off_peak"


async def test_a_counter_going_backwards_gives_no_negative_energy_or_money(
    ledger: Ledger,
) -> None:
    """A replaced meter restarts near zero: that window counts 0, the next ones count again."""
    ledger.set("sensor.linky_base", 5_000_000)
    ledger.set("sensor.linky_eait", 40_000)
    ledger.set("sensor.pv_energy", 90_000)
    await ledger.setup(
        {
            CONF_IMPORT_ENTITIES: ["sensor.linky_base"],
            CONF_EXPORT_ENTITY: "sensor.linky_eait",
            CONF_PRODUCTION_ENTITY: "sensor.pv_energy",
            CONF_PLAN: "base",
            CONF_PRICES: plan_dict(PlanKind.BASE),
        }
    )
    await ledger.go(1)
    ledger.set("sensor.linky_base", 5_000_400)
    ledger.set("sensor.pv_energy", 91_000)
    ledger.set("sensor.linky_eait", 40_200)
    await ledger.go(6)
    ledger.set("sensor.linky_base", 12)  # new meter
    ledger.set("sensor.linky_eait", 3)
    ledger.set("sensor.pv_energy", 100)  # inverter counters reset
    await ledger.go(11)
    ledger.set("sensor.linky_base", 112)
    ledger.set("sensor.linky_eait", 53)
    ledger.set("sensor.pv_energy", 400)
    await ledger.go(16)
    assert ledger.wh("self_consumed_energy") == (1000 - 200) + (300 - 50) == 1050
    assert ledger.wh("injected_energy") == 250
    assert ledger.state("grid_cost_base") == cents(cost(500, HP)) == "0.14"
    assert ledger.state("self_consumption_saving") == cents(cost(1050, HP)) == "0.28"
    assert ledger.state("injection_earnings") == cents(cost(250, FEED_IN)) == "0.03"
    assert all(c.resets == 1 for c in ledger.coordinator.counters.values())


async def test_unusable_source_states_are_ignored_and_counted(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """Unavailable, text and wrong units invent nothing; a wrong unit is logged once."""
    ledger.set("sensor.linky_base", 1000)
    await ledger.setup(
        {
            CONF_IMPORT_ENTITIES: ["sensor.linky_base"],
            CONF_PLAN: "base",
            CONF_PRICES: plan_dict(PlanKind.BASE),
        }
    )
    ledger.set("sensor.linky_base", "unavailable")
    ledger.set("sensor.linky_base", "n/a")
    ledger.set("sensor.linky_base", 1500, {"unit_of_measurement": "L"})
    ledger.set("sensor.linky_base", 1600, {"unit_of_measurement": "L"})
    ledger.set("sensor.linky_base", "1.2", KWH)
    await ledger.go(5)
    assert ledger.state("grid_cost_base") == cents(cost(200, HP)) == "0.05"
    ignored = ledger.coordinator.adapter.ignored
    assert dict(ignored) == {"unavailable": 1, "not_numeric": 1, "unit": 2}
    diagnostics = await async_get_config_entry_diagnostics(ledger.hass, ledger.entry)
    assert diagnostics["ignored_states"] == dict(ignored)
    assert diagnostics["entry"]["options"][CONF_IMPORT_ENTITIES] == ["sensor.linky_base"]
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "linky_base" in r.message]
    assert len(warnings) == 2  # once for the text, once for the unit


async def test_powers_alone_stand_in_for_registers(ledger: Ledger) -> None:
    """No register at all (the reference's VA powers): energy is the time-weighted average.

    600 VA used and 1.5 kW produced for 5 minutes: 50 Wh used, 125 Wh produced, so 50 Wh
    self-consumed and 75 Wh sold (the two-meter rule).
    """
    ledger.set("sensor.sinsts", 600, {"unit_of_measurement": "VA"})
    ledger.set("sensor.sinsti", "1.5", {"unit_of_measurement": "kW"})
    await ledger.setup(
        {
            CONF_CONSUMPTION_POWER_ENTITY: "sensor.sinsts",
            CONF_PRODUCTION_POWER_ENTITY: "sensor.sinsti",
            CONF_PLAN: "base",
            CONF_PRICES: plan_dict(PlanKind.BASE),
        }
    )
    await ledger.go(10)
    assert ledger.wh("self_consumed_energy") == 2 * 50
    assert ledger.wh("injected_energy") == 2 * 75
    assert ledger.state("grid_cost_base") == cents(cost(100, HP)) == "0.03"
    assert ledger.state("self_consumption_saving") == cents(cost(100, HP)) == "0.03"
    assert ledger.state("injection_earnings") == cents(cost(150, FEED_IN)) == "0.02"
    assert float(ledger.state("power_balance")) == 900


async def test_a_power_that_stays_put_keeps_its_windows(ledger: Ledger) -> None:
    """An inverter at 0 W all night writes its state once: the windows still come, at 0 W.

    Home Assistant keeps a state until it changes, so two hours of silence from an available
    entity are two hours of that value, not a gap; an unavailable one is a gap.
    """
    ledger.set("sensor.pv_power", 0, {"unit_of_measurement": "W"})
    ledger.set("sensor.sinsts", 400, {"unit_of_measurement": "VA"})
    await ledger.setup(
        {
            CONF_CONSUMPTION_POWER_ENTITY: "sensor.sinsts",
            CONF_PRODUCTION_POWER_ENTITY: "sensor.pv_power",
            CONF_PLAN: "base",
            CONF_PRICES: plan_dict(PlanKind.BASE),
        }
    )
    await ledger.go(120)
    assert ledger.state("production_power_mean") == "0.0"
    assert ledger.state("consumption_power_mean") == "400.0"
    assert ledger.attributes("production_power_mean")["window_end"] == ledger.at(120).isoformat()
    assert ledger.wh("self_consumed_energy") == 0
    ledger.set("sensor.pv_power", "unavailable", {})
    await ledger.go(150)
    # Its last value holds for the statistics' 15-minute maximum gap, then windows stop.
    assert ledger.attributes("production_power_mean")["window_end"] == ledger.at(135).isoformat()
    assert ledger.attributes("consumption_power_mean")["window_end"] == ledger.at(150).isoformat()


async def test_a_dated_price_applies_from_local_midnight(ledger: Ledger) -> None:
    """A new peak price from 6 January: the current price switches at 23:00 UTC (midnight in
    Paris) and the energy of each window is priced with the price of its own day."""
    ledger.set("sensor.linky_hp", 2_000_000)
    ledger.set("sensor.linky_period", "peak")
    prices = PricePlan.from_dict(plan_dict()).with_prices("2026-01-06", energy={"peak": "0.30"})
    await ledger.setup(
        {
            CONF_IMPORT_ENTITIES: ["sensor.linky_hp"],
            CONF_PLAN: "hc_hp",
            CONF_PERIOD_ENTITY: "sensor.linky_period",
            CONF_PRICES: prices.to_dict(),
        }
    )
    await ledger.go(176)  # 22:56 UTC
    ledger.set("sensor.linky_hp", 2_001_000)
    await ledger.go(179.5)
    assert ledger.state("current_price") == "0.27"
    await ledger.go(180)
    assert ledger.state("current_price") == "0.30"
    await ledger.go(182)
    ledger.set("sensor.linky_hp", 2_003_000)
    await ledger.go(185)
    expected = cost(1000, HP) + cost(2000, Decimal("0.30"))
    assert ledger.state("grid_cost_peak") == cents(expected) == "0.87"


async def test_a_deleted_ledger_leaves_no_saved_state(
    ledger: Ledger, hass_storage: dict[str, Any]
) -> None:
    """Unloading saves the ledger's state; deleting the ledger deletes that state too."""
    ledger.set("sensor.linky_base", 1000)
    entry = await ledger.setup(
        {
            CONF_IMPORT_ENTITIES: ["sensor.linky_base"],
            CONF_PLAN: "base",
            CONF_PRICES: plan_dict(PlanKind.BASE),
        }
    )
    key = f"{DOMAIN}.ledger.{entry.entry_id}"
    assert await ledger.hass.config_entries.async_unload(entry.entry_id)
    assert hass_storage[key]["data"]["counters"]["sensor.linky_base"]["last"] == 1000
    await ledger.hass.config_entries.async_remove(entry.entry_id)
    await ledger.hass.async_block_till_done()
    assert key not in hass_storage
