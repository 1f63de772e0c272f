"""Set up and tear down a TIC meter entry: source, coordinator, platforms."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .coordinator import TicCoordinator

PLATFORMS: tuple[Platform, ...] = (Platform.SENSOR, Platform.BINARY_SENSOR)


@dataclass(slots=True)
class TicRuntimeData:
    """What a loaded TIC entry keeps: the coordinator (which holds the source)."""

    coordinator: TicCoordinator


type EnergyLedgerConfigEntry = ConfigEntry[TicRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Start reading the port; entities appear as the meter's labels arrive.

    Setup does not wait for the meter: a dongle unplugged at boot makes the entities unavailable
    and the source keeps retrying, which is what a user expects after a power cut.
    """
    coordinator = TicCoordinator(hass, entry)
    entry.runtime_data = TicRuntimeData(coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    # Cancelled by Home Assistant on unload and on shutdown.
    entry.async_create_background_task(hass, coordinator.source.run(), "energy_ledger TIC reader")
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Unload the platforms; the reader task and the hourly flush stop with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
