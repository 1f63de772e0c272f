"""Long-term statistics against the real recorder: what a user reads back, on both HA lines.

Every check reads the rows back the way the Energy panel and statistics cards do, through
`statistics_during_period(..., "hour", None, {"sum", "change"})`, and compares them with values
computed here from the increments (Decimal, rounded to the cent half to even for money).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    get_metadata,
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.energy_ledger import statistics
from custom_components.energy_ledger.statistics import SeriesSpec, StatisticsWriter

START = datetime(2025, 1, 6, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ENERGY = SeriesSpec("ledger1_grid_import_hc", "Grid import HC", "energy")
MONEY = SeriesSpec("ledger1_grid_cost_hc", "Grid cost HC", "money")
NEW_METADATA = "unit_class" in StatisticMetaData.__annotations__
"""Home Assistant 2025.11+: statistics metadata has unit_class."""

type Row = tuple[datetime, float, float]


def hour(n: int) -> datetime:
    """The n-th hour after START."""
    return START + timedelta(hours=n)


async def read_hours(
    hass: HomeAssistant,
    statistic_id: str,
    period: Literal["hour", "day"] = "hour",
) -> list[Row]:
    """(start, sum, change) of every stored row, as the frontend asks for them."""
    await async_wait_recording_done(hass)
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        EPOCH,
        None,
        {statistic_id},
        period,
        None,
        {"sum", "change"},
    )
    rows = []
    for row in stats.get(statistic_id, []):
        stored_sum, change = row["sum"], row["change"]
        assert stored_sum is not None
        assert change is not None
        rows.append((datetime.fromtimestamp(row["start"], UTC), stored_sum, change))
    return rows


async def read_metadata(hass: HomeAssistant, statistic_id: str) -> dict[str, Any]:
    """The stored metadata of one statistic."""
    await async_wait_recording_done(hass)
    found = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids={statistic_id})
    )
    return dict(found[statistic_id][1])


def expected_energy(increments_wh: Mapping[int, int]) -> list[tuple[datetime, float]]:
    """(start, sum in kWh) computed from Wh, hour by hour, gaps left out."""
    total = 0
    rows = []
    for n in sorted(increments_wh):
        total += increments_wh[n]
        rows.append((hour(n), total / 1000))
    return rows


def cents(amount: Decimal) -> Decimal:
    """Round to the cent, half to even (written out here, independent of the code under test)."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def expected_money(increments: Iterable[tuple[int, Decimal]]) -> list[tuple[datetime, Decimal]]:
    """(start, running total rounded to the cent), gaps left out."""
    total = Decimal(0)
    rows = []
    for n, amount in sorted(increments):
        total += amount
        rows.append((hour(n), cents(total)))
    return rows


def sums(rows: list[Row]) -> list[tuple[datetime, float]]:
    """(start, sum) of read-back rows."""
    return [(start, stored_sum) for start, stored_sum, _ in rows]


def money_sums(rows: list[Row]) -> list[tuple[datetime, Decimal]]:
    """(start, sum as the decimal the user sees) of read-back rows."""
    return [(start, Decimal(repr(stored_sum))) for start, stored_sum, _ in rows]


def changes(rows: list[Row]) -> list[float]:
    """Hourly changes, as the Energy panel shows them (to the milli-unit)."""
    return [round(change, 3) for _, _, change in rows]


@pytest.fixture
def writer(hass: HomeAssistant) -> StatisticsWriter:
    """A writer on the test's Home Assistant."""
    return StatisticsWriter(hass)


async def test_energy_hours_read_back_as_sums_and_changes(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Wh increments become kWh sums; an hour with zero is an hour, not a gap."""
    increments = {0: 1500, 1: 250, 2: 0, 3: 1}
    await writer.async_write_hours(ENERGY, {hour(n): wh for n, wh in increments.items()})

    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy(increments)
    assert changes(rows) == [1.5, 0.25, 0.0, 0.001]


async def test_sums_continue_across_a_restart(hass: HomeAssistant) -> None:
    """A new writer (Home Assistant restarted) continues the stored sum, exactly."""
    await StatisticsWriter(hass).async_write_hours(ENERGY, {hour(0): 1200, hour(1): 800})
    await StatisticsWriter(hass).async_write_hours(ENERGY, {hour(2): 333, hour(3): 667})

    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy({0: 1200, 1: 800, 2: 333, 3: 667})
    assert changes(rows) == [1.2, 0.8, 0.333, 0.667]


async def test_rerunning_hours_is_idempotent(hass: HomeAssistant, writer: StatisticsWriter) -> None:
    """Writing the same hours again, all or one of them, leaves every row as it was."""
    hours = {hour(n): 100 * (n + 1) for n in range(5)}
    await writer.async_write_hours(ENERGY, hours)
    first = await read_hours(hass, ENERGY.statistic_id)

    await writer.async_write_hours(ENERGY, hours)
    await writer.async_write_hours(ENERGY, {hour(2): 300})
    await StatisticsWriter(hass).async_write_hours(ENERGY, {hour(0): 100, hour(1): 200})

    assert await read_hours(hass, ENERGY.statistic_id) == first
    assert sums(first) == expected_energy({n: 100 * (n + 1) for n in range(5)})


async def test_a_correction_in_the_middle_recomputes_later_sums(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Correcting hour 2 moves every later sum; later hours keep their own change."""
    increments = dict.fromkeys(range(6), 1000)
    await writer.async_write_hours(ENERGY, {hour(n): wh for n, wh in increments.items()})

    await StatisticsWriter(hass).async_write_hours(ENERGY, {hour(2): 4000})
    increments[2] = 4000

    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy(increments)
    assert changes(rows) == [1.0, 1.0, 4.0, 1.0, 1.0, 1.0]

    # Lowering it again, and correcting two hours at once, still leaves no later sum behind.
    await writer.async_write_hours(ENERGY, {hour(1): 10, hour(3): 20})
    increments |= {1: 10, 3: 20}
    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy(increments)


async def test_gaps_stay_gaps_and_a_late_hour_fills_one(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Hours never given are not stored; the change after a gap is that hour's increment."""
    await writer.async_write_hours(ENERGY, {hour(0): 500, hour(1): 500, hour(5): 700})
    await writer.async_write_hours(ENERGY, {hour(8): 100})

    rows = await read_hours(hass, ENERGY.statistic_id)
    assert [start for start, _, _ in rows] == [hour(0), hour(1), hour(5), hour(8)]
    assert sums(rows) == expected_energy({0: 500, 1: 500, 5: 700, 8: 100})
    assert changes(rows) == [0.5, 0.5, 0.7, 0.1]

    # Data for hour 3 arrives late (a rebuild from history): the gap is filled, later sums move.
    await writer.async_write_hours(ENERGY, {hour(3): 250})
    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy({0: 500, 1: 500, 3: 250, 5: 700, 8: 100})
    assert changes(rows) == [0.5, 0.5, 0.25, 0.7, 0.1]


async def test_corrections_far_after_or_before_the_stored_history(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """The previous row is found across a gap of weeks; an hour before all others shifts them."""
    await writer.async_write_hours(ENERGY, {hour(0): 100})
    await writer.async_write_hours(ENERGY, {hour(500): 200, hour(501): 300})
    await writer.async_write_hours(ENERGY, {hour(500): 250})
    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy({0: 100, 500: 250, 501: 300})

    await writer.async_write_hours(ENERGY, {hour(-3): 50})
    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy({-3: 50, 0: 100, 500: 250, 501: 300})
    assert changes(rows) == [0.05, 0.1, 0.25, 0.3]


async def test_a_recorder_that_does_not_confirm_is_logged_not_awaited_forever(
    hass: HomeAssistant,
    writer: StatisticsWriter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The write returns after the timeout with a warning; the queued import still lands."""
    monkeypatch.setattr(statistics, "_COMMIT_TIMEOUT", 0.05)
    monkeypatch.setattr(statistics._Committed, "run", lambda self, instance: None)
    await writer.async_write_hours(ENERGY, {hour(0): 100})
    assert "did not run the statistics import" in caplog.text

    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy({0: 100})


async def test_money_rounds_only_the_running_total_to_the_cent(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Twelve hours of 0.004 EUR make 0.05 EUR, not twelve times 0.00."""
    increments = [(n, Decimal("0.004")) for n in range(12)]
    await writer.async_write_hours(MONEY, {hour(n): amount for n, amount in increments})

    rows = await read_hours(hass, MONEY.statistic_id)
    assert money_sums(rows) == expected_money(increments)
    assert money_sums(rows)[-1] == (hour(11), Decimal("0.05"))
    assert sum(Decimal(repr(round(change, 2))) for change in changes(rows)) == Decimal("0.05")


async def test_money_written_hour_by_hour_over_restarts_keeps_the_sub_cent_part(
    hass: HomeAssistant,
) -> None:
    """The live case: one hour per write, Home Assistant restarted between writes."""
    increments = [(n, Decimal("0.004")) for n in range(12)]
    for n, amount in increments:
        await StatisticsWriter(hass).async_write_hours(MONEY, {hour(n): amount})

    rows = await read_hours(hass, MONEY.statistic_id)
    assert money_sums(rows) == expected_money(increments)
    assert money_sums(rows)[-1][1] == Decimal("0.05")


async def test_money_ties_round_half_to_even_and_corrections_stay_exact(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Half cents go to the even cent; a mid-history correction keeps every later cent right."""
    increments = dict.fromkeys(range(4), Decimal("0.005"))
    await writer.async_write_hours(MONEY, {hour(n): amount for n, amount in increments.items()})
    rows = await read_hours(hass, MONEY.statistic_id)
    # Running totals 0.005, 0.010, 0.015, 0.020 -> 0.00, 0.01, 0.02, 0.02.
    assert [stored for _, stored in money_sums(rows)] == [
        Decimal("0.00"),
        Decimal("0.01"),
        Decimal("0.02"),
        Decimal("0.02"),
    ]

    more = {n: Decimal("0.0371234") for n in range(4, 30)} | {31: Decimal("1.23")}
    await writer.async_write_hours(MONEY, {hour(n): amount for n, amount in more.items()})
    increments |= more
    await writer.async_write_hours(MONEY, {hour(1): Decimal("0.0049999"), hour(10): Decimal(0)})
    increments |= {1: Decimal("0.0049999"), 10: Decimal(0)}

    rows = await read_hours(hass, MONEY.statistic_id)
    assert money_sums(rows) == expected_money(increments.items())


async def test_a_hand_adjusted_sum_is_kept_by_the_next_hours(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """The statistics developer tool's "adjust sum" is respected, sub-cent part included."""
    await writer.async_write_hours(MONEY, {hour(0): Decimal("1.004"), hour(1): Decimal("1.004")})
    get_instance(hass).async_adjust_statistics(MONEY.statistic_id, hour(1), 10.0, "EUR")
    await async_wait_recording_done(hass)

    await writer.async_write_hours(MONEY, {hour(2): Decimal("0.002")})
    rows = await read_hours(hass, MONEY.statistic_id)
    # 2.008 + 10 adjusted, then + 0.002 = 12.010.
    assert [stored for _, stored in money_sums(rows)] == [
        Decimal("1.00"),
        Decimal("12.01"),
        Decimal("12.01"),
    ]


async def test_concurrent_writes_of_one_series_do_not_lose_a_sum(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Writes racing on one series are applied one after the other, each on committed rows."""
    await asyncio.gather(
        *(writer.async_write_hours(ENERGY, {hour(n): 1000}) for n in range(6)),
        writer.async_write_hours(ENERGY, {hour(2): 3000}),
    )
    rows = await read_hours(hass, ENERGY.statistic_id)
    assert sums(rows) == expected_energy({n: 3000 if n == 2 else 1000 for n in range(6)})


async def test_metadata_on_the_running_version(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Units, has_sum and mean_type everywhere; unit_class only where the version has it."""
    await writer.async_write_hours(ENERGY, {hour(0): 1})
    await writer.async_write_hours(MONEY, {hour(0): Decimal("0.01")})

    energy = await read_metadata(hass, ENERGY.statistic_id)
    money = await read_metadata(hass, MONEY.statistic_id)
    for series, metadata in ((ENERGY, energy), (MONEY, money)):
        assert metadata["statistic_id"] == series.statistic_id
        assert metadata["source"] == "energy_ledger"
        assert metadata["name"] == series.name
        assert metadata["has_sum"] is True
        assert metadata["mean_type"] is StatisticMeanType.NONE
        assert metadata.get("has_mean", False) is False
    assert energy["unit_of_measurement"] == "kWh"
    assert money["unit_of_measurement"] == "EUR"
    if NEW_METADATA:
        assert energy["unit_class"] == "energy"
        assert money["unit_class"] is None
    else:
        assert "unit_class" not in energy
        assert "unit_class" not in money

    # What the Energy panel's pickers list and filter on (statistic type "sum", unit class).
    listed = await get_instance(hass).async_add_executor_job(
        lambda: list_statistic_ids(hass, statistic_type="sum")
    )
    by_id = {item["statistic_id"]: item for item in listed}
    assert by_id[ENERGY.statistic_id]["unit_class"] == "energy"
    assert by_id[ENERGY.statistic_id]["statistics_unit_of_measurement"] == "kWh"
    assert by_id[MONEY.statistic_id]["unit_class"] is None
    assert by_id[MONEY.statistic_id]["statistics_unit_of_measurement"] == "EUR"


async def test_statistics_are_utc_hours_whatever_the_dst(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Both DST nights: hours are UTC hours, none lost or doubled; local days hold 23 / 25."""
    paris = ZoneInfo("Europe/Paris")
    await hass.config.async_set_time_zone("Europe/Paris")

    # Spring: the local day of 2025-03-30 has 23 hours; keys given in local time.
    spring_start = datetime(2025, 3, 30, tzinfo=paris)
    spring = [spring_start.astimezone(UTC) + timedelta(hours=n) for n in range(23)]
    assert spring[-1].astimezone(paris).hour == 23
    await writer.async_write_hours(ENERGY, {start.astimezone(paris): 1000 for start in spring})

    # Autumn: the local day of 2025-10-26 has 25 hours, 02:00 local twice; keys in UTC.
    autumn_start = datetime(2025, 10, 26, tzinfo=paris).astimezone(UTC)
    autumn = [autumn_start + timedelta(hours=n) for n in range(25)]
    assert [start.astimezone(paris).hour for start in autumn].count(2) == 2
    await writer.async_write_hours(ENERGY, dict.fromkeys(autumn, 1000))

    rows = await read_hours(hass, ENERGY.statistic_id)
    assert [start for start, _, _ in rows] == spring + autumn
    assert changes(rows) == [1.0] * 48
    assert rows[-1][1] == 48.0

    days = await read_hours(hass, ENERGY.statistic_id, "day")
    assert [(start.astimezone(paris).date().isoformat(), change) for start, _, change in days] == [
        ("2025-03-30", 23.0),
        ("2025-10-26", 25.0),
    ]


async def test_bad_input_is_refused_before_anything_is_written(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Ids the recorder would refuse, naive or off-hour starts, float money."""
    for object_id in ("Grid", "grid-import", "_grid", "grid_", "grid__import", ""):
        with pytest.raises(ValueError, match="object id"):
            SeriesSpec(object_id, "x", "energy")
    with pytest.raises(ValueError, match="kind"):
        SeriesSpec("grid", "x", "power")  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="time zone"):
        await writer.async_write_hours(ENERGY, {datetime(2025, 1, 6, 1): 1})
    # 10:00 in India is 04:30 UTC: on the local hour, between two UTC hours.
    with pytest.raises(ValueError, match="UTC hour"):
        await writer.async_write_hours(
            ENERGY, {datetime(2025, 1, 6, 10, tzinfo=ZoneInfo("Asia/Kolkata")): 1}
        )
    with pytest.raises(ValueError, match="UTC hour"):
        await writer.async_write_hours(ENERGY, {hour(0) + timedelta(minutes=5): 1})
    with pytest.raises(TypeError, match="int or a Decimal"):
        await writer.async_write_hours(MONEY, {hour(0): 0.1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="int or a Decimal"):
        await writer.async_write_hours(ENERGY, {hour(0): True})
    with pytest.raises(ValueError, match="NaN"):
        await writer.async_write_hours(MONEY, {hour(0): Decimal("NaN")})

    await writer.async_write_hours(ENERGY, {})
    assert await read_hours(hass, ENERGY.statistic_id) == []


async def test_energy_validation_accepts_our_statistics(
    hass: HomeAssistant, writer: StatisticsWriter
) -> None:
    """Home Assistant's own Energy validation: grid import with our cost, export with earnings."""
    assert await async_setup_component(hass, "energy", {})
    export = SeriesSpec("ledger1_injected", "Injected", "energy")
    earnings = SeriesSpec("ledger1_injection_earnings", "Injection earnings", "money")
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": ENERGY.statistic_id,
                            "stat_cost": MONEY.statistic_id,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": export.statistic_id,
                            "stat_compensation": earnings.statistic_id,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "cost_adjustment_day": 0,
                }
            ],
            "device_consumption": [],
        }
    )

    # Before anything is written the validation complains: the check is not vacuous.
    before = (await async_validate(hass)).as_dict()
    assert {issue["type"] for issue in before["energy_sources"][0]} == {"statistics_not_defined"}

    await writer.async_write_hours(ENERGY, {hour(0): 1200})
    await writer.async_write_hours(MONEY, {hour(0): Decimal("0.2418")})
    await writer.async_write_hours(export, {hour(0): 300})
    await writer.async_write_hours(earnings, {hour(0): Decimal("0.0381")})
    await async_wait_recording_done(hass)

    result = (await async_validate(hass)).as_dict()
    assert result["energy_sources"] == [[]]
    assert result["device_consumption"] == []
