"""Tariff period keys from what meters really send (PTEC codes, supplier LTARF labels)."""

from __future__ import annotations

import pytest

from custom_components.energy_ledger.core.tic.period import (
    PERIOD_KEYS,
    period_from_label_text,
    period_key,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (" HEURE  CREUSE  ", "off_peak"),
        (" HEURE  PLEINE  ", "peak"),
        ("HEURES CREUSES", "off_peak"),
        ("   HC  BLANC    ", "off_peak_white"),
        ("HP BLEU", "peak_blue"),
        ("HC JR", "off_peak_red"),
        ("HP ROUGE", "peak_red"),
        ("      BASE      ", "base"),
        ("HEURE NORMALE", "normal"),
        ("POINTE MOBILE", "mobile_peak"),
        ("HC WEEK-END", "off_peak"),
        # Ambiguous or unknown labels give no key rather than a guess.
        ("HC HP", None),
        ("HC BLEU ROUGE", None),
        ("BASE ROUGE", None),
        ("PERIODE 7", None),
        ("", None),
    ],
)
def test_ltarf_labels(text: str, key: str | None) -> None:
    """Supplier labels map onto the same keys as historic PTEC codes."""
    assert period_from_label_text(text) == key
    assert key is None or key in PERIOD_KEYS


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"PTEC": "HC"}, "off_peak"),
        ({"PTEC": "HPJR"}, "peak_red"),
        ({"PTEC": "TH"}, "base"),
        ({"PTEC": "XX"}, None),
        ({"LTARF": "HEURE PLEINE"}, "peak"),
        ({"NTARF": 2}, None),
    ],
)
def test_period_key_from_values(values: dict[str, object], key: str | None) -> None:
    """PTEC (historic) first, then LTARF (standard); nothing else is guessed from."""
    assert period_key(values) == key
