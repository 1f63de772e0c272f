"""Base entity of a TIC meter: device, availability, throttled writes, dynamic creation.

A TIC meter is a Linky on a serial port (`TicCoordinator`) or a one-value-per-topic Linky behind
an MQTT bridge (`PerTopicFeed`): both offer the `TicFeed` interface, so both get the same
entities from the same descriptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import DOMAIN
from .coordinator import LabelsListener, UpdateListener
from .core.reading import Reading
from .core.tic import LABELS, decode_address
from .entry import EnergyLedgerConfigEntry, MqttRuntimeData, TicRuntimeData
from .per_topic_feed import PerTopicFeed
from .throttled_entity import ThrottledEntity
from .unique_ids import meter_entity_unique_id


class TicFeed(Protocol):
    """What TIC entities read from their meter, serial or per-topic MQTT."""

    @property
    def entry(self) -> ConfigEntry:
        """The meter's config entry."""
        ...

    @property
    def reading(self) -> Reading | None:
        """The latest decoded values, None before the first."""
        ...

    @property
    def labels(self) -> frozenset[str]:
        """Every label the meter sent so far."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the meter is reachable and talking."""
        ...

    @property
    def meter_clock_drift(self) -> float | None:
        """Seconds the meter's clock is ahead of Home Assistant's."""
        ...

    @property
    def min_write_interval(self) -> float:
        """Seconds between two writes of an entity whose value keeps changing."""
        ...

    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` on every update, with `flush=True` when writing is due regardless."""
        ...

    def async_add_labels_listener(self, listener: LabelsListener) -> CALLBACK_TYPE:
        """Call `listener` with the labels the meter sends for the first time."""
        ...


def tic_feed_of(entry: EnergyLedgerConfigEntry) -> TicFeed | None:
    """The TIC meter of an entry: its serial coordinator or its per-topic feed; else None."""
    runtime = entry.runtime_data
    if isinstance(runtime, TicRuntimeData):
        return runtime.coordinator
    if isinstance(runtime, MqttRuntimeData):
        return runtime.coordinator.tic_feed
    return None  # a ledger entry reads meters, it is none


@dataclass(frozen=True, kw_only=True)
class TicEntityDescription(EntityDescription):
    """What every TIC entity description says beyond Home Assistant's own fields."""

    present_fn: Callable[[Reading], bool]
    """Whether this meter sends what the entity shows; entities are created when it does."""
    always_available: bool = False
    """Health entities stay available while the port is down (that is what they report)."""


def meter_device_info(coordinator: TicFeed) -> DeviceInfo:
    """One device per meter; manufacturer and model come from the meter address."""
    if isinstance(coordinator, PerTopicFeed):
        return coordinator.device_info()
    address = coordinator.entry.unique_id or coordinator.entry.entry_id
    info = DeviceInfo(identifiers={(DOMAIN, address)}, name=coordinator.entry.title)
    if decoded := decode_address(address):
        info["manufacturer"] = decoded.manufacturer
        if decoded.model:
            info["model"] = decoded.model
    return info


class TicEntity(ThrottledEntity):
    """An entity fed by a TIC coordinator.

    Subclasses say what they show through `_shown_value()`.
    """

    entity_description: TicEntityDescription

    def __init__(self, coordinator: TicFeed, description: TicEntityDescription) -> None:
        super().__init__(coordinator)
        self.coordinator = coordinator
        self.entity_description = description
        self._attr_unique_id = unique_id_for(coordinator, description.key)
        self._attr_device_info = meter_device_info(coordinator)

    @property
    def available(self) -> bool:
        """Unavailable while the port is down or the meter does not send this value."""
        if self.entity_description.always_available:
            return True
        reading = self.coordinator.reading
        return (
            self.coordinator.connected
            and reading is not None
            and self.entity_description.present_fn(reading)
        )


def unique_id_for(coordinator: TicFeed, key: str) -> str:
    """Meter address + description key: stable across ports and restarts."""
    if isinstance(coordinator, PerTopicFeed):
        return meter_entity_unique_id(coordinator.unique_id_prefix, key)
    return meter_entity_unique_id(coordinator.entry.unique_id, key)


@callback
def async_add_entities_as_labels_appear[D: TicEntityDescription](
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    platform: Platform,
    *,
    descriptions: Iterable[D],
    entity_factory: Callable[[TicFeed, D], Entity],
    async_add_entities: AddEntitiesCallback,
    describe_unknown_label: Callable[[str], D] | None = None,
) -> None:
    """Create the entities this meter needs, now and whenever it starts sending a new label.

    Entities registered by an earlier run are created at once, before the first frame, so they
    come back unavailable rather than missing after a restart with the dongle unplugged.
    `describe_unknown_label` describes a label outside the catalogue (its key is the label).
    """
    coordinator = tic_feed_of(entry)
    assert coordinator is not None
    pending = {unique_id_for(coordinator, d.key): d for d in descriptions}
    registered = {
        reg.unique_id
        for reg in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if reg.domain == platform
    }

    def describe_unknown_labels(labels: Iterable[str]) -> None:
        if describe_unknown_label is None:
            return
        for label in labels:
            if label not in LABELS:
                description = describe_unknown_label(label)
                pending.setdefault(unique_id_for(coordinator, description.key), description)

    prefix = unique_id_for(coordinator, "")
    describe_unknown_labels(
        uid.removeprefix(prefix).upper()
        for uid in registered
        if uid.startswith(prefix) and uid not in pending
    )

    def add(unique_ids: Iterable[str]) -> None:
        ids = list(unique_ids)
        if ids:
            async_add_entities(entity_factory(coordinator, pending.pop(uid)) for uid in ids)

    add(uid for uid, d in pending.items() if uid in registered or d.always_available)

    @callback
    def on_new_labels(labels: frozenset[str]) -> None:
        describe_unknown_labels(labels)
        reading = coordinator.reading
        if reading is not None:
            add(uid for uid, d in list(pending.items()) if d.present_fn(reading))

    entry.async_on_unload(coordinator.async_add_labels_listener(on_new_labels))
    on_new_labels(frozenset())
