"""Buttons of an EnerLink meter: energy counter resets and the settlement reset.

Each press publishes one command; whether the meter obeyed shows in its "Last command" sensor
and in the `energy_ledger_command` event. The energy sensors take a reset in their stride: a
counter going down is a device reset, never negative energy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .core.mqtt.commands import (
    Command,
    EnergyReset,
    energy_reset_command,
    settlement_reset_command,
)
from .entry import EnergyLedgerConfigEntry
from .mqtt_command_entity import MqttCommandEntity, async_add_command_entities
from .mqtt_entity import MqttMeterEntityDescription

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MqttButtonEntityDescription(MqttMeterEntityDescription, ButtonEntityDescription):
    """A button of an EnerLink meter: the command a press sends."""

    command_fn: Callable[[datetime], Command]


def _energy_reset(target: EnergyReset) -> Callable[[datetime], Command]:
    return lambda now: energy_reset_command(target, now=now)


BUTTONS: tuple[MqttButtonEntityDescription, ...] = (
    *(
        MqttButtonEntityDescription(
            key=f"energy_reset_{target}",
            translation_key=f"energy_reset_{target}",
            entity_category=EntityCategory.CONFIG,
            shown_key=None,
            command_fn=_energy_reset(target),
        )
        for target in EnergyReset
    ),
    MqttButtonEntityDescription(
        key="settlement_reset",
        translation_key="settlement_reset",
        entity_category=EntityCategory.CONFIG,
        shown_key=None,
        command_fn=lambda now: settlement_reset_command(now=now),
    ),
)


class MqttMeterButton(MqttCommandEntity, ButtonEntity):
    """Sends its command to the meter when pressed."""

    entity_description: MqttButtonEntityDescription

    async def async_press(self) -> None:
        """Publish the command (QoS 1); raises a translated error when the broker is down."""
        await self._async_send(self.entity_description.command_fn(dt_util.utcnow()))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the buttons to each EnerLink meter as it appears; TIC entries have none."""
    async_add_command_entities(
        hass,
        entry,
        Platform.BUTTON,
        descriptions=BUTTONS,
        entity_class=MqttMeterButton,
        async_add_entities=async_add_entities,
    )
