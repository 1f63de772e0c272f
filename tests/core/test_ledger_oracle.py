"""A synthetic year per setup through `LedgerBook`, against an oracle written out here.

Each setup lives a year in Europe/Paris (both DST changes) with dated prices that change in the
middle of a month, a counter reset, a meter replacement (indexes jump back to small values), a
day without any reading, and restarts (the book's state through JSON and back, with and without
downtime, across window ends, an hour and the autumn DST change).

The oracle shares only the readings fed to the book. It computes the expected figures in the
most direct way, without any of the book's helpers: a register's energy is its increase since
its previous reading (nothing when it went backwards), counted in the window and the tariff
period current at the instant it was read; the window's sums per period are split by the setup's
rule, priced with the price list of that local day, and added to the UTC hour of the window.
Every hourly increment must equal the book's exactly (Wh and EUR, not rounded), and so must every
total; money is also compared to the cent on the running totals, as sensors and statistics show
it.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from custom_components.energy_ledger.core.ledger_book import (
    BookSetup,
    FinishedHour,
    LedgerBook,
    replay_history,
)
from custom_components.energy_ledger.core.saving import to_cents
from custom_components.energy_ledger.core.tariff import PeriodSchedule, PlanKind, PricePlan

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2025, 1, 1, tzinfo=PARIS).astimezone(UTC)
END = datetime(2026, 1, 1, tzinfo=PARIS).astimezone(UTC)
SPRING = datetime(2025, 3, 30, 1, tzinfo=UTC)
"""Clocks go forward: 02:00 CET becomes 03:00 CEST."""
AUTUMN = datetime(2025, 10, 26, 1, tzinfo=UTC)
"""Clocks go back: 03:00 CEST becomes 02:00 CET."""
GAP = (datetime(2025, 9, 10, tzinfo=PARIS), datetime(2025, 9, 11, tzinfo=PARIS))
"""A whole local day without a single reading (the clock still runs)."""
RESET_AT = datetime(2025, 4, 17, 13, 3, tzinfo=PARIS)
"""The production (or first import) counter restarts from 0."""
REPLACED_AT = datetime(2025, 6, 12, 10, 41, tzinfo=PARIS)
"""The meter is replaced: its indexes start again from small values."""
RESTARTS = (
    # (down at, minutes down)
    (datetime(2025, 1, 20, 8, 2, 30, tzinfo=UTC), 0),  # mid-window, nothing lost
    (datetime(2025, 2, 14, 9, 59, tzinfo=UTC), 0),  # just before an hour ends
    (datetime(2025, 3, 30, 0, 58, tzinfo=UTC), 5),  # across the spring DST jump
    (datetime(2025, 5, 5, 17, 31, tzinfo=UTC), 3),  # within a window or across its end
    (datetime(2025, 7, 1, 21, 13, tzinfo=UTC), 47),  # across window ends and an hour
    (datetime(2025, 8, 8, 6, 55, tzinfo=UTC), 190),  # several whole hours down
    (datetime(2025, 10, 26, 0, 40, tzinfo=UTC), 42),  # across the autumn DST change
    (datetime(2025, 12, 24, 23, 0, tzinfo=UTC), 0),  # on an hour's end exactly
)


def _paris_day(when: datetime) -> date:
    return when.astimezone(PARIS).date()


# ---- Prices: the plan the book gets, and the same list read by the oracle ----------------------

PRICES: dict[str, list[tuple[date, str]]] = {
    # period or "feed_in" -> (from local date, EUR/kWh)
    "base": [(date(2024, 8, 1), "0.2516"), (date(2025, 2, 14), "0.2016")],
    "off_peak": [(date(2024, 8, 1), "0.2068"), (date(2025, 2, 14), "0.1696")],
    "peak": [
        (date(2024, 8, 1), "0.27"),
        (date(2025, 2, 14), "0.2146"),
        (date(2025, 8, 17), "0.2233"),
    ],
    "feed_in": [(date(2024, 8, 1), "0.1269"), (date(2025, 7, 16), "0.04")],
    **{
        f"{hour}_{color}": [
            (date(2024, 8, 1), price),
            (date(2025, 10, 26), str(Decimal(price) + Decimal("0.0111"))),  # on the DST day
        ]
        for (hour, color), price in {
            ("off_peak", "blue"): "0.1288",
            ("peak", "blue"): "0.1552",
            ("off_peak", "white"): "0.1447",
            ("peak", "white"): "0.1792",
            ("off_peak", "red"): "0.1518",
            ("peak", "red"): "0.6586",
        }.items()
    },
}


def plan_of(kind: PlanKind) -> PricePlan:
    plan = PricePlan(kind=kind, zone=PARIS, energy={})
    for period in (*plan.periods, "feed_in"):
        for day, price in PRICES[period]:
            if period == "feed_in":
                plan = plan.with_prices(day, feed_in=price)
            else:
                plan = plan.with_prices(day, energy={period: price})
    return plan


def oracle_price(key: str, when: datetime) -> Decimal:
    day = _paris_day(when)
    return Decimal([price for start, price in PRICES[key] if start <= day][-1])


# ---- Periods, as the oracle sees them ----------------------------------------------------------


def hc_22_6(when: datetime) -> str:
    hour = when.astimezone(PARIS).hour
    return "off_peak" if hour >= 22 or hour < 6 else "peak"


def hc_solar(when: datetime) -> str:
    """02:00-07:00 and 12:30-14:30: a start inside the hour that the spring change skips."""
    local = when.astimezone(PARIS)
    minutes = local.hour * 60 + local.minute
    return "off_peak" if 120 <= minutes < 420 or 750 <= minutes < 870 else "peak"


def hc_ntarf(when: datetime) -> str:
    """The supplier switches at odd minutes: 22:37-06:13, cutting windows in the middle."""
    local = when.astimezone(PARIS)
    minutes = local.hour * 60 + local.minute
    return "off_peak" if minutes >= 22 * 60 + 37 or minutes < 6 * 60 + 13 else "peak"


def _tempo_calendar() -> dict[date, str]:
    rng = random.Random(4)
    day, colors = date(2024, 12, 31), {}
    while day <= date(2026, 1, 1):
        winter = day.month in (11, 12, 1, 2, 3)
        roll = rng.random()
        colors[day] = "red" if winter and roll < 0.15 else "white" if roll < 0.3 else "blue"
        day += timedelta(days=1)
    return colors


TEMPO_DAYS = _tempo_calendar()


def tempo(when: datetime) -> str:
    """A Tempo day runs 06:00 to 06:00; off-peak 22:00-06:00."""
    local = when.astimezone(PARIS)
    color = TEMPO_DAYS[(local - timedelta(hours=6)).date()]
    return f"{'off_peak' if local.hour >= 22 or local.hour < 6 else 'peak'}_{color}"


type Feed = tuple[datetime, int, str, object]
"""(when, PERIOD or READING, register name, value)."""


# ---- Setups ------------------------------------------------------------------------------------


@dataclass
class Story:
    """A setup, how the oracle sees it, and how its registers move."""

    setup: BookSetup
    period_of: Callable[[datetime], str]
    rule: str
    """``export`` (production and export registers), ``two_meter`` or ``grid`` (no production)."""
    step: timedelta
    """Readings interval."""
    period_events: bool
    """The period comes from an entity (`set_period` at each change), not from a schedule."""
    import_of: Callable[[str], str]
    """The import register that counts while in a period."""
    changes: tuple[time, ...] = ()
    """The local times at which that entity may change (every day; in sorted order)."""
    feeds: list[Feed] = field(default_factory=list)


def _hc_hp_consumer() -> Story:
    plan = plan_of(PlanKind.HC_HP)
    schedule = PeriodSchedule.daily(PARIS, [(time(22), time(6))])
    return Story(
        setup=BookSetup(
            plan=plan, window=timedelta(minutes=5), imports=("hc", "hp"), schedule=schedule
        ),
        period_of=hc_22_6,
        rule="grid",
        step=timedelta(minutes=7),
        period_events=False,
        import_of=lambda period: "hc" if period == "off_peak" else "hp",
    )


def _solar() -> Story:
    plan = plan_of(PlanKind.HC_HP)
    schedule = PeriodSchedule.daily(PARIS, [(time(2), time(7)), (time(12, 30), time(14, 30))])
    return Story(
        setup=BookSetup(
            plan=plan,
            window=timedelta(minutes=20),
            imports=("grid",),
            export="eait",
            production="pv",
            schedule=schedule,
        ),
        period_of=hc_solar,
        rule="export",
        step=timedelta(minutes=9),
        period_events=False,
        import_of=lambda period: "grid",
    )


def _two_meters() -> Story:
    plan = plan_of(PlanKind.HC_HP)
    return Story(
        setup=BookSetup(
            plan=plan, window=timedelta(minutes=15), imports=("easf01", "easf02"), production="prod"
        ),
        period_of=hc_ntarf,
        rule="two_meter",
        step=timedelta(minutes=8),
        period_events=True,
        changes=(time(6, 13), time(22, 37)),
        import_of=lambda period: "easf01" if period == "peak" else "easf02",
    )


TEMPO_REGISTERS = {
    f"{hour}_{color}": f"easf0{i}"
    for i, (color, hour) in enumerate(
        ((c, h) for c in ("blue", "white", "red") for h in ("off_peak", "peak")), start=1
    )
}


def _tempo() -> Story:
    plan = plan_of(PlanKind.TEMPO)
    return Story(
        setup=BookSetup(
            plan=plan, window=timedelta(minutes=10), imports=tuple(TEMPO_REGISTERS.values())
        ),
        period_of=tempo,
        rule="grid",
        step=timedelta(minutes=13),
        period_events=True,
        changes=(time(6), time(22)),
        import_of=TEMPO_REGISTERS.__getitem__,
    )


STORIES: dict[str, Callable[[], Story]] = {
    "hc_hp_consumer": _hc_hp_consumer,
    "solar_with_export": _solar,
    "two_meters_all_sold": _two_meters,
    "tempo": _tempo,
}

PERIOD, READING = 0, 1
"""At the same instant a period change comes before a reading (it took effect at that instant)."""


def write_year(story: Story, seed: int) -> None:
    """The readings the sources give over the year, and the period changes."""
    rng = random.Random(seed)
    registers = {name: rng.randint(0, 9_000_000) for name in story.setup.registers}
    feeds = story.feeds
    t = START
    reset = replaced = False
    while t < END:
        local = t.astimezone(PARIS)
        sun = max(0.0, 1 - abs(local.hour + local.minute / 60 - 13) / 6)
        used = rng.randint(0, 400)
        produced = int(sun * rng.randint(0, 900))
        registers[story.import_of(story.period_of(t))] += used
        if story.setup.production is not None:
            registers[story.setup.production] += produced
        if story.setup.export is not None:
            registers[story.setup.export] += rng.randint(0, produced + 30)
        if not reset and t >= RESET_AT:
            reset = True
            registers[story.setup.production or story.setup.imports[0]] = rng.randint(0, 40)
        if not replaced and t >= REPLACED_AT:
            replaced = True
            for name in (*story.setup.imports, story.setup.export):
                if name is not None:
                    registers[name] = rng.randint(0, 20)
        if not GAP[0] <= t < GAP[1]:
            feeds.extend((t, READING, name, value) for name, value in registers.items())
        t += story.step + timedelta(seconds=rng.choice((0, 0, 17, 43)))
    if story.period_events:
        before, day = story.period_of(START), START.astimezone(PARIS).date()
        while day <= END.date():
            for wall in story.changes:
                instant = datetime.combine(day, wall, tzinfo=PARIS).astimezone(UTC)
                if START < instant < END and (now := story.period_of(instant)) != before:
                    feeds.append((instant, PERIOD, "period", now))
                    before = now
            day += timedelta(days=1)
    feeds.sort(key=lambda feed: (feed[0], feed[1]))


# ---- Running the book --------------------------------------------------------------------------


def _restart(book: LedgerBook, setup: BookSetup) -> LedgerBook:
    return LedgerBook.from_dict(json.loads(json.dumps(book.to_dict())), setup)


def run_book(
    story: Story,
) -> tuple[LedgerBook, dict[datetime, Mapping[str, Decimal]], list[Feed]]:
    """Feed the year; return the book, the hours it handed over, and the feeds it was given."""
    hours: dict[datetime, Mapping[str, Decimal]] = {}

    def take(finished: list[FinishedHour]) -> None:
        for hour in finished:
            assert hour.start not in hours, f"hour {hour.start} handed over twice"
            hours[hour.start] = hour.increments

    setup = story.setup
    book = LedgerBook(setup)
    take(book.resume(START))
    given: list[Feed] = []
    if story.period_events:  # the period entity's state at the start
        take(book.set_period(story.period_of(START), START))
        given.append((START, PERIOD, "period", story.period_of(START)))
    restarts = [(down, down + timedelta(minutes=m)) for down, m in RESTARTS]
    downtimes = list(restarts)
    for feed in story.feeds:
        when, kind, name, value = feed
        while restarts and restarts[0][0] <= when:
            down, back = restarts.pop(0)
            take(book.advance(down))  # Home Assistant's timers ran until then
            book = _restart(book, setup)
            take(book.resume(back))
            if story.period_events:  # the period entity's state when Home Assistant starts
                take(book.set_period(story.period_of(back), back))
                given.append((back, PERIOD, "period", story.period_of(back)))
        while downtimes and downtimes[0][1] <= when:
            downtimes.pop(0)
        if downtimes and downtimes[0][0] <= when:
            continue  # Home Assistant is down: nothing is read
        if kind == PERIOD:
            assert isinstance(value, str)
            take(book.set_period(value, when))
        else:
            assert isinstance(value, int)
            take(book.register(name, value, when))
        given.append(feed)
    take(book.advance(END))
    return book, hours, given


# ---- The oracle --------------------------------------------------------------------------------


def _window_start(when: datetime, minutes: int) -> datetime:
    local = when.astimezone(UTC)
    return local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)


def oracle(story: Story, given: list[Feed]) -> dict[str, object]:
    """Expected hourly increments and totals, from the readings alone."""
    window = int(story.setup.window.total_seconds() // 60)
    previous: dict[str, int] = {}
    segments: dict[tuple[datetime, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for when, kind, name, value in given:
        if kind != READING:
            continue
        assert isinstance(value, int)
        last = previous.get(name)
        previous[name] = value
        if last is not None and value >= last:
            segments[_window_start(when, window), story.period_of(when)][name] += value - last
    hours: dict[datetime, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    totals: dict[str, Decimal] = defaultdict(Decimal)

    def add(hour: datetime, series: str, value: Decimal) -> None:
        hours[hour][series] += value
        totals[series] += value

    setup = story.setup
    for (start, period), wh in segments.items():
        hour = start.replace(minute=0)
        price = oracle_price(period, start)
        grid = sum(wh[name] for name in setup.imports)
        add(hour, f"grid_import_{period}", Decimal(grid))
        add(hour, f"grid_cost_{period}", Decimal(grid) * price / 1000)
        if story.rule == "grid":
            continue
        production = wh[setup.production or ""]
        if story.rule == "export":
            exported = wh[setup.export or ""]
            self_consumed, injected = max(production - exported, 0), exported
        else:
            self_consumed, injected = min(grid, production), max(production - grid, 0)
        add(hour, "self_consumed", Decimal(self_consumed))
        totals[f"self_consumed_{period}"] += self_consumed
        add(hour, "saving", Decimal(self_consumed) * price / 1000)
        totals[f"saving_{period}"] += Decimal(self_consumed) * price / 1000
        add(hour, "injected", Decimal(injected))
        add(hour, "injection_earnings", Decimal(injected) * oracle_price("feed_in", start) / 1000)
        totals["production"] += production
    return {"hours": hours, "totals": totals}


def expected_hours() -> set[datetime]:
    """Every UTC hour of the year, but those entirely inside a downtime."""
    hours, hour = set(), START
    while hour < END:
        down = any(
            start < hour and hour + timedelta(hours=1) <= start + timedelta(minutes=m)
            for start, m in RESTARTS
        )
        if not down:
            hours.add(hour)
        hour += timedelta(hours=1)
    return hours


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


# ---- The test ----------------------------------------------------------------------------------


@cache
def lived(name: str) -> tuple[Story, LedgerBook, dict[datetime, Mapping[str, Decimal]], list[Feed]]:
    """A story's year, run once for the tests that look at it."""
    story = STORIES[name]()
    write_year(story, seed=len(name))
    return story, *run_book(story)


@pytest.mark.parametrize("name", list(STORIES))
def test_a_year_equals_the_oracle_to_the_wh_and_the_cent(name: str) -> None:
    story, book, hours, given = lived(name)
    expected = oracle(story, given)
    want_hours = expected["hours"]
    want_totals = expected["totals"]
    assert isinstance(want_hours, dict)
    assert isinstance(want_totals, dict)

    # Every hour of the year is handed over once (none inside a downtime), with every series.
    assert set(hours) == expected_hours()
    assert set(want_hours) <= set(hours), "energy counted in an hour that was never handed over"
    running: dict[str, Decimal] = defaultdict(Decimal)
    want_running: dict[str, Decimal] = defaultdict(Decimal)
    nonzero = 0
    for hour in sorted(hours):
        got = hours[hour]
        want = want_hours.get(hour, {})
        for series in set(got) | set(want):
            assert got.get(series, 0) == want.get(series, 0), (hour, series)
            running[series] += got.get(series, Decimal(0))
            want_running[series] += want.get(series, Decimal(0))
            assert cents(running[series]) == cents(want_running[series]), (hour, series)
        nonzero += any(got.values())
    assert nonzero > 0.95 * len(hours)  # not a year of zeros
    assert sum(counter.resets for counter in book.counters.values()) >= 2  # reset, replacement

    # Totals, exact and to the cent.
    periods = story.setup.plan.periods
    for period in periods:
        assert book.grid_import_wh.get(period, 0) == want_totals[f"grid_import_{period}"]
        assert book.grid_cost_eur.get(period, 0) == want_totals[f"grid_cost_{period}"]
        assert to_cents(book.grid_cost_eur[period]) == cents(want_totals[f"grid_cost_{period}"])
        assert want_totals[f"grid_import_{period}"] > 0
    if story.rule == "grid":
        assert book.totals.production_wh == 0
        return
    totals = book.totals
    assert totals.total_self_consumed_wh == want_totals["self_consumed"] > 0
    assert totals.injected_wh == want_totals["injected"] > 0
    assert totals.production_wh == want_totals["production"]
    assert totals.total_saving_eur == want_totals["saving"]
    assert totals.injection_eur == want_totals["injection_earnings"]
    assert to_cents(totals.total_saving_eur) == cents(want_totals["saving"])
    assert to_cents(totals.injection_eur) == cents(want_totals["injection_earnings"])
    for period in periods:
        assert totals.self_consumed_wh.get(period, 0) == want_totals[f"self_consumed_{period}"]
        assert totals.saving_eur.get(period, 0) == want_totals[f"saving_{period}"]


@pytest.mark.parametrize("name", ["solar_with_export", "two_meters_all_sold"])
def test_rebuilding_from_history_equals_the_oracle(name: str) -> None:
    """The recorded history of the same year (what was read, the period entity's changes),
    replayed in one go: every hour of the year, downtimes included, as the oracle says."""
    story, _, _, given = lived(name)
    want_hours = oracle(story, given)["hours"]
    assert isinstance(want_hours, dict)
    rows = [(when, "period" if kind == PERIOD else n, value) for when, kind, n, value in given]
    series = replay_history(
        story.setup,
        rows,  # type: ignore[arg-type]
        period_entity="period" if story.period_events else None,
        until=END,
    )
    hours = {hour for increments in series.values() for hour in increments}
    year = int((END - START) / timedelta(hours=1))
    assert hours == {START + timedelta(hours=h) for h in range(year)}
    assert set(want_hours) <= hours
    for name_, increments in series.items():
        for hour in hours:
            want = want_hours.get(hour, {}).get(name_, Decimal(0))
            assert increments.get(hour, Decimal(0)) == want, (hour, name_)
    for hour, want in want_hours.items():
        assert all(not v or series[s][hour] == v for s, v in want.items()), hour


def test_history_out_of_order_or_from_elsewhere_is_refused() -> None:
    setup = _solar().setup
    with pytest.raises(ValueError, match="chronological"):
        replay_history(setup, [(END, "grid", 5), (START, "grid", 6)])
    with pytest.raises(ValueError, match="fits no source"):
        replay_history(setup, [(START, "sensor.elsewhere", 5)])
