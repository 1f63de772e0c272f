"""Base of the entities that send or follow EnerLink commands: controls and "Last command".

Such an entity shows what it controls (a command's status, the grid mode) as soon as it
changes, instead of waiting for the write throttle's interval: these values change rarely, and
a user who just pressed a button or picked a mode waits for the answer.

What they show outlives a restart: a meter never reports its telemetry interval, and reports
its grid mode only now and then, so the values it acknowledged are stored with the entity
state (`RestoreEntity` extra data) and handed back to `MqttCommands` when the entity returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoredExtraData, RestoreEntity

from .core.mqtt.commands import (
    Command,
    InvalidCommandError,
    TrackedCommand,
    setting_as_dict,
    setting_from_dict,
)
from .entry import EnergyLedgerConfigEntry, MqttRuntimeData
from .mqtt_commands import MqttCommands
from .mqtt_coordinator import MqttCoordinator
from .mqtt_entity import (
    MqttMeterEntity,
    MqttMeterEntityDescription,
    async_add_entities_as_meters_appear,
)

_LOGGER = logging.getLogger(__name__)


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


class _RestoringCommandEntity(MqttCommandEntity, RestoreEntity):
    """A command entity that stored something before the restart."""

    async def _async_stored(self) -> Mapping[str, object] | None:
        extra = await self.async_get_last_extra_data()
        return None if extra is None else extra.as_dict()

    def _refuse_stored(self, err: InvalidCommandError) -> None:
        """Stored data this version cannot read: shown unknown, the meter's next word wins."""
        _LOGGER.warning("Ignoring the stored state of %s: %s", self.entity_id, err)


class LastCommandEntity(_RestoringCommandEntity):
    """Follows the meter's latest command, and brings it back after a restart.

    A command still pending at shutdown comes back timed out (`TrackedCommand.after_restart`).
    """

    @property
    def extra_restore_state_data(self) -> ExtraStoredData | None:
        """The latest command with its status and times."""
        last = self.commands.last.get(self.meter_key)
        return None if last is None else RestoredExtraData(last.as_dict())

    async def async_added_to_hass(self) -> None:
        """Hand the stored command to `MqttCommands`, then follow the meter."""
        if (stored := await self._async_stored()) is not None:
            try:
                tracked = TrackedCommand.from_dict(self.meter_key, stored)
            except InvalidCommandError as err:
                self._refuse_stored(err)
            else:
                self.commands.async_restore_last(self.meter_key, tracked)
        await super().async_added_to_hass()


@dataclass(frozen=True, kw_only=True)
class MqttSettingEntityDescription(MqttMeterEntityDescription):
    """A control showing a device setting the meter acknowledged (`command_settings`)."""

    setting: str
    """`grid` or `sensor_interval`."""


class MqttSettingEntity(_RestoringCommandEntity):
    """Shows a setting the meter acknowledged, kept across restarts with when it was."""

    entity_description: MqttSettingEntityDescription

    @property
    def acknowledged(self) -> tuple[datetime, object] | None:
        """When and to what the meter last confirmed this setting."""
        return self.commands.setting(self.meter_key, self.entity_description.setting)

    @property
    def extra_restore_state_data(self) -> ExtraStoredData | None:
        """The acknowledged value and when."""
        acknowledged = self.acknowledged
        return None if acknowledged is None else RestoredExtraData(setting_as_dict(*acknowledged))

    async def async_added_to_hass(self) -> None:
        """Hand the stored setting to `MqttCommands`, then follow the meter."""
        if (stored := await self._async_stored()) is not None:
            setting = self.entity_description.setting
            try:
                at, value = setting_from_dict(setting, stored)
            except InvalidCommandError as err:
                self._refuse_stored(err)
            else:
                self.commands.async_restore_setting(self.meter_key, setting, at, value)
        await super().async_added_to_hass()


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
