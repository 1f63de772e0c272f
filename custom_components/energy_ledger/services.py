"""The integration's actions: `send_command` to an EnerLink meter, `set_prices` of a ledger.

`send_command` is for what the controls do not cover (relays, motors, PWM, a firmware's own
settings). The command object is validated by the core's schema, so a typo in a known section
(`{"energy": {"rest": "all"}}`) is refused with the field named instead of being sent to a meter
that would ignore it. It is sent and followed exactly like a control's command: same event, same
"Last command" sensor, and the action can return the correlation id and status to a script.

`set_prices` adds dated prices to a ledger, as its options flow does, for an automation that
follows a supplier's price list. Prices are decimal strings read exactly as the flow reads them
(a decimal comma is fine; negative or non-numbers are refused with the field named); they apply
from local midnight of `valid_from` (default: today, future dates allowed), and the entry's
options change, so the ledger reloads and its current price switches at that very instant.

`rebuild_statistics` recomputes a ledger's long-term statistics from the recorder's history of
its sources (`ledger_rebuild`), and returns the hours written per statistic.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import CONF_KIND, CONF_PLAN, CONF_PRICES, DOMAIN, KIND_LEDGER
from .core.mqtt.commands import COMMAND_BODY_SCHEMA, raw_command
from .core.tariff import PLAN_PERIODS, PlanKind, PricePlan
from .ledger_flow import (
    CONF_FEED_IN_PRICE,
    CONF_SUBSCRIPTION,
    CONF_VALID_FROM,
    PRICE_PREFIX,
    parse_prices,
)
from .ledger_rebuild import async_rebuild
from .mqtt_commands import MqttCommands

SERVICE_SEND_COMMAND: Final = "send_command"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_COMMAND: Final = "command"

SEND_COMMAND_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_DEVICE_ID): cv.string, vol.Required(ATTR_COMMAND): COMMAND_BODY_SCHEMA}
)

SERVICE_SET_PRICES: Final = "set_prices"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ALL_PERIODS: Final = tuple(dict.fromkeys(p for periods in PLAN_PERIODS.values() for p in periods))
PRICE_FIELDS: Final = (
    *(f"{PRICE_PREFIX}{period}" for period in ALL_PERIODS),
    CONF_FEED_IN_PRICE,
    CONF_SUBSCRIPTION,
)
SET_PRICES_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(CONF_VALID_FROM): cv.date,
        # Strings, read by the flow's parser: a YAML number arrives as its shortest text.
        **{vol.Optional(field): cv.string for field in PRICE_FIELDS},
    }
)

SERVICE_REBUILD_STATISTICS: Final = "rebuild_statistics"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
REBUILD_STATISTICS_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (called once, from `async_setup`)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_COMMAND,
        _async_send_command,
        schema=SEND_COMMAND_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_PRICES, _async_set_prices, schema=SET_PRICES_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REBUILD_STATISTICS,
        _async_rebuild_statistics,
        schema=REBUILD_STATISTICS_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _meter_of(hass: HomeAssistant, device_id: str) -> tuple[MqttCommands, str]:
    """The commands of the device's loaded entry and the device's meter key."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for entry_id in device.config_entries:
            entry = hass.config_entries.async_get_entry(entry_id)
            if entry is None or entry.domain != DOMAIN:
                continue
            if entry.state is not ConfigEntryState.LOADED:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="meter_not_loaded",
                    translation_placeholders={"entry": entry.title},
                )
            commands = getattr(entry.runtime_data, "commands", None)
            prefix = f"{entry.entry_id}_"
            for domain, identifier in device.identifiers:
                if (
                    isinstance(commands, MqttCommands)
                    and domain == DOMAIN
                    and identifier.startswith(prefix)
                ):
                    return commands, identifier.removeprefix(prefix)
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_command_meter")


async def _async_send_command(call: ServiceCall) -> ServiceResponse:
    commands, meter_key = _meter_of(call.hass, call.data[ATTR_DEVICE_ID])
    tracked = await commands.async_send(
        meter_key, raw_command(call.data[ATTR_COMMAND], now=dt_util.utcnow())
    )
    return {"correlation_id": tracked.command.correlation_id, "status": tracked.status.value}


def _refuse(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _ledger_of(hass: HomeAssistant, data: dict[str, Any]) -> ConfigEntry:
    """The ledger entry named by exactly one of `device_id` and `config_entry_id`."""
    if (ATTR_DEVICE_ID in data) == (ATTR_CONFIG_ENTRY_ID in data):
        raise _refuse("ledger_target_required")
    if ATTR_CONFIG_ENTRY_ID in data:
        candidates = [data[ATTR_CONFIG_ENTRY_ID]]
    elif (device := dr.async_get(hass).async_get(data[ATTR_DEVICE_ID])) is not None:
        candidates = list(device.config_entries)
    else:
        candidates = []
    for entry_id in candidates:
        entry = hass.config_entries.async_get_entry(entry_id)
        if (
            entry is not None
            and entry.domain == DOMAIN
            and entry.data.get(CONF_KIND) == KIND_LEDGER
        ):
            return entry
    raise _refuse("not_a_ledger")


async def _async_set_prices(call: ServiceCall) -> None:
    """Add the given prices from `valid_from` to the ledger's plan; the ledger reloads."""
    hass = call.hass
    entry = _ledger_of(hass, dict(call.data))
    kind = PlanKind(entry.options[CONF_PLAN])
    plan = PricePlan.from_dict(entry.options[CONF_PRICES])
    given = {field: call.data[field] for field in PRICE_FIELDS if field in call.data}
    for field in given:
        period = field.removeprefix(PRICE_PREFIX)
        if field.startswith(PRICE_PREFIX) and period not in PLAN_PERIODS[kind]:
            raise _refuse("price_not_in_plan", field=field, plan=str(kind))
    energy, feed_in, subscription, errors = parse_prices(kind, given)
    if errors:
        field = next(iter(errors))
        raise _refuse("invalid_price", field=field, value=str(given[field]))
    if not energy and feed_in is None and subscription is None:
        raise _refuse("no_price_given")
    valid_from: date = call.data.get(CONF_VALID_FROM) or plan.local_day(dt_util.utcnow())
    plan = plan.with_prices(valid_from, energy=energy, feed_in=feed_in, subscription=subscription)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PRICES: plan.to_dict()}
    )


async def _async_rebuild_statistics(call: ServiceCall) -> ServiceResponse:
    """Recompute a ledger's long-term statistics from the recorder's history of its sources."""
    entry = _ledger_of(call.hass, dict(call.data))
    result = await async_rebuild(
        call.hass, entry, call.data.get(ATTR_START), call.data.get(ATTR_END)
    )
    return result.as_response()
