"""The `energy_ledger.set_prices` action, as an automation or a user in the developer tools
calls it.

What is checked is what a user sees: the ledger's current-price sensor, the dated prices kept in
the ledger's options, and the translated refusal when the call is wrong (nothing changed then).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_ledger.const import (
    CONF_IMPORT_ENTITIES,
    CONF_KIND,
    CONF_NAME,
    CONF_PERIOD_ENTITY,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PRICES,
    CONF_WINDOW_MINUTES,
    DOMAIN,
    KIND_LEDGER,
    KIND_TIC,
)
from custom_components.energy_ledger.core.tariff import PlanKind, PricePlan

PARIS = "Europe/Paris"
T0 = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
"""Monday 5 January 2026, 21:00 in Paris; local midnight is 23:00 UTC."""
WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
PRICE = "sensor.home_current_price"
FIRST_PRICES = PricePlan(kind=PlanKind.HC_HP, zone=ZoneInfo(PARIS), energy={}).with_prices(
    date(2025, 8, 1),
    energy={"off_peak": "0.2068", "peak": "0.27"},
    feed_in="0.1269",
    subscription="15.65",
)


@pytest.fixture
async def ledger(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> MockConfigEntry:
    """An HC/HP ledger named Home, in the peak period, on a winter evening in Paris."""
    freezer.move_to(T0)
    await hass.config.async_set_time_zone(PARIS)
    hass.states.async_set("sensor.linky_hp", "2000000", WH)
    hass.states.async_set("sensor.linky_period", "peak")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="ledger_home",
        data={CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"},
        options={
            CONF_IMPORT_ENTITIES: ["sensor.linky_hp"],
            CONF_PLAN: "hc_hp",
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: "sensor.linky_period",
            CONF_PRICES: FIRST_PRICES.to_dict(),
            CONF_WINDOW_MINUTES: 5,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def price(hass: HomeAssistant) -> str:
    state = hass.states.get(PRICE)
    assert state is not None
    return state.state


def plan_of(entry: MockConfigEntry) -> PricePlan:
    return PricePlan.from_dict(entry.options[CONF_PRICES])


async def set_prices(hass: HomeAssistant, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, "set_prices", data, blocking=True)
    await hass.async_block_till_done()


async def test_a_future_price_switches_the_current_price_at_local_midnight(
    hass: HomeAssistant, ledger: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """From tomorrow: today's price holds until 23:00:00 UTC, the new one from that instant."""
    await set_prices(
        hass, config_entry_id=ledger.entry_id, valid_from="2026-01-06", price_peak="0.3012"
    )
    plan = plan_of(ledger)
    assert plan.energy["peak"].to_list() == [["2025-08-01", "0.27"], ["2026-01-06", "0.3012"]]
    assert plan.energy["off_peak"].to_list() == [["2025-08-01", "0.2068"]]  # untouched
    assert price(hass) == "0.27"

    midnight = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)
    for when, expected in ((midnight - timedelta(seconds=1), "0.27"), (midnight, "0.3012")):
        freezer.move_to(when)
        async_fire_time_changed(hass, when)
        await hass.async_block_till_done()
        assert price(hass) == expected, when


async def test_today_by_device_with_a_decimal_comma(
    hass: HomeAssistant, ledger: MockConfigEntry
) -> None:
    """No date: from today (so at once); the ledger's device names it; 0,2516 is 0.2516 exactly,
    and a YAML number arrives as its shortest text, never as float noise."""
    device = dr.async_get(hass).async_get_device({(DOMAIN, ledger.entry_id)})
    assert device is not None
    await set_prices(
        hass, device_id=device.id, price_peak="0,2516", feed_in_price=0.1, subscription="16"
    )
    plan = plan_of(ledger)
    assert plan.energy["peak"].to_list()[-1] == ["2026-01-05", "0.2516"]
    assert plan.feed_in.to_list()[-1] == ["2026-01-05", "0.1"]
    assert plan.subscription.to_list()[-1] == ["2026-01-05", "16"]
    assert plan.price_at("peak", T0) == Decimal("0.2516")
    assert price(hass) == "0.2516"


@pytest.mark.parametrize(
    ("call", "key", "placeholders"),
    [
        ({"price_peak": "-0.1"}, "invalid_price", {"field": "price_peak", "value": "-0.1"}),
        ({"price_peak": "abc"}, "invalid_price", {"field": "price_peak", "value": "abc"}),
        ({"feed_in_price": "NaN"}, "invalid_price", {"field": "feed_in_price", "value": "NaN"}),
        (
            {"price_peak_red": "0.70"},
            "price_not_in_plan",
            {"field": "price_peak_red", "plan": "hc_hp"},
        ),
        ({"valid_from": "2026-02-01"}, "no_price_given", {}),
    ],
)
async def test_bad_prices_are_refused_and_change_nothing(
    hass: HomeAssistant,
    ledger: MockConfigEntry,
    call: dict[str, str],
    key: str,
    placeholders: dict[str, str],
) -> None:
    before = dict(ledger.options)
    with pytest.raises(ServiceValidationError) as err:
        await set_prices(hass, config_entry_id=ledger.entry_id, **call)
    assert err.value.translation_key == key
    assert (err.value.translation_placeholders or {}) == placeholders
    assert dict(ledger.options) == before
    assert price(hass) == "0.27"


async def test_the_target_must_be_one_ledger(hass: HomeAssistant, ledger: MockConfigEntry) -> None:
    """Neither or both targets, a meter entry, an unknown device: refused, translated."""
    meter = MockConfigEntry(domain=DOMAIN, title="Linky", data={CONF_KIND: KIND_TIC})
    meter.add_to_hass(hass)
    device = dr.async_get(hass).async_get_device({(DOMAIN, ledger.entry_id)})
    assert device is not None
    for target, key in (
        ({}, "ledger_target_required"),
        ({"config_entry_id": ledger.entry_id, "device_id": device.id}, "ledger_target_required"),
        ({"config_entry_id": meter.entry_id}, "not_a_ledger"),
        ({"config_entry_id": "missing"}, "not_a_ledger"),
        ({"device_id": "missing"}, "not_a_ledger"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await set_prices(hass, price_peak="0.30", **target)
        assert err.value.translation_key == key, target
    assert plan_of(ledger) == FIRST_PRICES


async def test_refusals_read_in_the_users_language(
    hass: HomeAssistant, ledger: MockConfigEntry
) -> None:
    """The message a user reads is the translated one, with the field named."""
    with pytest.raises(ServiceValidationError, match="price_peak must be a non-negative decimal"):
        await set_prices(hass, config_entry_id=ledger.entry_id, price_peak="-1")
