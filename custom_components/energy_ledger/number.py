"""The telemetry interval of an EnerLink meter, in milliseconds, as a number.

EnerLink meters do not report their interval, so the value shown is the one the meter last
acknowledged (unknown until then, kept across restarts). Bounds come from the core: one
second to one hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, Platform, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .core.mqtt.commands import (
    SENSOR_INTERVAL_MAX_MS,
    SENSOR_INTERVAL_MIN_MS,
    sensor_interval_command,
)
from .entry import EnergyLedgerConfigEntry
from .mqtt_command_entity import (
    MqttSettingEntity,
    MqttSettingEntityDescription,
    async_add_command_entities,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MqttNumberEntityDescription(MqttSettingEntityDescription, NumberEntityDescription):
    """A number of an EnerLink meter."""


SENSOR_INTERVAL = MqttNumberEntityDescription(
    key="sensor_interval",
    translation_key="sensor_interval",
    device_class=NumberDeviceClass.DURATION,
    native_unit_of_measurement=UnitOfTime.MILLISECONDS,
    native_min_value=SENSOR_INTERVAL_MIN_MS,
    native_max_value=SENSOR_INTERVAL_MAX_MS,
    native_step=500,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
    shown_key=None,
    setting="sensor_interval",
)


class SensorIntervalNumber(MqttSettingEntity, NumberEntity):
    """Sets how often the meter publishes its telemetry."""

    entity_description: MqttNumberEntityDescription

    def _shown_value(self) -> object:
        return self.native_value

    @property
    def native_value(self) -> float | None:
        """The interval the meter last acknowledged, in ms."""
        confirmed = self.acknowledged
        value = None if confirmed is None else confirmed[1]
        return float(value) if isinstance(value, int) else None

    async def async_set_native_value(self, value: float) -> None:
        """Publish the interval (QoS 1); raises a translated error when the broker is down."""
        await self._async_send(sensor_interval_command(round(value), now=dt_util.utcnow()))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the interval number to each EnerLink meter as it appears; TIC entries have none."""
    async_add_command_entities(
        hass,
        entry,
        Platform.NUMBER,
        descriptions=(SENSOR_INTERVAL,),
        entity_class=SensorIntervalNumber,
        async_add_entities=async_add_entities,
    )
