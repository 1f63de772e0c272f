"""The normalized snapshot every source produces.

A TIC frame, an MQTT payload or a Home Assistant entity state all become a `Reading`, so the
coordinators, the ledger and the entities never need to know which wire a value came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """One complete, validated snapshot of a meter.

    `values` is keyed by the source's own field names (TIC labels such as ``EAST``) and holds typed
    values; the normalized fields below let the ledger work without knowing those names.
    """

    meter_id: str
    """ADSC/ADCO address or MQTT meter id. Personal data: never log it."""
    received_at: datetime
    """When the source finished receiving this snapshot (timezone-aware)."""
    values: Mapping[str, object]
    """Typed values: int (Wh, VA, A, V...), str, datetime or a small decoded record."""
    timestamps: Mapping[str, datetime | None] = field(default_factory=dict)
    """Horodate sent with a value (standard TIC), keyed like `values`; None when not applicable."""
    import_energy_wh: int | None = None
    """Total imported active energy (EAST, or the sum of the historic index registers)."""
    export_energy_wh: int | None = None
    """Total injected active energy (EAIT) for producers."""
    import_registers_wh: Mapping[str, int] = field(default_factory=dict)
    """Import energy per tariff register, keyed by the register label (EASF01, HCHC, BBRHPJR...)."""
    import_power_va: int | None = None
    export_power_va: int | None = None
    tariff_period: str | None = None
    """The meter's own label of the current period (LTARF text or PTEC), stripped."""
    tariff_index: int | None = None
    """Index of the active import register, 1-based (NTARF, or derived from PTEC)."""
    meter_clock: datetime | None = None
    """The meter's own clock (DATE horodate in standard mode)."""
