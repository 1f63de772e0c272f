"""Every entity, flow step and error has an English and a French text, and they agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.energy_ledger.binary_sensor import BINARY_SENSORS, MQTT_BINARY_SENSORS
from custom_components.energy_ledger.sensor import DERIVED_SENSORS, LABEL_SENSORS, MQTT_SENSORS

COMPONENT = Path(__file__).resolve().parents[1] / "custom_components" / "energy_ledger"


def _load(name: str) -> dict[str, Any]:
    return json.loads((COMPONENT / name).read_text(encoding="utf-8"))


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        keys |= _keys(value, path) if isinstance(value, dict) else {path}
    return keys


def test_english_translation_is_strings_json() -> None:
    """translations/en.json is what hassfest generates from strings.json."""
    assert _load("translations/en.json") == _load("strings.json")


def test_french_covers_exactly_what_english_covers() -> None:
    """No French hole, no stale French key."""
    assert _keys(_load("translations/fr.json")) == _keys(_load("strings.json"))


@pytest.mark.parametrize("language", ["strings.json", "translations/fr.json"])
def test_every_entity_has_a_name(language: str) -> None:
    """Every description's translation key has a name, and enum states are all translated."""
    entity = _load(language)["entity"]
    for platform, descriptions in (
        ("sensor", (*LABEL_SENSORS, *DERIVED_SENSORS, *MQTT_SENSORS)),
        ("binary_sensor", (*BINARY_SENSORS, *MQTT_BINARY_SENSORS)),
    ):
        for description in descriptions:
            texts = entity[platform][description.translation_key]
            assert texts["name"], description.key
            for option in getattr(description, "options", None) or ():
                assert texts["state"][option], (description.key, option)


def test_entity_names_are_unique_per_platform() -> None:
    """Two entities of one device never share a name."""
    for platform in ("sensor", "binary_sensor"):
        names = [t["name"] for t in _load("strings.json")["entity"][platform].values()]
        assert len(names) == len(set(names)), platform
