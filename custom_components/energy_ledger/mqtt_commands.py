"""Commands of an MQTT entry in Home Assistant: publish, follow in Home Assistant time, report.

The pure `core.mqtt.commands` builds commands and matches acknowledgements; this module puts
them on the broker (QoS 1, through the entry's source), shows the tracker every inbound message
the coordinator receives, times commands out with Home Assistant timers (so tests drive them
with `async_fire_time_changed`), and reports each step twice: an `energy_ledger_command` event
for automations and the meter's "Last command" sensor, through `async_add_listener`.

A command is tracked *before* it is published: a quick meter may acknowledge before the broker's
PUBACK is back, and that acknowledgement must not be missed. Its outcome is then held until the
publish returns, so the events always come in order: pending first, then the outcome.

The timeout is the entry's option, read at each send. What the entities show outlives a
restart through them (`mqtt_command_entity`): they hand back the latest command and the
acknowledged settings here when they are added again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .const import (
    CONF_COMMAND_TIMEOUT,
    DOMAIN,
    PROFILE_ENERLINK_V1,
    PROFILE_ENERLINK_V2,
    V2_TOPIC_ROOT,
)
from .core.mqtt.commands import (
    DEFAULT_TIMEOUT,
    Command,
    CommandStatus,
    CommandTracker,
    TrackedCommand,
    command_settings,
)
from .mqtt_coordinator import MqttCoordinator
from .sources.mqtt import MqttPublishError

EVENT_COMMAND: Final = "energy_ledger_command"
COMMAND_PROFILES: Final = frozenset({PROFILE_ENERLINK_V1, PROFILE_ENERLINK_V2})
"""Profiles whose meters take EnerLink commands (a TIC-to-MQTT bridge takes none)."""

type CommandListener = Callable[[str], None]
"""Called with a meter key when one of its commands changes status or a setting is confirmed."""


class MqttCommands:
    """Sends the commands of one MQTT entry and follows them to their outcome."""

    def __init__(self, hass: HomeAssistant, coordinator: MqttCoordinator) -> None:
        self.hass = hass
        self.coordinator = coordinator
        self.tracker = CommandTracker()
        self.last: dict[str, TrackedCommand] = {}
        """The latest command sent to each meter, as it stands now."""
        self._settings: dict[str, dict[str, tuple[datetime, object]]] = {}
        self._timers: dict[str, CALLBACK_TYPE] = {}
        self._publishing: dict[str, TrackedCommand | None] = {}
        self._listeners: list[CommandListener] = []

    @property
    def timeout(self) -> timedelta:
        """How long a meter has to acknowledge, from the entry's options.

        Read at each send, so a new value applies to the next command without a reload, and
        commands already pending keep the deadline they were sent with.
        """
        seconds = self.coordinator.entry.options.get(CONF_COMMAND_TIMEOUT)
        return DEFAULT_TIMEOUT if seconds is None else timedelta(seconds=seconds)

    def command_topic(self, meter_key: str) -> str:
        """v1: `<prefix>/command`; v2: `enerlink/meters/command/<meterId>`."""
        if self.coordinator.is_v2:
            return f"{V2_TOPIC_ROOT}/command/{meter_key}"
        return f"{self.coordinator.prefix}/command"

    def _is_command_topic(self, topic: str) -> bool:
        """A command on its way to a meter (ours, echoed by a wildcard subscription): no answer.

        Anything else counts, including an acknowledgement on a sub-topic of the command topic.
        """
        if self.coordinator.is_v2:
            meter = topic.removeprefix(f"{V2_TOPIC_ROOT}/command/")
            return meter != topic and "/" not in meter
        return topic == f"{self.coordinator.prefix}/command"

    def setting(self, meter_key: str, name: str) -> tuple[datetime, object] | None:
        """When and to what the meter last confirmed setting `name` (`command_settings`)."""
        return self._settings.get(meter_key, {}).get(name)

    @callback
    def async_add_listener(self, listener: CommandListener) -> CALLBACK_TYPE:
        """Call `listener` with the meter key whenever one of its commands moves on."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_send(self, meter_key: str, command: Command) -> TrackedCommand:
        """Publish `command` to the meter with QoS 1 and start waiting for its acknowledgement.

        Raises a translated HomeAssistantError when the broker is unreachable or refuses; the
        command is then forgotten, as it never left.
        """
        correlation_id = command.correlation_id
        tracked, given_up = self.tracker.track(meter_key, command, dt_util.utcnow(), self.timeout)
        for old in given_up:
            self._settled(old)
        self._publishing[correlation_id] = None
        published = False
        try:
            await self.coordinator.source.publish(
                self.command_topic(meter_key), command.encode(), qos=1
            )
            published = True
        except MqttPublishError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="broker_unavailable"
            ) from err
        finally:
            early = self._publishing.pop(correlation_id)
            if not published:
                self.tracker.discard(correlation_id)
        self.last[meter_key] = tracked
        self._announce(tracked)
        if early is not None:
            self._settled(early)
        else:
            self._timers[correlation_id] = async_call_later(
                self.hass,
                tracked.deadline - tracked.sent_at,
                partial(self._time_out, correlation_id),
            )
        return tracked

    @callback
    def async_restore_last(self, meter_key: str, tracked: TrackedCommand) -> None:
        """Take back the meter's latest command from before a restart (its sensor stored it).

        A command sent in this run is newer and wins. One still pending at shutdown comes back
        timed out (`TrackedCommand.after_restart`), with its event, so an automation waiting
        for an outcome gets one.
        """
        if meter_key in self.last:
            return
        restored = tracked.after_restart(dt_util.utcnow())
        self.last[meter_key] = restored
        if restored is not tracked:
            self._announce(restored)

    @callback
    def async_restore_setting(
        self, meter_key: str, name: str, acknowledged_at: datetime, value: object
    ) -> None:
        """Take back a setting the meter acknowledged before a restart, unless one is newer."""
        settings = self._settings.setdefault(meter_key, {})
        known = settings.get(name)
        if known is None or known[0] < acknowledged_at:
            settings[name] = (acknowledged_at, value)

    @callback
    def async_observe(self, topic: str, payload: bytes) -> None:
        """Look for acknowledgements in one inbound message (the coordinator calls this)."""
        if not self.tracker.pending or self._is_command_topic(topic):
            return
        for tracked in self.tracker.observe(payload, dt_util.utcnow()):
            self._settled(tracked)

    @callback
    def _time_out(self, correlation_id: str, now: datetime) -> None:
        self._timers.pop(correlation_id, None)
        if (tracked := self.tracker.expire(correlation_id, now)) is not None:
            self._settled(tracked)

    @callback
    def async_stop(self) -> None:
        """Cancel the timeouts (the entry is unloading; nothing will report the outcomes)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    def _settled(self, tracked: TrackedCommand) -> None:
        correlation_id = tracked.command.correlation_id
        if correlation_id in self._publishing:
            self._publishing[correlation_id] = tracked  # reported once the publish returns
            return
        if (cancel := self._timers.pop(correlation_id, None)) is not None:
            cancel()
        if tracked.status is CommandStatus.ACKNOWLEDGED and tracked.settled_at is not None:
            settings = self._settings.setdefault(tracked.meter, {})
            for name, value in command_settings(tracked.command.body).items():
                settings[name] = (tracked.settled_at, value)
        last = self.last.get(tracked.meter)
        if last is not None and last.command.correlation_id == correlation_id:
            self.last[tracked.meter] = tracked
        self._announce(tracked)

    def _announce(self, tracked: TrackedCommand) -> None:
        self.hass.bus.async_fire(EVENT_COMMAND, self._event_data(tracked))
        for listener in list(self._listeners):
            listener(tracked.meter)

    def _event_data(self, tracked: TrackedCommand) -> dict[str, Any]:
        entry_id = self.coordinator.entry.entry_id
        device = dr.async_get(self.hass).async_get_device(
            identifiers={(DOMAIN, f"{entry_id}_{tracked.meter}")}
        )
        return {
            "entry_id": entry_id,
            "device_id": None if device is None else device.id,
            "meter": tracked.meter,
            "command": copy.deepcopy(dict(tracked.command.body)),
            "correlation_id": tracked.command.correlation_id,
            "status": tracked.status.value,
        }
