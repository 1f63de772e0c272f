"""`energy_ledger.rebuild_statistics`: a ledger's statistics recomputed from recorded history.

A solar household on HC/HP (period from its meter's period entity) has three hours of source
states in the real recorder -- registers in Wh and, for the inverter, kWh; a reading exactly on
the hour; an unavailable inverter -- recorded before the ledger existed. The user adds the
ledger and calls the action, as after installing with months of history. Every statistic is
read back as the Energy panel reads it and compared with sums computed here by hand.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
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
    CONF_PERIOD_ENTITY,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_WINDOW_MINUTES,
    DOMAIN,
    KIND_LEDGER,
    KIND_TIC,
)
from custom_components.energy_ledger.core.tariff import PlanKind, PricePlan
from custom_components.energy_ledger.entry import LedgerRuntimeData

PARIS = "Europe/Paris"
HP, HC, FEED_IN = Decimal("0.27"), Decimal("0.2068"), Decimal("0.1269")
HP_CORRECTED = Decimal("0.2516")
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
"""Monday 5 January 2026, 11:00 in Paris."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
KWH = {**WH, "unit_of_measurement": "kWh"}
GRID, PV, EAIT, PERIOD = "sensor.grid_energy", "sensor.pv_energy", "sensor.eait", "sensor.period"
OPTIONS = {
    CONF_IMPORT_ENTITIES: [GRID],
    CONF_EXPORT_ENTITY: EAIT,
    CONF_PRODUCTION_ENTITY: PV,
    CONF_PLAN: "hc_hp",
    CONF_PERIOD_SOURCE: "entity",
    CONF_PERIOD_ENTITY: PERIOD,
    CONF_WINDOW_MINUTES: 5,
    CONF_PRICES: PricePlan(kind=PlanKind.HC_HP, zone=ZoneInfo(PARIS), energy={})
    .with_prices(
        date(2025, 8, 1), energy={"off_peak": HC, "peak": HP}, feed_in=FEED_IN, subscription=0
    )
    .to_dict(),
}
ENERGY_SERIES = ("grid_import_peak", "grid_import_off_peak", "self_consumed", "injected")
MONEY_SERIES = ("grid_cost_peak", "grid_cost_off_peak", "saving", "injection_earnings")
SERIES = (*ENERGY_SERIES, *MONEY_SERIES)


def cost(wh: int, price: Decimal) -> Decimal:
    return Decimal(wh) * price / 1000


def cents(amount: Decimal) -> Decimal:
    """Half to even, to the cent: the project's edge rule, written out here."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def hour(h: int) -> datetime:
    """UTC hour h of T0's day."""
    return T0.replace(hour=h)


def hours_added(hp: Decimal) -> dict[int, dict[str, Decimal]]:
    """What each hour of the story adds, by hand, with ``hp`` as the peak price."""
    return {
        # 10:12 peak: +1000 import, +3000 production, +1000 export.
        # 10:42 off-peak: +500 import, +2000 production, +2000 export (nothing self-consumed).
        10: {
            "grid_import_peak": Decimal(1000),
            "grid_cost_peak": cost(1000, hp),
            "grid_import_off_peak": Decimal(500),
            "grid_cost_off_peak": cost(500, HC),
            "self_consumed": Decimal(2000),
            "saving": cost(2000, hp),
            "injected": Decimal(3000),
            "injection_earnings": cost(3000, FEED_IN),
        },
        # 11:00:00 off-peak: +50 import. 11:05 the inverter is unavailable, 11:20 back with
        # +1000 (and +250 import), 11:45 peak, 11:50 +100 import and +400 production.
        11: {
            "grid_import_peak": Decimal(100),
            "grid_cost_peak": cost(100, hp),
            "grid_import_off_peak": Decimal(300),
            "grid_cost_off_peak": cost(300, HC),
            "self_consumed": Decimal(1400),
            "saving": cost(1000, HC) + cost(400, hp),
            "injected": Decimal(0),
            "injection_earnings": Decimal(0),
        },
        # 12:10 peak: +300 import.
        12: {
            "grid_import_peak": Decimal(300),
            "grid_cost_peak": cost(300, hp),
            "grid_import_off_peak": Decimal(0),
            "grid_cost_off_peak": Decimal(0),
            "self_consumed": Decimal(0),
            "saving": Decimal(0),
            "injected": Decimal(0),
            "injection_earnings": Decimal(0),
        },
    }


def expected_sums(series: str, hp: Decimal = HP) -> list[tuple[datetime, Decimal]]:
    """(hour, running total as stored): kWh for energy, EUR rounded to the cent."""
    total = Decimal(0)
    rows = []
    for h, increments in sorted(hours_added(hp).items()):
        total += increments[series]
        rows.append((hour(h), total / 1000 if series in ENERGY_SERIES else cents(total)))
    return rows


async def record_history(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """The sources' states from 10:00 to 12:10 UTC, committed by the recorder; now is 13:01."""
    await hass.config.async_set_time_zone(PARIS)
    registers = {GRID: 100_000, PV: 50_000, EAIT: 20_000}

    def at(minutes: int) -> None:
        freezer.move_to(T0 + timedelta(minutes=minutes))

    def add(**amounts: int) -> None:
        for name, amount in amounts.items():
            entity_id = {"grid": GRID, "pv": PV, "eait": EAIT}[name]
            registers[entity_id] += amount
            if entity_id == PV:
                hass.states.async_set(PV, f"{registers[PV] / 1000:.3f}", KWH)
            else:
                hass.states.async_set(entity_id, str(registers[entity_id]), WH)

    at(0)
    add(grid=0, pv=0, eait=0)
    hass.states.async_set(PERIOD, "peak")
    at(12)
    add(grid=1000, pv=3000, eait=1000)
    at(40)
    hass.states.async_set(PERIOD, "off_peak")
    at(42)
    add(grid=500, pv=2000, eait=2000)
    at(60)
    add(grid=50)
    at(65)
    hass.states.async_set(PV, "unavailable", KWH)
    at(80)
    add(grid=250, pv=1000)
    at(105)
    hass.states.async_set(PERIOD, "peak")
    at(110)
    add(grid=100, pv=400)
    at(130)
    add(grid=300)
    at(181)
    await async_wait_recording_done(hass)


async def add_ledger(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=f"{KIND_LEDGER}_home",
        data={CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"},
        options=OPTIONS,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def rebuild(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "rebuild_statistics", data, blocking=True, return_response=True
    )
    await async_wait_recording_done(hass)
    assert response is not None
    return dict(response)


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


async def test_rebuild_after_install_writes_the_history_as_hand_computed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Defaults: from the oldest state to now. Every series, every whole hour, to the Wh and
    the cent; the partial hour in progress (13:00) is not written."""
    await record_history(hass, freezer)
    entry = await add_ledger(hass)
    assert await read_all(hass) == {series: [] for series in SERIES}
    caplog.set_level(logging.INFO, logger="custom_components.energy_ledger")

    response = await rebuild(hass, config_entry_id=entry.entry_id)

    stored = await read_all(hass)
    for series in SERIES:
        assert stored[series] == expected_sums(series), series
    # The hand-computed figures, written out once so the comparison above is not circular.
    assert [s for _, s in stored["grid_cost_off_peak"]] == [
        Decimal("0.10"),  # 0.1034
        Decimal("0.17"),  # 0.16544
        Decimal("0.17"),  # nothing off-peak at 12:00: a zero, not a gap
    ]
    assert [s for _, s in stored["saving"]] == [Decimal("0.54"), Decimal("0.85"), Decimal("0.85")]
    assert [s for _, s in stored["grid_import_peak"]] == [Decimal(x) for x in ("1", "1.1", "1.4")]
    assert response == {
        "start": hour(10).isoformat(),
        "end": hour(13).isoformat(),
        "hours": {f"{DOMAIN}:home_{series}": 3 for series in SERIES},
        "ignored_states": {"unavailable": 1},
    }
    messages = [r.message for r in caplog.records if "long-term statistics of ledger" in r.message]
    assert len(messages) == 2
    assert messages[0].startswith("Rebuilding the long-term statistics of ledger Home")
    assert messages[1].startswith("Rebuilt the long-term statistics of ledger Home: 3 hours")


async def test_a_corrected_price_then_a_rebuild_changes_the_money(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The peak price was wrong since the 5th: after `set_prices` and a rebuild of that day,
    the peak money series follow the corrected price, energy and off-peak money do not
    move, and rebuilding again stores exactly the same rows."""
    await record_history(hass, freezer)
    entry = await add_ledger(hass)
    await rebuild(hass, config_entry_id=entry.entry_id)
    before = await read_all(hass)

    await hass.services.async_call(
        DOMAIN,
        "set_prices",
        {
            "config_entry_id": entry.entry_id,
            "valid_from": "2026-01-05",
            "price_peak": str(HP_CORRECTED),
        },
        blocking=True,
    )
    await hass.async_block_till_done()
    device = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)[0]
    response = await rebuild(
        hass, device_id=device.id, start="2026-01-05 11:00:00", end="2026-01-05 14:00:00"
    )
    assert response["start"] == hour(10).isoformat()  # local 11:00 Paris is 10:00 UTC
    assert response["end"] == hour(13).isoformat()

    after = await read_all(hass)
    for series in SERIES:
        assert after[series] == expected_sums(series, HP_CORRECTED), series
    for series in ("grid_cost_peak", "saving"):
        assert after[series] != before[series], series
    for series in (*ENERGY_SERIES, "grid_cost_off_peak", "injection_earnings"):
        assert after[series] == before[series], series
    # 0.2516 × 1 kWh + 0.2516 × 0.1 kWh + 0.2516 × 0.3 kWh = 0.35224
    assert [s for _, s in after["grid_cost_peak"]] == [Decimal(x) for x in ("0.25", "0.28", "0.35")]

    await rebuild(hass, config_entry_id=entry.entry_id, start="2026-01-05 11:00:00")
    assert await read_all(hass) == after


async def test_live_hours_and_rebuilt_hours_agree(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The ledger ran live through the story and wrote its hours; a rebuild of the same
    range, with the live writer running, gives the same rows (the hand-computed ones)."""
    await hass.config.async_set_time_zone(PARIS)
    freezer.move_to(T0)
    hass.states.async_set(GRID, "100000", WH)
    hass.states.async_set(PV, "50.000", KWH)
    hass.states.async_set(EAIT, "20000", WH)
    hass.states.async_set(PERIOD, "peak")
    entry = await add_ledger(hass)
    runtime = entry.runtime_data
    assert isinstance(runtime, LedgerRuntimeData)
    steps = [
        (12, {GRID: ("101000", WH), PV: ("53.000", KWH), EAIT: ("21000", WH)}),
        (40, {PERIOD: ("off_peak", {})}),
        (42, {GRID: ("101500", WH), PV: ("55.000", KWH), EAIT: ("23000", WH)}),
        (60, {GRID: ("101550", WH)}),
        (65, {PV: ("unavailable", KWH)}),
        (80, {GRID: ("101800", WH), PV: ("56.000", KWH)}),
        (105, {PERIOD: ("peak", {})}),
        (110, {GRID: ("101900", WH), PV: ("56.400", KWH)}),
        (130, {GRID: ("102200", WH)}),
        (181, {}),
    ]
    now = T0
    for minutes, states in steps:
        while now < T0 + timedelta(minutes=minutes):
            now += timedelta(seconds=30)
            freezer.move_to(now)
            async_fire_time_changed(hass, now)
            await hass.async_block_till_done()
            # An hour being written waits for the recorder: let it finish before time moves
            # on, or the test's time jumps would fire the writer's commit timeout.
            await runtime.statistics.async_wait()
        for entity_id, (value, attributes) in states.items():
            hass.states.async_set(entity_id, value, attributes)
        await hass.async_block_till_done()
    await runtime.statistics.async_wait()
    await async_wait_recording_done(hass)
    live = await read_all(hass)
    assert live == {series: expected_sums(series) for series in SERIES}

    response = await rebuild(hass, config_entry_id=entry.entry_id)
    assert response["hours"] == {f"{DOMAIN}:home_{series}": 3 for series in SERIES}
    await runtime.statistics.async_wait()
    assert await read_all(hass) == live


async def test_refusals_change_nothing(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """A target that is not a ledger, two targets, a range without history or without a
    whole hour: a translated error, and no statistic written."""
    await record_history(hass, freezer)
    entry = await add_ledger(hass)
    meter = MockConfigEntry(domain=DOMAIN, title="Linky", data={CONF_KIND: KIND_TIC})
    meter.add_to_hass(hass)
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"config_entry_id": meter.entry_id}, "not_a_ledger"),
        ({"config_entry_id": "no_such_entry"}, "not_a_ledger"),
        ({"device_id": "no_such_device"}, "not_a_ledger"),
        ({}, "ledger_target_required"),
        ({"config_entry_id": entry.entry_id, "device_id": "x"}, "ledger_target_required"),
        (
            {
                "config_entry_id": entry.entry_id,
                "start": "2025-06-01 00:00:00",
                "end": "2025-07-01 00:00:00",
            },
            "rebuild_no_history",
        ),
        (
            {
                "config_entry_id": entry.entry_id,
                "start": "2026-01-05 12:00:00",
                "end": "2026-01-05 12:30:00",
            },
            "rebuild_empty_range",
        ),
    ]
    for data, key in refusals:
        with pytest.raises(ServiceValidationError) as err:
            await rebuild(hass, **data)
        assert err.value.translation_key == key, data
    assert await read_all(hass) == {series: [] for series in SERIES}
