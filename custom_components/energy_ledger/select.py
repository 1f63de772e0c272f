"""The grid mode of an EnerLink meter (import / export / off), as a select.

The option shown is what the meter last said: its status's grid mode, or the mode of a grid
command it acknowledged since, whichever is newer. A mode chosen but not yet acknowledged is not
shown as if it were in force; the "Last command" sensor says it is pending. The acknowledged
mode and its time survive a restart, so the select is not unknown until the next status.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .core.mqtt import GridMode
from .core.mqtt.commands import grid_mode_command
from .entry import EnergyLedgerConfigEntry
from .mqtt_command_entity import (
    MqttSettingEntity,
    MqttSettingEntityDescription,
    async_add_command_entities,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MqttSelectEntityDescription(MqttSettingEntityDescription, SelectEntityDescription):
    """A select of an EnerLink meter."""


GRID_MODE = MqttSelectEntityDescription(
    key="grid_mode",
    translation_key="grid_mode",
    options=[mode.value for mode in GridMode],
    shown_key=None,
    setting="grid",
)


class GridModeSelect(MqttSettingEntity, SelectEntity):
    """Shows the meter's grid mode; choosing an option sends a grid command."""

    entity_description: MqttSelectEntityDescription

    def _shown_value(self) -> object:
        return self.current_option

    @property
    def current_option(self) -> str | None:
        """The newer of the reported grid mode and the last acknowledged grid command."""
        meter = self.meter
        status = None if meter is None else meter.status
        reported = (
            (status.received_at, status.grid_mode)
            if status is not None and status.grid_mode is not None
            else None
        )
        confirmed = self.acknowledged
        newest = max(
            (found for found in (reported, confirmed) if found is not None),
            key=lambda found: found[0],
            default=None,
        )
        return None if newest is None else str(newest[1])

    async def async_select_option(self, option: str) -> None:
        """Publish the grid command (QoS 1); raises a translated error when the broker is down."""
        await self._async_send(grid_mode_command(option, now=dt_util.utcnow()))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the grid mode select to each EnerLink meter as it appears; TIC entries have none."""
    async_add_command_entities(
        hass,
        entry,
        Platform.SELECT,
        descriptions=(GRID_MODE,),
        entity_class=GridModeSelect,
        async_add_entities=async_add_entities,
    )
