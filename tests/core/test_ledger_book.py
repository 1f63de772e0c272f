"""`LedgerBook` at the edges the yearly oracle does not aim at: instants, restarts, bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from custom_components.energy_ledger.core.ledger_book import (
    BookSetup,
    FinishedHour,
    LedgerBook,
)
from custom_components.energy_ledger.core.tariff import PeriodSchedule, PlanKind, PricePlan

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
HP, HC = Decimal("0.27"), Decimal("0.2068")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def hc_hp(zone: ZoneInfo = PARIS) -> PricePlan:
    plan = PricePlan(kind=PlanKind.HC_HP, zone=zone, energy={})
    return plan.with_prices(date(2025, 1, 1), energy={"off_peak": HC, "peak": HP}, feed_in="0.1269")


def book(**setup: object) -> LedgerBook:
    fields: dict[str, object] = {
        "plan": hc_hp(),
        "window": timedelta(minutes=5),
        "imports": ("hc", "hp"),
    }
    fields.update(setup)
    return LedgerBook(BookSetup(**fields))  # type: ignore[arg-type]


def test_a_period_change_on_a_window_end_hands_the_hour_over_once() -> None:
    """At 21:00 the window and the hour end and the period changes: the hour is handed over
    once, and a reading at that very instant belongs to the new period and the new hour."""
    ledger = book()
    assert ledger.resume(at(0)) == []
    ledger.set_period("peak", at(0))
    ledger.register("hp", 1000, at(0))
    ledger.register("hc", 5000, at(0))
    ledger.register("hp", 1400, at(30))
    hours = ledger.advance(at(60))
    hours += ledger.set_period("off_peak", at(60))
    hours += ledger.register("hc", 5250, at(60))
    hours += ledger.advance(at(121))
    assert [h.start for h in hours] == [at(0), at(60)]
    first, second = hours
    assert first.increments["grid_import_peak"] == 400
    assert first.increments["grid_cost_peak"] == Decimal("0.108")
    assert "grid_import_off_peak" not in first.increments
    assert second.increments["grid_import_off_peak"] == 250
    assert second.increments["grid_cost_off_peak"] == Decimal(250) * HC / 1000
    assert ledger.take_finished_hours() == hours
    assert ledger.take_finished_hours() == []


def test_a_period_reported_with_an_older_time_takes_the_whole_open_segment() -> None:
    """A change said to have happened at 20:03 arrives after the 20:05 window end: the open
    segment (from 20:05) lies entirely after it, so all of it is off-peak."""
    ledger = book()
    ledger.resume(at(0))
    ledger.set_period("peak", at(0))
    ledger.register("hp", 1000, at(1))
    ledger.register("hp", 1100, at(7))
    ledger.set_period("off_peak", at(3))  # older than the segment that started at 5
    ledger.register("hc", 0, at(8))
    ledger.register("hc", 50, at(9))
    ledger.advance(at(10))
    assert ledger.grid_import_wh == {"peak": Decimal(0), "off_peak": Decimal(150)}


def test_a_restart_across_window_ends_keeps_each_reading_in_its_hour() -> None:
    """Down from 20:58 to 22:07: what was read before is accounted in the 20:00 hour, the
    21:00 hour (entirely down) is not handed over, and the downtime's energy goes to 22:05."""
    ledger = book()
    ledger.resume(at(0))
    ledger.set_period("peak", at(0))
    ledger.register("hp", 1000, at(0))
    ledger.register("hp", 1300, at(57))
    hours = ledger.advance(at(58))
    restored = LedgerBook.from_dict(json.loads(json.dumps(ledger.to_dict())), ledger.setup)
    hours += restored.resume(at(127))
    assert [h.start for h in hours] == [at(0)]
    assert hours[0].increments["grid_import_peak"] == 300
    hours += restored.register("hp", 1900, at(128))
    hours += restored.advance(at(180))
    assert [h.start for h in hours] == [at(0), at(120)]
    assert hours[1].increments["grid_import_peak"] == 600
    assert restored.grid_import_wh == {"peak": Decimal(900)}


def test_the_clock_stops_at_window_ends_schedule_boundaries_and_price_changes() -> None:
    """Kolkata (UTC+05:30) with one-hour windows: local midnight, when a new price applies,
    falls in the middle of a window; the segment is cut there and each part keeps its price."""
    kolkata = ZoneInfo("Asia/Kolkata")
    plan = hc_hp(kolkata).with_prices(date(2026, 1, 6), energy={"peak": "0.30"})
    schedule = PeriodSchedule.daily(kolkata, [(time(1, 15), time(5))])
    ledger = book(plan=plan, window=timedelta(hours=1), imports=("grid",), schedule=schedule)
    start = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)  # 22:30 in Kolkata
    ledger.resume(start)
    assert ledger.period == "peak"
    midnight = datetime(2026, 1, 5, 18, 30, tzinfo=UTC)
    assert ledger.next_instant() == start + timedelta(hours=1)
    ledger.register("grid", 0, start)
    ledger.register("grid", 1000, midnight - timedelta(minutes=1))
    assert ledger.next_instant() == midnight
    ledger.register("grid", 3000, midnight + timedelta(minutes=1))
    ledger.advance(datetime(2026, 1, 5, 19, 45, tzinfo=UTC))  # 01:15: off-peak starts
    assert ledger.period == "off_peak"
    expected = Decimal(1000) * HP / 1000 + Decimal(2000) * Decimal("0.30") / 1000
    assert ledger.grid_cost_eur == {"peak": expected}


def test_energy_without_a_price_is_counted_and_said() -> None:
    """A Tempo plan whose red prices were never entered: red energy is counted at 0 EUR."""
    plan = PricePlan(kind=PlanKind.TEMPO, zone=PARIS, energy={}).with_prices(
        date(2025, 1, 1), energy={"peak_blue": "0.15"}
    )
    ledger = book(plan=plan, imports=("total",))
    ledger.resume(at(0))
    ledger.set_period("peak_red", at(0))
    ledger.register("total", 10, at(1))
    ledger.register("total", 510, at(2))
    ledger.advance(at(5))
    assert ledger.grid_import_wh == {"peak_red": Decimal(500)}
    assert ledger.grid_cost_eur == {"peak_red": Decimal(0)}
    assert set(ledger.unpriced) == {"peak_red"}
    assert ledger.price_at(at(5)) is None


def test_bad_input_is_refused_and_changes_nothing() -> None:
    ledger = book()
    ledger.resume(at(0))
    ledger.register("hp", 100, at(0))
    for value in (-1, 1.5, True):
        with pytest.raises(ValueError, match="register value"):
            ledger.register("hp", value, at(1))  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        ledger.register("sensor.other", 100, at(1))
    ledger.set_period("peak", at(1))
    ledger.register("hp", 150, at(2))
    ledger.advance(at(5))
    assert ledger.grid_import_wh == {"peak": Decimal(50)}


def test_a_saved_state_keeps_what_still_fits_the_setup() -> None:
    """After the options change, registers and power series no longer configured are dropped,
    and so is a power window of another length; a state of another version is refused."""
    ledger = book(power_series=("consumption",), export="eait", production="pv")
    ledger.resume(at(0))
    ledger.set_period("peak", at(0))
    for name, value in (("hc", 1), ("hp", 2), ("eait", 3), ("pv", 4)):
        ledger.register(name, value, at(0))
    ledger.power("consumption", at(0), 500.0)
    state = json.loads(json.dumps(ledger.to_dict()))
    smaller = BookSetup(plan=hc_hp(), window=timedelta(minutes=10), imports=("hc",))
    restored = LedgerBook.from_dict(state, smaller)
    assert set(restored.counters) == {"hc"}
    assert restored.power_stats == {}
    assert restored.period == "peak"
    same = LedgerBook.from_dict(state, ledger.setup)
    assert same.to_dict() == ledger.to_dict()
    with pytest.raises(ValueError, match="version"):
        LedgerBook.from_dict({**state, "version": 99}, ledger.setup)


def test_power_windows_are_published_at_window_ends() -> None:
    ledger = book(imports=(), power_series=("consumption", "production"))
    ledger.resume(at(0))
    ledger.power("consumption", at(0), 600.0)
    ledger.power("production", at(0), 1500.0)
    ledger.power("production", at(3), 1000.0)
    ledger.advance(at(5))
    assert ledger.last_window["production"].mean == 1300.0
    assert ledger.balance_w() == 700.0
    # No register: the consumption power is the grid import (50 Wh), priced in its period.
    assert ledger.grid_import_wh == {"unknown": Decimal(50)}
    # A sample's value holds 15 minutes at most: three windows of consumption, then a gap.
    finished: list[FinishedHour] = ledger.advance(at(60))
    assert finished[0].increments["self_consumed"] == 3 * 50
    assert ledger.grid_import_wh == {"unknown": Decimal(150)}
