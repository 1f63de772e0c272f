"""The ledger's accounting, without Home Assistant: inputs and clock in, segments and hours out.

Home Assistant only carries things to a `LedgerBook` and back (states, timers, the Store, the
sensors), so that the accounting can be replayed from history, checked against an independent
oracle over a synthetic year and benchmarked, all without Home Assistant.

Inputs
    Register values (whole Wh, per register name: ``register``), power samples (W, per series
    ``consumption``/``production``: ``power``), tariff period changes (``set_period``, from a
    meter's period entity) and the clock (``advance``). Every input carries its time and first
    advances the clock to it, so a caller that feeds a time-ordered stream needs no timer; a
    live caller also arms a timer at `LedgerBook.next_instant` so that windows close when
    nothing changes. A time older than the clock does not move it back.

Clock instants
    The book acts at window ends (clock-aligned, `PowerStats` windows), at the user schedule's
    period boundaries (when the period comes from a schedule) and at the instants a dated price
    takes effect. Each instant is processed once, in order, whatever else happens at it.

Segments
    Time is cut into segments: at every clock instant and wherever the period changes. A
    segment has one period and one set of prices, those applying at its start. Each register
    value becomes a delta as it is read (`EnergyCounter`: a register going backwards -- a reset,
    a replaced meter -- gives 0, never negative energy, and loses at most one reading interval);
    when the segment ends, the deltas read in it are split by `window_energy`, priced by
    `window_money`, and added to the totals; grid import is priced per period the same way.
    An empty segment (a period change at the instant of a window end, or reported with a time
    before the segment's start) accounts nothing: readings that came at that instant go to the
    next segment. Power averages stand in for a register only where it is not configured
    (`pick_energy`), for whole windows, priced in the period of the window's last segment.

    A value read at instant t is thus accounted in the segment containing t (segments are
    half-open, ``[start, end)``), and everything the registers advanced while nothing was read
    (a data gap, a restart) goes to the segment of the first reading after it.

Hours
    Segments never straddle a UTC hour (windows divide an hour), so each one's increments are
    added to the hour of its start. An hour is finished at the first instant at or after its end
    and handed over as a `FinishedHour` (returned by the call that finished it, and kept until
    `take_finished_hours`), with an increment for every series that had a segment in it (0 is
    an increment: the source was there and nothing flowed).

Restarts
    `to_dict`/`from_dict` keep everything (JSON, Decimals as strings). `resume` then closes the
    segment that was open when the state was saved at the end of its window (if that passed
    while down), and starts again in the window of the restart: the downtime gives no hours, and
    its energy goes to the first segment after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from .power_stats import PowerStats, WindowStats
from .saving import (
    EnergyCounter,
    SavingTotals,
    energy_cost,
    energy_from_power,
    pick_energy,
    window_energy,
    window_money,
)
from .tariff import PeriodSchedule, PlanKind, PriceNotFoundError, PricePlan

STATE_VERSION: Final = 1
UNKNOWN_PERIOD: Final = "unknown"
"""Energy before any period is known is still counted, under this key, unpriced."""
MAX_FINISHED_HOURS: Final = 24 * 7
"""Finished hours kept until taken (a week of a caller not draining them)."""
POWER_SERIES: Final = ("consumption", "production")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR: Final = timedelta(hours=1)
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class FinishedHour:
    """What one UTC hour added to each series (Wh or EUR, exact)."""

    start: datetime
    increments: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class BookSetup:
    """What a book accounts: its registers, power series, prices, window and period source."""

    plan: PricePlan
    window: timedelta
    imports: tuple[str, ...] = ()
    """Grid import register names: one per tariff register, or a single total."""
    export: str | None = None
    production: str | None = None
    power_series: tuple[str, ...] = ()
    """Among `POWER_SERIES`: the series fed with power samples."""
    schedule: PeriodSchedule | None = None
    """The period comes from this schedule (else from `LedgerBook.set_period`)."""

    def __post_init__(self) -> None:
        if unknown := set(self.power_series) - set(POWER_SERIES):
            raise ValueError(f"unknown power series {sorted(unknown)}")
        PowerStats(self.window)  # the window must divide an hour

    @property
    def registers(self) -> tuple[str, ...]:
        """Every register name, each once."""
        found = (*self.imports, self.export, self.production)
        return tuple(dict.fromkeys(r for r in found if r))


def hour_of(when: datetime) -> datetime:
    """The UTC hour containing ``when``."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _window_to_dict(w: WindowStats) -> dict[str, Any]:
    return {
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "min": w.minimum,
        "max": w.maximum,
        "mean": w.mean,
        "covered_us": w.covered // timedelta(microseconds=1),
    }


def _window_from_dict(d: Mapping[str, Any]) -> WindowStats:
    return WindowStats(
        start=datetime.fromisoformat(d["start"]),
        end=datetime.fromisoformat(d["end"]),
        minimum=float(d["min"]),
        maximum=float(d["max"]),
        mean=float(d["mean"]),
        covered=timedelta(microseconds=int(d["covered_us"])),
    )


def _decimals(data: Mapping[str, str] | None) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in (data or {}).items()}


def _strings(data: Mapping[str, Decimal]) -> dict[str, str]:
    return {key: str(value) for key, value in data.items()}


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


class _NextChange:
    """The next instant after the clock at which something changes, computed once per change."""

    __slots__ = ("_after", "_at")

    def __init__(self) -> None:
        self._after: datetime | None = None
        self._at: datetime | None = None

    @property
    def at(self) -> datetime | None:
        """The instant last computed."""
        return self._at

    def get(
        self, clock: datetime, compute: Callable[[datetime], datetime | None]
    ) -> datetime | None:
        if self._after is None or (self._at is not None and self._at <= clock):
            self._after, self._at = clock, compute(clock)
        return self._at


class LedgerBook:
    """One ledger's accounting: segments, totals, hourly increments, power windows."""

    def __init__(self, setup: BookSetup) -> None:
        self.setup = setup
        self.power_stats = {series: PowerStats(setup.window) for series in setup.power_series}
        self.last_window: dict[str, WindowStats] = {}
        """The latest closed window of each power series."""
        self.counters: dict[str, EnergyCounter] = {}
        self.pending: dict[str, int] = {}
        """Wh each register advanced since the last segment (absent: it never had a value)."""
        self.totals = SavingTotals()
        self.grid_import_wh: dict[str, Decimal] = {}
        self.grid_cost_eur: dict[str, Decimal] = {}
        self.period: str | None = "base" if setup.plan.kind is PlanKind.BASE else None
        self.finished_hours: list[FinishedHour] = []
        self.unpriced: dict[str, str] = {}
        """Why energy was left unpriced, per kind (period key or ``feed-in``)."""
        self.registers = frozenset(setup.registers)
        """The register names this book accounts."""
        self._clock: datetime | None = None
        self._upcoming: datetime | None = None
        """The next instant after the clock, once computed (the clock moves far more often)."""
        self._segment_start: datetime | None = None
        self._hour: datetime | None = None
        self._hour_increments: dict[str, Decimal] = {}
        self._period_change = _NextChange()
        self._price_change = _NextChange()

    # ---- Inputs -------------------------------------------------------------------------------

    def register(self, name: str, wh: int, when: datetime) -> list[FinishedHour]:
        """A register's value (Wh) read at ``when``; the first one is its base."""
        if name not in self.registers:
            raise KeyError(f"{name!r} is not a register of this ledger")
        hours = self.advance(when)
        if isinstance(wh, bool) or not isinstance(wh, int) or wh < 0:
            raise ValueError(f"a register value is a non-negative int of Wh, not {wh!r}")
        counter = self.counters.setdefault(name, EnergyCounter())
        # The first value is the base: energy counts from there (pending becomes known).
        self.pending[name] = self.pending.get(name, 0) + counter.update(wh)
        return hours

    def power(self, series: str, when: datetime, watts: float) -> list[FinishedHour]:
        """A power sample (W) of ``series`` taken at ``when``."""
        hours = self.advance(when)
        if closed := self.power_stats[series].add(when, watts):
            # Only a series' first sample, older than the clock, can close a window here.
            self.last_window[series] = closed[-1]
        return hours

    def set_period(self, key: str, when: datetime) -> list[FinishedHour]:
        """The tariff period is ``key`` from ``when`` on (a meter's period entity)."""
        hours = self.advance(when)
        if key == self.period:
            return hours
        if self.period is not None:
            self._close_segment(when, hours)
        self.period = key
        return hours

    def resume(self, now: datetime) -> list[FinishedHour]:
        """Start (first run) or start again after a restart, at ``now``."""
        hours: list[FinishedHour] = []
        window_start = self._window_start(now)
        if self._segment_start is not None and self._clock is not None:
            open_end = self._window_start(self._segment_start) + self.setup.window
            self._advance(min(now, open_end), hours)
        if self._segment_start is None or self._segment_start < window_start:
            self._segment_start = window_start  # the downtime's energy goes to this window
        if self._hour is not None and self._hour != hour_of(now):
            self._finish_hour(hours)
        if self.setup.schedule is not None:
            self.period = self.setup.schedule.period_at(now)
        self._clock = max(now, self._clock or now)
        self._upcoming = None
        return hours

    def advance(self, now: datetime) -> list[FinishedHour]:
        """Let time pass to ``now``: process every clock instant up to it, in order."""
        hours: list[FinishedHour] = []
        self._advance(now, hours)
        return hours

    def next_instant(self) -> datetime | None:
        """The next instant `advance` has work at (None before the book is resumed)."""
        if self._clock is None:
            return None
        return self._next_instant(self._clock)

    def take_finished_hours(self) -> list[FinishedHour]:
        """The finished hours not taken yet (oldest first), removed from the book."""
        hours, self.finished_hours = self.finished_hours, []
        return hours

    # ---- Figures ------------------------------------------------------------------------------

    def price_at(self, when: datetime) -> Decimal | None:
        """EUR/kWh of the current period at ``when``; None when no period or price is known."""
        try:
            return self.setup.plan.price_at(self.period, when)
        except PriceNotFoundError:
            return None

    def feed_in_price_at(self, when: datetime) -> Decimal | None:
        try:
            return self.setup.plan.feed_in_price_at(when)
        except PriceNotFoundError:
            return None

    def balance_w(self) -> float | None:
        """Production − consumption mean power of the last window both published."""
        consumption = self.last_window.get("consumption")
        production = self.last_window.get("production")
        if consumption is None or production is None or consumption.end != production.end:
            return None
        return production.mean - consumption.mean

    # ---- Clock --------------------------------------------------------------------------------

    def _window_start(self, when: datetime) -> datetime:
        window = self.setup.window
        return _EPOCH + ((when.astimezone(UTC) - _EPOCH) // window) * window

    def _next_instant(self, clock: datetime) -> datetime:
        candidates = [self._window_start(clock) + self.setup.window]
        if (schedule := self.setup.schedule) is not None and (
            change := self._period_change.get(clock, schedule.next_change)
        ) is not None:
            candidates.append(change)
        if (price := self._price_change.get(clock, self.setup.plan.next_price_change)) is not None:
            candidates.append(price)
        return min(candidates)

    def _advance(self, now: datetime, hours: list[FinishedHour]) -> None:
        clock = self._clock
        if clock is None:
            return  # not resumed yet: nothing to close
        if (upcoming := self._upcoming) is None or upcoming <= clock:
            upcoming = self._next_instant(clock)
        while upcoming <= now:
            self._instant(upcoming, hours)
            clock = self._clock = upcoming
            upcoming = self._next_instant(clock)
        self._upcoming = upcoming
        if now > clock:
            self._clock = now

    def _instant(self, when: datetime, hours: list[FinishedHour]) -> None:
        """Process clock instant ``when``: window end, schedule boundary and/or price change."""
        windows: dict[str, WindowStats] = {}
        if self._window_start(when) == when:
            for series, stats in self.power_stats.items():
                if closed := stats.advance(when):
                    self.last_window[series] = closed[-1]
                    if closed[-1].end == when:
                        windows[series] = closed[-1]
        self._close_segment(when, hours, windows)
        if (schedule := self.setup.schedule) is not None and self._period_change.at == when:
            self.period = schedule.period_at(when)
        if self._hour is not None and self._hour + _HOUR <= when:
            self._finish_hour(hours)

    # ---- Segments -----------------------------------------------------------------------------

    def _delta(self, name: str | None) -> int | None:
        """The register's energy since the previous segment; None when it never had a value."""
        if name is None or name not in self.pending:
            return None
        delta, self.pending[name] = self.pending[name], 0
        return delta

    def _price(self, what: str, lookup: Callable[[], Decimal]) -> Decimal:
        try:
            return lookup()
        except PriceNotFoundError as err:
            self.unpriced.setdefault(what, str(err))
            return _ZERO

    def _close_segment(
        self,
        end: datetime,
        hours: list[FinishedHour],
        windows: Mapping[str, WindowStats] | None = None,
    ) -> None:
        """Account [segment start, end) in the current period; the next segment starts at end."""
        start = self._segment_start
        if start is None or end <= start:
            # Empty (or a change reported with an older time): nothing to account.
            self._segment_start = end if start is None else start
            return
        self._segment_start = end
        windows = windows or {}
        setup = self.setup
        imports = [d for name in setup.imports if (d := self._delta(name)) is not None]
        export = self._delta(setup.export)
        production = pick_energy(self._delta(setup.production), windows.get("production"))
        grid: Decimal | None = Decimal(sum(imports)) if imports else None
        if grid is None and not setup.imports:
            grid = energy_from_power(windows.get("consumption"))
        key = self.period or UNKNOWN_PERIOD
        plan = setup.plan
        price = self._price(key, lambda: plan.price_at(self.period, start))
        increments: dict[str, Decimal] = {}
        if production is not None and (export is not None or grid is not None):
            energy = window_energy(production_wh=production, export_wh=export, grid_import_wh=grid)
            feed_in = self._price("feed-in", lambda: plan.feed_in_price_at(start))
            money = window_money(energy, price=price, feed_in_price=feed_in)
            self.totals.add(key, energy, money)
            increments |= {
                "self_consumed": energy.self_consumed_wh,
                "saving": money.saving_eur,
                "injected": energy.injected_wh,
                "injection_earnings": money.injection_eur,
            }
        if grid is not None:
            cost = energy_cost(grid, price)
            self.grid_import_wh[key] = self.grid_import_wh.get(key, _ZERO) + grid
            self.grid_cost_eur[key] = self.grid_cost_eur.get(key, _ZERO) + cost
            increments |= {f"grid_import_{key}": grid, f"grid_cost_{key}": cost}
        self._add_to_hour(start, increments, hours)

    # ---- Hours --------------------------------------------------------------------------------

    def _add_to_hour(
        self, when: datetime, increments: Mapping[str, Decimal], hours: list[FinishedHour]
    ) -> None:
        hour = hour_of(when)
        if self._hour is not None and self._hour != hour:
            self._finish_hour(hours)
        self._hour = hour
        for series, value in increments.items():
            self._hour_increments[series] = self._hour_increments.get(series, _ZERO) + value

    def _finish_hour(self, hours: list[FinishedHour]) -> None:
        if self._hour is None:
            return
        finished = FinishedHour(self._hour, dict(self._hour_increments))
        self._hour, self._hour_increments = None, {}
        self.finished_hours = [*self.finished_hours, finished][-MAX_FINISHED_HOURS:]
        hours.append(finished)

    # ---- Persistence --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable state; `from_dict` restores it exactly."""
        return {
            "version": STATE_VERSION,
            "power": {series: stats.to_dict() for series, stats in self.power_stats.items()},
            "last_window": {s: _window_to_dict(w) for s, w in self.last_window.items()},
            "counters": {name: c.to_dict() for name, c in self.counters.items()},
            "pending": dict(self.pending),
            "totals": self.totals.to_dict(),
            "grid_import_wh": _strings(self.grid_import_wh),
            "grid_cost_eur": _strings(self.grid_cost_eur),
            "period": self.period,
            "clock": _iso(self._clock),
            "segment_start": _iso(self._segment_start),
            "hour": _iso(self._hour),
            "hour_increments": _strings(self._hour_increments),
            "finished_hours": [
                [h.start.isoformat(), _strings(h.increments)] for h in self.finished_hours
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], setup: BookSetup) -> LedgerBook:
        """Restore a state written by `to_dict`, keeping what still fits ``setup``.

        A register or power series no longer configured is dropped, and so is a power window
        of another length or a period the plan no longer prices. Raises `ValueError` on a state
        of another version.
        """
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown ledger state version: {data.get('version')!r}")
        book = cls(setup)
        window_us = setup.window // timedelta(microseconds=1)
        for series, state in data["power"].items():
            if series in book.power_stats and state.get("window_us") == window_us:
                book.power_stats[series] = PowerStats.from_dict(state)
        book.last_window = {
            s: _window_from_dict(w) for s, w in data["last_window"].items() if s in book.power_stats
        }
        registers = setup.registers
        book.counters = {
            n: EnergyCounter.from_dict(c) for n, c in data["counters"].items() if n in registers
        }
        book.pending = {n: int(v) for n, v in data["pending"].items() if n in book.counters}
        book.totals = SavingTotals.from_dict(data["totals"])
        book.grid_import_wh = _decimals(data["grid_import_wh"])
        book.grid_cost_eur = _decimals(data["grid_cost_eur"])
        if (period := data["period"]) in setup.plan.periods:
            book.period = period
        book._clock = _time(data["clock"])
        book._segment_start = _time(data["segment_start"])
        book._hour = _time(data["hour"])
        book._hour_increments = _decimals(data["hour_increments"])
        book.finished_hours = [
            FinishedHour(datetime.fromisoformat(start), _decimals(increments))
            for start, increments in data["finished_hours"]
        ]
        return book


# ---- Replaying history -----------------------------------------------------------------------

type HistoryValue = int | float | str
"""A register's Wh (int), a power sample's W (float) or a period key (str)."""


def replay_history(
    setup: BookSetup,
    rows: Iterable[tuple[datetime, str, HistoryValue]],
    *,
    power_entities: Mapping[str, str] | None = None,
    period_entity: str | None = None,
    until: datetime | None = None,
) -> dict[str, dict[datetime, Decimal]]:
    """The hourly increments per series that a fresh book gives for recorded history.

    What ``energy_ledger.rebuild_statistics`` writes: ``rows`` are ``(time, entity, value)`` in
    chronological order, converted by the caller as the live ledger converts states (register
    names are ``setup``'s, ``power_entities`` maps an entity to its power series, the period
    entity's values are period keys). The book starts at the first row; the hours returned are
    those finished by ``until`` (default: the last row), so a partial last hour is not given.
    Raises `ValueError` on rows out of order or an entity the setup does not know.
    """
    powers = dict(power_entities or {})
    book = LedgerBook(setup)
    hours: list[FinishedHour] = []
    last: datetime | None = None
    for when, entity, value in rows:
        if last is None:
            book.resume(when)
        elif when < last:
            raise ValueError(f"history rows must be in chronological order ({when} < {last})")
        last = when
        if entity == period_entity and isinstance(value, str):
            hours += book.set_period(value, when)
        elif entity in powers and isinstance(value, int | float) and not isinstance(value, bool):
            hours += book.power(powers[entity], when, float(value))
        elif entity in book.registers and isinstance(value, int):
            hours += book.register(entity, value, when)
        else:
            raise ValueError(f"history row for {entity!r} with value {value!r} fits no source")
    end = until or last
    if end is not None:
        hours += book.advance(end)
    series: dict[str, dict[datetime, Decimal]] = {}
    for hour in hours:
        for name, increment in hour.increments.items():
            series.setdefault(name, {})[hour.start] = increment
    return series
