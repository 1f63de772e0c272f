"""A one-value-per-topic Linky (a TIC-to-MQTT bridge) seen the way TIC entities see a serial one.

The MQTT coordinator of such an entry hands every message under the base topic to this feed,
which keeps the latest value of each label in the core's `TopicAccumulator` and offers what TIC
entities read from a `TicCoordinator`: the latest `Reading`, the labels sent so far, the meter
clock drift, whether the meter is online, and the same update listeners. So the sensor and
binary-sensor platforms create exactly the entities a serial Linky gets, from the same
descriptions, with one device per base topic.

A bridge publishes a frame as a burst of messages, one per label; the `Reading` is rebuilt from
the accumulator only when an entity asks after a change, not once per message.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers.device_registry import DeviceInfo

from .const import DOMAIN
from .coordinator import LabelsListener, UpdateListener
from .core.mqtt import Problem, TopicAccumulator
from .core.reading import Reading
from .core.tic import decode_address

if TYPE_CHECKING:
    from .mqtt_coordinator import MqttCoordinator

TIC_METER: Final = "tic"
"""Key of the single meter of a per-topic entry in the coordinator's meters."""


class PerTopicFeed:
    """The latest values of one per-topic Linky, with `TicCoordinator`'s reading interface."""

    def __init__(self, coordinator: MqttCoordinator, base_topic: str) -> None:
        self._coordinator = coordinator
        self.base_topic = base_topic
        self.labels: frozenset[str] = frozenset()
        self.meter_clock_drift: float | None = None
        self._accumulator = TopicAccumulator(base_topic)
        self._reading: Reading | None = None
        self._received_at: datetime | None = None
        self._labels_listeners: list[LabelsListener] = []

    @property
    def entry(self) -> ConfigEntry:
        """The MQTT entry this meter belongs to."""
        return self._coordinator.entry

    @property
    def connected(self) -> bool:
        """Online: the broker link is up and the bridge spoke within the expected intervals."""
        meter = self._coordinator.meters.get(TIC_METER)
        return meter is not None and meter.online

    @property
    def min_write_interval(self) -> float:
        """Seconds between two writes of an entity whose value keeps changing."""
        return self._coordinator.min_write_interval

    @property
    def reading(self) -> Reading | None:
        """The latest value of every label, decoded as a serial frame would be."""
        if self._reading is None and self._received_at is not None:
            self._reading = self._accumulator.reading(self._received_at)
        return self._reading

    @property
    def unique_id_prefix(self) -> str:
        """Entry and meter: unlike a broker's host, stable when the entry is reconfigured."""
        return f"{self.entry.entry_id}_{TIC_METER}"

    def device_info(self) -> DeviceInfo:
        """One device per base topic; maker and model from the address, once it was sent."""
        info = DeviceInfo(
            identifiers={(DOMAIN, self.unique_id_prefix)},
            name=self.entry.title,
            model="Linky (TIC over MQTT)",
        )
        reading = self.reading
        if reading is not None and (decoded := decode_address(reading.meter_id)):
            info["manufacturer"] = decoded.manufacturer
            if decoded.model:
                info["model"] = decoded.model
        return info

    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` on every update and at each hour flush (the coordinator's)."""
        return self._coordinator.async_add_listener(listener)

    def async_add_labels_listener(self, listener: LabelsListener) -> CALLBACK_TYPE:
        """Call `listener` with the labels the meter sends for the first time."""
        self._labels_listeners.append(listener)
        return lambda: self._labels_listeners.remove(listener)

    def feed(self, topic: str, payload: bytes, received_at: datetime) -> Problem | None:
        """Keep one message's value; a problem (returned) keeps the label's previous value."""
        result = self._accumulator.feed(topic, payload)
        if isinstance(result, Problem):
            return result
        self._reading = None
        self._received_at = received_at
        if result.label == "DATE" and isinstance(result.value, datetime):
            self.meter_clock_drift = (result.value - received_at).total_seconds()
        if result.label not in self.labels:
            reading = self.reading
            assert reading is not None  # a value was just kept
            if new_labels := frozenset(reading.values) - self.labels:
                self.labels |= new_labels
                for listener in list(self._labels_listeners):
                    listener(new_labels)
        return None
