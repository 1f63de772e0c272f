"""What a ledger entry's options mean: sources, period source, price plan, window.

The options flow writes plain JSON (entity ids, the user's text for the index map and the
off-peak hours, the price plan's dict); this module turns it into typed settings, and its
parsers are the ones the flow validates the user's text with, so what the flow accepts is
exactly what the coordinator can run.

Off-peak hours are given per calendar day: the daily spans, and optionally other spans on
chosen weekdays (French weekend contracts are off-peak all Saturday and Sunday). A user reads
"22:00-06:00 on weekdays, 00:00-24:00 on Saturday and Sunday" as "Monday 00:00-06:00 is
off-peak too", so each day's spans are cut at midnight and laid on that day's own clock: the
night from Sunday to Monday takes its 00:00-06:00 from Monday's spans, not from Sunday's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .const import (
    CONF_CONSUMPTION_POWER_ENTITY,
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_INDEX_MAP,
    CONF_OFF_PEAK_HOURS,
    CONF_PERIOD_ENTITY,
    CONF_PERIOD_SOURCE,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_PRODUCTION_POWER_ENTITY,
    CONF_WINDOW_MINUTES,
    DEFAULT_OFF_PEAK_HOURS,
    DEFAULT_WINDOW_MINUTES,
    PERIOD_SOURCE_SCHEDULE,
)
from .core.tariff import (
    PLAN_PERIODS,
    PeriodResolver,
    PeriodSchedule,
    PlanKind,
    PricePlan,
    ScheduleWindow,
    default_index_map,
)
from .core.tic.period import PERIOD_KEYS

_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_PAIR = re.compile(r"^\s*(\d+)\s*[=:]\s*([a-z_]+)\s*$")
_MIDNIGHT = time(0)

CONF_OFF_PEAK_DAYS = "off_peak_days"
"""Weekdays (``mon`` .. ``sun``) whose off-peak hours differ from the daily ones."""
CONF_OFF_PEAK_DAYS_HOURS = "off_peak_days_hours"
"""The off-peak spans on those weekdays."""
DEFAULT_OFF_PEAK_DAYS_HOURS = "00:00-24:00"
"""All day: what weekend off-peak contracts give."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Option values of the weekdays, in `date.weekday` order."""

type Spans = tuple[tuple[time, time], ...]


def parse_off_peak_hours(text: str) -> Spans:
    """``"22:00-06:00, 12:30-14:30"`` as (start, end) wall-clock pairs; ValueError if malformed.

    ``24:00`` ends a span at midnight (``00:00-24:00`` is the whole day); a span that starts
    and ends at the same time is refused (it would say neither "never" nor "always" clearly).
    """
    spans = []
    for part in text.split(","):
        if not (match := _SPAN.match(part)):
            raise ValueError(f"not a span like 22:00-06:00: {part!r}")
        start_text, end_text = (t.zfill(5) for t in match.groups())
        start = time.fromisoformat(start_text)
        end = _MIDNIGHT if end_text == "24:00" else time.fromisoformat(end_text)
        if start == end and not (start == _MIDNIGHT and end_text == "24:00"):
            raise ValueError(f"an empty span: {part!r}")
        spans.append((start, end))
    return tuple(spans)


def parse_weekdays(days: Iterable[str]) -> tuple[int, ...]:
    """Weekday option values as `date.weekday` numbers; ValueError on an unknown one."""
    return tuple(sorted({WEEKDAYS.index(day) for day in days}))


def off_peak_schedule(zone: ZoneInfo, spans_by_weekday: Mapping[int, Spans]) -> PeriodSchedule:
    """Off-peak windows laid on each weekday's own clock (spans crossing midnight are cut there).

    ``22:00-06:00`` on a day is off-peak from 00:00 to 06:00 and from 22:00 to midnight of
    that same day; the next day's spans say what its own early hours are.
    """
    windows = []
    for weekday, spans in sorted(spans_by_weekday.items()):
        for start, end in spans:
            if end > start or end == _MIDNIGHT:
                windows.append(ScheduleWindow(weekday, start, end))
            else:
                windows.append(ScheduleWindow(weekday, _MIDNIGHT, end))
                windows.append(ScheduleWindow(weekday, start, _MIDNIGHT))
    return PeriodSchedule(zone=zone, windows=tuple(windows))


def schedule_from_options(options: Mapping[str, Any], zone: ZoneInfo) -> PeriodSchedule:
    """The off-peak schedule the options describe; ValueError when a text does not parse."""
    daily = parse_off_peak_hours(options.get(CONF_OFF_PEAK_HOURS) or DEFAULT_OFF_PEAK_HOURS)
    spans = dict.fromkeys(range(7), daily)
    if days := parse_weekdays(options.get(CONF_OFF_PEAK_DAYS) or ()):
        other = parse_off_peak_hours(
            options.get(CONF_OFF_PEAK_DAYS_HOURS) or DEFAULT_OFF_PEAK_DAYS_HOURS
        )
        spans.update(dict.fromkeys(days, other))
    return off_peak_schedule(zone, spans)


def parse_index_map(text: str, kind: PlanKind) -> dict[int, str]:
    """``"1=peak, 2=off_peak"``; empty text is the plan's register order. ValueError if wrong.

    Every period must be one the plan prices: an index mapped to another plan's period would
    give energy that no price applies to.
    """
    if not text.strip():
        return default_index_map(kind)
    mapping: dict[int, str] = {}
    for part in text.split(","):
        if not (match := _PAIR.match(part.lower())):
            raise ValueError(f"not a pair like 1=off_peak: {part!r}")
        index, period = int(match.group(1)), match.group(2)
        if period not in PLAN_PERIODS[kind] or index in mapping:
            raise ValueError(f"{part!r} is not a period of the plan, or a repeated index")
        mapping[index] = period
    return mapping


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    """A ledger's configuration, typed."""

    import_entities: tuple[str, ...]
    """Grid import registers: one per tariff register, or a single total."""
    export_entity: str | None
    production_entity: str | None
    consumption_power_entity: str | None
    production_power_entity: str | None
    plan: PricePlan
    period_entity: str | None
    """The entity whose state is the period (None: the schedule, or a base plan)."""
    resolver: PeriodResolver
    window: timedelta

    @property
    def energy_entities(self) -> tuple[str, ...]:
        """Every register source, each once."""
        found = (*self.import_entities, self.export_entity, self.production_entity)
        return tuple(dict.fromkeys(e for e in found if e))

    @property
    def power_entities(self) -> dict[str, str]:
        """Power source entity per series (``consumption`` / ``production``)."""
        pairs = (
            ("consumption", self.consumption_power_entity),
            ("production", self.production_power_entity),
        )
        return {series: entity for series, entity in pairs if entity}

    @property
    def has_production(self) -> bool:
        return bool(self.production_entity or self.production_power_entity)

    @property
    def has_grid_import(self) -> bool:
        """Grid import known: registers, or the consumption meter's power as a fallback."""
        return bool(self.import_entities or self.consumption_power_entity)

    @property
    def schedule(self) -> PeriodSchedule | None:
        return self.resolver.schedule

    def period_of_state(self, state: str) -> str | None:
        """The period an entity state names, if the plan prices it.

        Our own "tariff period" sensor gives a period key; a meter's label sensor (LTARF, PTEC)
        gives its text; an index sensor (NTARF, an MQTT tariff index) gives a number, mapped
        through the index map.
        """
        text = state.strip()
        if text in PERIOD_KEYS:
            key: str | None = text
        else:
            index = None
            try:
                number = float(text)
            except ValueError:
                pass
            else:
                index = int(number) if number.is_integer() else None
            key = (
                self.resolver.resolve(index=index)
                if index is not None
                else self.resolver.resolve(label=text)
            )
        return key if key in self.plan.periods else None


def settings_from_options(options: Mapping[str, Any], zone: ZoneInfo) -> LedgerSettings:
    """Typed settings from a ledger entry's options (validated by the flow when written)."""
    plan = PricePlan.from_dict(options[CONF_PRICES])
    schedule = None
    if options.get(CONF_PERIOD_SOURCE) == PERIOD_SOURCE_SCHEDULE and plan.kind is not PlanKind.BASE:
        schedule = schedule_from_options(options, zone)
    period_entity = None if schedule is not None else options.get(CONF_PERIOD_ENTITY) or None
    return LedgerSettings(
        import_entities=tuple(options.get(CONF_IMPORT_ENTITIES) or ()),
        export_entity=options.get(CONF_EXPORT_ENTITY) or None,
        production_entity=options.get(CONF_PRODUCTION_ENTITY) or None,
        consumption_power_entity=options.get(CONF_CONSUMPTION_POWER_ENTITY) or None,
        production_power_entity=options.get(CONF_PRODUCTION_POWER_ENTITY) or None,
        plan=plan,
        period_entity=period_entity if plan.kind is not PlanKind.BASE else None,
        resolver=PeriodResolver(
            index_map=parse_index_map(options.get(CONF_INDEX_MAP) or "", plan.kind),
            schedule=schedule,
        ),
        window=timedelta(minutes=int(options.get(CONF_WINDOW_MINUTES, DEFAULT_WINDOW_MINUTES))),
    )
