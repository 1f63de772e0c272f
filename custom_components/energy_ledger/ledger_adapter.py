"""Home Assistant entity states → numbers the ledger computes with: Wh registers, W samples.

A ledger's sources are ordinary entities (this integration's meters, an inverter, another
vendor's meter), so their states are text in whatever unit their integration chose. The adapter
converts them with Home Assistant's own converters from the state's ``unit_of_measurement``
(Wh, kWh, MWh...; W, kW...), and apparent power (VA, kVA) stands in for W as the power fallback
of `core.saving` allows. Registers become whole Wh: a register's absolute value is rounded, not
its deltas, so the rounding never accumulates (a kWh source with three decimals is exact).

A state that cannot be used -- ``unavailable``/``unknown`` (a restart, a dropped link), text
that is not a number, a unit that is not energy or power, a negative register -- is ignored and
counted by reason; nothing is invented from it. Unusable text or units are logged once per
entity and reason (they are configuration problems); unavailability is normal and only counted.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util.unit_conversion import EnergyConverter, PowerConverter

if TYPE_CHECKING:
    from .ledger_settings import LedgerSettings

_LOGGER = logging.getLogger(__name__)

_APPARENT_POWER_W: Final = {"mVA": 0.001, "VA": 1.0, "kVA": 1000.0}

ENERGY_UNITS: Final = frozenset(unit for unit in EnergyConverter.VALID_UNITS if unit)
"""Units a register may be in (the ledger converts them to Wh)."""
POWER_UNITS: Final = frozenset(
    unit for unit in (*PowerConverter.VALID_UNITS, *_APPARENT_POWER_W) if unit
)
"""Units a power source may be in (W and its multiples, VA counted as W)."""


class SourceKind(StrEnum):
    ENERGY = "energy"
    POWER = "power"


class Ignored(StrEnum):
    """Why a state was not used."""

    UNAVAILABLE = "unavailable"
    NOT_NUMERIC = "not_numeric"
    UNIT = "unit"
    NEGATIVE = "negative"


class IgnoredStateError(ValueError):
    def __init__(self, reason: Ignored) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(state: State) -> float:
    if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        raise IgnoredStateError(Ignored.UNAVAILABLE)
    try:
        value = float(state.state)
    except ValueError:
        raise IgnoredStateError(Ignored.NOT_NUMERIC) from None
    if not math.isfinite(value):
        raise IgnoredStateError(Ignored.NOT_NUMERIC)
    return value


def energy_wh(state: State) -> int:
    """A register state as whole Wh; `IgnoredStateError` when it cannot be used."""
    value = _number(state)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit not in ENERGY_UNITS:
        raise IgnoredStateError(Ignored.UNIT)
    wh = round(EnergyConverter.convert(value, unit, UnitOfEnergy.WATT_HOUR))
    if wh < 0:
        raise IgnoredStateError(Ignored.NEGATIVE)
    return wh


def power_w(state: State) -> float:
    """A power state in W (VA counted as W); `IgnoredStateError` when it cannot be used."""
    value = _number(state)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit in _APPARENT_POWER_W:
        return value * _APPARENT_POWER_W[unit]
    if unit not in PowerConverter.VALID_UNITS:
        raise IgnoredStateError(Ignored.UNIT)
    return PowerConverter.convert(value, unit, UnitOfPower.WATT)


def source_kinds(settings: LedgerSettings) -> dict[str, SourceKind]:
    """What a ledger follows, live or in a rebuild: its registers, then its power sources."""
    sources = dict.fromkeys(settings.energy_entities, SourceKind.ENERGY)
    sources.update(dict.fromkeys(settings.power_entities.values(), SourceKind.POWER))
    return sources


class EntityAdapter:
    """Follows source entities and hands over their values, converted.

    ``on_energy(entity_id, wh)`` gets each register value; ``on_power(entity_id, when, watts)``
    each power sample with the time the state was written.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        sources: Mapping[str, SourceKind],
        on_energy: Callable[[str, int], None],
        on_power: Callable[[str, datetime, float], None],
    ) -> None:
        self._hass = hass
        self._sources = dict(sources)
        self._on_energy = on_energy
        self._on_power = on_power
        self.ignored: Counter[Ignored] = Counter()
        self._logged: set[tuple[str, Ignored]] = set()

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Take the current states, then every change; returns the unsubscribe callback."""
        for entity_id in self._sources:
            if (state := self._hass.states.get(entity_id)) is not None:
                self._take(entity_id, state)
        return async_track_state_change_event(self._hass, list(self._sources), self._on_event)

    @callback
    def async_reassert_powers(self, when: datetime) -> None:
        """Hand over each power source's current state again, as a sample at `when`.

        A Home Assistant state holds until it changes, and many integrations write nothing
        while a value stays put (an inverter at 0 W all night): without this, such a power
        would look like a silent source and become a gap after the power statistics' maximum
        gap. An unavailable source gives nothing, so a dead one still becomes a gap.
        """
        for entity_id, kind in self._sources.items():
            if kind is not SourceKind.ENERGY and (state := self._hass.states.get(entity_id)):
                self._take(entity_id, state, when)

    @callback
    def _on_event(self, event: Event[EventStateChangedData]) -> None:
        if (state := event.data["new_state"]) is not None:
            self._take(event.data["entity_id"], state)

    def _take(self, entity_id: str, state: State, when: datetime | None = None) -> None:
        kind = self._sources[entity_id]
        try:
            if kind is SourceKind.ENERGY:
                self._on_energy(entity_id, energy_wh(state))
            else:
                self._on_power(entity_id, when or state.last_updated, power_w(state))
        except IgnoredStateError as err:
            self.ignored[err.reason] += 1
            if (
                err.reason is not Ignored.UNAVAILABLE
                and (entity_id, err.reason) not in self._logged
            ):
                self._logged.add((entity_id, err.reason))
                _LOGGER.warning(
                    "Ledger source %s: state %r (unit %r) is ignored (%s); "
                    "its %s values are not used until it gives a usable one",
                    entity_id,
                    state.state,
                    state.attributes.get(ATTR_UNIT_OF_MEASUREMENT),
                    err.reason,
                    kind,
                )
