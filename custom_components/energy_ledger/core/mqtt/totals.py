"""Successive energy totals into non-negative deltas, a decrease counting as a device reset.

A stateless decoder cannot tell a reset from a glitch; `TotalTracker` is the small stateful piece
that later layers (ledger, statistics) feed each total through, per meter and field, so that no
energy they compute is ever negative:

* the first total of a (meter, field) is the baseline: delta 0;
* a rise gives the difference;
* a fall is a device reset (energy reset command, reboot that lost the counter, new device): the
  delta is the new total itself (the energy counted since the reset) and the reset is counted;
* a fall of at most `jitter` is not a reset but noise (a float counter re-rounded by the device):
  delta 0, and the baseline stays at the higher value so the same energy is never counted twice.
  The default, 0, treats every fall as a reset.

A total that is not a finite, non-negative number (bool included) is ignored: delta 0, the state
is unchanged, and the step says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TotalStep:
    """What one new total contributed."""

    delta: float
    """Energy since the previous total, never negative (an int when the totals are ints)."""
    reset: bool = False
    """The total fell by more than the jitter: counted as a device reset."""
    ignored: bool = False
    """The total was not a finite, non-negative number and was not used."""


_IGNORED = TotalStep(0, ignored=True)


class TotalTracker:
    """Per (meter, field): the last total and the number of resets seen."""

    __slots__ = ("_jitter", "_last", "_resets")

    def __init__(self, *, jitter: float = 0) -> None:
        """`jitter`: the largest fall treated as noise rather than a reset (same unit as totals)."""
        if isinstance(jitter, bool) or not math.isfinite(jitter) or jitter < 0:
            raise ValueError("jitter must be a finite, non-negative number")
        self._jitter = jitter
        self._last: dict[tuple[str, str], float] = {}
        self._resets: dict[tuple[str, str], int] = {}

    def update(self, meter_id: str, field: str, total: float) -> TotalStep:
        """Feed the latest `total` of `field` of `meter_id`; the energy it adds. Never raises."""
        if (
            isinstance(total, bool)
            or not isinstance(total, (int, float))
            or not math.isfinite(total)
            or total < 0
        ):
            return _IGNORED
        total = total + 0  # -0.0 becomes 0.0, an int stays an int
        key = (meter_id, field)
        last = self._last.get(key)
        if last is None:
            self._last[key] = total
            return TotalStep(0)
        if total >= last:
            self._last[key] = total
            return TotalStep(total - last)
        if last - total <= self._jitter:
            return TotalStep(0)
        self._last[key] = total
        self._resets[key] = self._resets.get(key, 0) + 1
        return TotalStep(total, reset=True)

    def last(self, meter_id: str, field: str) -> float | None:
        """The baseline the next total is compared to, None before the first."""
        return self._last.get((meter_id, field))

    def resets(self, meter_id: str, field: str) -> int:
        """How many resets were seen for `field` of `meter_id`."""
        return self._resets.get((meter_id, field), 0)

    def forget(self, meter_id: str) -> None:
        """Drop everything about `meter_id` (a removed meter): its next total is a baseline."""
        for store in (self._last, self._resets):
            for key in [key for key in store if key[0] == meter_id]:
                del store[key]
