"""Standard-mode horodates: ``SAAMMJJhhmmss``.

``S`` is the season: ``H`` winter (UTC+1), ``E`` summer (UTC+2); lower case (``h``/``e``) means the
meter's clock is degraded; a space means "not applicable" (DPMx/FPMx). The meter sends local legal
time, so the offset is fixed by the season letter, not by a time-zone database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

WINTER: Final = timezone(timedelta(hours=1))
"""UTC+1, season letter H."""
SUMMER: Final = timezone(timedelta(hours=2))
"""UTC+2, season letter E."""

_SEASONS: Final[dict[str, tuple[timezone, bool]]] = {
    "H": (WINTER, False),
    "E": (SUMMER, False),
    "h": (WINTER, True),
    "e": (SUMMER, True),
}

HORODATE_LENGTH: Final = 13


@dataclass(frozen=True, slots=True)
class Horodate:
    """A decoded horodate."""

    value: datetime
    """Timezone-aware, with the fixed offset the season letter gives."""
    degraded: bool
    """The meter reported its clock as degraded (lower-case season letter)."""


_SECONDS: Final = tuple(timedelta(seconds=second) for second in range(60))
_SECOND_OF: Final = {f"{second:02d}": _SECONDS[second] for second in range(60)}
"""The two digits of a valid seconds field -> that many seconds."""
_MINUTES_MAX: Final = 1024
_minutes: dict[str, datetime] = {}
"""``SAAMMJJhhmm`` -> the start of that minute, for every minute a valid horodate was read in.

A meter's DATE moves every frame, so its horodate is new every time, but its minute is not:
the value is then that minute plus the seconds, a third of the cost of validating and building
a datetime field by field. Only minutes of horodates that passed the full parse are stored;
the cache is emptied when it holds more than `_MINUTES_MAX` of them.
"""


def clear_minutes() -> None:
    """Forget the minutes seen (for benchmarks that want a cold decoder)."""
    _minutes.clear()


def horodate_value(raw: str) -> datetime | None:
    """``parse_horodate(raw).value``, or None where `parse_horodate` gives None. Never raises.

    What the decoder needs, on its hot path: no `Horodate` is built.
    """
    minute = _minutes.get(raw[:11]) if len(raw) == HORODATE_LENGTH else None
    if minute is None:
        parsed = parse_horodate(raw)
        return None if parsed is None else parsed.value
    # A known minute: only the seconds are left to check, by one lookup.
    second = _SECOND_OF.get(raw[11:])
    return None if second is None else minute + second


def parse_horodate(raw: str) -> Horodate | None:
    """Decode ``SAAMMJJhhmmss``; None when not applicable (space) or invalid. Never raises."""
    if len(raw) != HORODATE_LENGTH:
        return None
    season = _SEASONS.get(raw[0])
    if season is None:
        return None
    digits = raw[1:]
    if not (digits.isascii() and digits.isdigit()):
        return None
    tz, degraded = season
    try:
        value = datetime(
            2000 + int(digits[0:2]),
            int(digits[2:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            tzinfo=tz,
        )
    except ValueError:
        return None
    if len(_minutes) >= _MINUTES_MAX:
        _minutes.clear()
    _minutes[raw[:11]] = value - _SECONDS[value.second]
    return Horodate(value, degraded)


def format_horodate(value: datetime, *, degraded: bool = False) -> str:
    """The inverse of `parse_horodate` for an aware datetime (for simulators and tests).

    UTC+2 gives season ``E``, anything else is converted to UTC+1 and gives ``H``.
    """
    if value.utcoffset() == timedelta(hours=2):
        season = "E"
    else:
        season = "H"
        value = value.astimezone(WINTER)
    if degraded:
        season = season.lower()
    return season + value.strftime("%y%m%d%H%M%S")
