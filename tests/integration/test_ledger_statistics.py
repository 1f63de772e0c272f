"""A ledger's hours in long-term statistics, read back from the real recorder.

A solar household on HC/HP (off-peak from 21:30 Paris, 20:30 UTC) lives a few hours of simulated
time, with Home Assistant down from 22:07 to 01:32 UTC. Every statistic is read back the way the
Energy panel reads it and compared with sums computed here by hand from the story's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.energy_ledger.const import (
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_KIND,
    CONF_NAME,
    CONF_OFF_PEAK_HOURS,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_WINDOW_MINUTES,
    DOMAIN,
    KIND_LEDGER,
)
from custom_components.energy_ledger.core.tariff import PlanKind, PricePlan
from custom_components.energy_ledger.entry import LedgerRuntimeData
from custom_components.energy_ledger.statistics import StatisticsWriter

PARIS = "Europe/Paris"
HP = Decimal("0.27")
HC = Decimal("0.2068")
FEED_IN = Decimal("0.1269")
T0 = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
GRID, PV, EAIT = "sensor.grid_energy", "sensor.pv_energy", "sensor.linky_eait"
OPTIONS = {
    CONF_IMPORT_ENTITIES: [GRID],
    CONF_EXPORT_ENTITY: EAIT,
    CONF_PRODUCTION_ENTITY: PV,
    CONF_PLAN: "hc_hp",
    CONF_PERIOD_SOURCE: "schedule",
    CONF_OFF_PEAK_HOURS: "21:30-06:00",
    CONF_WINDOW_MINUTES: 5,
    CONF_PRICES: PricePlan(kind=PlanKind.HC_HP, zone=ZoneInfo(PARIS), energy={})
    .with_prices(
        date(2025, 8, 1), energy={"off_peak": HC, "peak": HP}, feed_in=FEED_IN, subscription=0
    )
    .to_dict(),
}
SERIES = (
    "grid_import_peak",
    "grid_cost_peak",
    "grid_import_off_peak",
    "grid_cost_off_peak",
    "self_consumed",
    "saving",
    "injected",
    "injection_earnings",
)

ENERGY_SERIES = {"grid_import_peak", "grid_import_off_peak", "self_consumed", "injected"}


def wh(amount: int) -> Decimal:
    return Decimal(amount)


def cost(wh: int, price: Decimal) -> Decimal:
    return Decimal(wh) * price / 1000


def cents(amount: Decimal) -> Decimal:
    """Half to even, to the cent: the project's edge rule, written out here."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def hour(h: int) -> datetime:
    """UTC hour h after T0's day start (20 = T0, 25 = 01:00 the next day)."""
    return T0.replace(hour=0) + timedelta(hours=h)


# What each hour adds, from the story below (Wh and exact EUR).
HOURS: dict[int, dict[str, Decimal]] = {
    # 20:12 peak: +1000 import, +3000 production, +1000 export; 20:42 off-peak: +500, +2000, +2000.
    20: {
        "grid_import_peak": wh(1000),
        "grid_cost_peak": cost(1000, HP),
        "grid_import_off_peak": wh(500),
        "grid_cost_off_peak": cost(500, HC),
        "self_consumed": wh(3000 - 1000),
        "saving": cost(2000, HP),
        "injected": wh(1000 + 2000),
        "injection_earnings": cost(3000, FEED_IN),
    },
    # 21:20 off-peak: +250 import, +1000 production, nothing exported.
    21: {
        "grid_import_off_peak": wh(250),
        "grid_cost_off_peak": cost(250, HC),
        "self_consumed": wh(1000),
        "saving": cost(1000, HC),
    },
    # 22:00-22:07: nothing moved, then Home Assistant stops: an hour of zeros, not a gap.
    22: {},
    # Back at 01:32: what the registers advanced while down (+500, +300, +100) goes to 01:30.
    25: {
        "grid_import_off_peak": wh(500),
        "grid_cost_off_peak": cost(500, HC),
        "self_consumed": wh(300 - 100),
        "saving": cost(200, HC),
        "injected": wh(100),
        "injection_earnings": cost(100, FEED_IN),
    },
}


def expected_sums(series: str) -> list[tuple[datetime, Decimal]]:
    """(hour, running total as stored): Wh / 1000 in kWh, EUR rounded to the cent."""
    total = Decimal(0)
    rows = []
    for h, increments in sorted(HOURS.items()):
        total += increments.get(series, Decimal(0))
        rows.append((hour(h), total / 1000 if series in ENERGY_SERIES else cents(total)))
    return rows


class Story:
    """The household, the ledger entry and simulated time."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        self.hass = hass
        self.freezer = freezer
        self.now = T0
        self.entry = MockConfigEntry(
            domain=DOMAIN,
            title="Home",
            unique_id=f"{KIND_LEDGER}_home",
            data={CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"},
            options=OPTIONS,
        )
        self.registers = {GRID: 100_000, PV: 50_000, EAIT: 20_000}

    def add(self, **amounts: int) -> None:
        """Advance registers (grid=, pv=, eait=) by Wh."""
        for name, amount in amounts.items():
            entity_id = {"grid": GRID, "pv": PV, "eait": EAIT}[name]
            self.registers[entity_id] += amount
            self.hass.states.async_set(entity_id, str(self.registers[entity_id]), WH)

    async def setup(self) -> None:
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()

    async def go(self, until: datetime) -> None:
        """Let time pass, firing every timer due on the way."""
        while self.now < until:
            self.now = min(self.now + timedelta(seconds=30), until)
            self.freezer.move_to(self.now)
            async_fire_time_changed(self.hass, self.now)
            await self.hass.async_block_till_done()

    async def written(self) -> None:
        """Wait until the ledger's statistics wiring has committed what it took."""
        runtime = self.entry.runtime_data
        assert isinstance(runtime, LedgerRuntimeData)
        await runtime.statistics.async_wait()
        await async_wait_recording_done(self.hass)

    async def live(self) -> None:
        """The story up to 02:01 UTC, with Home Assistant down from 22:07 to 01:32."""
        await self.hass.config.async_set_time_zone(PARIS)
        self.freezer.move_to(T0)
        self.add(grid=0, pv=0, eait=0)
        self.entry.add_to_hass(self.hass)
        await self.setup()
        await self.go(T0 + timedelta(minutes=12))
        self.add(grid=1000, pv=3000, eait=1000)
        await self.go(T0 + timedelta(minutes=42))
        self.add(grid=500, pv=2000, eait=2000)
        await self.go(T0 + timedelta(minutes=80))
        self.add(grid=250, pv=1000)
        await self.go(T0 + timedelta(minutes=127))
        await self.written()
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()
        self.now = hour(25) + timedelta(minutes=32)
        self.freezer.move_to(self.now)
        self.add(grid=500, pv=300, eait=100)
        await self.setup()
        await self.go(hour(26) + timedelta(minutes=1))
        await self.written()


async def read_sums(hass: HomeAssistant, series: str) -> list[tuple[datetime, Decimal]]:
    """(start, sum) of every stored hour, as the Energy panel asks for them."""
    statistic_id = f"{DOMAIN}:home_{series}"
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, EPOCH, None, {statistic_id}, "hour", None, {"sum"}
    )
    return [
        (datetime.fromtimestamp(row["start"], UTC), Decimal(repr(row["sum"])))
        for row in stats.get(statistic_id, [])
    ]


async def read_all(hass: HomeAssistant) -> dict[str, list[tuple[datetime, Decimal]]]:
    return {series: await read_sums(hass, series) for series in SERIES}


@pytest.fixture
def story(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Story:
    return Story(hass, freezer)


async def test_hours_become_statistics_with_exact_sums_and_gaps(
    hass: HomeAssistant, story: Story
) -> None:
    """Every series, every hour the ledger finished: sums to the Wh and the cent; the hours
    Home Assistant was down (23:00 and 00:00 UTC) have no row."""
    await story.live()

    stored = await read_all(hass)
    for series in SERIES:
        assert stored[series] == expected_sums(series), series
    # The hand-computed figures, written out once so the comparison above is not circular.
    assert [s for _, s in stored["grid_cost_off_peak"]] == [
        Decimal("0.10"),  # 0.1034
        Decimal("0.16"),  # 0.1551, half to even
        Decimal("0.16"),
        Decimal("0.26"),  # 0.2585
    ]
    assert [s for _, s in stored["saving"]] == [
        Decimal("0.54"),
        Decimal("0.75"),  # 0.7468
        Decimal("0.75"),
        Decimal("0.79"),  # 0.78816
    ]
    assert [s for _, s in stored["self_consumed"]] == [Decimal(x) for x in ("2", "3", "3", "3.2")]
    assert [start for start, _ in stored["injected"]] == [hour(20), hour(21), hour(22), hour(25)]

    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids={f"{DOMAIN}:home_self_consumed"})
    )
    meta = metadata[f"{DOMAIN}:home_self_consumed"][1]
    assert meta["name"] == "Home Self-consumed energy"
    assert meta["unit_of_measurement"] == "kWh"
    assert meta["source"] == DOMAIN


async def test_rewriting_hours_already_stored_changes_nothing(
    hass: HomeAssistant, story: Story, hass_storage: dict[str, Any]
) -> None:
    """A run that died after the recorder committed but before forgetting its hours writes
    them again at the next start: the sums stay exactly as they were."""
    await story.live()
    before = await read_all(hass)
    assert await hass.config_entries.async_unload(story.entry.entry_id)
    await hass.async_block_till_done()
    key = f"{DOMAIN}.ledger_statistics.{story.entry.entry_id}"
    assert hass_storage[key]["data"] == {"pending": []}
    again = {
        hour(h).isoformat(): {s: str(v) for s, v in increments.items()}
        for h, increments in HOURS.items()
        if h in (20, 21)
    }
    hass_storage[key]["data"] = {"pending": [[start, inc] for start, inc in again.items()]}

    await story.setup()
    await story.written()
    assert await read_all(hass) == before


async def test_hours_not_written_are_kept_across_a_restart(
    hass: HomeAssistant,
    story: Story,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database refuses the writes: the hours are kept (saved on unload), the failure is
    logged once, and the next start writes them with the right sums."""
    real_write = StatisticsWriter.async_write_hours

    async def refuse(self: StatisticsWriter, series: Any, hours: Mapping[datetime, Any]) -> None:
        raise OSError("database is locked")

    monkeypatch.setattr(StatisticsWriter, "async_write_hours", refuse)
    await hass.config.async_set_time_zone(PARIS)
    story.freezer.move_to(T0)
    story.add(grid=0, pv=0, eait=0)
    story.entry.add_to_hass(hass)
    await story.setup()
    await story.go(T0 + timedelta(minutes=12))
    story.add(grid=1000, pv=3000, eait=1000)
    await story.go(T0 + timedelta(minutes=42))
    story.add(grid=500, pv=2000, eait=2000)
    await story.go(T0 + timedelta(minutes=80))
    story.add(grid=250, pv=1000)
    await story.go(T0 + timedelta(minutes=125))
    await story.written()
    assert await read_sums(hass, "saving") == []
    warnings = [r for r in caplog.records if "Long-term statistics" in r.message]
    assert len(warnings) == 1
    assert "database is locked" in warnings[0].message

    assert await hass.config_entries.async_unload(story.entry.entry_id)
    await hass.async_block_till_done()
    pending = hass_storage[f"{DOMAIN}.ledger_statistics.{story.entry.entry_id}"]["data"]["pending"]
    assert [start for start, _ in pending] == [hour(20).isoformat(), hour(21).isoformat()]

    monkeypatch.setattr(StatisticsWriter, "async_write_hours", real_write)
    await story.setup()
    await story.written()
    for series in SERIES:
        assert await read_sums(hass, series) == expected_sums(series)[:2], series
