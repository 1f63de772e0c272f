"""Standard-mode horodates: seasons, degraded clock, not-applicable, invalid dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.energy_ledger.core.tic import parse_horodate
from custom_components.energy_ledger.core.tic.horodate import (
    Horodate,
    format_horodate,
    horodate_value,
)

WINTER = timezone(timedelta(hours=1))
SUMMER = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The example of tic-protocol.md.
        ("H081225223518", datetime(2008, 12, 25, 22, 35, 18, tzinfo=WINTER)),
        # Real captures: openhab producer SMAXIN, lains three-phase DATE.
        ("E180716103316", datetime(2018, 7, 16, 10, 33, 16, tzinfo=SUMMER)),
        ("H200214230804", datetime(2020, 2, 14, 23, 8, 4, tzinfo=WINTER)),
        ("H200229000000", datetime(2020, 2, 29, 0, 0, 0, tzinfo=WINTER)),
    ],
)
def test_valid(raw: str, expected: datetime) -> None:
    parsed = parse_horodate(raw)
    assert parsed == Horodate(expected, degraded=False)
    assert parsed is not None
    assert parsed.value.utcoffset() == expected.utcoffset()


def test_summer_time_is_utc_plus_two() -> None:
    parsed = parse_horodate("E180716103316")
    assert parsed is not None
    assert parsed.value.astimezone(UTC) == datetime(2018, 7, 16, 8, 33, 16, tzinfo=UTC)


@pytest.mark.parametrize(("letter", "offset"), [("h", 1), ("e", 2)])
def test_lowercase_season_means_degraded_clock(letter: str, offset: int) -> None:
    parsed = parse_horodate(letter + "200214230804")
    assert parsed is not None
    assert parsed.degraded
    assert parsed.value == datetime(2020, 2, 14, 23, 8, 4, tzinfo=timezone(timedelta(hours=offset)))


def test_uppercase_is_not_degraded() -> None:
    for raw in ("H200214230804", "E200614230804"):
        parsed = parse_horodate(raw)
        assert parsed is not None
        assert not parsed.degraded


def test_space_season_is_not_applicable() -> None:
    # DPM1/FPM1 of the lains three-phase capture.
    assert parse_horodate(" 200214060000") is None
    assert parse_horodate(" 200215060000") is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "H",
        "H20021423080",  # 12 chars
        "H2002142308041",  # 14 chars
        "X200214230804",  # unknown season
        "H201314230804",  # month 13
        "H200014230804",  # month 0
        "H200230230804",  # 30 February
        "H190229000000",  # 29 February of a non-leap year
        "H200214240000",  # hour 24
        "H200214236000",  # minute 60
        "H200214230860",  # second 60
        "H2002142308a4",
        "H 00214230804",
        "H+00214230804",
        "H２00214230804",  # full-width digit
        "H20021423080٤",  # Arabic-Indic digit: isdigit() but not ASCII
    ],
)
def test_invalid_is_none(raw: str) -> None:
    assert parse_horodate(raw) is None


@given(st.text(max_size=20))
def test_never_raises(raw: str) -> None:
    result = parse_horodate(raw)
    assert result is None or result.value.tzinfo is not None


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31, 23, 59, 59),
        timezones=st.sampled_from([WINTER, SUMMER]),
    ).map(lambda d: d.replace(microsecond=0)),
    st.booleans(),
)
def test_round_trip(value: datetime, degraded: bool) -> None:
    raw = format_horodate(value, degraded=degraded)
    assert len(raw) == 13
    assert parse_horodate(raw) == Horodate(value, degraded)


def test_format_converts_other_offsets_to_winter() -> None:
    value = datetime(2020, 2, 14, 22, 8, 4, tzinfo=UTC)
    assert format_horodate(value) == "H200214230804"


@pytest.mark.parametrize(
    "seconds",
    ["00", "07", "59", "60", "99", " 5", "+5", "5", "055", "٤5", "5٤", "", "ab"],
)
@pytest.mark.parametrize("minute", ["H2002142308", "e2007161033", "H2002292359", " 2002150600"])
def test_value_of_a_known_minute_is_the_full_parse(minute: str, seconds: str) -> None:
    # horodate_value reuses the minute of a horodate already parsed and only reads the
    # seconds: what it gives must be what the full parse gives, valid or not.
    parse_horodate(minute + "00")  # the minute is now known (when valid)
    parsed = parse_horodate(minute + seconds)
    assert horodate_value(minute + seconds) == (None if parsed is None else parsed.value)


def test_value_keeps_the_season_offset() -> None:
    parse_horodate("E180716103300")
    value = horodate_value("E180716103316")
    assert value == datetime(2018, 7, 16, 10, 33, 16, tzinfo=SUMMER)
    assert value is not None
    assert value.utcoffset() == timedelta(hours=2)


@given(st.text(max_size=20))
def test_value_equals_parse(raw: str) -> None:
    parsed = parse_horodate(raw)
    assert horodate_value(raw) == (None if parsed is None else parsed.value)
