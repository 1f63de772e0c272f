"""Long-term statistics of the ledger: hourly external statistics whose sums continue.

The ledger hands over, per series, what each UTC hour added -- Wh for energy, EUR for money --
and `StatisticsWriter` turns that into the recorder's hourly external statistics
``energy_ledger:<object_id>``, the rows the Energy panel and statistics cards read (they use the
``sum`` column and the ``change`` between two sums).

Continuing sums
    A ``sum`` is a running total, so a write has to know what is stored before it. Before
    writing hours that start at H, the writer reads the last stored row before H and cumulates
    from it; it also reads the rows stored from H on, because the recorder upserts an hour that
    is written again (re-running an hour is idempotent) but leaves the later rows' sums as they
    were. Those later hours keep their own increment (their stored sum minus the previous stored
    sum) and are written again with the corrected running total, so a correction in the middle
    of the history never leaves later sums wrong. Hours not given and not stored stay gaps: a gap
    is not an hour with zero, and the Energy panel shows it as no data.

Exact totals, rounded at the edge
    The running total is exact: Wh as ``Decimal`` (integers from a meter's registers) and EUR
    as ``Decimal``. What is stored is derived from it at the edge: energy ``sum`` = total Wh /
    1000 as a kWh float; money ``sum`` = total rounded to the cent, half to even (the project's
    rule, see `core.saving`), so hourly changes are differences of rounded totals and never drift.
    The ``state`` column holds the unrounded running total (the meaning ``state`` has for a
    sensor's sum statistics: the counter's value). That is what lets the next write -- possibly
    after a restart -- continue from the exact total: an hour of 0.004 EUR written once an hour
    must still reach 0.05 EUR after twelve hours, not stay at 0.00 because every write continued
    from a rounded sum. Read back, a stored float goes through ``repr`` to ``Decimal``, which gives
    the written decimal back exactly while it has at most 15 significant digits (Wh × a price with
    a few decimals, summed over years, stays far below that). A row whose ``sum`` was changed by
    hand (the statistics developer tool's "adjust sum") keeps that adjustment: the exact total is
    the stored ``sum`` plus the sub-cent remainder that ``state`` carries.

Recorder
    Reads run in the recorder's own thread, queued as a task (`async_recorder_read`, see
    `_RecorderRead` for why); writes go through `async_add_external_statistics`, which queues an
    import in the recorder thread. A write only counts as done once the recorder thread has run
    that import, so the next write of the same series (which reads what is stored) never
    continues from a stale sum: writes of one series are serialised and each waits for a marker
    task queued behind its import. `async_write_hours` therefore returns once the hours are
    committed. From Home Assistant's final write on, the recorder runs no task queued after its
    stop: nothing is queued then (`RecorderStoppedError`), so no write waits for an import that
    never comes.

Metadata
    ``mean_type`` is `StatisticMeanType.NONE` and ``has_sum`` is true on every supported version;
    the deprecated ``has_mean`` is never sent (both 2025.4 and 2026.2 derive it from
    ``mean_type``; the recorder marks it for removal in 2026.4). ``unit_class`` exists from Home
    Assistant 2025.11 -- the Energy panel's pickers filter external statistics on it -- and an
    older recorder fails on the unknown key, so it is sent only when the running version's
    `StatisticMetaData` declares it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    StatisticsRow,
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.components.recorder.tasks import RecorderTask
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util.unit_conversion import EnergyConverter

from .const import DOMAIN
from .core.saving import to_cents

if TYPE_CHECKING:
    from homeassistant.components.recorder.core import Recorder

_LOGGER = logging.getLogger(__name__)

SeriesKind = Literal["energy", "money"]

ENERGY_UNIT: Final = "kWh"
MONEY_UNIT: Final = "EUR"

_OBJECT_ID: Final = re.compile(r"(?!_)(?!.*__)[a-z0-9_]+(?<!_)")
"""The object id rule of the recorder's `valid_statistic_id`: [a-z0-9_], no edge or double _."""
_HAS_UNIT_CLASS: Final = "unit_class" in StatisticMetaData.__annotations__
"""True from Home Assistant 2025.11: the metadata carries (and the recorder stores) unit_class."""
_WH_PER_KWH: Final = Decimal(1000)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LOOKBACK: Final = timedelta(days=7)
"""How far back the previous row is looked for first, before reading the whole history."""
_COMMIT_TIMEOUT: Final = 300.0
"""Seconds to wait for the recorder to run an import (a year of one series: 5-10 s on SQLite)."""


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """One statistic: ``energy_ledger:<object_id>``, shown as `name`.

    `kind` decides the unit and the increments `StatisticsWriter.async_write_hours` accepts:
    ``"energy"`` takes Wh and stores kWh, ``"money"`` takes and stores EUR.
    """

    object_id: str
    name: str
    kind: SeriesKind

    def __post_init__(self) -> None:
        """Refuse an id the recorder would refuse later, when the hours are already computed."""
        if not _OBJECT_ID.fullmatch(self.object_id):
            raise ValueError(
                f"statistic object id {self.object_id!r} must be [a-z0-9_], "
                "without a leading, trailing or double underscore"
            )
        if self.kind not in ("energy", "money"):
            raise ValueError(f"series kind {self.kind!r} is neither 'energy' nor 'money'")

    @property
    def statistic_id(self) -> str:
        """The external statistic id, as picked in the Energy panel."""
        return f"{DOMAIN}:{self.object_id}"

    @property
    def unit(self) -> str:
        """The stored unit: kWh for energy, EUR for money."""
        return ENERGY_UNIT if self.kind == "energy" else MONEY_UNIT


class RecorderStoppedError(Exception):
    """The recorder is stopping or stopped: a task queued now would never run."""


def _raise_if_stopping(hass: HomeAssistant, instance: Recorder) -> None:
    """Refuse to queue a task the recorder would never run (its stop task is queued first).

    Checked in the event loop right before queueing, with no await in between: the recorder
    queues its stop task from the loop too, at Home Assistant's final write, and its thread has
    ended by the close. (Not `not_running`: Home Assistant is in that state while it starts.)
    """
    if hass.state is CoreState.final_write or not instance.is_alive():
        raise RecorderStoppedError("the recorder is stopping or stopped")


@dataclass(slots=True)
class _RecorderRead[T](RecorderTask):
    """Runs a database read in the recorder's own thread and hands its result to the loop.

    Not in the recorder's database executor: there, a read still running when Home Assistant
    stops races the recorder closing its connection, which crashes SQLite on Home Assistant
    2025.4. In the recorder thread a read runs between two other tasks, never during the close;
    one left in the queue at shutdown never runs and its waiter is cancelled with the rest.
    """

    future: asyncio.Future[T]
    read: Callable[[], T]

    def run(self, instance: Recorder) -> None:
        """Read, then hand the result (or the error) back to the event loop."""
        loop = instance.hass.loop
        try:
            result = self.read()
        except Exception as err:  # handed to the awaiting caller, which reports it
            loop.call_soon_threadsafe(self._fail, err)
        else:
            loop.call_soon_threadsafe(self._resolve, result)

    def _resolve(self, result: T) -> None:
        if not self.future.done():  # its waiter may have given up (timeout, stop)
            self.future.set_result(result)

    def _fail(self, err: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(err)


async def async_recorder_read[T](hass: HomeAssistant, read: Callable[[], T]) -> T:
    """`read()` (a database read) run in the recorder's thread, as one task of its queue.

    Keep each read short: the recorder writes nothing while it runs. Raises
    `RecorderStoppedError` at once when the recorder has stopped or is about to (from Home
    Assistant's final write on, its queue is no longer worked through), and `TimeoutError`
    when it has not run the read within `_COMMIT_TIMEOUT` seconds (a stuck recorder).
    """
    instance = get_instance(hass)
    _raise_if_stopping(hass, instance)
    future: asyncio.Future[T] = hass.loop.create_future()
    instance.queue_task(_RecorderRead(future, read))
    async with asyncio.timeout(_COMMIT_TIMEOUT):
        return await future


@dataclass(slots=True)
class _Committed(RecorderTask):
    """A marker in the recorder's queue: once it runs, every task queued before it has run."""

    future: asyncio.Future[None]

    def run(self, instance: Recorder) -> None:
        """Resolve the future from the recorder thread (the loop may be gone at shutdown)."""
        instance.hass.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


@dataclass(slots=True)
class StatisticsWriter:
    """Writes hours of the ledger's series to the recorder, continuing what is stored.

    Keep one writer per Home Assistant instance (or at least per series): it is what serialises
    the writes of a series. It holds no totals; everything continues from the recorder.
    """

    hass: HomeAssistant
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    async def async_write_hours(
        self, series: SeriesSpec, hours: Mapping[datetime, int | Decimal]
    ) -> None:
        """Store each hour's increment and recompute the sums of the hours stored after them.

        `hours` maps an hour start (timezone-aware, on the hour in UTC) to what the hour added:
        Wh (``int`` or ``Decimal``) for energy, EUR (``Decimal`` or ``int``) for money; floats are
        refused because they cannot carry exact money. An hour already stored is replaced. Key
        the mapping by UTC datetimes: two local datetimes of the repeated autumn hour compare
        equal in Python, so a mapping keyed by local time already holds only one of them.
        Returns once the recorder has committed the hours; raises `RecorderStoppedError`,
        having written nothing, when the recorder is stopping.
        """
        increments = _increments(series, hours)
        if not increments:
            return
        statistic_id = series.statistic_id
        instance = get_instance(self.hass)
        lock = self._locks.setdefault(statistic_id, asyncio.Lock())
        async with lock:
            before, later = await async_recorder_read(
                self.hass, partial(_read_stored, self.hass, statistic_id, min(increments))
            )
            rows = _rows_to_write(series.kind, before, later, increments)
            _raise_if_stopping(self.hass, instance)  # it may have begun during the read
            async_add_external_statistics(self.hass, _metadata(series), rows)
            await self._async_committed(instance)

    async def _async_committed(self, instance: Recorder) -> None:
        """Wait until the recorder thread has run everything queued so far."""
        future: asyncio.Future[None] = self.hass.loop.create_future()
        instance.queue_task(_Committed(future))
        try:
            async with asyncio.timeout(_COMMIT_TIMEOUT):
                await future
        except TimeoutError:
            _LOGGER.warning(
                "The recorder did not run the statistics import within %s s; "
                "the next hours may continue from older sums",
                _COMMIT_TIMEOUT,
            )


def _metadata(series: SeriesSpec) -> StatisticMetaData:
    """Metadata valid on the running Home Assistant (`unit_class` only where it exists).

    Built as a plain dict: the two supported versions disagree on the keys of the TypedDict.
    """
    metadata: dict[str, Any] = {
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        "name": series.name,
        "source": DOMAIN,
        "statistic_id": series.statistic_id,
        "unit_of_measurement": series.unit,
    }
    if _HAS_UNIT_CLASS:
        metadata["unit_class"] = EnergyConverter.UNIT_CLASS if series.kind == "energy" else None
    return cast(StatisticMetaData, metadata)


def _increments(
    series: SeriesSpec, hours: Mapping[datetime, int | Decimal]
) -> dict[datetime, Decimal]:
    """Hours keyed by UTC start, checked before anything is read or written."""
    increments: dict[datetime, Decimal] = {}
    for start, amount in hours.items():
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"hour start {start} has no time zone")
        utc = start.astimezone(UTC)
        # Checked in UTC: the recorder checks the local minutes, so 10:00+05:30 would pass there
        # and be stored at 04:30 UTC, between two hours.
        if utc.minute or utc.second or utc.microsecond:
            raise ValueError(f"hour start {start} is not on a UTC hour")
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            raise TypeError(
                f"{series.statistic_id}: increment {amount!r} of {start} must be an int or a "
                f"Decimal ({'Wh' if series.kind == 'energy' else 'EUR'})"
            )
        value = Decimal(amount)
        if not value.is_finite():
            raise ValueError(f"{series.statistic_id}: increment of {start} is {value}")
        increments[utc] = value
    return increments


def _read_stored(
    hass: HomeAssistant, statistic_id: str, first: datetime
) -> tuple[StatisticsRow | None, list[StatisticsRow]]:
    """The last row before `first` and every row from `first` on (recorder thread).

    Appending after the last stored hour, the usual case, costs one query.
    """
    last = get_last_statistics(hass, 1, statistic_id, False, {"sum", "state"})
    if not (last_rows := last.get(statistic_id)):
        return None, []
    if last_rows[0]["start"] < first.timestamp():
        return last_rows[0], []

    def during(start: datetime, end: datetime | None) -> list[StatisticsRow]:
        return statistics_during_period(
            hass, start, end, {statistic_id}, "hour", None, {"sum", "state"}
        ).get(statistic_id, [])

    later = during(first, None)
    end = first
    for start in (max(first - _LOOKBACK, _EPOCH), _EPOCH):
        if start < end and (earlier := during(start, end)):
            return earlier[-1], later
        end = start
    return None, later


def _exact_total(kind: SeriesKind, row: StatisticsRow) -> Decimal | None:
    """The exact running total a stored row stands for (Wh or EUR), None without a sum."""
    if (stored_sum := row.get("sum")) is None:
        return None
    total = Decimal(repr(stored_sum))
    if kind == "energy":
        return total * _WH_PER_KWH
    if (state := row.get("state")) is not None:
        exact = Decimal(repr(state))
        total += exact - to_cents(exact)
    return total


def _stored(kind: SeriesKind, total: Decimal) -> tuple[float, float]:
    """The ``sum`` and ``state`` columns of an exact running total (the edge rounding)."""
    if kind == "energy":
        kwh = float(total / _WH_PER_KWH)
        return kwh, kwh
    return float(to_cents(total)), float(total)


def _rows_to_write(
    kind: SeriesKind,
    before: StatisticsRow | None,
    later: list[StatisticsRow],
    increments: Mapping[datetime, Decimal],
) -> list[StatisticData]:
    """The new hours, plus the stored later hours whose sum or state the new hours change."""
    previous = (_exact_total(kind, before) if before is not None else None) or Decimal(0)
    total = previous
    stored_increments: dict[datetime, Decimal] = {}
    stored_columns: dict[datetime, tuple[float | None, float | None]] = {}
    for row in later:
        if (exact := _exact_total(kind, row)) is None:
            continue
        start = datetime.fromtimestamp(row["start"], UTC)
        stored_increments[start] = exact - previous
        stored_columns[start] = (row.get("sum"), row.get("state"))
        previous = exact

    rows: list[StatisticData] = []
    for start in sorted(increments.keys() | stored_increments.keys()):
        if start in increments:
            total += increments[start]
        else:
            total += stored_increments[start]
        columns = _stored(kind, total)
        if start in increments or stored_columns[start] != columns:
            rows.append(StatisticData(start=start, sum=columns[0], state=columns[1]))
    return rows
