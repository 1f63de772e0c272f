"""Self-consumption saving and injection earnings, window by window.

Energy split
    The caller accounts in windows: the clock-aligned power-statistics windows, cut again where
    the tariff period changes, so that one window has one price. For each window it gives what
    it knows, in Wh, and `window_energy` splits production into self-consumed and injected:

    - **Production and export known** (a producer Linky's ``EAIT`` plus a PV production sensor,
      or any meter with an export register): self-consumed = Δproduction − Δexport, injected =
      Δexport. Grid import, when known, gives home consumption = import + self-consumed. When a
      window's export exceeds its production (two sources read at slightly different instants, or
      a battery exporting), self-consumed is 0, injected is still Δexport (the export register is
      what the buyer pays for) and the excess is reported as ``export_beyond_production_wh``, so
      ``self_consumed + injected − export_beyond_production == production`` always holds, and
      ``self_consumed + injected == production`` whenever export ≤ production.
    - **All production sold** (the reference two-meter setup: a consumption meter and a
      production meter, export unknown): self-consumed = min(Δconsumption, Δproduction),
      injected = max(Δproduction − Δconsumption, 0), home consumption = Δconsumption. Here
      ``self_consumed + injected == production`` always holds.

    Energy comes from registers (Wh deltas of cumulative counters) whenever the register exists;
    the time-weighted power average of the window is only a fallback (`pick_energy`): it covers
    only the part of the window that had samples, and negative power (an inverter's standby draw)
    counts as no energy. VA averages stand in for W only in this fallback, as the reference does.

Counter resets
    `EnergyCounter` turns register values into deltas. A value lower than the previous one is a
    reset (meter replacement, a device's counters reset, a daily counter) and gives a delta of
    **zero**; the new value becomes the base for the next delta. Zero rather than the new value,
    because a replacement meter's starting index is not energy of this household: taking it would
    invent energy and money, while zero loses at most what flowed between the last reading before
    the reset and the first one after it (one reading interval; for a daily PV counter that resets
    at midnight, nothing). So energy, and money with it, is never negative.

Money and rounding
    Money is `Decimal` EUR: energy (Wh) × price (EUR/kWh) / 1000, computed exactly (60
    significant digits, more than any household sum needs) and summed exactly. **Nothing is
    rounded inside the ledger.** Rounding happens only at the edge -- the value shown by a sensor
    and the running ``sum`` written to long-term statistics -- to the cent with `to_cents`, i.e.
    ``ROUND_HALF_EVEN``. The rounded quantity is always the running total, never a window's or an
    hour's increment: hourly increments are then differences of rounded running totals, which
    telescope, so the total since the start is within half a cent of the exact one, the total of
    any range within a cent, and rounding errors never accumulate (rounding each 5-minute window
    of 0.004 EUR would give 0.00 forever).
    Half-even is Python's decimal default and is unbiased on ties; as only running totals are
    rounded, it differs from half-up only on an exact half cent.

    Rates (self-consumption rate, self-sufficiency) are percentages of totals, unrounded
    (28 significant digits); round them for display only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Final

from .power_stats import WindowStats
from .tariff import PricePlan, to_price

CENT: Final = Decimal("0.01")
_MONEY: Final = Context(prec=60, rounding=ROUND_HALF_EVEN)
"""Exact in practice: no product or sum of household energy and prices reaches 60 digits."""
_RATIO: Final = Context(prec=28, rounding=ROUND_HALF_EVEN)
_ZERO: Final = Decimal(0)
_WH_PER_KWH: Final = Decimal(1000)
_STATE_VERSION: Final = 1


def to_cents(amount: Decimal) -> Decimal:
    """Round money to the cent, half to even: the edge rule (display, statistics sums)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN, context=_MONEY)


def _wh(value: int | Decimal, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"{name} is Wh as an int or a Decimal, not {value!r}")
    wh = Decimal(value)
    if not wh.is_finite() or wh < 0:
        raise ValueError(f"{name} must be finite and not negative, not {value!r}")
    return wh


# ---- Register deltas -------------------------------------------------------------------------


class EnergyCounter:
    """Deltas of one cumulative energy register (Wh), never negative."""

    __slots__ = ("_last", "_resets")

    def __init__(self, last: int | None = None, resets: int = 0) -> None:
        self._last = last
        self._resets = resets

    @property
    def last(self) -> int | None:
        """The latest register value, the base of the next delta."""
        return self._last

    @property
    def resets(self) -> int:
        """How many times the register went backwards."""
        return self._resets

    def update(self, value: int) -> int:
        """The energy since the previous value: 0 for the first value and after a reset."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"an energy register is an int of Wh, not {value!r}")
        if value < 0:
            raise ValueError(f"an energy register cannot be negative: {value}")
        last, self._last = self._last, value
        if last is None:
            return 0
        if value < last:
            self._resets += 1
            return 0
        return value - last

    def to_dict(self) -> dict[str, Any]:
        return {"last": self._last, "resets": self._resets}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergyCounter:
        last = data.get("last")
        return cls(None if last is None else int(last), int(data.get("resets", 0)))


def energy_from_power(stats: WindowStats | None) -> Decimal | None:
    """A window's energy (Wh) from its time-weighted power average; negative power counts as 0."""
    if stats is None:
        return None
    energy = Decimal(repr(stats.energy_wh))  # the float's shortest exact decimal spelling
    return energy if energy > 0 else _ZERO


def pick_energy(delta_wh: int | None, power: WindowStats | None = None) -> Decimal | None:
    """The register delta when the register exists, else the power fallback, else None."""
    if delta_wh is not None:
        return _wh(delta_wh, "delta_wh")
    return energy_from_power(power)


# ---- One window ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowEnergy:
    """How one window's production was used (Wh)."""

    production_wh: Decimal
    self_consumed_wh: Decimal
    """Production consumed at home."""
    injected_wh: Decimal
    """Energy sent to the grid (the export register when it exists)."""
    export_beyond_production_wh: Decimal
    """Export the measured production does not explain (0 in the two-meter setup)."""
    home_consumption_wh: Decimal | None
    """Grid import + self-consumed (or the consumption meter); None when import is unknown."""


def window_energy(
    *,
    production_wh: int | Decimal,
    export_wh: int | Decimal | None = None,
    grid_import_wh: int | Decimal | None = None,
) -> WindowEnergy:
    """Split a window's production; export known: first setup, else the two-meter setup."""
    production = _wh(production_wh, "production_wh")
    grid_import = None if grid_import_wh is None else _wh(grid_import_wh, "grid_import_wh")
    if export_wh is not None:
        export = _wh(export_wh, "export_wh")
        self_consumed = max(production - export, _ZERO)
        return WindowEnergy(
            production_wh=production,
            self_consumed_wh=self_consumed,
            injected_wh=export,
            export_beyond_production_wh=max(export - production, _ZERO),
            home_consumption_wh=None if grid_import is None else grid_import + self_consumed,
        )
    if grid_import is None:
        raise ValueError("either the export or the grid import (consumption) must be known")
    return WindowEnergy(
        production_wh=production,
        self_consumed_wh=min(grid_import, production),
        injected_wh=max(production - grid_import, _ZERO),
        export_beyond_production_wh=_ZERO,
        home_consumption_wh=grid_import,
    )


@dataclass(frozen=True, slots=True)
class WindowMoney:
    """What one window's self-consumption saved and its injection earned (EUR, unrounded)."""

    saving_eur: Decimal
    injection_eur: Decimal


def window_money(energy: WindowEnergy, *, price: Decimal, feed_in_price: Decimal) -> WindowMoney:
    """Saving = self-consumed × the period's price; earnings = injected × feed-in price."""
    price = to_price(price)
    feed_in_price = to_price(feed_in_price)
    return WindowMoney(
        saving_eur=_MONEY.divide(_MONEY.multiply(energy.self_consumed_wh, price), _WH_PER_KWH),
        injection_eur=_MONEY.divide(
            _MONEY.multiply(energy.injected_wh, feed_in_price), _WH_PER_KWH
        ),
    )


def energy_cost(energy_wh: int | Decimal, price: Decimal) -> Decimal:
    """What ``energy_wh`` costs at ``price`` EUR/kWh (grid energy), exact and unrounded."""
    return _MONEY.divide(_MONEY.multiply(_wh(energy_wh, "energy_wh"), to_price(price)), _WH_PER_KWH)


def price_window(
    energy: WindowEnergy, plan: PricePlan, period_key: str | None, when: datetime
) -> WindowMoney:
    """`window_money` with the plan's prices at ``when`` for ``period_key``.

    Raises `PriceNotFoundError` when the plan has no price for that period or time.
    """
    return window_money(
        energy, price=plan.price_at(period_key, when), feed_in_price=plan.feed_in_price_at(when)
    )


def rate_percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole``; None when ``whole`` is zero."""
    if not whole:
        return None
    return _RATIO.divide(_RATIO.multiply(part, Decimal(100)), whole)


# ---- Totals ----------------------------------------------------------------------------------


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = _MONEY.add(total, value)
    return total


def _dec_dict(data: Mapping[str, Any]) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in data.items()}


@dataclass(slots=True)
class SavingTotals:
    """Exact running totals of saving and injection (serializable, for the Store)."""

    self_consumed_wh: dict[str, Decimal] = field(default_factory=dict)
    """Per period key."""
    saving_eur: dict[str, Decimal] = field(default_factory=dict)
    """Per period key."""
    production_wh: Decimal = _ZERO
    injected_wh: Decimal = _ZERO
    injection_eur: Decimal = _ZERO
    export_beyond_production_wh: Decimal = _ZERO
    home_consumption_wh: Decimal = _ZERO
    """Over the windows where home consumption is known."""
    self_consumed_known_home_wh: Decimal = _ZERO
    """Self-consumed over those same windows, so self-sufficiency compares like with like."""

    def add(self, period_key: str, energy: WindowEnergy, money: WindowMoney) -> None:
        """Add one window, priced in ``period_key``."""
        add = _MONEY.add
        self.self_consumed_wh[period_key] = add(
            self.self_consumed_wh.get(period_key, _ZERO), energy.self_consumed_wh
        )
        self.saving_eur[period_key] = add(self.saving_eur.get(period_key, _ZERO), money.saving_eur)
        self.production_wh = add(self.production_wh, energy.production_wh)
        self.injected_wh = add(self.injected_wh, energy.injected_wh)
        self.injection_eur = add(self.injection_eur, money.injection_eur)
        self.export_beyond_production_wh = add(
            self.export_beyond_production_wh, energy.export_beyond_production_wh
        )
        if energy.home_consumption_wh is not None:
            self.home_consumption_wh = add(self.home_consumption_wh, energy.home_consumption_wh)
            self.self_consumed_known_home_wh = add(
                self.self_consumed_known_home_wh, energy.self_consumed_wh
            )

    @property
    def total_self_consumed_wh(self) -> Decimal:
        return _sum(self.self_consumed_wh.values())

    @property
    def total_saving_eur(self) -> Decimal:
        return _sum(self.saving_eur.values())

    def self_consumption_rate(self) -> Decimal | None:
        """Self-consumed share of production (%); None without production."""
        return rate_percent(self.total_self_consumed_wh, self.production_wh)

    def self_sufficiency(self) -> Decimal | None:
        """Share of home consumption covered by own production (%); None without consumption."""
        return rate_percent(self.self_consumed_known_home_wh, self.home_consumption_wh)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable, Decimals as strings (exact)."""
        return {
            "version": _STATE_VERSION,
            "self_consumed_wh": {k: str(v) for k, v in self.self_consumed_wh.items()},
            "saving_eur": {k: str(v) for k, v in self.saving_eur.items()},
            "production_wh": str(self.production_wh),
            "injected_wh": str(self.injected_wh),
            "injection_eur": str(self.injection_eur),
            "export_beyond_production_wh": str(self.export_beyond_production_wh),
            "home_consumption_wh": str(self.home_consumption_wh),
            "self_consumed_known_home_wh": str(self.self_consumed_known_home_wh),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SavingTotals:
        if data.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown saving totals state version: {data.get('version')!r}")
        return cls(
            self_consumed_wh=_dec_dict(data["self_consumed_wh"]),
            saving_eur=_dec_dict(data["saving_eur"]),
            production_wh=Decimal(data["production_wh"]),
            injected_wh=Decimal(data["injected_wh"]),
            injection_eur=Decimal(data["injection_eur"]),
            export_beyond_production_wh=Decimal(data["export_beyond_production_wh"]),
            home_consumption_wh=Decimal(data["home_consumption_wh"]),
            self_consumed_known_home_wh=Decimal(data["self_consumed_known_home_wh"]),
        )
