"""Dated prices, price plans, the user schedule across DST changes, and period resolution.

Expected instants are worked out by hand: Europe/Paris is UTC+1 in winter and UTC+2 in summer;
the clocks go forward on 2026-03-29 at 02:00 (01:00 UTC) and back on 2026-10-25 at 03:00
(01:00 UTC).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from custom_components.energy_ledger.core.reading import Reading
from custom_components.energy_ledger.core.tariff import (
    PLAN_PERIODS,
    PeriodResolver,
    PeriodSchedule,
    PlanKind,
    PriceNotFoundError,
    PricePlan,
    PriceSeries,
    ScheduleWindow,
    default_index_map,
    first_instant,
    period_from_label,
    to_price,
)
from custom_components.energy_ledger.core.tic.period import PERIOD_KEYS
from custom_components.energy_ledger.core.tic.stge import HISTORIC_PERIODS

PARIS = ZoneInfo("Europe/Paris")
D = Decimal


def utc(*fields: int) -> datetime:
    """``utc(2026, 3, 29, 1)``: year, month, day[, hour, minute, second] in UTC."""
    return datetime(*fields, tzinfo=UTC)  # type: ignore[arg-type, misc]


def paris(*fields: int) -> datetime:
    """The same fields as wall-clock time in Paris."""
    return datetime(*fields, tzinfo=PARIS)  # type: ignore[arg-type, misc]


# The reference system's prices (domain.md §1); the feed-in change is taken as 1 December 2025.
REFERENCE = PricePlan(
    kind=PlanKind.HC_HP,
    zone=PARIS,
    energy={
        "peak": PriceSeries.of(("2025-02-01", "0.27")),
        "off_peak": PriceSeries.of(("2025-02-01", "0.2068")),
    },
    feed_in=PriceSeries.of(("2024-01-01", "0.1269"), ("2025-12-01", "0.04")),
    subscription=PriceSeries.of(("2025-02-01", "15.65")),
)


# ---- Prices ----------------------------------------------------------------------------------


def test_reference_prices() -> None:
    """HP 0.27, HC 0.2068; feed-in 0.1269 until 30 November 2025, then 0.04 -- Paris dates."""
    assert REFERENCE.price_at("peak", paris(2025, 11, 30, 12, 0)) == D("0.27")
    assert REFERENCE.price_at("off_peak", paris(2025, 11, 30, 12, 0)) == D("0.2068")
    # 23:59:59 in Paris on 30 November is 22:59:59 UTC.
    assert REFERENCE.feed_in_price_at(utc(2025, 11, 30, 22, 59, 59)) == D("0.1269")
    # 23:00 UTC on 30 November is already 1 December in Paris.
    assert REFERENCE.feed_in_price_at(utc(2025, 11, 30, 23, 0)) == D("0.04")
    assert REFERENCE.subscription_at(paris(2026, 1, 1)) == D("15.65")
    assert REFERENCE.next_price_change(utc(2025, 11, 15, 12)) == utc(2025, 11, 30, 23, 0)
    assert REFERENCE.next_price_change(utc(2025, 12, 15, 12)) is None


def test_price_change_mid_month_and_future_prices() -> None:
    """New HC/HP prices from 16 January 2026, entered on 10 January (a future price)."""
    changed = REFERENCE.with_prices("2026-01-16", energy={"off_peak": "0.2100", "peak": "0.28"})
    # Before the date, the old prices still apply, also in the new plan.
    assert changed.price_at("off_peak", paris(2026, 1, 10, 12)) == D("0.2068")
    assert changed.price_at("off_peak", utc(2026, 1, 15, 22, 59, 59)) == D("0.2068")
    assert changed.price_at("off_peak", utc(2026, 1, 15, 23, 0)) == D("0.2100")  # 00:00 Paris
    assert changed.price_at("peak", paris(2026, 1, 31, 23, 59)) == D("0.28")
    assert changed.next_price_change(paris(2026, 1, 10, 12)) == utc(2026, 1, 15, 23, 0)
    # The original plan is unchanged (plans are values).
    assert REFERENCE.price_at("off_peak", paris(2026, 1, 20)) == D("0.2068")
    # 1 kWh off-peak each day of January: 15 days at 0.2068 + 16 days at 0.2100
    # = 3.1020 + 3.3600 = 6.4620 EUR.
    month = sum(
        (changed.price_at("off_peak", paris(2026, 1, day, 23, 30)) for day in range(1, 32)),
        D(0),
    )
    assert month == D("6.4620")
    # A second price on the same date replaces the first; other series keep theirs.
    corrected = changed.with_prices(date(2026, 1, 16), energy={"peak": "0.2750"})
    assert corrected.price_at("peak", paris(2026, 1, 20)) == D("0.2750")
    assert corrected.price_at("off_peak", paris(2026, 1, 20)) == D("0.2100")
    assert len(corrected.energy["peak"].prices) == 2


def test_tempo_six_prices() -> None:
    """Tempo: each of the six periods has its own price (illustrative 2025 figures)."""
    prices = {
        "off_peak_blue": "0.1288",
        "peak_blue": "0.1552",
        "off_peak_white": "0.1447",
        "peak_white": "0.1792",
        "off_peak_red": "0.1518",
        "peak_red": "0.6586",
    }
    plan = PricePlan(kind=PlanKind.TEMPO, zone=PARIS, energy={}).with_prices(
        "2025-02-01", energy=prices, feed_in="0.1269", subscription="16.16"
    )
    assert plan.periods == tuple(prices)
    when = paris(2026, 1, 12, 8)
    assert {key: plan.price_at(key, when) for key in plan.periods} == {
        key: D(v) for key, v in prices.items()
    }
    with pytest.raises(PriceNotFoundError):
        plan.price_at("peak", when)
    with pytest.raises(PriceNotFoundError):
        plan.price_at(None, when)
    with pytest.raises(ValueError, match="not priced by a tempo plan"):
        PricePlan(kind=PlanKind.TEMPO, zone=PARIS, energy={"peak": PriceSeries()})


def test_ejp_and_base() -> None:
    """EJP prices its two periods; a base plan has one price whatever the period."""
    ejp = PricePlan(
        kind=PlanKind.EJP,
        zone=PARIS,
        energy={
            "normal": PriceSeries.of(("2025-01-01", "0.1500")),
            "mobile_peak": PriceSeries.of(("2025-01-01", "0.6000")),
        },
    )
    when = paris(2026, 1, 5, 9)
    assert ejp.price_at("normal", when) == D("0.1500")
    assert ejp.price_at("mobile_peak", when) == D("0.6000")
    base = PricePlan(
        kind=PlanKind.BASE, zone=PARIS, energy={"base": PriceSeries.of(("2025-02-01", "0.2016"))}
    )
    assert base.price_at("base", when) == D("0.2016")
    assert base.price_at("peak", when) == D("0.2016")
    assert base.price_at(None, when) == D("0.2016")


def test_no_price_before_the_first_date() -> None:
    with pytest.raises(PriceNotFoundError, match="2025-01-31"):
        REFERENCE.price_at("peak", paris(2025, 1, 31, 23, 59))
    with pytest.raises(PriceNotFoundError, match="subscription"):
        PricePlan(kind=PlanKind.BASE, zone=PARIS, energy={}).subscription_at(paris(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        REFERENCE.price_at("peak", datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0.27, TypeError),
        (True, TypeError),
        ("-0.01", ValueError),
        ("NaN", ValueError),
        ("Infinity", ValueError),
        ("abc", ValueError),
    ],
)
def test_prices_are_exact_and_not_negative(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_price(value)  # type: ignore[arg-type]


def test_price_parsing() -> None:
    assert to_price("0.2068") == D("0.2068")
    assert to_price(0) == D(0)
    with pytest.raises(ValueError, match="sorted"):
        PriceSeries((PriceSeries.of(("2026-01-02", "1")).prices[0],) * 2)


def test_plan_round_trips_through_json() -> None:
    plan = REFERENCE.with_prices("2026-02-01", energy={"peak": "0.2846"}, subscription="16.00")
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["feed_in"] == [["2024-01-01", "0.1269"], ["2025-12-01", "0.04"]]
    assert PricePlan.from_dict(data) == plan


def test_default_index_maps_follow_the_historic_register_order() -> None:
    """Index n of a plan is the period whose historic register is n (HCHC=1, BBRHPJR=6...)."""
    assert default_index_map(PlanKind.HC_HP) == {1: "off_peak", 2: "peak"}
    assert default_index_map(PlanKind.TEMPO)[6] == "peak_red"
    for period in HISTORIC_PERIODS:
        (kind,) = [k for k, keys in PLAN_PERIODS.items() if period.key in keys]
        assert default_index_map(kind)[period.index] == period.key
    assert {key for keys in PLAN_PERIODS.values() for key in keys} <= set(PERIOD_KEYS)


# ---- The schedule across DST -----------------------------------------------------------------

NIGHTS = PeriodSchedule.daily(PARIS, [(time(22), time(6))])


def test_first_instant_of_wall_clock_times() -> None:
    """Ordinary, skipped (spring) and repeated (autumn) wall-clock times."""
    assert first_instant(datetime(2026, 1, 10, 22, 0), PARIS) == utc(2026, 1, 10, 21)
    # 02:30 does not exist on 29 March: the first instant at or after it is the jump (03:00).
    assert first_instant(datetime(2026, 3, 29, 2, 30), PARIS) == utc(2026, 3, 29, 1)
    # 02:30 happens twice on 25 October: first at 02:30 CEST = 00:30 UTC.
    assert first_instant(datetime(2026, 10, 25, 2, 30), PARIS) == utc(2026, 10, 25, 0, 30)
    with pytest.raises(ValueError, match="naive"):
        first_instant(paris(2026, 1, 1), PARIS)


def test_night_window_when_clocks_go_forward() -> None:
    """22:00-06:00: 8 h on an ordinary night, 7 h on the night of 28-29 March 2026."""
    assert NIGHTS.intervals(date(2026, 3, 27)) == [
        (utc(2026, 3, 27, 21), utc(2026, 3, 28, 5), "off_peak")
    ]
    assert NIGHTS.intervals(date(2026, 3, 28)) == [
        (utc(2026, 3, 28, 21), utc(2026, 3, 29, 4), "off_peak")
    ]
    assert NIGHTS.period_at(utc(2026, 3, 28, 20, 59, 59)) == "peak"
    assert NIGHTS.period_at(utc(2026, 3, 28, 21)) == "off_peak"
    assert NIGHTS.period_at(utc(2026, 3, 29, 1, 30)) == "off_peak"  # 03:30 CEST
    assert NIGHTS.period_at(utc(2026, 3, 29, 3, 59, 59)) == "off_peak"  # 05:59:59 CEST
    assert NIGHTS.period_at(utc(2026, 3, 29, 4)) == "peak"  # 06:00 CEST
    assert NIGHTS.next_change(utc(2026, 3, 29, 0)) == utc(2026, 3, 29, 4)


def test_night_window_when_clocks_go_back() -> None:
    """22:00-06:00 on the night of 24-25 October 2026 lasts 9 h (20:00 to 05:00 UTC)."""
    assert NIGHTS.intervals(date(2026, 10, 24)) == [
        (utc(2026, 10, 24, 20), utc(2026, 10, 25, 5), "off_peak")
    ]
    assert NIGHTS.period_at(utc(2026, 10, 24, 19, 59, 59)) == "peak"
    assert NIGHTS.period_at(utc(2026, 10, 24, 20)) == "off_peak"
    assert NIGHTS.period_at(utc(2026, 10, 25, 0, 30)) == "off_peak"  # 02:30 CEST
    assert NIGHTS.period_at(utc(2026, 10, 25, 1, 30)) == "off_peak"  # 02:30 CET
    assert NIGHTS.period_at(utc(2026, 10, 25, 4, 59, 59)) == "off_peak"  # 05:59:59 CET
    assert NIGHTS.period_at(utc(2026, 10, 25, 5)) == "peak"
    assert NIGHTS.next_change(utc(2026, 10, 25, 5)) == utc(2026, 10, 25, 21)


@pytest.mark.parametrize(
    ("day", "start", "hours", "off_peak_minutes"),
    [
        # Local day 29 March: 23 h from 23:00 UTC. Off-peak 00:00-06:00 local = 23:00-04:00 UTC
        # (5 h) and 22:00-24:00 local = 20:00-22:00 UTC (2 h): 7 h.
        (date(2026, 3, 29), utc(2026, 3, 28, 23), 23, 7 * 60),
        # Local day 25 October: 25 h from 22:00 UTC. Off-peak 00:00-06:00 local = 22:00-05:00 UTC
        # (7 h) and 22:00-24:00 local = 21:00-23:00 UTC (2 h): 9 h.
        (date(2026, 10, 25), utc(2026, 10, 24, 22), 25, 9 * 60),
        # An ordinary day: 24 h, 6 h + 2 h off-peak.
        (date(2026, 6, 1), utc(2026, 5, 31, 22), 24, 8 * 60),
    ],
)
def test_off_peak_minutes_on_dst_days(
    day: date, start: datetime, hours: int, off_peak_minutes: int
) -> None:
    """Count, minute by minute, the off-peak time of whole local days."""
    assert start.astimezone(PARIS).date() == day
    assert (start + timedelta(hours=hours)).astimezone(PARIS).date() == day + timedelta(days=1)
    minutes = [start + timedelta(minutes=m) for m in range(hours * 60)]
    assert sum(NIGHTS.period_at(t) == "off_peak" for t in minutes) == off_peak_minutes


def test_boundary_inside_the_skipped_and_the_repeated_hour() -> None:
    """02:30-07:00: starts at the jump in spring, at the first 02:30 in autumn, no flicker."""
    schedule = PeriodSchedule.daily(PARIS, [(time(2, 30), time(7))])
    assert schedule.period_at(utc(2026, 3, 29, 0, 59, 59)) == "peak"  # 01:59:59 CET
    assert schedule.period_at(utc(2026, 3, 29, 1)) == "off_peak"  # 03:00 CEST
    assert schedule.next_change(utc(2026, 3, 29, 0)) == utc(2026, 3, 29, 1)
    assert schedule.next_change(utc(2026, 3, 29, 1)) == utc(2026, 3, 29, 5)  # 07:00 CEST
    assert schedule.period_at(utc(2026, 10, 25, 0, 29)) == "peak"  # 02:29 CEST
    assert schedule.period_at(utc(2026, 10, 25, 0, 30)) == "off_peak"  # 02:30 CEST
    # 01:15 UTC reads 02:15 CET, before 02:30 on the wall clock, yet the window has begun.
    assert schedule.period_at(utc(2026, 10, 25, 1, 15)) == "off_peak"
    assert schedule.next_change(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 6)  # 07:00 CET


def test_weekday_schedule() -> None:
    """Weeknights 22:00-06:00 (Mon-Fri starts), whole weekend days (end == start: 24 h)."""
    schedule = PeriodSchedule(
        zone=PARIS,
        windows=(
            *PeriodSchedule.daily(PARIS, [(time(22), time(6))], weekdays=range(5)).windows,
            ScheduleWindow(5, time(0), time(0)),
            ScheduleWindow(6, time(0), time(0)),
        ),
    )
    assert schedule.period_at(paris(2026, 6, 6, 12)) == "off_peak"  # Saturday noon
    assert schedule.period_at(paris(2026, 6, 7, 23, 59)) == "off_peak"  # Sunday night
    assert schedule.period_at(paris(2026, 6, 8, 3)) == "peak"  # Monday 03:00: no Sunday window
    assert schedule.period_at(paris(2026, 6, 9, 3)) == "off_peak"  # Tuesday 03:00
    assert schedule.next_change(paris(2026, 6, 8, 12)) == paris(2026, 6, 8, 22)
    # Friday 22:00 to Monday 00:00 is one off-peak stretch: the next change is Monday 00:00.
    assert schedule.next_change(paris(2026, 6, 5, 23)) == paris(2026, 6, 8, 0)
    assert PeriodSchedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


def test_schedule_validation_and_empty_schedule() -> None:
    with pytest.raises(ValueError, match="weekday"):
        ScheduleWindow(7, time(22), time(6))
    with pytest.raises(ValueError, match="period key"):
        ScheduleWindow(0, time(22), time(6), "cheap")
    empty = PeriodSchedule(zone=PARIS, windows=(), default_period="base")
    assert empty.period_at(utc(2026, 1, 1)) == "base"
    assert empty.next_change(utc(2026, 1, 1)) is None


# ---- Which period is it ----------------------------------------------------------------------


def test_resolver_order_label_index_schedule() -> None:
    resolver = PeriodResolver.for_plan(PlanKind.HC_HP, schedule=NIGHTS)
    noon = paris(2026, 6, 1, 12)
    night = paris(2026, 6, 1, 23)
    assert resolver.resolve(label=" HEURE  CREUSE  ", index=2, when=noon) == "off_peak"
    assert resolver.resolve(label="HPJR") == "peak_red"  # a PTEC code
    assert resolver.resolve(label="PERIODE 7", index=2, when=night) == "peak"  # index next
    assert resolver.resolve(index=9, when=night) == "off_peak"  # unmapped index: schedule
    assert resolver.resolve(when=noon) == "peak"
    assert PeriodResolver().resolve(label="PERIODE 7") is None
    assert period_from_label("HC..") == "off_peak"


def test_resolver_index_mapping_is_configurable() -> None:
    """The reference system prices index 1 as peak; labels can be switched off."""
    resolver = PeriodResolver(index_map={1: "peak", 2: "off_peak"}, use_label=False)
    assert resolver.resolve(label="HEURE CREUSE", index=1) == "peak"
    tempo = PeriodResolver.for_plan(PlanKind.TEMPO)
    assert tempo.resolve(index=5) == "off_peak_red"
    with pytest.raises(ValueError, match="period key"):
        PeriodResolver(index_map={1: "cheap"})


def test_resolve_reading() -> None:
    resolver = PeriodResolver.for_plan(PlanKind.TEMPO, schedule=NIGHTS)
    when = paris(2026, 1, 12, 23)

    def reading(**kw: object) -> Reading:
        return Reading(meter_id="m", received_at=when, **kw)  # type: ignore[arg-type]

    assert resolver.resolve_reading(reading(values={"LTARF": "  HC  BLANC  "})) == "off_peak_white"
    assert resolver.resolve_reading(reading(values={"PTEC": "HPJB"})) == "peak_blue"
    assert resolver.resolve_reading(reading(values={}, tariff_period="HP ROUGE")) == "peak_red"
    assert resolver.resolve_reading(reading(values={}, tariff_index=4)) == "peak_white"
    assert resolver.resolve_reading(reading(values={})) == "off_peak"  # schedule, 23:00
