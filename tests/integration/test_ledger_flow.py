"""Ledger config and options flows: every step, every error a user can meet, what is stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.energy_ledger.const import (
    CONF_CONSUMPTION_POWER_ENTITY,
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_INDEX_MAP,
    CONF_KIND,
    CONF_NAME,
    CONF_OFF_PEAK_HOURS,
    CONF_PERIOD_ENTITY,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_PRODUCTION_POWER_ENTITY,
    CONF_WINDOW_MINUTES,
    DOMAIN,
    KIND_LEDGER,
)
from custom_components.energy_ledger.core.tariff import PricePlan
from custom_components.energy_ledger.ledger_settings import (
    CONF_OFF_PEAK_DAYS,
    CONF_OFF_PEAK_DAYS_HOURS,
)

PARIS = "Europe/Paris"

WH = {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"}
W = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}


@pytest.fixture
def sources(hass: HomeAssistant) -> None:
    """Source entities of another integration, as a user would pick them."""
    hass.states.async_set("sensor.linky_hc", "1000", WH)
    hass.states.async_set("sensor.linky_hp", "2000", WH)
    hass.states.async_set("sensor.linky_eait", "0", WH)
    hass.states.async_set("sensor.inverter_energy", "0", WH)
    hass.states.async_set("sensor.linky_power", "500", W)
    hass.states.async_set("sensor.inverter_power", "0", W)
    hass.states.async_set("sensor.linky_period", "off_peak")
    hass.states.async_set("sensor.linky_ntarf", "1")


async def _to(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(flow_id, data)


async def _start(hass: HomeAssistant, name: str = "Home") -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert "ledger" in result["menu_options"]
    result = await _to(hass, result["flow_id"], {"next_step_id": "ledger"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ledger"
    return await _to(hass, result["flow_id"], {CONF_NAME: name})


SOLAR_SOURCES = {
    CONF_IMPORT_ENTITIES: ["sensor.linky_hc", "sensor.linky_hp"],
    CONF_EXPORT_ENTITY: "sensor.linky_eait",
    CONF_PRODUCTION_ENTITY: "sensor.inverter_energy",
    CONF_CONSUMPTION_POWER_ENTITY: "sensor.linky_power",
    CONF_PRODUCTION_POWER_ENTITY: "sensor.inverter_power",
}


@pytest.mark.usefixtures("sources")
async def test_a_solar_hc_hp_ledger_is_created_with_prices_dated_today(
    hass: HomeAssistant,
) -> None:
    """Name, sources, HC/HP from the meter's period sensor, prices with a decimal comma."""
    result = await _start(hass)
    assert result["step_id"] == "ledger_sources"
    result = await _to(hass, result["flow_id"], SOLAR_SOURCES)
    assert result["step_id"] == "ledger_tariff"
    result = await _to(
        hass,
        result["flow_id"],
        {
            CONF_PLAN: "hc_hp",
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: "sensor.linky_period",
        },
    )
    assert result["step_id"] == "ledger_prices"
    assert set(result["data_schema"].schema) == {
        "price_off_peak",
        "price_peak",
        "feed_in_price",
        "subscription",
    }
    result = await _to(
        hass,
        result["flow_id"],
        {
            "price_off_peak": "0,2068",
            "price_peak": " 0.27 ",
            "feed_in_price": "0.1269",
            "subscription": "15.65",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home"
    assert result["data"] == {CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"}
    options = result["options"]
    today = dt_util.now().date().isoformat()
    assert options[CONF_PRICES]["energy"] == {
        "off_peak": [[today, "0.2068"]],
        "peak": [[today, "0.27"]],
    }
    assert options[CONF_PRICES]["feed_in"] == [[today, "0.1269"]]
    assert options[CONF_PRICES]["subscription"] == [[today, "15.65"]]
    assert options[CONF_IMPORT_ENTITIES] == ["sensor.linky_hc", "sensor.linky_hp"]
    assert options[CONF_PERIOD_ENTITY] == "sensor.linky_period"
    assert options[CONF_WINDOW_MINUTES] == 5
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.home_current_price").state == "0.2068"


@pytest.mark.usefixtures("sources")
async def test_two_ledgers_need_two_names(hass: HomeAssistant) -> None:
    """A second ledger is welcome; a second one with the same name is refused."""
    result = await _start(hass, "Home")
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(hass, result["flow_id"], {CONF_PLAN: "base"})
    result = await _to(hass, result["flow_id"], {"price_base": "0.25"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    result = await _start(hass, " home ")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "ledger_already_configured"
    result = await _start(hass, "Holiday flat")
    assert result["step_id"] == "ledger_sources"


async def test_a_name_without_letters_is_refused(hass: HomeAssistant) -> None:
    result = await _start(hass, " -- ")
    assert result["step_id"] == "ledger"
    assert result["errors"] == {CONF_NAME: "bad_name"}


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize(
    ("picked", "errors"),
    [
        ({}, {"base": "no_source"}),
        ({CONF_IMPORT_ENTITIES: ["sensor.nope"]}, {CONF_IMPORT_ENTITIES: "unknown_entity"}),
        ({CONF_EXPORT_ENTITY: "sensor.nope"}, {CONF_EXPORT_ENTITY: "unknown_entity"}),
        ({CONF_EXPORT_ENTITY: "sensor.linky_eait"}, {"base": "export_needs_production"}),
        ({CONF_PRODUCTION_ENTITY: "sensor.inverter_energy"}, {"base": "production_needs_grid"}),
        (
            {CONF_PRODUCTION_POWER_ENTITY: "sensor.inverter_power"},
            {"base": "production_needs_grid"},
        ),
        # The tariff period picked as a register, a register picked as a power: refused.
        ({CONF_IMPORT_ENTITIES: ["sensor.linky_period"]}, {CONF_IMPORT_ENTITIES: "not_energy"}),
        (
            {CONF_IMPORT_ENTITIES: ["sensor.linky_hc", "sensor.linky_power"]},
            {CONF_IMPORT_ENTITIES: "not_energy"},
        ),
        (
            {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"], CONF_EXPORT_ENTITY: "sensor.linky_power"},
            {CONF_EXPORT_ENTITY: "not_energy"},
        ),
        (
            {
                CONF_IMPORT_ENTITIES: ["sensor.linky_hc"],
                CONF_CONSUMPTION_POWER_ENTITY: "sensor.linky_hp",
            },
            {CONF_CONSUMPTION_POWER_ENTITY: "not_power"},
        ),
        (
            {
                CONF_IMPORT_ENTITIES: ["sensor.linky_hc"],
                CONF_PRODUCTION_POWER_ENTITY: "sensor.linky_ntarf",
            },
            {CONF_PRODUCTION_POWER_ENTITY: "not_power"},
        ),
    ],
)
async def test_sources_errors(
    hass: HomeAssistant, picked: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each wrong set of sources is explained."""
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], picked)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ledger_sources"
    assert result["errors"] == errors


@pytest.mark.usefixtures("sources")
async def test_an_entity_only_in_the_registry_is_known(hass: HomeAssistant) -> None:
    """An entity whose integration has not started yet (no state) is still accepted."""
    from homeassistant.helpers import entity_registry as er

    er.async_get(hass).async_get_or_create("sensor", "other", "meter-1", suggested_object_id="late")
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.late"]})
    assert result["step_id"] == "ledger_tariff"


@pytest.mark.usefixtures("sources")
async def test_units_of_entities_not_loaded_yet_come_from_the_registry(
    hass: HomeAssistant,
) -> None:
    """Unavailable entities are judged by the unit the registry keeps for them, a kVA Linky
    power and a kWh register included."""
    from homeassistant.helpers import entity_registry as er

    registry = er.async_get(hass)
    for unique_id, unit in (("kwh", "kWh"), ("kva", "kVA"), ("w", "W")):
        registry.async_get_or_create(
            "sensor", "other", unique_id, suggested_object_id=unique_id, unit_of_measurement=unit
        )
        hass.states.async_set(f"sensor.{unique_id}", "unavailable", {"restored": True})
    result = await _start(hass)
    result = await _to(
        hass,
        result["flow_id"],
        {CONF_IMPORT_ENTITIES: ["sensor.w"], CONF_CONSUMPTION_POWER_ENTITY: "sensor.kwh"},
    )
    assert result["errors"] == {
        CONF_IMPORT_ENTITIES: "not_energy",
        CONF_CONSUMPTION_POWER_ENTITY: "not_power",
    }
    result = await _to(
        hass,
        result["flow_id"],
        {CONF_IMPORT_ENTITIES: ["sensor.kwh"], CONF_CONSUMPTION_POWER_ENTITY: "sensor.kva"},
    )
    assert result["step_id"] == "ledger_tariff"


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize(
    ("tariff", "errors"),
    [
        ({CONF_PLAN: "hc_hp"}, {CONF_PERIOD_ENTITY: "period_entity_required"}),
        (
            {CONF_PLAN: "hc_hp", CONF_PERIOD_ENTITY: "sensor.nope"},
            {CONF_PERIOD_ENTITY: "unknown_entity"},
        ),
        (
            {CONF_PLAN: "hc_hp", CONF_PERIOD_ENTITY: "sensor.linky_ntarf", CONF_INDEX_MAP: "1=red"},
            {CONF_INDEX_MAP: "bad_index_map"},
        ),
        (
            {
                CONF_PLAN: "hc_hp",
                CONF_PERIOD_ENTITY: "sensor.linky_ntarf",
                CONF_INDEX_MAP: "1=peak, 1=off_peak",
            },
            {CONF_INDEX_MAP: "bad_index_map"},
        ),
        (
            {CONF_PLAN: "tempo", CONF_PERIOD_SOURCE: "schedule"},
            {CONF_PERIOD_SOURCE: "schedule_needs_hc_hp"},
        ),
        (
            {CONF_PLAN: "hc_hp", CONF_PERIOD_SOURCE: "schedule", CONF_OFF_PEAK_HOURS: "22h-6h"},
            {CONF_OFF_PEAK_HOURS: "bad_schedule"},
        ),
    ],
)
async def test_tariff_errors(
    hass: HomeAssistant, tariff: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(hass, result["flow_id"], tariff)
    assert result["step_id"] == "ledger_tariff"
    assert result["errors"] == errors


@pytest.mark.usefixtures("sources")
async def test_tempo_from_an_index_and_a_schedule_plan(hass: HomeAssistant) -> None:
    """Tempo asks six prices; an index map is stored as typed; a schedule needs no entity."""
    result = await _start(hass, "Tempo")
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(
        hass,
        result["flow_id"],
        {
            CONF_PLAN: "tempo",
            CONF_PERIOD_ENTITY: "sensor.linky_ntarf",
            CONF_INDEX_MAP: "1=peak_blue, 2=off_peak_blue",
        },
    )
    assert len([k for k in result["data_schema"].schema if str(k).startswith("price_")]) == 6
    prices = {str(k): "0.1" for k in result["data_schema"].schema if str(k).startswith("price_")}
    result = await _to(hass, result["flow_id"], {**prices, "price_peak_red": "-0.5"})
    assert result["errors"] == {"price_peak_red": "bad_price"}
    result = await _to(hass, result["flow_id"], {**prices, "price_peak_red": "abc"})
    assert result["errors"] == {"price_peak_red": "bad_price"}
    result = await _to(hass, result["flow_id"], prices)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_INDEX_MAP] == "1=peak_blue, 2=off_peak_blue"

    result = await _start(hass, "Night")
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(
        hass,
        result["flow_id"],
        {CONF_PLAN: "hc_hp", CONF_PERIOD_SOURCE: "schedule", CONF_OFF_PEAK_HOURS: "1:30-7:30"},
    )
    result = await _to(hass, result["flow_id"], {"price_off_peak": "0.2", "price_peak": "0.3"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_OFF_PEAK_HOURS] == "1:30-7:30"
    assert result["options"][CONF_PERIOD_SOURCE] == "schedule"


async def _ledger(hass: HomeAssistant) -> config_entries.ConfigEntry:
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], SOLAR_SOURCES)
    result = await _to(
        hass, result["flow_id"], {CONF_PLAN: "hc_hp", CONF_PERIOD_ENTITY: "sensor.linky_period"}
    )
    result = await _to(
        hass,
        result["flow_id"],
        {"price_off_peak": "0.2068", "price_peak": "0.27", "feed_in_price": "0.1269"},
    )
    await hass.async_block_till_done()
    return hass.config_entries.async_get_entry(result["result"].entry_id)  # type: ignore[return-value]


async def _options(hass: HomeAssistant, entry_id: str, step: str) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["ledger_prices", "ledger_sources", "ledger_period"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


@pytest.mark.usefixtures("sources")
async def test_options_add_a_future_price_and_keep_the_past(hass: HomeAssistant) -> None:
    """A dated feed-in price from 1 December: earlier prices stay for the history."""
    entry = await _ledger(hass)
    result = await _options(hass, entry.entry_id, "ledger_prices")
    assert result["step_id"] == "ledger_prices"
    flow_id = result["flow_id"]
    result = await hass.config_entries.options.async_configure(
        flow_id, {"valid_from": "2099-12-01"}
    )
    assert result["errors"] == {"base": "no_price_given"}
    result = await hass.config_entries.options.async_configure(
        flow_id, {"valid_from": "2099-12-01", "feed_in_price": "0,04x"}
    )
    assert result["errors"] == {"feed_in_price": "bad_price"}
    result = await hass.config_entries.options.async_configure(
        flow_id, {"valid_from": "2099-12-01", "feed_in_price": "0.04", "price_peak": "0.28"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    plan = PricePlan.from_dict(entry.options[CONF_PRICES])
    today = dt_util.now().date()
    assert [p.valid_from for p in plan.feed_in.prices] == [today, date(2099, 12, 1)]
    assert plan.energy["off_peak"].at(date(2099, 12, 2)) == plan.energy["off_peak"].at(today)
    assert str(plan.energy["peak"].at(date(2099, 12, 2))) == "0.28"
    assert entry.options[CONF_IMPORT_ENTITIES] == ["sensor.linky_hc", "sensor.linky_hp"]
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("sources")
async def test_options_change_sources_window_and_period(hass: HomeAssistant) -> None:
    """Sources and window are checked like at creation; the entry reloads with them."""
    entry = await _ledger(hass)
    result = await _options(hass, entry.entry_id, "ledger_sources")
    assert result["step_id"] == "ledger_sources"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXPORT_ENTITY: "sensor.linky_eait", CONF_WINDOW_MINUTES: "15"}
    )
    assert result["errors"] == {"base": "export_needs_production"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**SOLAR_SOURCES, CONF_WINDOW_MINUTES: "15"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_WINDOW_MINUTES] == 15
    assert entry.runtime_data.coordinator.settings.window.total_seconds() == 900

    result = await _options(hass, entry.entry_id, "ledger_period")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PERIOD_SOURCE: "schedule", CONF_OFF_PEAK_HOURS: "25:00-06:00"}
    )
    assert result["errors"] == {CONF_OFF_PEAK_HOURS: "bad_schedule"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PERIOD_SOURCE: "schedule", CONF_OFF_PEAK_HOURS: "23:00-07:00"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_OFF_PEAK_HOURS] == "23:00-07:00"
    assert entry.runtime_data.coordinator.settings.schedule is not None
    assert entry.options[CONF_PRICES]["energy"]["peak"][0][1] == "0.27"


@pytest.mark.usefixtures("sources")
async def test_reconfiguring_a_ledger_points_to_its_options(hass: HomeAssistant) -> None:
    entry = await _ledger(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "ledger_use_options"


WEEKEND_TARIFF = {
    CONF_PLAN: "hc_hp",
    CONF_PERIOD_SOURCE: "schedule",
    CONF_OFF_PEAK_HOURS: "22:00-06:00",
    CONF_OFF_PEAK_DAYS: ["sun", "sat"],
}
"""A weekend contract: off-peak every night, and all Saturday and Sunday (the default hours)."""


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize(
    ("tariff", "errors"),
    [
        (
            {**WEEKEND_TARIFF, CONF_OFF_PEAK_DAYS_HOURS: "all day"},
            {CONF_OFF_PEAK_DAYS_HOURS: "bad_schedule"},
        ),
        (
            {**WEEKEND_TARIFF, CONF_OFF_PEAK_DAYS_HOURS: "06:00-06:00"},
            {CONF_OFF_PEAK_DAYS_HOURS: "bad_schedule"},
        ),
        (
            {**WEEKEND_TARIFF, CONF_OFF_PEAK_HOURS: "24:00-06:00"},
            {CONF_OFF_PEAK_HOURS: "bad_schedule"},
        ),
        (
            {
                **WEEKEND_TARIFF,
                CONF_OFF_PEAK_DAYS: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            },
            {CONF_OFF_PEAK_DAYS: "every_day_chosen"},
        ),
    ],
)
async def test_weekday_hours_errors(
    hass: HomeAssistant, tariff: dict[str, Any], errors: dict[str, str]
) -> None:
    """Other hours on chosen days are checked like the daily ones, on their own field."""
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(hass, result["flow_id"], tariff)
    assert result["step_id"] == "ledger_tariff"
    assert result["errors"] == errors


def _paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in January 2026 (the 5th is a Monday)."""
    return datetime(2026, 1, day, hour, minute, tzinfo=ZoneInfo(PARIS))


@pytest.mark.usefixtures("sources")
async def test_a_weekend_contract_is_stored_and_scheduled(hass: HomeAssistant) -> None:
    """Days and hours as chosen; each day keeps its own early hours after an all-day Sunday."""
    await hass.config.async_set_time_zone(PARIS)
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(hass, result["flow_id"], WEEKEND_TARIFF)
    result = await _to(hass, result["flow_id"], {"price_off_peak": "0.2", "price_peak": "0.3"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    options = result["options"]
    assert options[CONF_OFF_PEAK_DAYS] == ["sat", "sun"]
    assert options[CONF_OFF_PEAK_DAYS_HOURS] == "00:00-24:00"
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    schedule = entry.runtime_data.coordinator.settings.schedule
    expected = {
        _paris(9, 21, 59): "peak",  # Friday evening
        _paris(9, 22): "off_peak",
        _paris(10, 12): "off_peak",  # Saturday noon
        _paris(11, 23, 59): "off_peak",  # Sunday night
        _paris(12, 5, 59): "off_peak",  # Monday's own 00:00-06:00
        _paris(12, 6): "peak",
        _paris(14, 12): "peak",  # Wednesday noon
    }
    assert {when: schedule.period_at(when) for when in expected} == expected


@pytest.mark.usefixtures("sources")
async def test_options_give_one_weekday_other_hours(hass: HomeAssistant) -> None:
    """A ledger moves to a schedule with Wednesday's off-peak at midday instead of the night."""
    await hass.config.async_set_time_zone(PARIS)
    entry = await _ledger(hass)
    result = await _options(hass, entry.entry_id, "ledger_period")
    period = {
        CONF_PERIOD_SOURCE: "schedule",
        CONF_OFF_PEAK_HOURS: "23:00-07:00",
        CONF_OFF_PEAK_DAYS: ["wed"],
        CONF_OFF_PEAK_DAYS_HOURS: "12:00-16:00,",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], period)
    assert result["errors"] == {CONF_OFF_PEAK_DAYS_HOURS: "bad_schedule"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**period, CONF_OFF_PEAK_DAYS_HOURS: "12:00-16:00"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_OFF_PEAK_DAYS] == ["wed"]
    schedule = entry.runtime_data.coordinator.settings.schedule
    expected = {
        _paris(6, 23, 30): "off_peak",  # Tuesday's 23:00 to midnight
        _paris(7, 6, 59): "peak",  # Wednesday's early hours are Wednesday's: midday only
        _paris(7, 12): "off_peak",
        _paris(7, 16): "peak",
        _paris(7, 23, 30): "peak",
        _paris(8, 6, 59): "off_peak",  # Thursday's own 00:00-07:00
        _paris(8, 7): "peak",
    }
    assert {when: schedule.period_at(when) for when in expected} == expected


@pytest.mark.usefixtures("sources")
async def test_the_period_switches_at_local_instants_on_weekdays_and_not_at_the_weekend(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Thursday 05:00 to Monday 07:00 with the weekend contract, as the ledger's timers fire.

    Weekday nights switch at 22:00 and 06:00 Paris time; from Friday 22:00 it stays off-peak
    until Monday 06:00 (no switch on Saturday or Sunday), and the price follows on the instant.
    """
    await hass.config.async_set_time_zone(PARIS)
    now = _paris(8, 5)
    freezer.move_to(now)
    result = await _start(hass)
    result = await _to(hass, result["flow_id"], {CONF_IMPORT_ENTITIES: ["sensor.linky_hc"]})
    result = await _to(hass, result["flow_id"], WEEKEND_TARIFF)
    result = await _to(hass, result["flow_id"], {"price_off_peak": "0.2", "price_peak": "0.3"})
    await hass.async_block_till_done()
    assert hass.states.get("sensor.home_current_tariff_period").state == "off_peak"
    switches: list[tuple[str, datetime, str]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        if (state := event.data["new_state"]) is not None:
            local = state.last_changed.astimezone(ZoneInfo(PARIS))
            switches.append((state.entity_id, local, state.state))

    async_track_state_change_event(
        hass, ["sensor.home_current_tariff_period", "sensor.home_current_price"], record
    )
    while now < _paris(12, 7):
        now += timedelta(minutes=5)
        freezer.move_to(now)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done()

    expected = []
    for when, period, price in (
        (_paris(8, 6), "peak", "0.3"),  # Thursday
        (_paris(8, 22), "off_peak", "0.2"),
        (_paris(9, 6), "peak", "0.3"),  # Friday
        (_paris(9, 22), "off_peak", "0.2"),
        (_paris(12, 6), "peak", "0.3"),  # Monday
    ):
        expected += [
            ("sensor.home_current_tariff_period", when, period),
            ("sensor.home_current_price", when, price),
        ]
    assert sorted(switches) == sorted(expected)
