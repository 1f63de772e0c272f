"""The `energy_ledger.send_command` action: a raw command object to one EnerLink meter.

For what the controls do not cover (relays, motors, PWM, a firmware's own settings). The command
object is validated by the core's schema, so a typo in a known section (`{"energy": {"rest":
"all"}}`) is refused with the field named instead of being sent to a meter that would ignore
it. It is sent and followed exactly like a control's command: same event, same "Last command"
sensor, and the action can return the correlation id and status to a script.
"""

from __future__ import annotations

from typing import Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
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

from .const import DOMAIN
from .core.mqtt.commands import COMMAND_BODY_SCHEMA, raw_command
from .mqtt_commands import MqttCommands

SERVICE_SEND_COMMAND: Final = "send_command"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_COMMAND: Final = "command"

SEND_COMMAND_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_DEVICE_ID): cv.string, vol.Required(ATTR_COMMAND): COMMAND_BODY_SCHEMA}
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
