"""Tariff periods and dated prices.

Prices
    A `PricePlan` is one of four French price plans -- base, HC/HP, Tempo (six prices), EJP -- with
    a feed-in price and a subscription per month. Every price is a `Decimal` in EUR (per kWh, or per
    month for the subscription) and is dated: it applies from local midnight of its ``valid_from``
    day, in the plan's time zone, until a later price of the same series supersedes it. Future
    prices are allowed (that is how a supplier's announced change is entered ahead of time), and
    `PricePlan.next_price_change` gives the exact instant the next one takes effect. Floats are
    refused (0.2068 is not exactly representable in binary), and so are negative prices, so no
    money computed from a plan can be negative.

Periods
    The period key comes from the meter when it says anything (`PeriodResolver`): its own label
    text first (LTARF, PTEC), then the active register index (NTARF, or an MQTT tariff index)
    through a configurable index-to-period mapping, then a user `PeriodSchedule` when the meter
    tells nothing. The default index mapping is the register order of the French options, which
    is also the historic PTEC order: 1 = off-peak, 2 = peak (HC/HP); 1..6 = off-peak/peak blue,
    white, red (Tempo); 1 = normal, 2 = mobile peak (EJP). Suppliers may differ (the reference
    system priced index 1 at the peak price), hence the mapping is configurable.

Schedules
    A `PeriodSchedule` gives a period for windows of local wall-clock time, per weekday (the day a
    window starts on; a window whose end is not after its start ends the next day, and one whose
    end equals its start lasts until the same time the next day). A window is the span of real
    time from the first instant the local clock reads its start to the first instant it reads its
    end. So 22:00-06:00 in Europe/Paris lasts 7 hours on the night the clocks go forward and 9 on
    the night they go back; a boundary inside the skipped hour takes effect at the jump (03:00);
    a boundary inside the repeated hour takes effect at its first occurrence and does not flicker
    when the hour repeats.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from .reading import Reading
from .tic.period import PERIOD_KEYS, period_from_label_text, period_key
from .tic.stge import historic_period


class PlanKind(StrEnum):
    """The price plans a ledger can be configured with."""

    BASE = "base"
    HC_HP = "hc_hp"
    TEMPO = "tempo"
    EJP = "ejp"


PLAN_PERIODS: Final[Mapping[PlanKind, tuple[str, ...]]] = MappingProxyType(
    {
        PlanKind.BASE: ("base",),
        PlanKind.HC_HP: ("off_peak", "peak"),
        PlanKind.TEMPO: (
            "off_peak_blue",
            "peak_blue",
            "off_peak_white",
            "peak_white",
            "off_peak_red",
            "peak_red",
        ),
        PlanKind.EJP: ("normal", "mobile_peak"),
    }
)
"""The period keys priced by each plan, in register (index) order."""


class PriceNotFoundError(LookupError):
    """No price applies: unknown period for the plan, or a time before the first dated price."""


def default_index_map(kind: PlanKind) -> dict[int, str]:
    """Register index (1-based, as NTARF says) to period key, in the plan's register order."""
    return dict(enumerate(PLAN_PERIODS[kind], start=1))


def to_price(value: Decimal | int | str) -> Decimal:
    """A price as a finite, non-negative Decimal; floats are refused (not exact in binary)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"a price is a Decimal, an int or a decimal string, not {value!r}")
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"a price must be finite and not negative, not {value!r}")
    return price


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return when.astimezone(UTC)


def first_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the wall clock of ``zone`` reads ``local`` or later.

    ``local`` is naive wall-clock time. A time repeated when the clocks go back gives its first
    occurrence; a time skipped when they go forward gives the instant of the jump.
    """
    if local.tzinfo is not None:
        raise ValueError("local must be a naive wall-clock time")
    after = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if after.astimezone(zone).replace(tzinfo=None) == local:
        return after  # exists; fold=0 is the earlier of two occurrences
    # Skipped: fold=0 used the offset before the jump (an instant after it), fold=1 the offset
    # after it (an instant before it). The jump is the first instant whose wall time >= local.
    before = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = before, after
    step = timedelta(microseconds=1)
    while hi - lo > step:
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= local:
            hi = mid
        else:
            lo = mid
    return hi


# ---- Dated prices ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatedPrice:
    """A price that applies from local midnight of ``valid_from``."""

    valid_from: date
    value: Decimal


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """The successive prices of one thing (a period's kWh, the feed-in kWh, the subscription)."""

    prices: tuple[DatedPrice, ...] = ()
    """Sorted by ``valid_from``, one price per date."""

    def __post_init__(self) -> None:
        days = [p.valid_from for p in self.prices]
        if any(a >= b for a, b in pairwise(days)):
            raise ValueError("dated prices must be sorted by date, one per date")
        for p in self.prices:
            to_price(p.value)

    @classmethod
    def of(cls, *pairs: tuple[date | str, Decimal | int | str]) -> PriceSeries:
        """From ``(valid_from, price)`` pairs in any order (a later pair wins on the same date)."""
        series = cls()
        for valid_from, value in pairs:
            series = series.with_price(valid_from, value)
        return series

    def with_price(self, valid_from: date | str, value: Decimal | int | str) -> PriceSeries:
        """A copy where ``value`` applies from ``valid_from`` (replacing a price of that date)."""
        day = date.fromisoformat(valid_from) if isinstance(valid_from, str) else valid_from
        kept = [p for p in self.prices if p.valid_from != day]
        kept.append(DatedPrice(day, to_price(value)))
        kept.sort(key=lambda p: p.valid_from)
        return PriceSeries(tuple(kept))

    def at(self, day: date) -> Decimal | None:
        """The price applying on ``day``; None before the first one."""
        i = bisect.bisect_right(self.prices, day, key=lambda p: p.valid_from)
        return self.prices[i - 1].value if i else None

    def next_change(self, day: date) -> date | None:
        """The first date after ``day`` on which a new price applies."""
        i = bisect.bisect_right(self.prices, day, key=lambda p: p.valid_from)
        return self.prices[i].valid_from if i < len(self.prices) else None

    def to_list(self) -> list[list[str]]:
        return [[p.valid_from.isoformat(), str(p.value)] for p in self.prices]

    @classmethod
    def from_list(cls, rows: Iterable[Iterable[str]]) -> PriceSeries:
        return cls.of(*((d, v) for d, v in rows))


@dataclass(frozen=True, slots=True)
class PricePlan:
    """A price plan: dated kWh prices per period, a feed-in price, a subscription per month."""

    kind: PlanKind
    zone: ZoneInfo
    """The zone whose local midnight starts a dated price (Europe/Paris for a French contract)."""
    energy: Mapping[str, PriceSeries]
    """EUR/kWh per period key; keys must belong to the plan (`PLAN_PERIODS`)."""
    feed_in: PriceSeries = PriceSeries()
    """EUR/kWh paid for injected energy."""
    subscription: PriceSeries = PriceSeries()
    """EUR per month."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PlanKind(self.kind))
        unknown = set(self.energy) - set(PLAN_PERIODS[self.kind])
        if unknown:
            raise ValueError(f"periods {sorted(unknown)} are not priced by a {self.kind} plan")
        object.__setattr__(self, "energy", MappingProxyType(dict(self.energy)))

    @property
    def periods(self) -> tuple[str, ...]:
        return PLAN_PERIODS[self.kind]

    def local_day(self, when: datetime) -> date:
        """The plan's local date at ``when``."""
        return _utc(when).astimezone(self.zone).date()

    def price_at(self, period_key: str | None, when: datetime) -> Decimal:
        """EUR/kWh for energy of ``period_key`` at ``when``.

        A base plan has one price whatever the period (``None`` included); other plans need a
        period they price. Raises `PriceNotFoundError` otherwise or before the first price.
        """
        if self.kind is PlanKind.BASE:
            period_key = "base"
        series = self.energy.get(period_key) if period_key is not None else None
        if series is None:
            raise PriceNotFoundError(f"a {self.kind} plan has no price for period {period_key!r}")
        return self._at(series, when, period_key or "")

    def feed_in_price_at(self, when: datetime) -> Decimal:
        """EUR/kWh paid for energy injected at ``when``."""
        return self._at(self.feed_in, when, "feed-in")

    def subscription_at(self, when: datetime) -> Decimal:
        """EUR per month at ``when``."""
        return self._at(self.subscription, when, "subscription")

    def _at(self, series: PriceSeries, when: datetime, what: str) -> Decimal:
        day = self.local_day(when)
        price = series.at(day)
        if price is None:
            raise PriceNotFoundError(f"no {what} price applies on {day.isoformat()}")
        return price

    def with_prices(
        self,
        valid_from: date | str,
        *,
        energy: Mapping[str, Decimal | int | str] | None = None,
        feed_in: Decimal | int | str | None = None,
        subscription: Decimal | int | str | None = None,
    ) -> PricePlan:
        """A copy with new prices applying from ``valid_from`` (what ``set_prices`` does)."""
        series = dict(self.energy)
        for key, value in (energy or {}).items():
            series[key] = series.get(key, PriceSeries()).with_price(valid_from, value)
        return PricePlan(
            kind=self.kind,
            zone=self.zone,
            energy=series,
            feed_in=self.feed_in
            if feed_in is None
            else self.feed_in.with_price(valid_from, feed_in),
            subscription=self.subscription
            if subscription is None
            else self.subscription.with_price(valid_from, subscription),
        )

    def next_price_change(self, after: datetime) -> datetime | None:
        """The first instant (UTC) after ``after`` at which any price of the plan changes."""
        day = self.local_day(after)
        changes = [
            d
            for s in (*self.energy.values(), self.feed_in, self.subscription)
            if (d := s.next_change(day)) is not None
        ]
        if not changes:
            return None
        return first_instant(datetime.combine(min(changes), time()), self.zone)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (prices as decimal strings)."""
        return {
            "kind": str(self.kind),
            "zone": self.zone.key,
            "energy": {key: s.to_list() for key, s in self.energy.items()},
            "feed_in": self.feed_in.to_list(),
            "subscription": self.subscription.to_list(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PricePlan:
        return cls(
            kind=PlanKind(data["kind"]),
            zone=ZoneInfo(data["zone"]),
            energy={key: PriceSeries.from_list(rows) for key, rows in data["energy"].items()},
            feed_in=PriceSeries.from_list(data.get("feed_in", ())),
            subscription=PriceSeries.from_list(data.get("subscription", ())),
        )


# ---- User schedule ---------------------------------------------------------------------------


def _check_period(key: str) -> str:
    if key not in PERIOD_KEYS:
        raise ValueError(f"unknown period key {key!r}")
    return key


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """A span of local wall-clock time starting on ``weekday`` (0 = Monday) with its period."""

    weekday: int
    start: time
    end: time
    """Not after ``start``: the window ends the next day (equal: 24 hours of wall clock)."""
    period: str = "off_peak"

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("schedule times are wall-clock times of the schedule's zone")
        _check_period(self.period)


@dataclass(frozen=True, slots=True)
class PeriodSchedule:
    """Periods from the wall clock, for when the meter does not say which period it is."""

    zone: ZoneInfo
    windows: tuple[ScheduleWindow, ...]
    default_period: str = "peak"
    """The period outside every window."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(self.windows))
        _check_period(self.default_period)

    @classmethod
    def daily(
        cls,
        zone: ZoneInfo,
        spans: Iterable[tuple[time, time]],
        *,
        weekdays: Iterable[int] = range(7),
        period: str = "off_peak",
        default_period: str = "peak",
    ) -> PeriodSchedule:
        """The same spans (e.g. ``[(time(22), time(6))]``) on each of ``weekdays``."""
        spans = tuple(spans)
        return cls(
            zone=zone,
            windows=tuple(
                ScheduleWindow(day, start, end, period) for day in weekdays for start, end in spans
            ),
            default_period=default_period,
        )

    def intervals(self, day: date) -> list[tuple[datetime, datetime, str]]:
        """The windows starting on local ``day``, as UTC ``[start, end)`` with their period."""
        out = []
        for w in self.windows:
            if w.weekday != day.weekday():
                continue
            end_day = day if w.end > w.start else day + timedelta(days=1)
            start = first_instant(datetime.combine(day, w.start), self.zone)
            end = first_instant(datetime.combine(end_day, w.end), self.zone)
            out.append((start, end, w.period))
        return out

    def period_at(self, when: datetime) -> str:
        """The period at ``when``: the first window containing it, else the default period."""
        t = _utc(when)
        day = t.astimezone(self.zone).date()
        for d in (day - timedelta(days=1), day):
            for start, end, period in self.intervals(d):
                if start <= t < end:
                    return period
        return self.default_period

    def next_change(self, after: datetime) -> datetime | None:
        """The first instant (UTC) after ``after`` at which the period changes (within 8 days)."""
        t = _utc(after)
        day = t.astimezone(self.zone).date()
        current = self.period_at(t)
        bounds = sorted(
            {
                b
                for offset in range(-1, 9)
                for start, end, _ in self.intervals(day + timedelta(days=offset))
                for b in (start, end)
                if b > t
            }
        )
        for b in bounds:
            if self.period_at(b) != current:
                return b
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone.key,
            "default_period": self.default_period,
            "windows": [
                {
                    "weekday": w.weekday,
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat(),
                    "period": w.period,
                }
                for w in self.windows
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PeriodSchedule:
        return cls(
            zone=ZoneInfo(data["zone"]),
            default_period=data.get("default_period", "peak"),
            windows=tuple(
                ScheduleWindow(
                    weekday=int(w["weekday"]),
                    start=time.fromisoformat(w["start"]),
                    end=time.fromisoformat(w["end"]),
                    period=w.get("period", "off_peak"),
                )
                for w in data["windows"]
            ),
        )


# ---- Which period is it ----------------------------------------------------------------------


def period_from_label(text: str) -> str | None:
    """The period key of a meter's label: a PTEC code (``HPJR``) or an LTARF text."""
    historic = historic_period(text)
    return historic.key if historic is not None else period_from_label_text(text)


@dataclass(frozen=True, slots=True)
class PeriodResolver:
    """The current period: meter label, then register index, then the user schedule."""

    index_map: Mapping[int, str] = field(default_factory=lambda: default_index_map(PlanKind.HC_HP))
    schedule: PeriodSchedule | None = None
    use_label: bool = True
    """False when the meter's label text is known to be wrong or useless for this supplier."""

    def __post_init__(self) -> None:
        for key in self.index_map.values():
            _check_period(key)
        object.__setattr__(self, "index_map", MappingProxyType(dict(self.index_map)))

    @classmethod
    def for_plan(cls, kind: PlanKind, schedule: PeriodSchedule | None = None) -> PeriodResolver:
        return cls(index_map=default_index_map(kind), schedule=schedule)

    def resolve(
        self, *, label: str | None = None, index: int | None = None, when: datetime | None = None
    ) -> str | None:
        """The period key, or None when neither the meter nor a schedule says anything."""
        if self.use_label and label:
            key = period_from_label(label)
            if key is not None:
                return key
        if index is not None and (key := self.index_map.get(index)) is not None:
            return key
        if self.schedule is not None and when is not None:
            return self.schedule.period_at(when)
        return None

    def resolve_reading(self, reading: Reading) -> str | None:
        """The period of a `Reading` (PTEC/LTARF values, its label, its index, its time)."""
        if self.use_label:
            key = period_key(reading.values)
            if key is not None:
                return key
        return self.resolve(
            label=reading.tariff_period, index=reading.tariff_index, when=reading.received_at
        )
