"""A ledger's hours into long-term statistics: ``energy_ledger:<ledger>_<series>``.

The ledger hands over what each finished UTC hour added to each series (`FinishedHour`); this
module writes those hours with `StatisticsWriter`, one external statistic per series: grid
energy and grid cost per tariff period, self-consumed energy and saving, injected energy and
injection earnings. The statistics are named like the ledger's sensors, in Home Assistant's
language ("Home Self-consumed energy"), and their ids use the ledger's unique id (its slugified
name when it was added), so renaming the ledger renames the statistics without splitting them.

Nothing is lost, nothing is counted twice
    Hours are taken from the ledger (`take_finished_hours`) as soon as they finish -- at start,
    the ones it saved before a restart -- and kept in this module's own `Store` until the
    recorder has committed them; only then are they dropped. A write cut short (unload, Home
    Assistant stopping, a database error) leaves them pending and they are written again at the
    next hour or the next start. Writing an hour again replaces it (the writer's sums continue
    from what is stored), so a repeat is harmless. Hours the ledger never finished -- Home
    Assistant was down -- are never invented: the gap stays a gap.

A zero is not a gap
    Every hour the ledger finished gets a row in every series the ledger's sources can feed,
    zero included (an off-peak hour adds 0 Wh of peak energy), so the Energy panel shows the
    hour as measured. Energy counted before any period was known has its own series
    (``grid_import_unknown``), written only for the hours that have some.

Off the hot path
    The hour listener only takes the hours and schedules a background task; its reads and writes
    are queued to the recorder's own thread (`statistics.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, KIND_LEDGER
from .ledger_coordinator import FinishedHour, LedgerCoordinator
from .ledger_settings import LedgerSettings
from .statistics import SeriesKind, SeriesSpec, StatisticsWriter

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 1
"""Seconds: taken hours are saved almost at once (flushed anyway when Home Assistant stops)."""
DATA_WRITER: HassKey[StatisticsWriter] = HassKey(f"{DOMAIN}_statistics_writer")
"""One writer for every ledger: it serialises the writes of each statistic across reloads."""
_ZERO: Final = Decimal(0)

_ENERGY_SERIES: Final = ("self_consumed", "injected")
_MONEY_SERIES: Final = ("saving", "injection_earnings")
_NAME_KEY: Final[Mapping[str, str]] = {
    "self_consumed": "ledger_self_consumed_energy",
    "saving": "ledger_saving",
    "injected": "ledger_injected_energy",
    "injection_earnings": "ledger_injection_earnings",
}
"""Series to the translation key of the sensor showing its total (named alike)."""


def series_kind(series: str) -> SeriesKind | None:
    """Energy (Wh in, kWh stored) or money (EUR) for a ledger series key; None if unknown."""
    if series in _ENERGY_SERIES or series.startswith("grid_import_"):
        return "energy"
    if series in _MONEY_SERIES or series.startswith("grid_cost_"):
        return "money"
    return None


def ledger_series(settings: LedgerSettings) -> tuple[str, ...]:
    """The series a ledger's sources can feed every hour (zeros included)."""
    series: list[str] = []
    if settings.has_grid_import:
        for period in settings.plan.periods:
            series += [f"grid_import_{period}", f"grid_cost_{period}"]
    if settings.has_production:
        series += ["self_consumed", "saving", "injected", "injection_earnings"]
    return tuple(series)


def ledger_object_prefix(entry: ConfigEntry) -> str:
    """``<ledger>`` of the statistic ids: from the unique id, stable across renames."""
    unique_id = entry.unique_id or ""
    prefix = unique_id.removeprefix(f"{KIND_LEDGER}_") if unique_id else slugify(entry.title)
    return slugify(prefix) or entry.entry_id.lower()


def object_id(entry: ConfigEntry, series: str) -> str:
    """``<ledger>_<series>``: the statistic is ``energy_ledger:<ledger>_<series>``."""
    return f"{ledger_object_prefix(entry)}_{series}"


def _translation_key(series: str) -> str:
    return _NAME_KEY.get(series, f"ledger_{series}")


async def async_series_names(hass: HomeAssistant, series: Iterable[str]) -> dict[str, str]:
    """Each series' name in Home Assistant's language (the names of the ledger's sensors)."""
    language = hass.config.language
    translations = await async_get_translations(hass, language, "entity", [DOMAIN])
    prefix = f"component.{DOMAIN}.entity.sensor."
    names: dict[str, str] = {}
    for key in series:
        if name := translations.get(f"{prefix}{_translation_key(key)}.name"):
            names[key] = name
    return names


def series_spec(entry: ConfigEntry, series: str, names: Mapping[str, str]) -> SeriesSpec | None:
    """The statistic of a ledger series, named like its sensor; None if it cannot be stored."""
    if (kind := series_kind(series)) is None:
        return None
    return SeriesSpec(object_id(entry, series), f"{entry.title} {names.get(series, series)}", kind)


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.ledger_statistics.{entry_id}")


@dataclass(slots=True)
class _Pending:
    """An hour taken from the ledger and not yet committed to the recorder."""

    increments: dict[str, Decimal]


class LedgerStatistics:
    """Writes one ledger's finished hours to the recorder, keeping them until committed."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: LedgerCoordinator,
        settings: LedgerSettings,
    ) -> None:
        self.hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._series = ledger_series(settings)
        self._store = _store(hass, entry.entry_id)
        self._pending: dict[datetime, _Pending] = {}
        self._task: asyncio.Task[None] | None = None
        self._failed_once = False
        self.writing = asyncio.Lock()
        """Held while this ledger's hours are written, by this writer or by a rebuild."""

    @property
    def pending_hours(self) -> list[datetime]:
        """Hour starts taken from the ledger and not committed yet (for diagnostics and tests)."""
        return sorted(self._pending)

    async def async_load(self) -> None:
        """Restore the hours a previous run took and did not commit."""
        data = await self._store.async_load() or {}
        for start, increments in data.get("pending", []):
            self._merge(datetime.fromisoformat(start), _decimals(increments))

    @callback
    def async_start(self) -> None:
        """Follow the ledger's hours; write what is pending (call after the ledger started)."""
        self._entry.async_on_unload(self._coordinator.async_add_hour_listener(self._on_hour))
        self._entry.async_on_unload(self._async_stop)
        self._take()

    async def _async_stop(self) -> None:
        """Save what is pending now: a reload reads the store before a delayed save would run."""
        await self._store.async_save(self._state())

    @staticmethod
    async def async_remove_saved_state(hass: HomeAssistant, entry_id: str) -> None:
        await _store(hass, entry_id).async_remove()

    async def async_wait(self) -> None:
        """Return once nothing is being written (tests, benchmarks)."""
        while (task := self._task) is not None and not task.done():
            await asyncio.shield(task)

    @callback
    def _on_hour(self, _hour: FinishedHour) -> None:
        self._take()

    @callback
    def _take(self) -> None:
        """Move the ledger's finished hours here (saved), and have them written."""
        taken = self._coordinator.take_finished_hours()
        for hour in taken:
            self._merge(hour.start, dict(hour.increments))
        if taken:
            self._store.async_delay_save(self._state, SAVE_DELAY)
        if self._pending and (self._task is None or self._task.done()):
            self._task = self._entry.async_create_background_task(
                self.hass, self._async_write_pending(), f"{DOMAIN} ledger statistics"
            )

    def _merge(self, start: datetime, increments: Mapping[str, Decimal]) -> None:
        """Add an hour; two pieces of the same hour add up (they are increments).

        A new `_Pending` each time: a write in progress holds the previous one and drops the
        hour afterwards only if it is still that one, so a piece added meanwhile is not lost.
        """
        merged = dict(self._pending[start].increments) if start in self._pending else {}
        for series, value in increments.items():
            merged[series] = merged.get(series, _ZERO) + value
        self._pending[start] = _Pending(merged)

    def _state(self) -> dict[str, Any]:
        return {
            "pending": [
                [start.isoformat(), {s: str(v) for s, v in p.increments.items()}]
                for start, p in sorted(self._pending.items())
            ]
        }

    async def _async_write_pending(self) -> None:
        """Write every pending hour, series by series; drop them once all are committed.

        Never between two writes of a rebuild: both take `writing`.
        """
        async with self.writing:
            if "recorder" not in self.hass.config.components:
                self._log_once("the recorder is not loaded")
                return
            if not await get_instance(self.hass).async_db_ready:
                self._log_once("the recorder's database is not ready")
                return
            writer = self.hass.data.setdefault(DATA_WRITER, StatisticsWriter(self.hass))
            while self._pending:
                batch = dict(self._pending)
                series = dict.fromkeys(self._series)
                for pending in batch.values():
                    series.update(dict.fromkeys(pending.increments))
                names = await async_series_names(self.hass, series)
                try:
                    for key in series:
                        if (spec := series_spec(self._entry, key, names)) is None:
                            continue  # nothing this version knows how to store
                        hours = _hours_of(key, batch, always=key in self._series)
                        await writer.async_write_hours(spec, hours)
                except Exception as err:  # kept pending, written again at the next hour or start
                    self._log_once(f"{type(err).__name__}: {err}")
                    return
                for start, pending in batch.items():
                    if self._pending.get(start) is pending:
                        del self._pending[start]
                self._store.async_delay_save(self._state, SAVE_DELAY)

    def _log_once(self, reason: str) -> None:
        if not self._failed_once:
            self._failed_once = True
            _LOGGER.warning(
                "Long-term statistics of ledger %s not written yet (%s); "
                "its hours are kept and written later",
                self._entry.title,
                reason,
            )


def _hours_of(
    series: str, batch: Mapping[datetime, _Pending], *, always: bool
) -> dict[datetime, Decimal]:
    """One series' increment per hour: zero where the ledger fed it nothing, if it always can."""
    return {
        start: pending.increments.get(series, _ZERO)
        for start, pending in batch.items()
        if always or series in pending.increments
    }


def _decimals(data: Mapping[str, str]) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in data.items()}
