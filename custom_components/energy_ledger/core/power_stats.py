"""Time-weighted power statistics over clock-aligned windows.

The model, precisely:

- **Step function.** A sample ``(t, watts)`` says "the power is ``watts`` from ``t`` on": its value
  holds until the next sample, but never longer than ``max_gap``. Samples arrive irregularly (a TIC
  frame every 1-2 s, an MQTT message every 5-30 s, a Home Assistant state only when it changes), so
  a plain average of the samples would over-weight bursts; every statistic here weights a value by
  how long it held.
- **Gaps are not invented.** Time more than ``max_gap`` after the last sample is not covered by any
  value: it counts in no minimum, maximum or mean, and a window with no covered time at all is not
  emitted. `WindowStats.covered` says how much of each window was covered.
- **Windows** are ``[start, start + window)``, aligned on whole multiples of ``window`` since the
  Unix epoch. ``window`` must divide one hour, so windows never straddle an hour and hourly
  statistics can be built from them; for a window dividing 15 minutes (the default 5 minutes
  included) this is the same as aligning on the local wall clock in every time zone in use.
- **Minimum and maximum** are over the values that held for a positive time inside the window
  (the value carried over from the previous window counts; a sample replaced at the same instant
  does not).
- **Emission.** A window is emitted once it is known to be over: when a sample at or after its end
  arrives, or when `PowerStats.advance` is called with a time at or after its end (a timer at each
  window end, so windows close even when the power stops changing). A value is taken to hold up to
  ``now`` when `advance` is called, so a sample older than the latest sample or than the latest
  ``advance`` is ignored (and counted in `PowerStats.ignored`).
- **Restarts.** `PowerStats.to_dict` gives a JSON-serializable state and `PowerStats.from_dict`
  restores it exactly (floats round-trip through JSON), so a restart in the middle of a window
  resumes it: feeding the rest of the samples gives the same windows as an uninterrupted run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

DEFAULT_WINDOW: Final = timedelta(minutes=5)
DEFAULT_MAX_GAP: Final = timedelta(minutes=15)
"""How long a sample's value holds without a newer one: three default windows."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR: Final = timedelta(hours=1)
_STATE_VERSION: Final = 1


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return when.astimezone(UTC)


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The statistics of one closed window."""

    start: datetime
    """Window start (UTC, inclusive)."""
    end: datetime
    """Window end (UTC, exclusive)."""
    minimum: float
    maximum: float
    mean: float
    """Time-weighted mean over the covered part of the window."""
    covered: timedelta
    """How much of the window some sample's value covered (the rest was a gap)."""

    @property
    def complete(self) -> bool:
        """True when no part of the window was a gap."""
        return self.covered == self.end - self.start

    @property
    def energy_wh(self) -> float:
        """Integral of the power over the covered time, in Wh (VAh for VA samples)."""
        return self.mean * self.covered.total_seconds() / 3600


@dataclass(slots=True)
class _Accumulator:
    """The open window: running minimum, maximum and integral (value x microseconds)."""

    start: datetime
    minimum: float
    maximum: float
    integral: float
    covered_us: int

    def add(self, value: float, duration_us: int) -> None:
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.integral += value * duration_us
        self.covered_us += duration_us

    def close(self, window: timedelta) -> WindowStats:
        mean = self.integral / self.covered_us
        # The quotient can land a rounding error outside [min, max] (all values equal, say).
        mean = min(max(mean, self.minimum), self.maximum)
        return WindowStats(
            start=self.start,
            end=self.start + window,
            minimum=self.minimum,
            maximum=self.maximum,
            mean=mean,
            covered=timedelta(microseconds=self.covered_us),
        )


class PowerStats:
    """Minimum, maximum and time-weighted mean of one power series over clock-aligned windows."""

    __slots__ = ("_flushed", "_ignored", "_last", "_max_gap", "_open", "_window")

    def __init__(
        self, window: timedelta = DEFAULT_WINDOW, max_gap: timedelta = DEFAULT_MAX_GAP
    ) -> None:
        if window <= timedelta(0) or _HOUR % window:
            raise ValueError(f"the window must divide one hour, not {window}")
        if max_gap <= timedelta(0):
            raise ValueError("max_gap must be positive")
        self._window = window
        self._max_gap = max_gap
        self._last: tuple[datetime, float] | None = None
        self._flushed: datetime | None = None
        """Time up to which the last sample's value has been accounted for."""
        self._open: _Accumulator | None = None
        self._ignored = 0

    @property
    def window(self) -> timedelta:
        return self._window

    @property
    def max_gap(self) -> timedelta:
        return self._max_gap

    @property
    def last_sample(self) -> tuple[datetime, float] | None:
        """The latest accepted sample (UTC time, value)."""
        return self._last

    @property
    def ignored(self) -> int:
        """Samples ignored because they were older than what was already accounted for."""
        return self._ignored

    def window_bounds(self, when: datetime) -> tuple[datetime, datetime]:
        """The window containing ``when``: (start, end) in UTC."""
        start = self._align(_utc(when))
        return start, start + self._window

    def add(self, when: datetime, watts: float) -> list[WindowStats]:
        """Take a sample; return the windows it closes (oldest first, often none)."""
        if not math.isfinite(watts):
            raise ValueError(f"a power sample must be finite, not {watts!r}")
        t = _utc(when)
        if self._flushed is not None and t < self._flushed:
            self._ignored += 1
            return []
        closed: list[WindowStats] = []
        self._account(t, closed)
        self._close_ended(t, closed)
        self._last = (t, float(watts))
        self._flushed = t
        return closed

    def advance(self, now: datetime) -> list[WindowStats]:
        """Let time pass without a sample; return the windows that ended by ``now``."""
        t = _utc(now)
        if self._flushed is None or t <= self._flushed:
            return []
        closed: list[WindowStats] = []
        self._account(t, closed)
        self._close_ended(t, closed)
        self._flushed = t
        return closed

    def _align(self, t: datetime) -> datetime:
        return _EPOCH + ((t - _EPOCH) // self._window) * self._window

    def _account(self, until: datetime, closed: list[WindowStats]) -> None:
        """Spread the last value over [flushed, min(until, its hold limit)), window by window."""
        if self._last is None or self._flushed is None:
            return
        t_last, value = self._last
        stop = min(until, t_last + self._max_gap)
        a = self._flushed
        while a < stop:
            start = self._align(a)
            b = min(stop, start + self._window)
            acc = self._open
            if acc is not None and acc.start != start:
                closed.append(acc.close(self._window))
                acc = None
            if acc is None:
                acc = self._open = _Accumulator(start, value, value, 0.0, 0)
            acc.add(value, _us(b - a))
            a = b

    def _close_ended(self, now: datetime, closed: list[WindowStats]) -> None:
        acc = self._open
        if acc is not None and acc.start + self._window <= now:
            closed.append(acc.close(self._window))
            self._open = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable state; `from_dict` restores it exactly."""
        acc = self._open
        return {
            "version": _STATE_VERSION,
            "window_us": _us(self._window),
            "max_gap_us": _us(self._max_gap),
            "last": None
            if self._last is None
            else {"t": self._last[0].isoformat(), "value": self._last[1]},
            "flushed": None if self._flushed is None else self._flushed.isoformat(),
            "open": None
            if acc is None
            else {
                "start": acc.start.isoformat(),
                "min": acc.minimum,
                "max": acc.maximum,
                "integral": acc.integral,
                "covered_us": acc.covered_us,
            },
            "ignored": self._ignored,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PowerStats:
        """Restore a state written by `to_dict`."""
        if data.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown power statistics state version: {data.get('version')!r}")
        stats = cls(
            timedelta(microseconds=int(data["window_us"])),
            timedelta(microseconds=int(data["max_gap_us"])),
        )
        last = data["last"]
        if last is not None:
            stats._last = (_utc(datetime.fromisoformat(last["t"])), float(last["value"]))
        flushed = data["flushed"]
        if flushed is not None:
            stats._flushed = _utc(datetime.fromisoformat(flushed))
        acc = data["open"]
        if acc is not None:
            stats._open = _Accumulator(
                start=_utc(datetime.fromisoformat(acc["start"])),
                minimum=float(acc["min"]),
                maximum=float(acc["max"]),
                integral=float(acc["integral"]),
                covered_us=int(acc["covered_us"]),
            )
        stats._ignored = int(data["ignored"])
        return stats
