"""Binary sensors of a TIC meter: STGE status flags, relays and the link to the meter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .core.reading import Reading
from .core.tic import Stge
from .entity import (
    TicEntity,
    TicEntityDescription,
    TicFeed,
    async_add_entities_as_labels_appear,
)
from .entry import EnergyLedgerConfigEntry, MqttRuntimeData
from .mqtt_coordinator import MeterState
from .mqtt_entity import (
    MqttMeterEntity,
    MqttMeterEntityDescription,
    async_add_entities_as_meters_appear,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class TicBinarySensorEntityDescription(TicEntityDescription, BinarySensorEntityDescription):
    """A TIC binary sensor: how to read its state from the coordinator."""

    is_on_fn: Callable[[TicFeed], bool | None]


def _has_stge(reading: Reading) -> bool:
    return "STGE" in reading.values


def _stge_flag(read: Callable[[Stge], bool]) -> Callable[[TicFeed], bool | None]:
    def is_on(coordinator: TicFeed) -> bool | None:
        reading = coordinator.reading
        stge = None if reading is None else reading.values.get("STGE")
        return read(stge) if isinstance(stge, Stge) else None

    return is_on


def _relay(number: int) -> Callable[[TicFeed], bool | None]:
    def is_on(coordinator: TicFeed) -> bool | None:
        reading = coordinator.reading
        relays = None if reading is None else reading.values.get("RELAIS")
        return relays[number - 1] if isinstance(relays, tuple) else None

    return is_on


def _phase_present(number: int) -> Callable[[TicFeed], bool | None]:
    def is_on(coordinator: TicFeed) -> bool | None:
        reading = coordinator.reading
        phases = None if reading is None else reading.values.get("PPOT")
        return phases[number - 1] if isinstance(phases, tuple) else None

    return is_on


BINARY_SENSORS: tuple[TicBinarySensorEntityDescription, ...] = (
    TicBinarySensorEntityDescription(
        key="connection",
        translation_key="connection",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        always_available=True,
        present_fn=lambda reading: True,
        is_on_fn=lambda coordinator: coordinator.connected,
    ),
    TicBinarySensorEntityDescription(
        key="dry_contact",
        translation_key="dry_contact",
        present_fn=_has_stge,
        is_on_fn=_stge_flag(lambda stge: not stge.dry_contact_open),
    ),
    TicBinarySensorEntityDescription(
        key="terminal_cover",
        translation_key="terminal_cover",
        device_class=BinarySensorDeviceClass.OPENING,
        entity_category=EntityCategory.DIAGNOSTIC,
        present_fn=_has_stge,
        is_on_fn=_stge_flag(lambda stge: stge.terminal_cover_open),
    ),
    TicBinarySensorEntityDescription(
        key="overvoltage",
        translation_key="overvoltage",
        device_class=BinarySensorDeviceClass.PROBLEM,
        present_fn=_has_stge,
        is_on_fn=_stge_flag(lambda stge: stge.overvoltage),
    ),
    TicBinarySensorEntityDescription(
        key="reference_power_exceeded",
        translation_key="reference_power_exceeded",
        device_class=BinarySensorDeviceClass.PROBLEM,
        present_fn=_has_stge,
        is_on_fn=_stge_flag(lambda stge: stge.reference_power_exceeded),
    ),
    TicBinarySensorEntityDescription(
        key="injecting",
        translation_key="injecting",
        device_class=BinarySensorDeviceClass.POWER,
        present_fn=lambda reading: _has_stge(reading) and "EAIT" in reading.values,
        is_on_fn=_stge_flag(lambda stge: stge.injecting),
    ),
    TicBinarySensorEntityDescription(
        key="clock_degraded",
        translation_key="clock_degraded",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        present_fn=_has_stge,
        is_on_fn=_stge_flag(lambda stge: stge.clock_degraded),
    ),
    TicBinarySensorEntityDescription(
        key="cpl_synchronised",
        translation_key="cpl_synchronised",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        present_fn=_has_stge,
        is_on_fn=_stge_flag(lambda stge: stge.cpl_synchronised),
    ),
    *(
        TicBinarySensorEntityDescription(
            key=f"relay_{number}",
            translation_key=f"relay_{number}",
            entity_registry_enabled_default=number == 1,
            present_fn=lambda reading: "RELAIS" in reading.values,
            is_on_fn=_relay(number),
        )
        for number in range(1, 9)
    ),
    *(
        TicBinarySensorEntityDescription(
            key=f"phase_{number}_present",
            translation_key=f"phase_{number}_present",
            device_class=BinarySensorDeviceClass.POWER,
            entity_category=EntityCategory.DIAGNOSTIC,
            present_fn=lambda reading: "PPOT" in reading.values,
            is_on_fn=_phase_present(number),
        )
        for number in range(1, 4)
    ),
)


class TicBinarySensor(TicEntity, BinarySensorEntity):
    """A binary sensor whose state comes from the latest reading of its meter."""

    entity_description: TicBinarySensorEntityDescription

    def _shown_value(self) -> object:
        return self.entity_description.is_on_fn(self.coordinator)

    @property
    def is_on(self) -> bool | None:
        """The flag from the latest reading."""
        return self.entity_description.is_on_fn(self.coordinator)


@dataclass(frozen=True, kw_only=True)
class MqttBinarySensorEntityDescription(MqttMeterEntityDescription, BinarySensorEntityDescription):
    """An MQTT meter binary sensor: how to read its state from the meter's latest state."""

    is_on_fn: Callable[[MeterState], bool | None]
    unseen_is_on: bool | None = None
    """The state before the meter spoke in this run (after a restart): unknown by default."""


def _reading_flag(key: str) -> Callable[[MeterState], bool | None]:
    def is_on(meter: MeterState) -> bool | None:
        flag = None if meter.reading is None else meter.reading.values.get(key)
        return flag if isinstance(flag, bool) else None

    return is_on


MQTT_BINARY_SENSORS: tuple[MqttBinarySensorEntityDescription, ...] = (
    MqttBinarySensorEntityDescription(
        key="connection",
        translation_key="connection",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        always_available=True,
        shown_key=None,
        is_on_fn=lambda meter: meter.online,
        unseen_is_on=False,
    ),
    MqttBinarySensorEntityDescription(
        key="import_active",
        translation_key="import_active",
        device_class=BinarySensorDeviceClass.POWER,
        shown_key="import.active",
        is_on_fn=_reading_flag("import.active"),
    ),
    MqttBinarySensorEntityDescription(
        key="export_active",
        translation_key="export_active",
        device_class=BinarySensorDeviceClass.POWER,
        shown_key="export.active",
        is_on_fn=_reading_flag("export.active"),
    ),
    MqttBinarySensorEntityDescription(
        key="solar_generating",
        translation_key="solar_generating",
        device_class=BinarySensorDeviceClass.POWER,
        shown_key="solar.generating",
        is_on_fn=_reading_flag("solar.generating"),
    ),
)


class MqttMeterBinarySensor(MqttMeterEntity, BinarySensorEntity):
    """A binary sensor whose state comes from the latest messages of its MQTT meter."""

    entity_description: MqttBinarySensorEntityDescription

    def _shown_value(self) -> object:
        return self.is_on

    @property
    def is_on(self) -> bool | None:
        """The flag from the meter's latest messages."""
        meter = self.meter
        if meter is None:
            return self.entity_description.unseen_is_on
        return self.entity_description.is_on_fn(meter)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add binary sensors as the meter's labels appear, or as MQTT meters appear."""
    runtime = entry.runtime_data
    if isinstance(runtime, MqttRuntimeData) and runtime.coordinator.tic_feed is None:
        async_add_entities_as_meters_appear(
            hass,
            entry,
            Platform.BINARY_SENSOR,
            descriptions=MQTT_BINARY_SENSORS,
            entity_factory=MqttMeterBinarySensor,
            async_add_entities=async_add_entities,
        )
        return
    async_add_entities_as_labels_appear(
        hass,
        entry,
        Platform.BINARY_SENSOR,
        descriptions=BINARY_SENSORS,
        entity_factory=TicBinarySensor,
        async_add_entities=async_add_entities,
    )
