"""What a ledger entry's options mean: sources, period source, price plan, window.

The options flow writes plain JSON (entity ids, the user's text for the index map and the
off-peak hours, the price plan's dict); this module turns it into typed settings, and its
parsers are the ones the flow validates the user's text with, so what the flow accepts is
exactly what the coordinator can run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    default_index_map,
)
from .core.tic.period import PERIOD_KEYS

_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_PAIR = re.compile(r"^\s*(\d+)\s*[=:]\s*([a-z_]+)\s*$")


def parse_off_peak_hours(text: str) -> tuple[tuple[time, time], ...]:
    """``"22:00-06:00, 12:30-14:30"`` as (start, end) wall-clock pairs; ValueError if malformed."""
    spans = []
    for part in text.split(","):
        if not (match := _SPAN.match(part)):
            raise ValueError(f"not a span like 22:00-06:00: {part!r}")
        start, end = (time.fromisoformat(t.zfill(5)) for t in match.groups())
        spans.append((start, end))
    return tuple(spans)


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
        spans = parse_off_peak_hours(options.get(CONF_OFF_PEAK_HOURS) or DEFAULT_OFF_PEAK_HOURS)
        schedule = PeriodSchedule.daily(zone, spans)
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
