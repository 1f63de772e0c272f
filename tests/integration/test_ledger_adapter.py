"""Entity states to Wh and W: every unit a source integration may use, every unusable state."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.core import State

from custom_components.energy_ledger.const import CONF_INDEX_MAP, CONF_PERIOD_ENTITY, CONF_PRICES
from custom_components.energy_ledger.core.tariff import PlanKind, PricePlan
from custom_components.energy_ledger.ledger_adapter import (
    Ignored,
    IgnoredStateError,
    energy_wh,
    power_w,
)
from custom_components.energy_ledger.ledger_sensor import LEDGER_SENSORS
from custom_components.energy_ledger.ledger_settings import (
    LedgerSettings,
    parse_off_peak_hours,
    settings_from_options,
)

COMPONENT = Path(__file__).resolve().parents[2] / "custom_components" / "energy_ledger"


def state(value: str, unit: str | None) -> State:
    attributes: dict[str, Any] = {} if unit is None else {"unit_of_measurement": unit}
    return State("sensor.source", value, attributes)


@pytest.mark.parametrize(
    ("value", "unit", "wh"),
    [
        ("1234", "Wh", 1234),
        ("1.234", "kWh", 1234),
        ("12345.678", "kWh", 12345678),
        ("0.012345678", "MWh", 12346),  # whole Wh: the register's value rounds, half to even
        ("2.5", "Wh", 2),
        ("0", "kWh", 0),
    ],
)
def test_energy_in_any_unit_becomes_whole_wh(value: str, unit: str, wh: int) -> None:
    assert energy_wh(state(value, unit)) == wh


@pytest.mark.parametrize(
    ("value", "unit", "watts"),
    [("1500", "W", 1500.0), ("1.5", "kW", 1500.0), ("-0.2", "kW", -200.0), ("900", "VA", 900.0)],
)
def test_power_in_any_unit_becomes_watts(value: str, unit: str, watts: float) -> None:
    """Apparent power stands in for active power, as the power fallback allows."""
    assert power_w(state(value, unit)) == pytest.approx(watts, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "unit", "reason"),
    [
        ("unavailable", "Wh", Ignored.UNAVAILABLE),
        ("unknown", "kWh", Ignored.UNAVAILABLE),
        ("n/a", "Wh", Ignored.NOT_NUMERIC),
        ("nan", "Wh", Ignored.NOT_NUMERIC),
        ("12", None, Ignored.UNIT),
        ("12", "W", Ignored.UNIT),
        ("-5", "Wh", Ignored.NEGATIVE),
    ],
)
def test_unusable_energy_states_say_why(value: str, unit: str | None, reason: Ignored) -> None:
    with pytest.raises(IgnoredStateError) as caught:
        energy_wh(state(value, unit))
    assert caught.value.reason is reason


@pytest.mark.parametrize(("value", "unit"), [("12", "Wh"), ("12", None), ("inf", "W")])
def test_unusable_power_states_are_refused(value: str, unit: str | None) -> None:
    with pytest.raises(IgnoredStateError):
        power_w(state(value, unit))


@pytest.mark.parametrize("language", ["strings.json", "translations/fr.json"])
def test_every_ledger_sensor_has_a_name_and_translated_states(language: str) -> None:
    texts = json.loads((COMPONENT / language).read_text(encoding="utf-8"))["entity"]["sensor"]
    for description in LEDGER_SENSORS:
        entry = texts[description.translation_key]
        assert entry["name"], description.key
        for option in description.options or ():
            assert entry["state"][option], (description.key, option)


def _settings(kind: str, index_map: str = "") -> LedgerSettings:
    plan = PricePlan(kind=PlanKind(kind), zone=ZoneInfo("Europe/Paris"), energy={})
    return settings_from_options(
        {CONF_PRICES: plan.to_dict(), CONF_PERIOD_ENTITY: "sensor.p", CONF_INDEX_MAP: index_map},
        ZoneInfo("Europe/Paris"),
    )


@pytest.mark.parametrize(
    ("kind", "index_map", "text", "period"),
    [
        ("hc_hp", "", "off_peak", "off_peak"),  # this integration's tariff period sensor
        ("hc_hp", "", "HEURE  CREUSE", "off_peak"),  # an LTARF label
        ("hc_hp", "", "HP..", "peak"),  # a historic PTEC code
        ("tempo", "", "HC  BLANC", "off_peak_white"),
        ("tempo", "", "HPJR", "peak_red"),
        ("hc_hp", "", "2", "peak"),  # an NTARF index, in the plan's register order
        ("hc_hp", "1=peak, 2=off_peak", "1", "peak"),  # the reference supplier's numbering
        ("hc_hp", "1=peak, 2=off_peak", "2.0", "off_peak"),
        ("hc_hp", "", "7", None),
        ("hc_hp", "", "unavailable", None),
        ("hc_hp", "", "base", None),  # a period the plan does not price
        ("ejp", "", "HEURES NORMALES", "normal"),
    ],
)
def test_the_period_entity_may_say_a_key_a_label_or_an_index(
    kind: str, index_map: str, text: str, period: str | None
) -> None:
    assert _settings(kind, index_map).period_of_state(text) == period


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("22:00-06:00", ((time(22), time(6)),)),
        (" 12:30 - 14:30 , 1:00-7:00", ((time(12, 30), time(14, 30)), (time(1), time(7)))),
    ],
)
def test_off_peak_hours_parse(text: str, spans: tuple[tuple[time, time], ...]) -> None:
    assert parse_off_peak_hours(text) == spans


@pytest.mark.parametrize("text", ["", "22h-6h", "22:00", "24:00-06:00", "22:00-06:00,"])
def test_off_peak_hours_refuse_what_they_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the flow maps any ValueError to bad_schedule
        parse_off_peak_hours(text)
