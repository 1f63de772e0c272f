"""The current tariff period as a stable key, from whatever the meter says.

Historic meters send PTEC from a closed list; standard meters send LTARF, a free 16-character
label written by the supplier ("HEURE  CREUSE", "HC  BLANC", "HP BLEU"...). Both map onto the
same keys so automations and the Energy panel price entity work alike in both modes; a label no
rule recognises gives None (its text is still shown by the LTARF sensor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .stge import HISTORIC_PERIODS, historic_period

PERIOD_KEYS: Final = tuple(period.key for period in HISTORIC_PERIODS)
"""base, off_peak, peak, normal, mobile_peak, and the six Tempo periods (off_peak_blue...)."""

_KIND_WORDS: Final = {
    "HC": "off_peak",
    "CREUSE": "off_peak",
    "CREUSES": "off_peak",
    "HP": "peak",
    "PLEINE": "peak",
    "PLEINES": "peak",
    "BASE": "base",
    "TH": "base",
    "HN": "normal",
    "NORMALE": "normal",
    "NORMALES": "normal",
    "PM": "mobile_peak",
    "POINTE": "mobile_peak",
}
_COLOUR_WORDS: Final = {
    "BLEU": "blue",
    "JB": "blue",
    "BLANC": "white",
    "JW": "white",
    "ROUGE": "red",
    "JR": "red",
}


def period_from_label_text(text: str) -> str | None:
    """Key of an LTARF text, or None when no word of it names a period unambiguously."""
    words = text.upper().replace("-", " ").split()
    kinds = {_KIND_WORDS[word] for word in words if word in _KIND_WORDS}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    colours = {_COLOUR_WORDS[word] for word in words if word in _COLOUR_WORDS}
    if not colours:
        return kind
    if len(colours) > 1 or kind not in {"off_peak", "peak"}:
        return None
    return f"{kind}_{colours.pop()}"


def period_key(values: Mapping[str, object]) -> str | None:
    """The period key from a Reading's values: PTEC (historic) first, else LTARF (standard)."""
    ptec = values.get("PTEC")
    if isinstance(ptec, str):
        period = historic_period(ptec)
        return period.key if period is not None else None
    ltarf = values.get("LTARF")
    return period_from_label_text(ltarf) if isinstance(ltarf, str) else None
