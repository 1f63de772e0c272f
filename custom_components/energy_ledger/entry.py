"""Set up and tear down a meter entry: source, coordinator, platforms.

An entry is a TIC meter (a serial port) or an MQTT broker with its meters; `kind` in the entry
data says which, and entries made before MQTT meters existed have none: they are TIC.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .const import CONF_KIND, KIND_MQTT, KIND_TIC
from .coordinator import TicCoordinator
from .mqtt_coordinator import MqttCoordinator

PLATFORMS: tuple[Platform, ...] = (Platform.SENSOR, Platform.BINARY_SENSOR)


@dataclass(slots=True)
class TicRuntimeData:
    """What a loaded TIC entry keeps: the coordinator (which holds the source)."""

    coordinator: TicCoordinator


@dataclass(slots=True)
class MqttRuntimeData:
    """What a loaded MQTT entry keeps: the coordinator (which holds the broker source)."""

    coordinator: MqttCoordinator


type EnergyLedgerConfigEntry = ConfigEntry[TicRuntimeData | MqttRuntimeData]


def entry_kind(entry: ConfigEntry) -> str:
    """`tic` or `mqtt`; entries without a kind predate MQTT meters and are TIC."""
    kind: str = entry.data.get(CONF_KIND, KIND_TIC)
    return kind


async def async_setup_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Start reading the port or the broker; entities appear as values arrive.

    Setup does not wait for the meter: a dongle unplugged at boot or a broker down makes the
    entities unavailable and the source keeps retrying, which is what a user expects after a
    power cut.
    """
    if entry_kind(entry) == KIND_MQTT:
        return await _async_setup_mqtt(hass, entry)
    coordinator = TicCoordinator(hass, entry)
    entry.runtime_data = TicRuntimeData(coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    # Cancelled by Home Assistant on unload and on shutdown.
    entry.async_create_background_task(hass, coordinator.source.run(), "energy_ledger TIC reader")
    return True


async def _async_setup_mqtt(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    coordinator = MqttCoordinator(hass, entry)
    entry.runtime_data = MqttRuntimeData(coordinator)
    # The staleness timer runs at a pace set from the expected interval: re-arm it on new options.
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    entry.async_create_background_task(
        hass, coordinator.source.run(), "energy_ledger MQTT connection"
    )
    return True


async def _async_options_updated(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> None:
    runtime = entry.runtime_data
    if isinstance(runtime, MqttRuntimeData):
        runtime.coordinator.async_arm_staleness_check()


async def async_unload_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Unload the platforms; the reader task and the timers stop with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
