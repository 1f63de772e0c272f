"""Set up and tear down a meter entry: source, coordinator, platforms.

An entry is a TIC meter (a serial port) or an MQTT broker with its meters; `kind` in the entry
data says which, and entries made before MQTT meters existed have none: they are TIC.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .const import CONF_KIND, DOMAIN, KIND_LEDGER, KIND_MQTT, KIND_TIC
from .coordinator import TicCoordinator
from .ledger_coordinator import LedgerCoordinator
from .ledger_settings import settings_from_options
from .ledger_statistics import LedgerStatistics
from .mqtt_commands import COMMAND_PROFILES, MqttCommands
from .mqtt_coordinator import MqttCoordinator
from .repairs import mode_issue_id
from .services import async_setup_services

PLATFORMS: tuple[Platform, ...] = (Platform.SENSOR, Platform.BINARY_SENSOR)
MQTT_PLATFORMS: tuple[Platform, ...] = (
    *PLATFORMS,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
)
"""MQTT meters also have controls (the platforms add none for meters that take no commands)."""
LEDGER_PLATFORMS: tuple[Platform, ...] = (Platform.SENSOR,)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass(slots=True)
class TicRuntimeData:
    """What a loaded TIC entry keeps: the coordinator (which holds the source)."""

    coordinator: TicCoordinator


@dataclass(slots=True)
class MqttRuntimeData:
    """What a loaded MQTT entry keeps: the coordinator (which holds the broker source)."""

    coordinator: MqttCoordinator
    commands: MqttCommands | None = None
    """Sends and follows commands; None for meters that take none (`COMMAND_PROFILES`)."""


@dataclass(slots=True)
class LedgerRuntimeData:
    """What a loaded ledger entry keeps: its coordinator (which follows the source entities)."""

    coordinator: LedgerCoordinator
    statistics: LedgerStatistics
    """Writes the ledger's finished hours to long-term statistics."""


type EnergyLedgerConfigEntry = ConfigEntry[TicRuntimeData | MqttRuntimeData | LedgerRuntimeData]


def entry_kind(entry: ConfigEntry) -> str:
    """`tic` or `mqtt`; entries without a kind predate MQTT meters and are TIC."""
    kind: str = entry.data.get(CONF_KIND, KIND_TIC)
    return kind


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Start reading the port or the broker; entities appear as values arrive.

    Setup does not wait for the meter: a dongle unplugged at boot or a broker down makes the
    entities unavailable and the source keeps retrying, which is what a user expects after a
    power cut.
    """
    if entry_kind(entry) == KIND_MQTT:
        return await _async_setup_mqtt(hass, entry)
    if entry_kind(entry) == KIND_LEDGER:
        return await _async_setup_ledger(hass, entry)
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
    commands = None
    if coordinator.profile in COMMAND_PROFILES:
        commands = MqttCommands(hass, coordinator)
        entry.async_on_unload(coordinator.async_add_inbound_observer(commands.async_observe))
        entry.async_on_unload(commands.async_stop)
    entry.runtime_data = MqttRuntimeData(coordinator, commands)
    # The staleness timer runs at a pace set from the expected interval: re-arm it on new options.
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, MQTT_PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    entry.async_create_background_task(
        hass, coordinator.source.run(), "energy_ledger MQTT connection"
    )
    return True


async def _async_setup_ledger(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Restore the ledger's saved state, then follow its sources; new options reload it."""
    settings = settings_from_options(entry.options, ZoneInfo(hass.config.time_zone))
    coordinator = LedgerCoordinator(hass, entry.entry_id, settings)
    await coordinator.async_load()
    statistics = LedgerStatistics(hass, entry, coordinator, settings)
    await statistics.async_load()
    entry.runtime_data = LedgerRuntimeData(coordinator, statistics)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, LEDGER_PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    # Hours the ledger finishes become long-term statistics, written in the background.
    statistics.async_start()
    return True


async def _async_reload(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> None:
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def _async_options_updated(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> None:
    runtime = entry.runtime_data
    if isinstance(runtime, MqttRuntimeData):
        runtime.coordinator.async_arm_staleness_check()


async def async_remove_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> None:
    """A deleted ledger's saved state is deleted with it, a deleted meter's mode issue too (it
    outlives restarts, not its entry)."""
    ir.async_delete_issue(hass, DOMAIN, mode_issue_id(entry.entry_id))
    if entry_kind(entry) == KIND_LEDGER:
        await LedgerCoordinator.async_remove_saved_state(hass, entry.entry_id)
        await LedgerStatistics.async_remove_saved_state(hass, entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: EnergyLedgerConfigEntry) -> bool:
    """Unload the platforms; the reader task and the timers stop with the entry."""
    platforms = {KIND_MQTT: MQTT_PLATFORMS, KIND_LEDGER: LEDGER_PLATFORMS}.get(
        entry_kind(entry), PLATFORMS
    )
    return await hass.config_entries.async_unload_platforms(entry, platforms)
