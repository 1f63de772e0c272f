"""The normalized snapshot every source produces.

A TIC frame, an MQTT payload or a Home Assistant entity state all become a `Reading`, so the
coordinators, the ledger and the entities never need to know which wire a value came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, cast

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
"""Default of the mapping fields: shared, and read-only so no Reading can change another."""


@dataclass(frozen=True, slots=True, init=False)
class Reading:
    """One complete, validated snapshot of a meter.

    `values` is keyed by the source's own field names (TIC labels such as ``EAST``) and holds typed
    values; the normalized fields below let the ledger work without knowing those names.

    Frozen like any dataclass (assignment raises, `dataclasses.replace` works), but built by a
    hand-written `__init__`: the generated one of a frozen dataclass goes through
    `object.__setattr__` field by field and costs about 3 µs, a third of decoding a frame.
    """

    meter_id: str
    """ADSC/ADCO address or MQTT meter id. Personal data: never log it."""
    received_at: datetime
    """When the source finished receiving this snapshot (timezone-aware)."""
    values: Mapping[str, object]
    """Typed values: int (Wh, VA, A, V...), str, datetime or a small decoded record."""
    timestamps: Mapping[str, datetime | None]
    """Horodate sent with a value (standard TIC), keyed like `values`; None when not applicable."""
    import_energy_wh: int | None
    """Total imported active energy (EAST, or the sum of the historic index registers)."""
    export_energy_wh: int | None
    """Total injected active energy (EAIT) for producers."""
    import_registers_wh: Mapping[str, int]
    """Import energy per tariff register, keyed by the register label (EASF01, HCHC, BBRHPJR...)."""
    import_power_va: int | None
    export_power_va: int | None
    tariff_period: str | None
    """The meter's own label of the current period (LTARF text or PTEC), stripped."""
    tariff_index: int | None
    """Index of the active import register, 1-based (NTARF, or derived from PTEC)."""
    meter_clock: datetime | None
    """The meter's own clock (DATE horodate in standard mode)."""

    def __init__(  # noqa: PLR0917 - the dataclass's own field order, as the generated one
        self,
        meter_id: str,
        received_at: datetime,
        values: Mapping[str, object],
        timestamps: Mapping[str, datetime | None] = _EMPTY,
        import_energy_wh: int | None = None,
        export_energy_wh: int | None = None,
        import_registers_wh: Mapping[str, int] = _EMPTY,
        import_power_va: int | None = None,
        export_power_va: int | None = None,
        tariff_period: str | None = None,
        tariff_index: int | None = None,
        meter_clock: datetime | None = None,
    ) -> None:
        (
            set_meter_id,
            set_received_at,
            set_values,
            set_timestamps,
            set_import_energy_wh,
            set_export_energy_wh,
            set_import_registers_wh,
            set_import_power_va,
            set_export_power_va,
            set_tariff_period,
            set_tariff_index,
            set_meter_clock,
        ) = _SETTERS
        set_meter_id(self, meter_id)
        set_received_at(self, received_at)
        set_values(self, values)
        set_timestamps(self, timestamps)
        set_import_energy_wh(self, import_energy_wh)
        set_export_energy_wh(self, export_energy_wh)
        set_import_registers_wh(self, import_registers_wh)
        set_import_power_va(self, import_power_va)
        set_export_power_va(self, export_power_va)
        set_tariff_period(self, tariff_period)
        set_tariff_index(self, tariff_index)
        set_meter_clock(self, meter_clock)


_SETTERS: Final[tuple[Callable[[Reading, object], None], ...]] = tuple(
    getattr(Reading, field.name).__set__ for field in fields(Reading)
)
"""The slot descriptors' setters, in field order: they bypass the frozen `__setattr__`."""


class _Unfrozen:
    """A `Reading`'s slots without its frozen ``__setattr__`` (see `build_reading`)."""

    __slots__ = tuple(field.name for field in fields(Reading))


def build_reading(  # noqa: PLR0917 - one argument per field, in field order
    meter_id: str,
    received_at: datetime,
    values: Mapping[str, object],
    timestamps: Mapping[str, datetime | None],
    import_energy_wh: int | None,
    export_energy_wh: int | None,
    import_registers_wh: Mapping[str, int],
    import_power_va: int | None,
    export_power_va: int | None,
    tariff_period: str | None,
    tariff_index: int | None,
    meter_clock: datetime | None,
    /,
) -> Reading:
    """``Reading(...)`` with every field given, in 0.3 µs instead of 0.8: for a TIC stream.

    A frozen dataclass can only set its slots through their descriptors, one call each. An
    `_Unfrozen` has the very same slots, filled by plain attribute stores (which CPython
    specializes), and then becomes a `Reading` by ``__class__`` assignment, which CPython
    allows between classes of identical slots. What comes out is an ordinary Reading, frozen
    and equal to the one `Reading` builds from the same fields.
    """
    reading: Any = object.__new__(_Unfrozen)  # its slots are the Reading's (typed there)
    reading.meter_id = meter_id
    reading.received_at = received_at
    reading.values = values
    reading.timestamps = timestamps
    reading.import_energy_wh = import_energy_wh
    reading.export_energy_wh = export_energy_wh
    reading.import_registers_wh = import_registers_wh
    reading.import_power_va = import_power_va
    reading.export_power_va = export_power_va
    reading.tariff_period = tariff_period
    reading.tariff_index = tariff_index
    reading.meter_clock = meter_clock
    reading.__class__ = Reading
    return cast(Reading, reading)
