"""The Energy-panel setups the README gives, checked by Home Assistant's own energy validation.

Each test builds one household from real parts -- Linky meters on a pseudo-terminal, an EnerLink
meter on a mosquitto broker, a ledger on top -- enters the README's Energy-panel setup with the
energy integration's own preferences manager, lets the recorder compile statistics as it would
every five minutes, and expects the validation the Energy panel shows to find no issue. Before
the statistics exist the validation complains, so a clean result is not vacuous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.energy_ledger.const import (
    CONF_BAUDRATE,
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_INDEX_MAP,
    CONF_KIND,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MODE,
    CONF_NAME,
    CONF_PERIOD_ENTITY,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PORT,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_WINDOW_MINUTES,
    DOMAIN,
    KIND_LEDGER,
    PROFILE_ENERLINK_V1,
)
from custom_components.energy_ledger.core.tariff import PlanKind, PricePlan
from custom_components.energy_ledger.core.tic.encode import (
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)

from .conftest import MeterFeed, TicLine
from .mqtt_broker import Broker
from .test_mqtt_meters import PREFIX, V1_SENSORS, publish, setup_mqtt
from .test_tic_end_to_end import wait_for

PRICE = "sensor.home_current_price"
FEED_IN_PRICE = "sensor.home_current_feed_in_price"
INVERTER = "sensor.inverter_energy"
ENERGY_ATTRIBUTES = {
    "unit_of_measurement": "kWh",
    "device_class": "energy",
    "state_class": "total_increasing",
}


@pytest.fixture
def lines(tmp_path: Path) -> Iterator[Callable[[], TicLine]]:
    """Plugged-in serial lines, as many as a test needs (one per Linky)."""
    made: list[TicLine] = []

    def plug() -> TicLine:
        directory = tmp_path / f"line{len(made)}"
        directory.mkdir()
        line = TicLine(directory)
        line.plug()
        made.append(line)
        return line

    yield plug
    for line in made:
        line.unplug()


@pytest.fixture
async def feeds() -> Any:
    """Meters writing frames; stopped at the end."""
    started: list[MeterFeed] = []
    yield started
    for feed in started:
        await feed.stop()


async def linky(
    hass: HomeAssistant,
    line: TicLine,
    feeds: list[MeterFeed],
    mode: str,
    groups: list[bytes],
    *,
    wanted: tuple[str, ...],
) -> dict[str, str]:
    """A Linky entry fed `groups` on `line`; its entity ids by key, once `wanted` ones show."""
    address = groups[0].split(b" " if mode == "historic" else b"\t")[1].decode()
    feeds.append(MeterFeed(line, encode_frame(groups)))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {address[-4:]}",
        unique_id=address,
        data={
            CONF_PORT: line.port,
            CONF_MODE: mode,
            CONF_BAUDRATE: 1200 if mode == "historic" else 9600,
        },
        options={CONF_MIN_WRITE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    registry = er.async_get(hass)

    def entities() -> dict[str, str]:
        return {
            e.unique_id.removeprefix(f"{address}_"): e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }

    def shown() -> bool:
        found = entities()
        return all(
            key in found
            and (state := hass.states.get(found[key])) is not None
            and state.state not in ("unavailable", "unknown")
            for key in wanted
        )

    await wait_for(shown)
    return entities()


def prices(kind: PlanKind) -> dict[str, Any]:
    energy = {"base": "0.1952"} if kind is PlanKind.BASE else {"off_peak": "0.2068", "peak": "0.27"}
    plan = PricePlan(kind=kind, zone=ZoneInfo("Europe/Paris"), energy={})
    return plan.with_prices(
        date(2025, 8, 1), energy=energy, feed_in="0.1269", subscription="15.65"
    ).to_dict()


async def ledger(hass: HomeAssistant, **options: Any) -> None:
    """A ledger named Home with these sources and plan."""
    kind = PlanKind(options.get(CONF_PLAN, "hc_hp"))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="ledger_home",
        data={CONF_KIND: KIND_LEDGER, CONF_NAME: "Home"},
        options={
            CONF_PLAN: str(kind),
            CONF_PRICES: prices(kind),
            CONF_WINDOW_MINUTES: 5,
            **options,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def grid(
    imports: list[str], price: str | None, exports: list[str] = (), feed_in: str | None = None
) -> dict[str, Any]:
    return {
        "type": "grid",
        "flow_from": [
            {
                "stat_energy_from": stat,
                "stat_cost": None,
                "entity_energy_price": price,
                "number_energy_price": None,
            }
            for stat in imports
        ],
        "flow_to": [
            {
                "stat_energy_to": stat,
                "stat_compensation": None,
                "entity_energy_price": feed_in,
                "number_energy_price": None,
            }
            for stat in exports
        ],
        "cost_adjustment_day": 0,
    }


def solar(stat: str) -> dict[str, Any]:
    return {"type": "solar", "stat_energy_from": stat, "config_entry_solar_forecast": None}


async def validate(
    hass: HomeAssistant, sources: list[dict[str, Any]], devices: list[str] = ()
) -> dict[str, Any]:
    """Enter the preferences, compile statistics as the recorder does, run the validation.

    Returns the issues found before the statistics existed and after (as the panel shows them).
    """
    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": sources,
            "device_consumption": [{"stat_consumption": stat} for stat in devices],
        }
    )
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    before = (await async_validate(hass)).as_dict()
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)
    after = (await async_validate(hass)).as_dict()
    return {"before": before, "after": after}


def issue_types(result: dict[str, Any]) -> set[str]:
    return {
        issue["type"]
        for group in (*result["energy_sources"], *result["device_consumption"])
        for issue in group
    }


def assert_clean(result: dict[str, Any], sources: int, devices: int = 0) -> None:
    assert "statistics_not_defined" in issue_types(result["before"])
    assert result["after"]["energy_sources"] == [[]] * sources
    assert result["after"]["device_consumption"] == [[]] * devices


async def test_hc_hp_consumer(
    hass: HomeAssistant, lines: Callable[[], TicLine], feeds: list[MeterFeed]
) -> None:
    """Historic HC/HP Linky: HCHC and HCHP as grid consumption, each priced with the ledger's
    current price (it follows PTEC, so each register is costed at its own period's price)."""
    meter = await linky(
        hass,
        lines(),
        feeds,
        "historic",
        [
            encode_historic_group("ADCO", "041776199201"),
            encode_historic_group("OPTARIF", "HC.."),
            encode_historic_group("ISOUSC", "30"),
            encode_historic_group("HCHC", "001000000"),
            encode_historic_group("HCHP", "002000000"),
            encode_historic_group("PTEC", "HP.."),
            encode_historic_group("IINST", "002"),
            encode_historic_group("PAPP", "00450"),
        ],
        wanted=("hchc", "hchp", "tariff_period"),
    )
    await ledger(
        hass,
        **{
            CONF_IMPORT_ENTITIES: [meter["hchc"], meter["hchp"]],
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: meter["tariff_period"],
        },
    )
    assert hass.states.get(PRICE).state == "0.27"  # type: ignore[union-attr]
    result = await validate(hass, [grid([meter["hchc"], meter["hchp"]], PRICE)])
    assert_clean(result, 1)


async def test_solar_self_consumer_with_injection(
    hass: HomeAssistant, lines: Callable[[], TicLine], feeds: list[MeterFeed]
) -> None:
    """Standard producer Linky: EASF01/EASF02 consumed at the ledger's price, EAIT returned at
    its feed-in price, the inverter's energy as solar production."""
    meter = await linky(
        hass,
        lines(),
        feeds,
        "standard",
        [
            encode_standard_group("ADSC", "041776199202"),
            encode_standard_group("NGTF", "H PLEINE/CREUSE "),
            encode_standard_group("LTARF", "  HEURE  PLEINE  "),
            encode_standard_group("EAST", "003000000"),
            encode_standard_group("EASF01", "001000000"),
            encode_standard_group("EASF02", "002000000"),
            encode_standard_group("EAIT", "000500000"),
            encode_standard_group("NTARF", "02"),
            encode_standard_group("SINSTS", "00450"),
            encode_standard_group("SINSTI", "00000"),
        ],
        wanted=("easf01", "easf02", "eait", "tariff_period"),
    )
    hass.states.async_set(INVERTER, "812.5", ENERGY_ATTRIBUTES)
    await ledger(
        hass,
        **{
            CONF_IMPORT_ENTITIES: [meter["easf01"], meter["easf02"]],
            CONF_EXPORT_ENTITY: meter["eait"],
            CONF_PRODUCTION_ENTITY: INVERTER,
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: meter["tariff_period"],
        },
    )
    assert hass.states.get(PRICE).state == "0.27"  # type: ignore[union-attr]
    sources = [
        grid([meter["easf01"], meter["easf02"]], PRICE, [meter["eait"]], FEED_IN_PRICE),
        solar(INVERTER),
    ]
    assert_clean(await validate(hass, sources), 2)


async def test_two_meters_all_production_sold(
    hass: HomeAssistant, lines: Callable[[], TicLine], feeds: list[MeterFeed]
) -> None:
    """The reference setup: the consumption Linky's registers consumed at the ledger's price
    (period from its NTARF, index 1 = peak), the production Linky's EAIT both returned to the
    grid at the feed-in price and counted as solar production."""
    consumption = await linky(
        hass,
        lines(),
        feeds,
        "standard",
        [
            encode_standard_group("ADSC", "041776199203"),
            encode_standard_group("EAST", "003000000"),
            encode_standard_group("EASF01", "001000000"),
            encode_standard_group("EASF02", "002000000"),
            encode_standard_group("NTARF", "01"),
            encode_standard_group("SINSTS", "00450"),
        ],
        wanted=("easf01", "easf02", "ntarf"),
    )
    production = await linky(
        hass,
        lines(),
        feeds,
        "standard",
        [
            encode_standard_group("ADSC", "041776199204"),
            encode_standard_group("EAST", "000000010"),
            encode_standard_group("EAIT", "004000000"),
            encode_standard_group("NTARF", "01"),
            encode_standard_group("SINSTI", "01200"),
        ],
        wanted=("eait",),
    )
    await ledger(
        hass,
        **{
            CONF_IMPORT_ENTITIES: [consumption["easf01"], consumption["easf02"]],
            CONF_PRODUCTION_ENTITY: production["eait"],
            CONF_PERIOD_SOURCE: "entity",
            CONF_PERIOD_ENTITY: consumption["ntarf"],
            CONF_INDEX_MAP: "1=peak, 2=off_peak",
        },
    )
    assert hass.states.get(PRICE).state == "0.27"  # type: ignore[union-attr]
    sources = [
        grid(
            [consumption["easf01"], consumption["easf02"]],
            PRICE,
            [production["eait"]],
            FEED_IN_PRICE,
        ),
        solar(production["eait"]),
    ]
    assert_clean(await validate(hass, sources), 2)


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_meter_with_battery(hass: HomeAssistant, broker: Broker) -> None:
    """An EnerLink v1 meter: import and export totals on the grid (ledger base price and feed-in
    price), solar total as production; its battery counter has no direction, so it is followed
    as an individual device."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V1, **{CONF_MIN_WRITE_INTERVAL: 0})
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    registry = er.async_get(hass)

    def entity(key: str) -> str | None:
        return registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_v1_{key}")

    keys = ("import_total_energy", "export_total_energy", "solar_total_energy")
    await wait_for(
        lambda: all(
            (found := entity(key)) is not None and hass.states.get(found) is not None
            for key in (*keys, "battery_total_energy")
        )
    )
    imported, exported, produced = (entity(key) for key in keys)
    battery = entity("battery_total_energy")
    assert imported is not None
    assert exported is not None
    assert produced is not None
    assert battery is not None
    await ledger(
        hass,
        **{
            CONF_PLAN: "base",
            CONF_IMPORT_ENTITIES: [imported],
            CONF_EXPORT_ENTITY: exported,
            CONF_PRODUCTION_ENTITY: produced,
        },
    )
    assert hass.states.get(PRICE).state == "0.1952"  # type: ignore[union-attr]
    sources = [grid([imported], PRICE, [exported], FEED_IN_PRICE), solar(produced)]
    assert_clean(await validate(hass, sources, [battery]), 2, 1)
