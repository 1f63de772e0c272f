"""Base of every Energy Ledger entity: push updates from a coordinator, throttled state writes.

TIC and MQTT entities differ in what they show and when they are available; how they follow
their coordinator and when they may write is the same, and lives here once.
"""

from __future__ import annotations

from typing import Protocol

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.entity import Entity

from .coordinator import UpdateListener, WriteThrottle


class PushCoordinator(Protocol):
    """What a throttled entity needs from its coordinator."""

    @property
    def min_write_interval(self) -> float:
        """Seconds between two writes of an entity whose value keeps changing."""
        ...

    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` on every update, with `flush=True` when writing is due regardless."""
        ...


class ThrottledEntity(Entity):
    """Writes its state only when `WriteThrottle` allows, so no platform floods the recorder.

    Subclasses say what they show through `_shown_value()`.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, coordinator: PushCoordinator) -> None:
        self._push_coordinator = coordinator
        self._throttle = WriteThrottle()

    def _shown_value(self) -> object:
        """What the entity shows; compared between writes."""
        raise NotImplementedError

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator; Home Assistant writes the first state itself."""
        self._throttle.should_write(self.available, self._shown_value(), 0.0, flush=True)
        self.async_on_remove(self._async_follow())

    @callback
    def _async_follow(self) -> CALLBACK_TYPE:
        """Start hearing of the coordinator's updates; returns how to stop."""
        return self._push_coordinator.async_add_listener(self._handle_update)

    @callback
    def _handle_update(self, flush: bool) -> None:
        if self._throttle.should_write(
            self.available,
            self._shown_value(),
            self._push_coordinator.min_write_interval,
            flush=flush,
        ):
            self.async_write_ha_state()
