"""Time-weighted power statistics: hand-worked windows, gaps, restarts, and an oracle.

Every expected value here is worked out by hand in the comments (value × seconds it held), or,
in the property tests, by a brute-force oracle that evaluates the step function second by second
-- a different method from the module's segment accounting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.energy_ledger.core.power_stats import (
    DEFAULT_MAX_GAP,
    DEFAULT_WINDOW,
    PowerStats,
    WindowStats,
)

FAST = settings(max_examples=150, deadline=None)
PARIS = ZoneInfo("Europe/Paris")


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 6, 1, hh, mm, ss, tzinfo=UTC)


def test_defaults() -> None:
    """Five-minute windows; a value holds for at most 15 minutes."""
    stats = PowerStats()
    assert stats.window == DEFAULT_WINDOW == timedelta(minutes=5)
    assert stats.max_gap == DEFAULT_MAX_GAP == timedelta(minutes=15)


def test_irregular_samples_are_weighted_by_time() -> None:
    """Samples at 10:00 100 W, 10:01 400 W, 10:04 200 W, 10:06 300 W, closed at 10:10.

    [10:00, 10:05): 100 W × 60 s + 400 W × 180 s + 200 W × 60 s = 90 000 W·s over 300 s = 300 W
    (the plain average of the three samples would be 233.3 W).
    [10:05, 10:10): 200 W × 60 s + 300 W × 240 s = 84 000 W·s over 300 s = 280 W.
    """
    stats = PowerStats()
    assert stats.add(at(10, 0), 100) == []
    assert stats.add(at(10, 1), 400) == []
    assert stats.add(at(10, 4), 200) == []
    (first,) = stats.add(at(10, 6), 300)
    assert first == WindowStats(
        start=at(10, 0),
        end=at(10, 5),
        minimum=100.0,
        maximum=400.0,
        mean=300.0,
        covered=timedelta(minutes=5),
    )
    assert first.complete
    assert first.energy_wh == 25.0  # 90 000 W·s / 3600
    assert stats.advance(at(10, 9, 59)) == []
    (second,) = stats.advance(at(10, 10))
    assert (second.start, second.end) == (at(10, 5), at(10, 10))
    assert (second.minimum, second.maximum, second.mean) == (200.0, 300.0, 280.0)


def test_windows_are_clock_aligned_whatever_the_first_sample() -> None:
    """A first sample at 10:02:30 opens [10:00, 10:05), covered for 150 s only."""
    stats = PowerStats()
    stats.add(at(10, 2, 30), 1000)
    (window,) = stats.advance(at(10, 5))
    assert (window.start, window.end) == (at(10, 0), at(10, 5))
    assert window.covered == timedelta(seconds=150)
    assert not window.complete
    assert window.mean == 1000.0
    assert stats.window_bounds(at(10, 7, 12)) == (at(10, 5), at(10, 10))


def test_local_times_give_the_same_utc_windows() -> None:
    """Aware datetimes in any zone: windows are reported in UTC."""
    stats = PowerStats()
    stats.add(datetime(2026, 6, 1, 12, 0, tzinfo=PARIS), 50)  # 10:00 UTC
    (window,) = stats.advance(datetime(2026, 6, 1, 12, 5, tzinfo=PARIS))
    assert window.start == at(10, 0)
    assert window.start.tzinfo is UTC


def test_a_gap_is_not_invented() -> None:
    """max_gap 2 min: 100 W at 10:00, then nothing until 500 W at 10:20.

    [10:00, 10:05) is covered 10:00-10:02 only (mean 100 W); [10:05, 10:20) had no value at all
    and is not emitted; [10:20, 10:25) is 500 W, itself covered only until 10:22.
    """
    stats = PowerStats(max_gap=timedelta(minutes=2))
    stats.add(at(10, 0), 100)
    (first,) = stats.add(at(10, 20), 500)
    assert (first.start, first.covered, first.mean) == (at(10, 0), timedelta(minutes=2), 100.0)
    (after,) = stats.advance(at(10, 25))
    assert (after.start, after.covered, after.mean) == (at(10, 20), timedelta(minutes=2), 500.0)


def test_a_value_holds_across_windows_up_to_max_gap() -> None:
    """50 W at 10:02, default max_gap 15 min: the value holds until 10:17, over four windows."""
    stats = PowerStats()
    stats.add(at(10, 2), 50)
    windows = stats.advance(at(10, 30))
    assert [(w.start, w.covered) for w in windows] == [
        (at(10, 0), timedelta(minutes=3)),
        (at(10, 5), timedelta(minutes=5)),
        (at(10, 10), timedelta(minutes=5)),
        (at(10, 15), timedelta(minutes=2)),
    ]
    assert {w.mean for w in windows} == {50.0}


def test_window_closes_on_advance_without_new_sample() -> None:
    """A constant power (no new sample) still closes its windows when time passes."""
    stats = PowerStats()
    stats.add(at(10, 0), 700)
    assert stats.advance(at(10, 4, 59)) == []
    (window,) = stats.advance(at(10, 5))
    assert window.complete
    assert window.mean == 700.0


def test_same_instant_replaces_and_old_samples_are_ignored() -> None:
    """A sample replaced at the same instant held for no time: it is not the minimum."""
    stats = PowerStats()
    stats.add(at(10, 0), 100)
    stats.add(at(10, 0), 300)
    stats.add(at(10, 3), 600)
    # Older than the latest sample: ignored and counted.
    assert stats.add(at(10, 2), 9999) == []
    assert stats.ignored == 1
    stats.advance(at(10, 4))
    # Older than the latest advance: ignored too (that time is already accounted for).
    assert stats.add(at(10, 3, 30), 9999) == []
    assert stats.ignored == 2
    (window,) = stats.advance(at(10, 5))
    # 300 W × 180 s + 600 W × 120 s = 126 000 W·s / 300 s = 420 W.
    assert (window.minimum, window.maximum, window.mean) == (300.0, 600.0, 420.0)


def test_sample_at_window_end_belongs_to_the_next_window() -> None:
    """[start, end): a sample exactly at 10:05 is not in [10:00, 10:05)."""
    stats = PowerStats()
    stats.add(at(10, 0), 10)
    (window,) = stats.add(at(10, 5), 2000)
    assert window.maximum == 10.0


def test_one_minute_windows() -> None:
    """Configurable window: 1 minute, 60 W then 120 W at half past."""
    stats = PowerStats(window=timedelta(minutes=1))
    stats.add(at(10, 0), 60)
    stats.add(at(10, 0, 30), 120)
    (window,) = stats.advance(at(10, 1))
    assert (window.start, window.end, window.mean) == (at(10, 0), at(10, 1), 90.0)


@pytest.mark.parametrize("window", [timedelta(minutes=7), timedelta(0), timedelta(hours=2)])
def test_window_must_divide_an_hour(window: timedelta) -> None:
    with pytest.raises(ValueError, match="divide one hour"):
        PowerStats(window=window)


def test_invalid_samples_raise() -> None:
    stats = PowerStats()
    with pytest.raises(ValueError, match="timezone-aware"):
        stats.add(datetime(2026, 6, 1, 10, 0), 1)
    with pytest.raises(ValueError, match="finite"):
        stats.add(at(10, 0), float("nan"))
    with pytest.raises(ValueError, match="max_gap"):
        PowerStats(max_gap=timedelta(0))


def test_restart_mid_window_resumes_exactly() -> None:
    """State through JSON in the middle of a window: the window is the same as without restart."""
    samples = [(at(10, 0), 100.0), (at(10, 1), 400.0), (at(10, 4), 200.0), (at(10, 6), 300.0)]
    stats = PowerStats()
    for t, w in samples[:2]:
        stats.add(t, w)
    restored = PowerStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert restored.to_dict() == stats.to_dict()
    assert restored.last_sample == (at(10, 1), 400.0)
    out = []
    for t, w in samples[2:]:
        out += restored.add(t, w)
    assert [(w.start, w.mean) for w in out] == [(at(10, 0), 300.0)]


def test_unknown_state_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        PowerStats.from_dict({"version": 99})


# ---- Properties ------------------------------------------------------------------------------

BASE = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)

samples_strategy = st.lists(
    st.tuples(st.integers(0, 3600), st.integers(-5000, 12000)), min_size=1, max_size=40
)


def _oracle(
    samples: list[tuple[int, int]], end: int, window: int, max_gap: int
) -> dict[int, tuple[int, int, float, int]]:
    """Per window start (s): (min, max, mean, covered s), evaluating the step function per second.

    Samples are at whole seconds, so each second [s, s+1) has one value (or none): the latest
    sample at or before s, if it was taken less than max_gap seconds before s+1.
    """
    ordered: list[tuple[int, int]] = []
    for t, w in sorted(samples, key=lambda x: x[0]):  # stable: the later of equal times wins
        if ordered and ordered[-1][0] == t:
            ordered[-1] = (t, w)
        else:
            ordered.append((t, w))
    per_window: dict[int, list[int]] = {}
    for s in range(end):
        held = [w for t, w in ordered if t <= s < t + max_gap]
        if held:
            per_window.setdefault(s // window * window, []).append(held[-1])
    return {
        start: (min(vals), max(vals), sum(vals) / len(vals), len(vals))
        for start, vals in per_window.items()
        if start + window <= end
    }


@FAST
@given(
    samples=samples_strategy,
    window_min=st.sampled_from([1, 5, 15]),
    max_gap_s=st.integers(1, 1200),
)
def test_matches_a_per_second_oracle(
    samples: list[tuple[int, int]], window_min: int, max_gap_s: int
) -> None:
    """Min, max, mean and coverage of every window equal the brute-force step function's."""
    window = window_min * 60
    end = 3600 + 1200
    stats = PowerStats(timedelta(seconds=window), timedelta(seconds=max_gap_s))
    out: list[WindowStats] = []
    for t, w in sorted(samples, key=lambda x: x[0]):
        out += stats.add(BASE + timedelta(seconds=t), w)
    out += stats.advance(BASE + timedelta(seconds=end))
    expected = _oracle(samples, end, window, max_gap_s)
    got = {int((w.start - BASE).total_seconds()): w for w in out}
    assert got.keys() == expected.keys()
    for start, (lo, hi, mean, covered) in expected.items():
        w = got[start]
        assert (w.minimum, w.maximum) == (lo, hi)
        assert w.covered == timedelta(seconds=covered)
        assert w.mean == pytest.approx(mean, rel=1e-12, abs=1e-9)
        assert w.end - w.start == timedelta(seconds=window)


@FAST
@given(
    samples=st.lists(
        st.tuples(
            st.floats(0, 7200, allow_nan=False),
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_mean_within_min_and_max(samples: list[tuple[float, float]]) -> None:
    """Whatever the values and timings (floats, sub-second), min <= mean <= max."""
    stats = PowerStats()
    out: list[WindowStats] = []
    for t, w in sorted(samples, key=lambda x: x[0]):
        out += stats.add(BASE + timedelta(seconds=t), w)
    out += stats.advance(BASE + timedelta(hours=3))
    assert out
    for window in out:
        assert window.minimum <= window.mean <= window.maximum
        assert timedelta(0) < window.covered <= window.end - window.start


@FAST
@given(samples=samples_strategy, cut=st.integers(0, 40), advance_at=st.integers(0, 3600))
def test_restart_anywhere_changes_nothing(
    samples: list[tuple[int, int]], cut: int, advance_at: int
) -> None:
    """Serialize through JSON after any sample (and an advance): same windows as without."""
    ordered = sorted(samples, key=lambda x: x[0])
    events: list[tuple[str, int, int]] = [("add", t, w) for t, w in ordered]
    events.insert(min(cut, len(events)), ("advance", advance_at, 0))

    def run(restart_at: int | None) -> list[WindowStats]:
        stats = PowerStats(max_gap=timedelta(minutes=7))
        out: list[WindowStats] = []
        for i, (kind, t, w) in enumerate(events):
            if i == restart_at:
                stats = PowerStats.from_dict(json.loads(json.dumps(stats.to_dict())))
            when = BASE + timedelta(seconds=t)
            out += stats.add(when, w) if kind == "add" else stats.advance(when)
        return out + stats.advance(BASE + timedelta(hours=2))

    assert run(min(cut, len(events))) == run(None)
