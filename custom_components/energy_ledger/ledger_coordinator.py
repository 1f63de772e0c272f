"""The ledger at work: source entities in, the book's accounting out, kept across restarts.

The accounting itself -- segments, prices, totals, per-hour increments, power windows -- is
`core.ledger_book.LedgerBook`, which knows nothing of Home Assistant. This module carries things
to it and back: source entity states (through `EntityAdapter`: Wh registers, W samples), the
period entity's state changes, one timer at the book's next clock instant (window end, schedule
boundary, price change: windows close even when nothing changes, and the price sensor switches
on the instant), the Store, entity updates, and the finished hours for the statistics writer
(`async_add_hour_listener`, `take_finished_hours`).

Everything is persisted with `helpers.storage.Store` (a debounced save after each clock instant,
and a save when the entry unloads or Home Assistant stops); after a restart the book resumes
(`LedgerBook.resume`) where it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
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
from .core.ledger_book import BookSetup, FinishedHour, LedgerBook
from .core.power_stats import PowerStats, WindowStats
from .core.saving import EnergyCounter, SavingTotals
from .ledger_adapter import EntityAdapter, source_kinds
from .ledger_settings import LedgerSettings

__all__ = ["FinishedHour", "LedgerCoordinator", "book_setup"]

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 30
"""Seconds: segments end every few minutes; a save per segment would be wasted writes."""


def book_setup(settings: LedgerSettings) -> BookSetup:
    """What the book accounts, from the ledger's settings (register names are entity ids)."""
    return BookSetup(
        plan=settings.plan,
        window=settings.window,
        imports=settings.import_entities,
        export=settings.export_entity,
        production=settings.production_entity,
        power_series=tuple(settings.power_entities),
        schedule=settings.schedule,
    )


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.ledger.{entry_id}")


class LedgerCoordinator:
    """One ledger: follows its sources, feeds its book, persists it, tells entities."""

    def __init__(self, hass: HomeAssistant, entry_id: str, settings: LedgerSettings) -> None:
        self.hass = hass
        self.settings = settings
        self._store = _store(hass, entry_id)
        self.book = LedgerBook(book_setup(settings))
        self._series_of = {entity: series for series, entity in settings.power_entities.items()}
        self._listeners: list[CALLBACK_TYPE] = []
        self._hour_listeners: list[Callable[[FinishedHour], None]] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._logged: set[str] = set()
        self.adapter = EntityAdapter(hass, source_kinds(settings), self._on_energy, self._on_power)

    # ---- The book's figures, as entities and the statistics writer read them ------------------

    @property
    def period(self) -> str | None:
        return self.book.period

    @property
    def power(self) -> dict[str, PowerStats]:
        return self.book.power_stats

    @property
    def last_window(self) -> dict[str, WindowStats]:
        return self.book.last_window

    @property
    def counters(self) -> dict[str, EnergyCounter]:
        return self.book.counters

    @property
    def totals(self) -> SavingTotals:
        return self.book.totals

    @property
    def grid_import_wh(self) -> dict[str, Decimal]:
        return self.book.grid_import_wh

    @property
    def grid_cost_eur(self) -> dict[str, Decimal]:
        return self.book.grid_cost_eur

    @property
    def finished_hours(self) -> list[FinishedHour]:
        return self.book.finished_hours

    # ---- Life cycle ---------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore what the previous run saved (nothing on the first run)."""
        if (data := await self._store.async_load()) is None:
            return
        try:
            self.book = LedgerBook.from_dict(data, self.book.setup)
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning("Ledger: the saved state cannot be restored (%s); starting afresh", err)

    @staticmethod
    async def async_remove_saved_state(hass: HomeAssistant, entry_id: str) -> None:
        await _store(hass, entry_id).async_remove()

    @callback
    def async_start(self) -> None:
        """Resume the book, follow the sources and arm the clock."""
        now = dt_util.utcnow()
        self._dispatch(self.book.resume(now))
        self._unsubs.append(self.adapter.async_start())
        # The open window changes with every sample; have it written when Home Assistant stops.
        self._unsubs.append(self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._on_stop))
        if self.settings.schedule is None and (entity := self.settings.period_entity) is not None:
            if (state := self.hass.states.get(entity)) is not None and (
                key := self.settings.period_of_state(state.state)
            ) is not None:
                self._dispatch(self.book.set_period(key, now))
            self._unsubs.append(
                async_track_state_change_event(self.hass, entity, self._on_period_state)
            )
        self._arm_clock()
        self._notify()

    async def async_stop(self) -> None:
        """Stop following and timers, and save now (unload, reload, Home Assistant stop)."""
        while self._unsubs:
            self._unsubs.pop()()
        await self._store.async_save(self.book.to_dict())

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
        hours = self.book.take_finished_hours()
        self._save_later()
        return hours

    def diagnostics(self) -> dict[str, Any]:
        """The ledger's state and the states its sources gave that could not be used."""
        return {"ignored_states": dict(self.adapter.ignored), "state": self.book.to_dict()}

    # ---- What entities show -------------------------------------------------------------------

    def price_now(self) -> Decimal | None:
        """EUR/kWh of the current period now; None when no period or no price is known."""
        return self.book.price_at(dt_util.utcnow())

    def feed_in_price_now(self) -> Decimal | None:
        return self.book.feed_in_price_at(dt_util.utcnow())

    def balance_w(self) -> float | None:
        """Production − consumption mean power of the last window both published."""
        return self.book.balance_w()

    # ---- Sources and clock --------------------------------------------------------------------

    def _on_energy(self, entity_id: str, wh: int) -> None:
        self._dispatch(self.book.register(entity_id, wh, dt_util.utcnow()))

    def _on_power(self, entity_id: str, when: datetime, watts: float) -> None:
        self._dispatch(self.book.power(self._series_of[entity_id], when, watts))

    @callback
    def _on_period_state(self, event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is None or (key := self.settings.period_of_state(state.state)) is None:
            return  # unavailable or not a period of the plan: the last known period holds
        if key != self.book.period:
            self._dispatch(self.book.set_period(key, state.last_changed))
            self._save_later()
            self._notify()

    def _arm_clock(self) -> None:
        """A one-shot timer at the book's next instant, re-armed when it fires."""
        if (when := self.book.next_instant()) is None:
            return
        unsub: CALLBACK_TYPE | None = None

        @callback
        def fire(instant: datetime) -> None:
            if unsub in self._unsubs:
                self._unsubs.remove(unsub)
            self.adapter.async_reassert_powers(instant)
            self._dispatch(self.book.advance(instant))
            self._arm_clock()
            self._save_later()
            self._notify()

        unsub = async_track_point_in_utc_time(self.hass, fire, when)
        self._unsubs.append(unsub)

    def _dispatch(self, hours: list[FinishedHour]) -> None:
        """Hand finished hours to the listeners; log each kind of unpriced energy once."""
        for hour in hours:
            for listener in list(self._hour_listeners):
                listener(hour)
        for what, reason in self.book.unpriced.items():
            if what not in self._logged:
                self._logged.add(what)
                _LOGGER.warning("Ledger energy left unpriced (%s): %s", what, reason)

    # ---- Persistence and listeners ------------------------------------------------------------

    def _save_later(self) -> None:
        self._store.async_delay_save(self.book.to_dict, SAVE_DELAY)

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()
