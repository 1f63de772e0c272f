"""Base of the entities that send or follow EnerLink commands: controls and "Last command".

Such an entity shows what it controls (a command's status, the grid mode) as soon as it
changes, instead of waiting for the write throttle's interval: these values change rarely, and
a user who just pressed a button or picked a mode waits for the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .core.mqtt.commands import Command
from .entry import EnergyLedgerConfigEntry, MqttRuntimeData
from .mqtt_commands import MqttCommands
from .mqtt_coordinator import MqttCoordinator
from .mqtt_entity import (
    MqttMeterEntity,
    MqttMeterEntityDescription,
    async_add_entities_as_meters_appear,
)


class MqttCommandEntity(MqttMeterEntity):
    """An entity of a meter that takes commands."""

    def __init__(
        self,
        coordinator: MqttCoordinator,
        meter_key: str,
        description: MqttMeterEntityDescription,
        commands: MqttCommands,
    ) -> None:
        super().__init__(coordinator, meter_key, description)
        self.commands = commands

    def _shown_value(self) -> object:
        return None

    async def async_added_to_hass(self) -> None:
        """Follow the meter's commands as well as its messages."""
        await super().async_added_to_hass()
        self.async_on_remove(self.commands.async_add_listener(self._handle_command))

    @callback
    def _handle_update(self, flush: bool) -> None:
        if self._throttle.should_write(self.available, self._shown_value(), 0.0, flush=True):
            self.async_write_ha_state()

    @callback
    def _handle_command(self, meter_key: str) -> None:
        if meter_key == self.meter_key:
            self._handle_update(True)

    async def _async_send(self, command: Command) -> None:
        """Publish to this entity's meter; raises a translated error when the broker is down."""
        await self.commands.async_send(self.meter_key, command)


@callback
def async_add_command_entities[D: MqttMeterEntityDescription](
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    platform: Platform,
    *,
    descriptions: Iterable[D],
    entity_class: Callable[[MqttCoordinator, str, D, MqttCommands], Entity],
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the entities to every meter of an entry whose meters take commands, and no other."""
    runtime = entry.runtime_data
    if not isinstance(runtime, MqttRuntimeData) or runtime.commands is None:
        return
    commands = runtime.commands

    def factory(coordinator: MqttCoordinator, meter_key: str, description: D) -> Entity:
        return entity_class(coordinator, meter_key, description, commands)

    async_add_entities_as_meters_appear(
        hass,
        entry,
        platform,
        descriptions=descriptions,
        entity_factory=factory,
        async_add_entities=async_add_entities,
    )
