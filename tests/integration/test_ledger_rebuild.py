"""`energy_ledger.rebuild_statistics`: a ledger's statistics recomputed from recorded history.

A solar household on HC/HP (period from its meter's period entity) has three hours of source
states in the real recorder -- registers in Wh and, for the inverter, kWh; a reading exactly on
the hour; an unavailable inverter -- recorded before the ledger existed. The user adds the
ledger and calls the action, as after installing with months of history. Every statistic is
read back as the Energy panel reads it and compared with sums computed here by hand.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.components.recorder.tasks import RecorderTask
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.energy_ledger import ledger_rebuild
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
from custom_components.energy_ledger.statistics import StatisticsWriter

if TYPE_CHECKING:
    from homeassistant.components.recorder.core import Recorder

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


# ---- Home Assistant stopping during a rebuild ------------------------------------------------


@dataclass(slots=True)
class _HoldRecorder(RecorderTask):
    """Keeps the recorder thread busy until released: the tasks queued after it wait."""

    release: threading.Event

    def run(self, instance: Recorder) -> None:
        self.release.wait(30)  # a safety net for a failing test only; released at the stop


def hold_the_recorder_before(
    monkeypatch: pytest.MonkeyPatch, start: datetime, release: threading.Event
) -> asyncio.Event:
    """The rebuild's read of the hour at ``start`` waits in the recorder's queue until released.

    This is the one hook of the test that uses it, at the boundary between the rebuild and the
    recorder: the real read is queued as the rebuild queues it, only behind a task holding the
    recorder thread, so that Home Assistant is asked to stop while that read is pending -- the
    moment that crashed SQLite when the reads ran in the recorder's database executor. The
    returned event is set once the read is queued.
    """
    queued = asyncio.Event()
    real_read = ledger_rebuild.async_recorder_read

    async def read(hass: HomeAssistant, job: Callable[[], Any]) -> Any:
        if (
            isinstance(job, partial)
            and job.func is get_significant_states
            and job.args[1:3] == (start - timedelta(microseconds=1), start + timedelta(hours=1))
        ):
            get_instance(hass).queue_task(_HoldRecorder(release))
            queued.set()  # the real read below is queued before this coroutine first waits
        return await real_read(hass, job)

    monkeypatch.setattr(ledger_rebuild, "async_recorder_read", read)
    return queued


def on_event(hass: HomeAssistant, event_type: str, action: Callable[[], object]) -> None:
    """Run ``action`` when Home Assistant fires ``event_type`` (a stage of its shutdown)."""

    @callback
    def fired(_event: Event) -> None:
        action()

    hass.bus.async_listen_once(event_type, fired)


def stored_on_disk(db_url: str) -> dict[str, list[tuple[datetime, Decimal]]]:
    """(start, sum) of every stored hour per series, read from the database file itself: what
    Home Assistant finds at its next start."""
    with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as db:
        rows = db.execute(
            "SELECT meta.statistic_id, row.start_ts, row.sum FROM statistics AS row "
            "JOIN statistics_meta AS meta ON meta.id = row.metadata_id "
            "WHERE meta.statistic_id LIKE ? ORDER BY row.start_ts",
            (f"{DOMAIN}:home_%",),
        ).fetchall()
    stored: dict[str, list[tuple[datetime, Decimal]]] = {series: [] for series in SERIES}
    for statistic_id, start, total in rows:
        stored[statistic_id.removeprefix(f"{DOMAIN}:home_")].append(
            (datetime.fromtimestamp(start, UTC), Decimal(repr(total)))
        )
    return stored


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Warnings and errors logged: an unexpected exception, a task left running at shutdown."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def start_rebuild(hass: HomeAssistant, entry: MockConfigEntry) -> asyncio.Task[Any]:
    """The action as the UI calls it, running while the test goes on."""
    return hass.async_create_task(
        hass.services.async_call(
            DOMAIN,
            "rebuild_statistics",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    )


@pytest.mark.parametrize("persistent_database", [True])
async def test_stopping_home_assistant_during_the_replay_changes_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    recorder_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The price was corrected and a rebuild started; Home Assistant is asked to stop while
    the read of 11:00 waits in the recorder's queue (`hold_the_recorder_before`). The action
    fails with the translated error, Home Assistant stops without any warning or error, and
    the database holds the rows of the previous rebuild, untouched. Asked again after the stop,
    the action fails the same way at once."""
    await record_history(hass, freezer)
    entry = await add_ledger(hass)
    await rebuild(hass, config_entry_id=entry.entry_id)
    await hass.services.async_call(
        DOMAIN,
        "set_prices",
        {"config_entry_id": entry.entry_id, "valid_from": "2026-01-05", "price_peak": "0.30"},
        blocking=True,
    )
    await hass.async_block_till_done()
    release = threading.Event()
    queued = hold_the_recorder_before(monkeypatch, hour(11), release)
    on_event(hass, EVENT_HOMEASSISTANT_STOP, release.set)
    call = start_rebuild(hass, entry)
    await queued.wait()
    caplog.clear()

    await hass.async_stop()

    with pytest.raises(HomeAssistantError) as err:
        await call
    assert err.value.translation_key == "rebuild_interrupted"
    assert str(err.value) == (
        "The rebuild was interrupted because Home Assistant or its recorder is stopping; "
        "no statistics were changed. Run it again after the restart"  # Home Assistant drops the "."
    )
    assert problems(caplog) == []
    assert stored_on_disk(recorder_db_url) == {series: expected_sums(series) for series in SERIES}

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "rebuild_statistics",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "rebuild_interrupted"


@pytest.mark.parametrize("persistent_database", [True])
async def test_stopping_home_assistant_while_writing_leaves_each_statistic_whole(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    recorder_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Right after installing, the rebuild is writing: Home Assistant is asked to stop once the
    first statistic is committed (the writer waits there for the stop: this test's hook, at the
    boundary between the rebuild and the writer). The action fails saying 1 of 8 statistics
    was rewritten; in the database, that one holds all its hours and the others none."""
    await record_history(hass, freezer)
    entry = await add_ledger(hass)
    real_write = StatisticsWriter.async_write_hours
    committed: list[str] = []
    first_committed, release = asyncio.Event(), asyncio.Event()

    async def write_then_wait(self: StatisticsWriter, series: Any, hours: Any) -> None:
        await real_write(self, series, hours)
        committed.append(series.statistic_id)
        if len(committed) == 1:
            first_committed.set()
            await release.wait()

    monkeypatch.setattr(StatisticsWriter, "async_write_hours", write_then_wait)
    on_event(hass, EVENT_HOMEASSISTANT_STOP, release.set)
    call = start_rebuild(hass, entry)
    await first_committed.wait()
    caplog.clear()

    await hass.async_stop()

    with pytest.raises(HomeAssistantError) as err:
        await call
    assert err.value.translation_key == "rebuild_interrupted_writing"
    assert err.value.translation_placeholders == {"written": "1", "total": "8"}
    assert problems(caplog) == []
    assert len(committed) == 1
    first = committed[0].removeprefix(f"{DOMAIN}:home_")
    assert stored_on_disk(recorder_db_url) == {
        series: expected_sums(series) if series == first else [] for series in SERIES
    }


@pytest.mark.parametrize("persistent_database", [True])
async def test_a_write_overtaken_by_the_final_write_adds_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    recorder_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The rebuild's first statistic is being written when Home Assistant stops, its read of
    the stored rows queued behind a busy recorder until the final write has begun (this test's
    hook holds the recorder thread until then). The recorder will not run an import queued from
    then on, so the write queues none: the action fails with the translated error, nothing is
    stored and Home Assistant stops without warning (no task left waiting for the import)."""
    await record_history(hass, freezer)
    entry = await add_ledger(hass)
    real_write = StatisticsWriter.async_write_hours
    release, queued = threading.Event(), asyncio.Event()

    async def hold_then_write(self: StatisticsWriter, series: Any, hours: Any) -> None:
        if not queued.is_set():
            get_instance(self.hass).queue_task(_HoldRecorder(release))
            queued.set()  # the real read below is queued before this coroutine first waits
        await real_write(self, series, hours)

    monkeypatch.setattr(StatisticsWriter, "async_write_hours", hold_then_write)
    on_event(hass, EVENT_HOMEASSISTANT_FINAL_WRITE, release.set)
    call = start_rebuild(hass, entry)
    await queued.wait()
    caplog.clear()

    await hass.async_stop()

    with pytest.raises(HomeAssistantError) as err:
        await call
    assert err.value.translation_key == "rebuild_interrupted"
    assert problems(caplog) == []
    assert stored_on_disk(recorder_db_url) == {series: [] for series in SERIES}


# ---- Downtime -------------------------------------------------------------------------------


async def test_hours_while_home_assistant_was_down_stay_gaps(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Home Assistant was down from 10:30 to 12:05, so the recorder has nothing from 11:00 to
    12:00. That hour gets no row in any statistic -- a gap, as the live ledger leaves it, not
    an hour of zero -- and what the registers advanced while down counts at 12:00, the first
    hour after, where the sums continue."""
    await hass.config.async_set_time_zone(PARIS)
    freezer.move_to(T0)
    hass.states.async_set(GRID, "100000", WH)
    hass.states.async_set(PV, "50.000", KWH)
    hass.states.async_set(EAIT, "20000", WH)
    hass.states.async_set(PERIOD, "peak")
    freezer.move_to(T0 + timedelta(minutes=12))
    hass.states.async_set(GRID, "101000", WH)  # +1000 imported
    hass.states.async_set(PV, "53.000", KWH)  # +3000 produced
    hass.states.async_set(EAIT, "21000", WH)  # +1000 exported: 2000 self-consumed
    freezer.move_to(T0 + timedelta(minutes=125))  # 12:05, back: +500 imported, +1000 produced
    hass.states.async_set(GRID, "101500", WH)
    hass.states.async_set(PV, "54.000", KWH)
    freezer.move_to(T0 + timedelta(minutes=181))
    await async_wait_recording_done(hass)
    entry = await add_ledger(hass)

    response = await rebuild(hass, config_entry_id=entry.entry_id)

    assert response["hours"] == {f"{DOMAIN}:home_{series}": 2 for series in SERIES}
    stored = await read_all(hass)
    assert {start for rows in stored.values() for start, _ in rows} == {hour(10), hour(12)}
    assert stored["grid_import_peak"] == [(hour(10), Decimal(1)), (hour(12), Decimal("1.5"))]
    assert stored["grid_import_off_peak"] == [(hour(10), Decimal(0)), (hour(12), Decimal(0))]
    assert stored["self_consumed"] == [(hour(10), Decimal(2)), (hour(12), Decimal(3))]
    assert stored["injected"] == [(hour(10), Decimal(1)), (hour(12), Decimal(1))]
    # 1 kWh then 0.5 kWh at 0.27: 0.27 then 0.405, stored 0.40 (half to even).
    assert stored["grid_cost_peak"] == [(hour(10), Decimal("0.27")), (hour(12), Decimal("0.4"))]
    assert stored["saving"] == [(hour(10), Decimal("0.54")), (hour(12), Decimal("0.81"))]
