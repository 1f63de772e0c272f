"""`energy_ledger.rebuild_statistics`: a ledger's long-term statistics again, from history.

A user who installs the integration today has months of states of the ledger's sources in the
recorder, and a price corrected after the fact leaves the money already written wrong. Both are
served by replaying the recorder's history of the sources through a fresh `LedgerBook`
(`replay_history`), exactly as the live ledger would have seen it, and writing the hours it
finishes over the stored ones with the live path's own series and writer (`ledger_statistics`):
same statistic ids and names, same `StatisticsWriter`, whose sums continue from the hour before
the range and correct every later hour, so a rebuild of the same range twice stores the same rows.

What is replayed
    The states of the registers, power entities and period entity over ``[start, end)``, both
    on a UTC hour (``start`` defaults to, and is never earlier than, the oldest state of a
    register or power source; ``end`` defaults to now; a naive time is local). Each source's
    state at ``start`` is its base, so the first hour counts from ``start`` exactly as the live
    ledger counted it from the reading before.
    States are converted by the adapter's own functions (`energy_wh`, `power_w`,
    `LedgerSettings.period_of_state`); a state they refuse is skipped and counted, as live.

Memory and time
    History is read one hour at a time (`get_significant_states`, every change, attributes for
    the unit) and streamed into the book, so a Raspberry Pi holds one hour of states -- 18,000
    for five sources written every second -- whatever the range (measured: 4.4 MB peak for a
    day of 5-second states of three registers, 46 MB when the day is read at once). The read
    and the replay run as one job in the recorder's database executor: the event loop only
    waits. Stopping Home Assistant interrupts the job at the next hour.

Live writes during a rebuild
    The ledger's live writer is held while the rebuilt hours are written (`LedgerStatistics`'s
    ``writing`` lock): hours the ledger finishes meanwhile stay pending in its Store, as when
    the recorder is busy, and are written right after, continuing from the rebuilt sums. The
    writer's own per-series lock already keeps each write whole; the ledger-wide lock keeps a
    live batch from landing between two series of the rebuild. The replay itself does not hold
    it: it touches no statistics. An hour the live writer still had pending inside the range
    (the recorder was failing) is written after the rebuild and replaces the rebuilt one: the
    same sources' figure, from the ledger that lived it.

Not rebuilt: hours while Home Assistant was down become hours of zero (the live ledger leaves
them as gaps), and the energy of the downtime goes to the first hour after it, as live.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

from homeassistant.components.recorder.history import (
    get_significant_states,
    state_changes_during_period,
)
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.ledger_book import HistoryValue, hour_of, replay_history
from .ledger_adapter import Ignored, IgnoredStateError, SourceKind, energy_wh, power_w
from .ledger_coordinator import book_setup
from .ledger_settings import LedgerSettings, settings_from_options
from .ledger_statistics import (
    DATA_WRITER,
    LedgerStatistics,
    async_series_names,
    ledger_series,
    series_spec,
)
from .statistics import StatisticsWriter

_LOGGER = logging.getLogger(__name__)

CHUNK: Final = timedelta(hours=1)
"""History read at a time: the memory bound of a rebuild."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_ZERO: Final = Decimal(0)

type Row = tuple[datetime, str, HistoryValue]


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What a rebuild wrote: the range, hours per statistic id, states skipped per reason."""

    start: datetime
    end: datetime
    hours: dict[str, int]
    ignored: Counter[Ignored]

    def as_response(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "hours": dict(self.hours),
            "ignored_states": {str(reason): n for reason, n in self.ignored.items()},
        }


class _StoppedError(Exception):
    """Home Assistant is stopping: the replay gives up between two chunks."""


def _refuse(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _utc(when: datetime) -> datetime:
    """A service time as UTC; a naive one (the UI's date-time picker) is local time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    return when.astimezone(UTC)


async def async_rebuild(
    hass: HomeAssistant, entry: ConfigEntry, start: datetime | None, end: datetime | None
) -> RebuildResult:
    """Replay the sources' history over [start, end) and write the hours it finishes."""
    if "recorder" not in hass.config.components:
        raise _refuse("rebuild_needs_recorder")
    settings = settings_from_options(entry.options, ZoneInfo(hass.config.time_zone))
    sources = _sources(settings)
    instance = get_instance(hass)
    end_hour = hour_of(_utc(end) if end is not None else dt_util.utcnow())
    if start is not None and (start_hour := hour_of(_utc(start))) >= end_hour:
        raise _refuse("rebuild_empty_range", start=start_hour.isoformat(), end=end_hour.isoformat())
    # Nothing older than the oldest state can be rebuilt: start there (no empty chunks to read).
    oldest = await instance.async_add_executor_job(_oldest_state, hass, tuple(sources))
    if oldest is None or oldest >= end_hour:
        raise _refuse("rebuild_no_history", entry=entry.title)
    start_hour = hour_of(oldest) if start is None else max(hour_of(_utc(start)), hour_of(oldest))

    _LOGGER.info(
        "Rebuilding the long-term statistics of ledger %s from %s to %s",
        entry.title,
        start_hour.isoformat(),
        end_hour.isoformat(),
    )
    stop = threading.Event()

    @callback
    def on_stop(_event: Event) -> None:
        stop.set()

    unsub = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, on_stop)
    replay = _Replay(hass, settings, sources, start_hour, end_hour, stop)
    try:
        series = await instance.async_add_executor_job(replay.run)
    except _StoppedError:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="rebuild_interrupted"
        ) from None
    finally:
        if not stop.is_set():  # set: the stop listener fired and is gone
            unsub()
        stop.set()  # a cancelled call stops the job too
    if not series:
        raise _refuse("rebuild_no_history", entry=entry.title)
    hours = await _async_write(hass, entry, settings, series)
    _LOGGER.info(
        "Rebuilt the long-term statistics of ledger %s: %s hours in %s statistics, "
        "%s source states skipped",
        entry.title,
        max(hours.values(), default=0),
        len(hours),
        sum(replay.ignored.values()),
    )
    return RebuildResult(start_hour, end_hour, hours, replay.ignored)


def _sources(settings: LedgerSettings) -> dict[str, SourceKind]:
    """The register and power entities, as the live coordinator follows them."""
    sources = dict.fromkeys(settings.energy_entities, SourceKind.ENERGY)
    sources.update(dict.fromkeys(settings.power_entities.values(), SourceKind.POWER))
    return sources


async def _async_write(
    hass: HomeAssistant,
    entry: ConfigEntry,
    settings: LedgerSettings,
    series: Mapping[str, Mapping[datetime, Decimal]],
) -> dict[str, int]:
    """Write every series the live path writes, zeros included; hours written per statistic."""
    always = ledger_series(settings)
    every_hour = sorted({start for hours in series.values() for start in hours})
    names = await async_series_names(hass, {*always, *series})
    writer = hass.data.setdefault(DATA_WRITER, StatisticsWriter(hass))
    live = getattr(entry.runtime_data, "statistics", None)
    loaded = entry.state is ConfigEntryState.LOADED and isinstance(live, LedgerStatistics)
    held = live.writing if loaded and isinstance(live, LedgerStatistics) else None
    written: dict[str, int] = {}
    if held is not None:
        await held.acquire()
    try:
        for key in dict.fromkeys((*always, *series)):
            if (spec := series_spec(entry, key, names)) is None:
                continue  # nothing this version knows how to store
            fed = series.get(key, {})
            hours = {h: fed.get(h, _ZERO) for h in every_hour} if key in always else dict(fed)
            await writer.async_write_hours(spec, hours)
            written[spec.statistic_id] = len(hours)
    finally:
        if held is not None:
            held.release()
    return written


def _oldest_state(hass: HomeAssistant, entity_ids: tuple[str, ...]) -> datetime | None:
    """The time of the oldest recorded state of any of the entities (recorder executor)."""
    oldest: datetime | None = None
    for entity_id in entity_ids:
        states = state_changes_during_period(
            hass, _EPOCH, None, entity_id, limit=1, include_start_time_state=False
        ).get(entity_id, [])
        if states and (oldest is None or states[0].last_updated < oldest):
            oldest = states[0].last_updated
    return oldest


@dataclass(slots=True)
class _Replay:
    """One rebuild's read and replay, run in the recorder's executor (`run`)."""

    hass: HomeAssistant
    settings: LedgerSettings
    sources: Mapping[str, SourceKind]
    start: datetime
    end: datetime
    stop: threading.Event
    ignored: Counter[Ignored] = field(default_factory=Counter)
    """Source states the adapter's conversions refused, per reason."""

    def run(self) -> dict[str, dict[datetime, Decimal]]:
        """The hourly increments per series that the history gives."""
        powers = {entity: series for series, entity in self.settings.power_entities.items()}
        return replay_history(
            book_setup(self.settings),
            self._rows(),
            power_entities=powers,
            period_entity=self.settings.period_entity,
            until=self.end,
        )

    def _rows(self) -> Iterator[Row]:
        """The states over [start, end) as replay rows, in time order, an hour at a time.

        The recorder returns states strictly after its start time, so each chunk starts a
        microsecond early: a state written exactly on an hour is read once, in that hour's
        chunk. The first chunk also returns each entity's state at its start (its base).
        """
        settings, sources = self.settings, self.sources
        period_entity = settings.period_entity
        entity_ids = [*sources, *([period_entity] if period_entity else [])]
        chunk = self.start
        while chunk < self.end:
            if self.stop.is_set():
                raise _StoppedError
            chunk_end = min(chunk + CHUNK, self.end)
            found = get_significant_states(
                self.hass,
                chunk - _MICROSECOND,
                chunk_end,
                entity_ids,
                include_start_time_state=chunk == self.start,
                significant_changes_only=False,
            )
            per_entity = (cast(list[State], found.get(entity_id, [])) for entity_id in entity_ids)
            for state in heapq.merge(*per_entity, key=lambda s: s.last_updated):
                when = max(state.last_updated, chunk)
                entity_id = state.entity_id
                if entity_id == period_entity:
                    if (key := settings.period_of_state(state.state)) is not None:
                        yield when, entity_id, key
                    continue
                try:
                    if sources[entity_id] is SourceKind.ENERGY:
                        yield when, entity_id, energy_wh(state)
                    else:
                        yield when, entity_id, power_w(state)
                except IgnoredStateError as err:
                    self.ignored[err.reason] += 1
            chunk = chunk_end
