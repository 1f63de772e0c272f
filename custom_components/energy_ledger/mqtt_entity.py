"""Base entity of an MQTT meter: one device per meter, availability, throttled writes.

The MQTT twin of `entity.py`: a meter's entities are created when the meter first sends what
they show (a v2 meter, and its device, when its `meterId` first appears), and entities
registered by an earlier run come back at once, unavailable until their meter speaks again.
A v2 meter taken out of service leaves such a device behind: the user may delete it while it
is offline (`async_remove_config_entry_device`), and it is discovered anew if it comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntry, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import CONF_PROFILE, DOMAIN, KIND_MQTT, PROFILE_ENERLINK_V2
from .entry import EnergyLedgerConfigEntry, MqttRuntimeData, entry_kind
from .mqtt_coordinator import V1_METER, MeterState, MqttCoordinator
from .throttled_entity import ThrottledEntity

MANUFACTURER = "EnerLink"


@dataclass(frozen=True, kw_only=True)
class MqttMeterEntityDescription(EntityDescription):
    """What every MQTT meter entity description says beyond Home Assistant's own fields."""

    shown_key: str | None
    """The value key (`load.power_w`, `health.wifi_rssi_dbm`) the entity shows; the entity is
    created when the meter sends it and unavailable while its latest message lacks it. None:
    shown for every meter (connection, controls). What such an entity shows must depend on
    nothing else of a data message: it hears of one only when that value changed."""
    always_available: bool = False
    """Health entities stay available while the meter is offline (that is what they report)."""


def meter_device_info(coordinator: MqttCoordinator, meter_key: str) -> DeviceInfo:
    """One device per meter: the entry's own for v1, one per `meterId` for v2."""
    entry = coordinator.entry
    if meter_key == V1_METER and not coordinator.is_v2:
        name, model = entry.title, "EnerLink v1"
    else:
        name, model = f"EnerLink {meter_key}", "EnerLink v2"
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.entry_id}_{meter_key}")},
        name=name,
        manufacturer=MANUFACTURER,
        model=model,
    )


def unique_id_for(coordinator: MqttCoordinator, meter_key: str, key: str) -> str:
    """Entry + meter + description key: a meter id is unique on its broker, not everywhere."""
    return f"{coordinator.entry.entry_id}_{meter_key}_{key}"


class MqttMeterEntity(ThrottledEntity):
    """An entity of one meter of an MQTT entry; subclasses say what they show."""

    entity_description: MqttMeterEntityDescription

    def __init__(
        self,
        coordinator: MqttCoordinator,
        meter_key: str,
        description: MqttMeterEntityDescription,
    ) -> None:
        super().__init__(coordinator)
        self.coordinator = coordinator
        self.meter_key = meter_key
        self.entity_description = description
        self._attr_unique_id = unique_id_for(coordinator, meter_key, description.key)
        self._attr_device_info = meter_device_info(coordinator, meter_key)
        self._listener = self._handle_update
        """The listener given to the coordinator, kept: the same object to say it is pending."""
        self._pending = False

    @callback
    def _async_follow(self) -> CALLBACK_TYPE:
        """Hear of this meter's updates only (and of those told to every meter), and of its
        data messages only when they change the entity's value, if it follows one."""
        return self.coordinator.async_add_listener(
            self._listener, self.meter_key, self.entity_description.shown_key
        )

    @callback
    def _handle_update(self, flush: bool) -> None:
        """Write when the throttle allows; say whether a change is held back, so that the
        coordinator keeps telling this entity of every message until it is written."""
        available, value = self.available, self._shown_value()
        if self._throttle.should_write(
            available, value, self.coordinator.min_write_interval, flush=flush
        ):
            self.async_write_ha_state()
        pending = self._throttle.holds_back(available, value)
        if pending is not self._pending:
            self._pending = pending
            self.coordinator.async_set_pending(self.meter_key, self._listener, pending)

    @property
    def meter(self) -> MeterState | None:
        """The meter's latest state, None before it spoke in this run."""
        return self.coordinator.meters.get(self.meter_key)

    @property
    def available(self) -> bool:
        """Unavailable while the meter is offline or its latest message lacks the value."""
        if self.entity_description.always_available:
            return True
        meter = self.meter
        if meter is None or not meter.online:
            return False
        shown_key = self.entity_description.shown_key
        return shown_key is None or shown_key in meter.shown


def _split_unique_id(rest: str, keys: Iterable[str]) -> tuple[str, str] | None:
    """(meter key, description key) of a registered unique id without its entry prefix."""
    for key in sorted(keys, key=len, reverse=True):
        if rest.endswith(f"_{key}") and len(rest) > len(key) + 1:
            return rest[: -len(key) - 1], key
    return None


@callback
def async_add_entities_as_meters_appear[D: MqttMeterEntityDescription](
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    platform: Platform,
    *,
    descriptions: Iterable[D],
    entity_factory: Callable[[MqttCoordinator, str, D], Entity],
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Create each meter's entities now and whenever it appears or sends something new."""
    runtime = entry.runtime_data
    assert isinstance(runtime, MqttRuntimeData)
    coordinator = runtime.coordinator
    by_key = {d.key: d for d in descriptions}
    created: set[tuple[str, str]] = set()

    def add(pairs: Iterable[tuple[str, str]]) -> None:
        new = [pair for pair in pairs if pair not in created]
        if new:
            created.update(new)
            async_add_entities(
                entity_factory(coordinator, meter, by_key[key]) for meter, key in new
            )

    prefix = f"{entry.entry_id}_"
    registered = (
        _split_unique_id(reg.unique_id.removeprefix(prefix), by_key)
        for reg in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if reg.domain == platform and reg.unique_id.startswith(prefix)
    )
    add(pair for pair in registered if pair is not None)

    @callback
    def on_meter(meter_key: str) -> None:
        meter = coordinator.meters.get(meter_key)
        if meter is None:  # forgotten (device removed): its entities are gone with the device
            created.difference_update([pair for pair in created if pair[0] == meter_key])
            return
        add(
            (meter_key, d.key)
            for d in by_key.values()
            if d.shown_key is None or d.shown_key in meter.shown
        )

    entry.async_on_unload(coordinator.async_add_meter_listener(on_meter))
    for meter_key in list(coordinator.meters):
        on_meter(meter_key)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: ConfigEntry, device: DeviceEntry
) -> bool:
    """Whether the user may delete `device`: an EnerLink v2 meter's, while it is offline.

    A meter still talking would come straight back, so it is refused; so is every other device
    (a TIC meter, a v1 or per-topic meter), which is its entry's own: remove the entry instead.
    """
    if entry_kind(entry) != KIND_MQTT or entry.data.get(CONF_PROFILE) != PROFILE_ENERLINK_V2:
        return False
    prefix = f"{entry.entry_id}_"
    keys = [
        identifier.removeprefix(prefix)
        for domain, identifier in device.identifiers
        if domain == DOMAIN and identifier.startswith(prefix)
    ]
    if not keys:
        return False
    if entry.state is not ConfigEntryState.LOADED:
        return True  # nothing is online while the entry is not running
    runtime = entry.runtime_data
    assert isinstance(runtime, MqttRuntimeData)
    coordinator = runtime.coordinator
    if any((meter := coordinator.meters.get(key)) is not None and meter.online for key in keys):
        return False
    for key in keys:
        coordinator.async_forget_meter(key)
    return True
