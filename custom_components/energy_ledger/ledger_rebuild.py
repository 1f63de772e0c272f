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
    day of 5-second states of three registers, 46 MB when the day is read at once). The replay
    runs as one job in Home Assistant's executor (`_Replay.run`); each hour's read is one task
    of the recorder's own thread (`async_recorder_read`), so the recorder goes on writing
    between two hours and the event loop only passes the reads along.

Stopping
    Not in the recorder's database executor: a read still running there when Home Assistant
    stops races the recorder closing its connection, which crashes SQLite on 2025.4. In the
    recorder thread a read never overlaps the close. When Home Assistant starts stopping, the
    rebuild ends at once (Home Assistant does not wait for an action started before, and would
    cancel it a few seconds later): a read in progress is abandoned -- nothing is written before
    the whole range is replayed -- and a write in progress ends (whole, or not at all if the
    recorder stops first), the next statistic is not started. Each statistic is thus rewritten
    whole or left as it was (one import each), and the action fails with `rebuild_interrupted`
    (nothing changed) or `rebuild_interrupted_writing` (how many statistics were rewritten). The
    same holds when the recorder refuses the next read or write because it is stopping.

Live writes during a rebuild
    The ledger's live writer is held while the rebuilt hours are written (`LedgerStatistics`'s
    ``writing`` lock): hours the ledger finishes meanwhile stay pending in its Store, as when
    the recorder is busy, and are written right after, continuing from the rebuilt sums. The
    writer's own per-series lock already keeps each write whole; the ledger-wide lock keeps a
    live batch from landing between two series of the rebuild. The replay itself does not hold
    it: it touches no statistics. An hour the live writer still had pending inside the range
    (the recorder was failing) is written after the rebuild and replaces the rebuilt one: the
    same sources' figure, from the ledger that lived it.

Downtime
    An hour without any recorded state of the sources or the period entity is taken as Home
    Assistant being down and stays a gap, as the live ledger leaves it; the energy of the
    downtime goes to the first hour after it, as live. The same holds for an hour in which
    Home Assistant ran but no source changed at all (the recorder stores no row for an unchanged
    state): a gap there, where the live ledger wrote zeros.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
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
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.ledger_book import HistoryValue, hour_of, replay_history
from .ledger_adapter import (
    Ignored,
    IgnoredStateError,
    SourceKind,
    energy_wh,
    power_w,
    source_kinds,
)
from .ledger_coordinator import book_setup
from .ledger_settings import LedgerSettings, settings_from_options
from .ledger_statistics import (
    DATA_WRITER,
    LedgerStatistics,
    async_series_names,
    ledger_series,
    series_spec,
)
from .statistics import (
    RecorderStoppedError,
    SeriesSpec,
    StatisticsWriter,
    async_recorder_read,
)

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
    """Home Assistant or its recorder is stopping: the rebuild gives up between two reads or
    two statistics, `written` of `total` statistics rewritten."""

    def __init__(self, written: int = 0, total: int = 0) -> None:
        done = f"{written} of {total} statistics rewritten" if total else "nothing written"
        super().__init__(f"Home Assistant or its recorder is stopping; {done}")
        self.written, self.total = written, total


def _interrupted(written: int = 0, total: int = 0) -> HomeAssistantError:
    """The action's error: nothing changed, or how many statistics were rewritten whole."""
    if not written:
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="rebuild_interrupted")
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="rebuild_interrupted_writing",
        translation_placeholders={"written": str(written), "total": str(total)},
    )


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
    if hass.is_stopping:
        raise _interrupted()
    settings = settings_from_options(entry.options, ZoneInfo(hass.config.time_zone))
    sources = source_kinds(settings)
    end_hour = hour_of(_utc(end) if end is not None else dt_util.utcnow())
    if start is not None and (start_hour := hour_of(_utc(start))) >= end_hour:
        raise _refuse("rebuild_empty_range", start=start_hour.isoformat(), end=end_hour.isoformat())
    # Nothing older than the oldest state can be rebuilt: start there (no empty chunks to read).
    try:
        oldest = await async_recorder_read(hass, partial(_oldest_state, hass, tuple(sources)))
    except RecorderStoppedError:
        raise _interrupted() from None
    if oldest is None or oldest >= end_hour:
        raise _refuse("rebuild_no_history", entry=entry.title)
    start_hour = hour_of(oldest) if start is None else max(hour_of(_utc(start)), hour_of(oldest))

    _LOGGER.info(
        "Rebuilding the long-term statistics of ledger %s from %s to %s",
        entry.title,
        start_hour.isoformat(),
        end_hour.isoformat(),
    )
    replay = _Replay(hass, settings, sources, start_hour, end_hour)

    @callback
    def on_stop(_event: Event) -> None:
        replay.stop()

    unsub = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, on_stop)
    try:
        series = await hass.async_add_executor_job(replay.run)
        if not series:
            raise _refuse("rebuild_no_history", entry=entry.title)
        hours = await _async_write(hass, entry, settings, series, replay)
    except _StoppedError as err:
        _LOGGER.info("Rebuild of ledger %s interrupted: %s", entry.title, err)
        raise _interrupted(err.written, err.total) from None
    finally:
        if not replay.stopped:  # stopped: the listener may have fired and be gone already
            unsub()
        replay.stop()  # a cancelled call stops the replay too
    _LOGGER.info(
        "Rebuilt the long-term statistics of ledger %s: %s hours in %s statistics, "
        "%s source states skipped",
        entry.title,
        max(hours.values(), default=0),
        len(hours),
        sum(replay.ignored.values()),
    )
    return RebuildResult(start_hour, end_hour, hours, replay.ignored)


async def _async_write(
    hass: HomeAssistant,
    entry: ConfigEntry,
    settings: LedgerSettings,
    series: Mapping[str, Mapping[datetime, Decimal]],
    replay: _Replay,
) -> dict[str, int]:
    """Write every series the live path writes, zeros included; hours written per statistic.

    Stops between two statistics once `replay` is stopped (Home Assistant stopping: a task
    still writing would delay the shutdown, then be cancelled) or the recorder refuses the
    next one, raising `_StoppedError`; each statistic is written whole or not at all.
    """
    always = ledger_series(settings)
    every_hour = sorted({start for hours in series.values() for start in hours})
    names = await async_series_names(hass, {*always, *series})
    writer = hass.data.setdefault(DATA_WRITER, StatisticsWriter(hass))
    live = getattr(entry.runtime_data, "statistics", None)
    loaded = entry.state is ConfigEntryState.LOADED and isinstance(live, LedgerStatistics)
    held = live.writing if loaded and isinstance(live, LedgerStatistics) else None
    to_write: list[tuple[SeriesSpec, dict[datetime, Decimal]]] = []
    for key in dict.fromkeys((*always, *series)):
        if (spec := series_spec(entry, key, names)) is None:
            continue  # nothing this version knows how to store
        fed = series.get(key, {})
        to_write.append(
            (spec, {h: fed.get(h, _ZERO) for h in every_hour} if key in always else dict(fed))
        )
    written: dict[str, int] = {}
    if held is not None:
        await held.acquire()
    try:
        for spec, hours in to_write:
            if replay.stopped:
                raise _StoppedError(len(written), len(to_write))
            try:
                await writer.async_write_hours(spec, hours)
            except RecorderStoppedError:
                raise _StoppedError(len(written), len(to_write)) from None
            written[spec.statistic_id] = len(hours)
    finally:
        if held is not None:
            held.release()
    return written


def _oldest_state(hass: HomeAssistant, entity_ids: tuple[str, ...]) -> datetime | None:
    """The time of the oldest recorded state of any of the entities (recorder thread)."""
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
    """One rebuild's replay (`run`, in an executor thread), its reads queued to the recorder.

    `stop` (from the event loop) abandons the read in progress and ends the replay before the
    next hour; the replay ends with `_StoppedError`.
    """

    hass: HomeAssistant
    settings: LedgerSettings
    sources: Mapping[str, SourceKind]
    start: datetime
    end: datetime
    ignored: Counter[Ignored] = field(default_factory=Counter)
    """Source states the adapter's conversions refused, per reason."""
    silent: set[datetime] = field(default_factory=set)
    """Hours without any recorded state: Home Assistant was down, they stay gaps."""
    _stopped: threading.Event = field(default_factory=threading.Event)
    _reading: Future[dict[str, list[State]]] | None = None

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """End the replay (event loop): the read in progress is cancelled, no other starts."""
        self._stopped.set()
        if (reading := self._reading) is not None:
            reading.cancel()

    def run(self) -> dict[str, dict[datetime, Decimal]]:
        """The hourly increments per series that the history gives, silent hours left out."""
        powers = {entity: series for series, entity in self.settings.power_entities.items()}
        series = replay_history(
            book_setup(self.settings),
            self._rows(),
            power_entities=powers,
            period_entity=self.settings.period_entity,
            until=self.end,
        )
        kept = {
            name: {start: v for start, v in hours.items() if start not in self.silent}
            for name, hours in series.items()
        }
        return {name: hours for name, hours in kept.items() if hours}

    def _read(
        self, entity_ids: list[str], start: datetime, end: datetime, *, with_base: bool
    ) -> dict[str, list[State]]:
        """The states of [start, end), read by the recorder thread while this thread waits.

        The recorder returns states strictly after its start time, so the read starts a
        microsecond early: a state written exactly on an hour is read once, in that hour's
        chunk. ``with_base`` also returns each entity's state at `start`.
        """
        read = partial(
            get_significant_states,
            self.hass,
            start - _MICROSECOND,
            end,
            entity_ids,
            include_start_time_state=with_base,
            significant_changes_only=False,
        )
        reading = asyncio.run_coroutine_threadsafe(
            async_recorder_read(self.hass, read), self.hass.loop
        )
        self._reading = cast(Future[dict[str, list[State]]], reading)
        if self._stopped.is_set():  # `stop` ran before `_reading` was set
            reading.cancel()
        try:
            return cast(dict[str, list[State]], reading.result())
        except (CancelledError, RecorderStoppedError):
            raise _StoppedError from None
        finally:
            self._reading = None

    def _rows(self) -> Iterator[Row]:
        """The states over [start, end) as replay rows, in time order, an hour at a time.

        The first chunk also returns each entity's state at its start (its base, not a state
        recorded in the hour). An hour in which nothing was recorded is noted as silent.
        """
        settings, sources = self.settings, self.sources
        period_entity = settings.period_entity
        entity_ids = [*sources, *([period_entity] if period_entity else [])]
        chunk = self.start
        while chunk < self.end:
            if self._stopped.is_set():
                raise _StoppedError
            chunk_end = min(chunk + CHUNK, self.end)
            found = self._read(entity_ids, chunk, chunk_end, with_base=chunk == self.start)
            per_entity = [found.get(entity_id, []) for entity_id in entity_ids]
            if not any(s.last_updated >= chunk for states in per_entity for s in states):
                self.silent.add(chunk)
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
