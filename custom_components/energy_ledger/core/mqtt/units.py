"""Units of MQTT payloads and their exact conversion to the base units W, A, V, Wh, ms, bytes.

Only exact spellings are known: ``mW`` and ``MW`` differ by a factor of 10⁹, so unit names are
case-sensitive and nothing is guessed from a near miss (``kwh``, ``KB``...). A unit this table does
not know is the caller's problem to report (`scale_for` returns None), never a default.

Conversion is exact in decimal: an int stays an int when the factor allows it, and a float is
scaled from its shortest decimal form, so ``0.1101`` kWh is exactly ``110.1`` Wh (plain float
arithmetic would give ``110.10000000000001``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Quantity(StrEnum):
    """What a measured field is; the name is also its key in an EnerLink v2 ``units`` block."""

    POWER = "power"
    CURRENT = "current"
    VOLTAGE = "voltage"
    ENERGY = "energy"
    UPTIME = "uptime"
    FREE_HEAP = "free_heap"
    RSSI = "rssi"


@dataclass(frozen=True, slots=True)
class Scale:
    """Multiply by `multiply`, then divide by `divide`, to get the base unit."""

    multiply: int
    divide: int


_ONE: Final = Scale(1, 1)

FLOAT_MAX_INT: Final = int(sys.float_info.max)
"""The largest int a float can hold: beyond, a value would overflow wherever it becomes a float
(Home Assistant states, statistics), so it is refused like an infinity."""

_DECIMAL: Final = Context(prec=28)
"""A private context: the thread's current decimal context can be changed by anyone."""

BASE_UNITS: Final[Mapping[Quantity, str]] = MappingProxyType(
    {
        Quantity.POWER: "W",
        Quantity.CURRENT: "A",
        Quantity.VOLTAGE: "V",
        Quantity.ENERGY: "Wh",
        Quantity.UPTIME: "ms",
        Quantity.FREE_HEAP: "bytes",
        Quantity.RSSI: "dBm",
    }
)
"""What every decoded value of a quantity is expressed in."""

_SCALES: Final[Mapping[Quantity, Mapping[str, Scale]]] = MappingProxyType(
    {
        Quantity.POWER: {"W": _ONE, "mW": Scale(1, 1000), "kW": Scale(1000, 1)},
        Quantity.CURRENT: {"A": _ONE, "mA": Scale(1, 1000)},
        Quantity.VOLTAGE: {"V": _ONE, "mV": Scale(1, 1000), "kV": Scale(1000, 1)},
        Quantity.ENERGY: {
            "Wh": _ONE,
            "mWh": Scale(1, 1000),
            "kWh": Scale(1000, 1),
            "MWh": Scale(1_000_000, 1),
        },
        Quantity.UPTIME: {"ms": _ONE, "s": Scale(1000, 1)},
        Quantity.FREE_HEAP: {"bytes": _ONE, "B": _ONE},
        Quantity.RSSI: {"dBm": _ONE},
    }
)


def known_units(quantity: Quantity) -> frozenset[str]:
    """The unit names accepted for `quantity`."""
    return frozenset(_SCALES[quantity])


def scale_for(quantity: Quantity, unit: str) -> Scale | None:
    """The scale from `unit` to the base unit of `quantity`; None for a unit it does not have."""
    return _SCALES[quantity].get(unit.strip())


def convert(value: int | float, scale: Scale) -> int | float | None:
    """`value` in the base unit; None when the result is not a finite number. Never raises.

    An int stays an int when the division is exact; a float goes through its shortest decimal
    form. NaN, infinities and ints beyond `FLOAT_MAX_INT` give None.
    """
    if isinstance(value, int):
        scaled = value * scale.multiply
        quotient, remainder = divmod(scaled, scale.divide)
        if abs(quotient) > FLOAT_MAX_INT:
            return None
        return scaled / scale.divide if remainder else quotient
    if not math.isfinite(value):
        return None
    if scale.multiply == scale.divide == 1:  # no Decimal for the common base unit
        return value + 0.0  # -0.0 becomes 0.0
    exact = _DECIMAL.multiply(Decimal(repr(value)), scale.multiply)
    result = float(_DECIMAL.divide(exact, scale.divide))
    return result + 0.0 if math.isfinite(result) else None
