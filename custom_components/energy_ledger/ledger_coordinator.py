"""The ledger at work: source entities in, windows accounted, totals kept across restarts.

Accounting follows `core.saving`: time is cut into segments, each with one tariff period and
one set of prices. A segment ends at every clock-aligned window end (a timer, so windows close
even when nothing changes) and wherever the period changes (the period entity's state change,
or the schedule's exact boundary instant). At a segment's end the register deltas since its
start (`EnergyCounter`: a register going backwards gives 0, never negative energy) are split
by `window_energy`, priced by `window_money` with the prices applying at the segment's start
in its period, and added to `SavingTotals`; grid import is priced per period the same way.

Power statistics (`PowerStats`, time-weighted) are published at each window end; their energy
stands in for a register only where the register is not configured (`pick_energy`). That
fallback exists only for whole windows, so its energy is priced in the period current at the
window's end.

Everything is persisted with `helpers.storage.Store` (a debounced save after each segment, and
a save when the entry unloads or Home Assistant stops): after a restart in the middle of a
window, the open power window, the register bases, the totals, the period and the open hour
resume, and the first segment after the restart takes what the registers advanced meanwhile.

What each UTC hour added to every series (grid import and cost per period, self-consumed,
saving, injected, injection earnings) is kept as exact Decimals and handed over when the hour
ends (`finished_hours`, `async_add_hour_listener`), for the long-term statistics writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.power_stats import PowerStats, WindowStats
from .core.saving import (
    EnergyCounter,
    SavingTotals,
    energy_cost,
    energy_from_power,
    pick_energy,
    window_energy,
    window_money,
)
from .core.tariff import PlanKind, PriceNotFoundError
from .ledger_adapter import EntityAdapter, SourceKind
from .ledger_settings import LedgerSettings

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 30
"""Seconds: segments end every few minutes; a save per segment would be wasted writes."""
UNKNOWN_PERIOD: Final = "unknown"
"""Energy before any period is known is still counted, under this key, unpriced."""
MAX_FINISHED_HOURS: Final = 24 * 7
"""Finished hours kept for the statistics writer (a week of Home Assistant not draining them)."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR: Final = timedelta(hours=1)
_MICROSECOND: Final = timedelta(microseconds=1)
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class FinishedHour:
    """What one UTC hour added to each series (Wh or EUR, exact)."""

    start: datetime
    increments: Mapping[str, Decimal]


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


def _hour_of(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.ledger.{entry_id}")


class LedgerCoordinator:
    """One ledger: follows its sources, accounts segments, keeps and persists the totals."""

    def __init__(self, hass: HomeAssistant, entry_id: str, settings: LedgerSettings) -> None:
        self.hass = hass
        self.settings = settings
        self._store = _store(hass, entry_id)
        self.power = {series: PowerStats(settings.window) for series in settings.power_entities}
        self._series_of = {entity: series for series, entity in settings.power_entities.items()}
        self.last_window: dict[str, WindowStats] = {}
        self._closed_early: dict[str, list[WindowStats]] = {}
        self.counters: dict[str, EnergyCounter] = {}
        self._latest: dict[str, int] = {}
        self.totals = SavingTotals()
        self.grid_import_wh: dict[str, Decimal] = {}
        self.grid_cost_eur: dict[str, Decimal] = {}
        self.period: str | None = "base" if settings.plan.kind is PlanKind.BASE else None
        self._segment_start: datetime | None = None
        self._hour: datetime | None = None
        self._hour_increments: dict[str, Decimal] = {}
        self.finished_hours: list[FinishedHour] = []
        self._listeners: list[CALLBACK_TYPE] = []
        self._hour_listeners: list[Callable[[FinishedHour], None]] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._logged: set[str] = set()
        sources = dict.fromkeys(settings.energy_entities, SourceKind.ENERGY)
        sources.update(dict.fromkeys(self._series_of, SourceKind.POWER))
        self.adapter = EntityAdapter(hass, sources, self._on_energy, self._on_power)

    # ---- Life cycle ---------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore what the previous run saved (nothing on the first run)."""
        if (data := await self._store.async_load()) is None:
            return
        window_us = self.settings.window // timedelta(microseconds=1)
        for series, state in data.get("power", {}).items():
            if series in self.power and state.get("window_us") == window_us:
                self.power[series] = PowerStats.from_dict(state)
        self.last_window = {
            s: _window_from_dict(w)
            for s, w in data.get("last_window", {}).items()
            if s in self.power
        }
        self.counters = {
            e: EnergyCounter.from_dict(c)
            for e, c in data.get("counters", {}).items()
            if e in self.settings.energy_entities
        }
        self._latest = {e: c.last for e, c in self.counters.items() if c.last is not None}
        if "totals" in data:
            self.totals = SavingTotals.from_dict(data["totals"])
        self.grid_import_wh = _decimals(data.get("grid_import_wh"))
        self.grid_cost_eur = _decimals(data.get("grid_cost_eur"))
        if (period := data.get("period")) in self.settings.plan.periods:
            self.period = period
        if data.get("segment_start"):
            self._segment_start = datetime.fromisoformat(data["segment_start"])
        if data.get("hour"):
            self._hour = datetime.fromisoformat(data["hour"])
            self._hour_increments = _decimals(data.get("hour_increments"))
        self.finished_hours = [
            FinishedHour(datetime.fromisoformat(start), _decimals(increments))
            for start, increments in data.get("finished_hours", [])
        ]

    @staticmethod
    async def async_remove_saved_state(hass: HomeAssistant, entry_id: str) -> None:
        await _store(hass, entry_id).async_remove()

    @callback
    def async_start(self) -> None:
        """Follow the sources and start the timers."""
        now = dt_util.utcnow()
        window_start = self._window_start(now)
        if self._segment_start is None or self._segment_start < window_start:
            # Down across a window end: what the registers advanced meanwhile goes to this window.
            self._segment_start = window_start
        if self._hour is not None and self._hour != _hour_of(now):
            self._finish_hour()
        self._unsubs.append(self.adapter.async_start())
        # The open window changes with every sample; have it written when Home Assistant stops.
        self._unsubs.append(self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._on_stop))
        self._start_period(now)
        self._arm_window_end(now)
        self._arm_price_change(now)
        self._notify()

    async def async_stop(self) -> None:
        """Stop following and timers, and save now (unload, reload, Home Assistant stop)."""
        while self._unsubs:
            self._unsubs.pop()()
        await self._store.async_save(self._state())

    @callback
    def _on_stop(self, _event: Event) -> None:
        self._save_later()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever what entities show may have changed."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_add_hour_listener(self, listener: Callable[[FinishedHour], None]) -> CALLBACK_TYPE:
        """Call ``listener`` with each hour's increments when the hour ends."""
        self._hour_listeners.append(listener)
        return lambda: self._hour_listeners.remove(listener)

    def take_finished_hours(self) -> list[FinishedHour]:
        """The finished hours not taken yet (oldest first), removed from the ledger's state."""
        hours, self.finished_hours = self.finished_hours, []
        self._save_later()
        return hours

    def diagnostics(self) -> dict[str, Any]:
        """The ledger's state and the states its sources gave that could not be used."""
        return {"ignored_states": dict(self.adapter.ignored), "state": self._state()}

    # ---- What entities show -------------------------------------------------------------------

    def price_now(self) -> Decimal | None:
        """EUR/kWh of the current period now; None when no period or no price is known."""
        try:
            return self.settings.plan.price_at(self.period, dt_util.utcnow())
        except PriceNotFoundError:
            return None

    def feed_in_price_now(self) -> Decimal | None:
        try:
            return self.settings.plan.feed_in_price_at(dt_util.utcnow())
        except PriceNotFoundError:
            return None

    def balance_w(self) -> float | None:
        """Production − consumption mean power of the last window both published."""
        consumption = self.last_window.get("consumption")
        production = self.last_window.get("production")
        if consumption is None or production is None or consumption.end != production.end:
            return None
        return production.mean - consumption.mean

    # ---- Sources ------------------------------------------------------------------------------

    def _on_energy(self, entity_id: str, wh: int) -> None:
        self._latest[entity_id] = wh
        counter = self.counters.setdefault(entity_id, EnergyCounter())
        if counter.last is None:
            counter.update(wh)  # the base: energy counts from here on

    def _on_power(self, entity_id: str, when: datetime, watts: float) -> None:
        series = self._series_of[entity_id]
        if closed := self.power[series].add(when, watts):
            self._closed_early.setdefault(series, []).extend(closed)

    # ---- Periods and prices -------------------------------------------------------------------

    def _start_period(self, now: datetime) -> None:
        settings = self.settings
        if settings.plan.kind is PlanKind.BASE:
            return
        if (schedule := settings.schedule) is not None:
            self.period = schedule.period_at(now)
            self._arm_schedule(now)
        elif settings.period_entity is not None:
            if (state := self.hass.states.get(settings.period_entity)) is not None:
                self.period = settings.period_of_state(state.state) or self.period
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, settings.period_entity, self._on_period_state
                )
            )

    @callback
    def _on_period_state(self, event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is None or (key := self.settings.period_of_state(state.state)) is None:
            return  # unavailable or not a period of the plan: the last known period holds
        self._set_period(key, state.last_changed)

    def _set_period(self, key: str, when: datetime) -> None:
        if key == self.period:
            return
        self._close_segment(when, {})
        self.period = key
        self._save_later()
        self._notify()

    def _arm_schedule(self, now: datetime) -> None:
        schedule = self.settings.schedule
        assert schedule is not None
        if (change := schedule.next_change(now)) is None:
            return

        @callback
        def fire(when: datetime) -> None:
            self._set_period(schedule.period_at(when), when)
            self._arm_schedule(when)

        self._track(change, fire)

    def _arm_price_change(self, now: datetime) -> None:
        if (change := self.settings.plan.next_price_change(now)) is None:
            return

        @callback
        def fire(when: datetime) -> None:
            self._notify()
            self._arm_price_change(when)

        self._track(change, fire)

    # ---- Windows and segments -----------------------------------------------------------------

    def _window_start(self, when: datetime) -> datetime:
        """Start of the clock-aligned window containing ``when`` (as `PowerStats` aligns)."""
        window = self.settings.window
        return _EPOCH + ((when.astimezone(UTC) - _EPOCH) // window) * window

    def _arm_window_end(self, now: datetime) -> None:
        self._track(self._window_start(now) + self.settings.window, self._on_window_end)

    def _track(self, when: datetime, action: Callable[[datetime], None]) -> None:
        """A one-shot timer, cancelled with the ledger (it re-arms itself when it fires)."""
        unsub: CALLBACK_TYPE | None = None

        @callback
        def run(fired: datetime) -> None:
            if unsub in self._unsubs:
                self._unsubs.remove(unsub)
            action(fired)

        unsub = async_track_point_in_utc_time(self.hass, run, when)
        self._unsubs.append(unsub)

    @callback
    def _on_window_end(self, end: datetime) -> None:
        windows: dict[str, WindowStats] = {}
        for series, stats in self.power.items():
            closed = self._closed_early.pop(series, []) + stats.advance(end)
            if closed:
                self.last_window[series] = closed[-1]
            if closed and closed[-1].end == end:
                windows[series] = closed[-1]
        self._close_segment(end, windows)
        if self._hour is not None and self._hour + _HOUR <= end:
            self._finish_hour()
        self._arm_window_end(end)
        self._save_later()
        self._notify()

    def _delta(self, entity_id: str | None) -> int | None:
        """The register's energy since the previous segment; None when it never had a value."""
        if entity_id is None or (latest := self._latest.get(entity_id)) is None:
            return None
        return self.counters[entity_id].update(latest)

    def _price(self, what: str, lookup: Callable[[], Decimal]) -> Decimal:
        try:
            return lookup()
        except PriceNotFoundError as err:
            if what not in self._logged:
                self._logged.add(what)
                _LOGGER.warning("Ledger energy left unpriced (%s): %s", what, err)
            return _ZERO

    def _close_segment(self, end: datetime, windows: Mapping[str, WindowStats]) -> None:
        """Account [segment start, end) in the current period; the next segment starts at end."""
        start = self._segment_start or end
        # A period entity's state may carry a change time older than this segment (a state
        # written again after a restart): the cut is then at the segment's start.
        end = max(start, end)
        self._segment_start = end
        settings = self.settings
        imports = [d for e in settings.import_entities if (d := self._delta(e)) is not None]
        export = self._delta(settings.export_entity)
        production = pick_energy(self._delta(settings.production_entity), windows.get("production"))
        grid: Decimal | None = Decimal(sum(imports)) if imports else None
        if grid is None and not settings.import_entities:
            grid = energy_from_power(windows.get("consumption"))
        key = self.period or UNKNOWN_PERIOD
        plan = settings.plan
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
        # A segment lies within one hour; an empty one (a period change exactly at a window
        # end) belongs to the hour that ends with it.
        self._add_to_hour(start if start < end else end - _MICROSECOND, increments)

    # ---- Hours --------------------------------------------------------------------------------

    def _add_to_hour(self, when: datetime, increments: Mapping[str, Decimal]) -> None:
        hour = _hour_of(when)
        if self._hour is not None and self._hour != hour:
            self._finish_hour()
        self._hour = hour
        for series, value in increments.items():
            self._hour_increments[series] = self._hour_increments.get(series, _ZERO) + value

    def _finish_hour(self) -> None:
        if self._hour is None:
            return
        finished = FinishedHour(self._hour, dict(self._hour_increments))
        self._hour, self._hour_increments = None, {}
        self.finished_hours = [*self.finished_hours, finished][-MAX_FINISHED_HOURS:]
        for listener in list(self._hour_listeners):
            listener(finished)

    # ---- Persistence and listeners ------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "power": {series: stats.to_dict() for series, stats in self.power.items()},
            "last_window": {s: _window_to_dict(w) for s, w in self.last_window.items()},
            "counters": {e: c.to_dict() for e, c in self.counters.items()},
            "totals": self.totals.to_dict(),
            "grid_import_wh": _strings(self.grid_import_wh),
            "grid_cost_eur": _strings(self.grid_cost_eur),
            "period": self.period,
            "segment_start": None
            if self._segment_start is None
            else self._segment_start.isoformat(),
            "hour": None if self._hour is None else self._hour.isoformat(),
            "hour_increments": _strings(self._hour_increments),
            "finished_hours": [
                [h.start.isoformat(), _strings(h.increments)] for h in self.finished_hours
            ],
        }

    def _save_later(self) -> None:
        self._store.async_delay_save(self._state, SAVE_DELAY)

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()
