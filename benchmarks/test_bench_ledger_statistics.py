"""Writing a year of a ledger's hourly long-term statistics into the real recorder (SQLite).

Run: `.venv/bin/python -m pytest benchmarks/test_bench_ledger_statistics.py -s -p no:logging`
(a pytest file because it needs the Home Assistant test harness; not part of `scripts/test`).

Figures printed, all measured in the same run, through the same path a ledger uses
(`LedgerStatistics`, which writes with `StatisticsWriter` and waits for the recorder's commit):
- seconds to write 8 760 hours of every series of a Tempo ledger with production (16 series:
  grid energy and cost for six periods, self-consumed, saving, injected, earnings), as after a
  long outage of the recorder or a first import;
- seconds to write the same year again (every hour replaced: the idempotent path);
- seconds per finished hour in normal running (one hour appended to every series), next to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.energy_ledger.const import (
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_KIND,
    CONF_NAME,
    CONF_PERIOD_ENTITY,
    CONF_PLAN,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    DOMAIN,
    KIND_LEDGER,
)
from custom_components.energy_ledger.core.tariff import PLAN_PERIODS, PlanKind, PricePlan
from custom_components.energy_ledger.ledger_coordinator import FinishedHour
from custom_components.energy_ledger.ledger_settings import settings_from_options
from custom_components.energy_ledger.ledger_statistics import LedgerStatistics, ledger_series

START = datetime(2025, 1, 1, tzinfo=UTC)
HOURS = 24 * 365


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: object, enable_custom_integrations: None
) -> None:
    """Real recorder, custom integration allowed."""


@pytest.fixture(autouse=True)
def quiet_sql() -> Iterator[None]:
    """The test harness logs every SQL statement; Home Assistant does not, so neither do we."""
    engine = logging.getLogger("sqlalchemy.engine")
    level = engine.level
    engine.setLevel(logging.WARNING)
    yield
    engine.setLevel(level)


class _Hours:
    """Stands in for the ledger's hour API: hands over prepared finished hours."""

    def __init__(self) -> None:
        self.finished: list[FinishedHour] = []

    def async_add_hour_listener(self, listener: Callable[[FinishedHour], None]) -> CALLBACK_TYPE:
        return lambda: None

    def take_finished_hours(self) -> list[FinishedHour]:
        hours, self.finished = self.finished, []
        return hours


def _year(series: tuple[str, ...], seed: int) -> list[FinishedHour]:
    rng = Random(seed)
    hours = []
    for n in range(HOURS):
        increments = {}
        for key in series:
            energy = "import" in key or key in {"self_consumed", "injected"}
            increments[key] = (
                Decimal(rng.randrange(0, 3000))
                if energy
                else Decimal(rng.randrange(0, 800_000)) / 1_000_000
            )
        hours.append(FinishedHour(START + timedelta(hours=n), increments))
    return hours


async def test_write_a_year_of_ledger_statistics(hass: HomeAssistant) -> None:
    plan = PricePlan(kind=PlanKind.TEMPO, zone=ZoneInfo("Europe/Paris"), energy={}).with_prices(
        date(2024, 1, 1),
        energy=dict.fromkeys(PLAN_PERIODS[PlanKind.TEMPO], "0.2"),
        feed_in="0.1269",
    )
    options: dict[str, Any] = {
        CONF_IMPORT_ENTITIES: [f"sensor.easf0{i}" for i in range(1, 7)],
        CONF_EXPORT_ENTITY: "sensor.eait",
        CONF_PRODUCTION_ENTITY: "sensor.inverter",
        CONF_PLAN: "tempo",
        CONF_PERIOD_ENTITY: "sensor.ltarf",
        CONF_PRICES: plan.to_dict(),
    }
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="ledger_home",
        data={CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"},
        options=options,
    )
    entry.add_to_hass(hass)
    settings = settings_from_options(options, ZoneInfo("Europe/Paris"))
    series = ledger_series(settings)
    assert len(series) == 16
    source = _Hours()
    statistics = LedgerStatistics(hass, entry, source, settings)  # type: ignore[arg-type]

    async def write(hours: list[FinishedHour]) -> float:
        source.finished = hours
        began = time.perf_counter()
        statistics.async_start()
        await statistics.async_wait()
        await async_wait_recording_done(hass)
        elapsed = time.perf_counter() - began
        assert statistics.pending_hours == []
        return elapsed

    first = await write(_year(series, 1))
    again = await write(_year(series, 1))
    appended = [
        await write(
            [FinishedHour(START + timedelta(hours=HOURS + n), dict.fromkeys(series, Decimal(1)))]
        )
        for n in range(24)
    ]
    per_hour = sorted(appended)[len(appended) // 2]
    print(
        f"\n{len(series)} series x {HOURS} hours: first write {first:.1f} s, "
        f"written again {again:.1f} s; one more hour for every series (median of 24): "
        f"{per_hour * 1000:.0f} ms"
    )
