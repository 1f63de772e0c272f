"""Push coordinator of one TIC meter: latest Reading, source health, and when entities may write.

A Linky sends a frame every one or two seconds. Writing every entity at that pace would fill the
recorder of a Raspberry Pi with rows nobody reads, so entities ask the coordinator whether to
write: on a change of value at most every `min_write_interval` seconds, at once on a change of
availability, and without limit in the last second of every UTC hour — a timer at HH:59:59 writes
what was held back and any frame arriving in that second is written too — so the last state the
recorder sees in an hour is the meter's last value of that hour and hourly statistics match the
registers exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_utc_time_change
from homeassistant.util import dt as dt_util

from .const import CONF_BAUDRATE, CONF_MIN_WRITE_INTERVAL, CONF_PORT, DEFAULT_MIN_WRITE_INTERVAL
from .core.reading import Reading
from .repairs import (
    PORT_UNAVAILABLE_MINUTES,
    clear_port_unavailable,
    note_tic_mode,
    raise_port_unavailable,
)
from .sources.tic_serial import TicSerialSource

type UpdateListener = Callable[[bool], None]
"""Called with `flush=True` at the end of each hour, False on every new reading."""
type LabelsListener = Callable[[frozenset[str]], None]


class TicCoordinator:
    """Receives the readings of the source's frames and tells entities."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.source = TicSerialSource(
            entry.data[CONF_PORT],
            baudrate_hint=entry.data.get(CONF_BAUDRATE),
            on_reading=self.handle_reading,
            on_connection=self.handle_connection,
            clock=dt_util.utcnow,
        )
        self.reading: Reading | None = None
        self.labels: frozenset[str] = frozenset()
        self.frames_received = 0
        self.meter_clock_drift: float | None = None
        self.connected = False
        """True while the source delivers frames (told by the source, not polled)."""
        self._listeners: list[UpdateListener] = []
        self._labels_listeners: list[LabelsListener] = []
        self._unsub_hourly: CALLBACK_TYPE | None = None
        self._unsub_port_issue: CALLBACK_TYPE | None = None

    @property
    def min_write_interval(self) -> float:
        """Seconds between two writes of an entity whose value keeps changing."""
        return float(self.entry.options.get(CONF_MIN_WRITE_INTERVAL, DEFAULT_MIN_WRITE_INTERVAL))

    @callback
    def async_start(self) -> None:
        """Start the hourly flush and the port watch; the source is started by the caller."""
        # Statistics hours are UTC hours: a local-time timer would miss them in half-hour zones.
        self._unsub_hourly = async_track_utc_time_change(
            self.hass, self._flush_hour, minute=59, second=59
        )
        self._watch_port()

    @callback
    def async_stop(self) -> None:
        """Stop the timers and withdraw the repair issue of this entry."""
        for unsub in (self._unsub_hourly, self._unsub_port_issue):
            if unsub is not None:
                unsub()
        self._unsub_hourly = self._unsub_port_issue = None
        clear_port_unavailable(self.hass, self.entry)

    def _watch_port(self) -> None:
        """Raise the repair issue if the port is still unreadable after a few minutes."""

        @callback
        def still_unavailable(_now: datetime) -> None:
            self._unsub_port_issue = None
            raise_port_unavailable(self.hass, self.entry, self.source.last_error)

        self._unsub_port_issue = async_call_later(
            self.hass, PORT_UNAVAILABLE_MINUTES * 60, still_unavailable
        )

    @callback
    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener` on every reading and at each hour flush."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_labels_listener(self, listener: LabelsListener) -> CALLBACK_TYPE:
        """Call `listener` with the labels the meter sends for the first time."""
        self._labels_listeners.append(listener)
        return lambda: self._labels_listeners.remove(listener)

    @callback
    def handle_reading(self, reading: Reading) -> None:
        """Keep the reading of a frame from the source and notify entities."""
        now = reading.received_at  # the source's clock: Home Assistant's
        self.reading = reading
        self.frames_received += 1
        if reading.meter_clock is not None:
            self.meter_clock_drift = (reading.meter_clock - now).total_seconds()
        if new_labels := frozenset(reading.values) - self.labels:
            self.labels |= new_labels
            for labels_listener in list(self._labels_listeners):
                labels_listener(new_labels)
        self._notify(flush=now.minute == 59 and now.second == 59)

    @callback
    def handle_connection(self, connected: bool) -> None:
        """The link went up or down: every entity writes at once (availability, link sensor).

        The link comes up after every detection, so this is where a new TIC mode shows.
        """
        self.connected = connected
        if connected:
            if self._unsub_port_issue is not None:
                self._unsub_port_issue()
                self._unsub_port_issue = None
            clear_port_unavailable(self.hass, self.entry)
            if self.source.mode is not None:
                note_tic_mode(self.hass, self.entry, self.source.mode, self.source.baudrate)
        else:
            self._watch_port()
        self._notify(flush=True)

    @callback
    def _flush_hour(self, _now: datetime) -> None:
        self._notify(flush=True)

    def _notify(self, *, flush: bool) -> None:
        for listener in list(self._listeners):
            listener(flush)


class WriteThrottle:
    """Decides when an entity writes its state; one per entity.

    A change of availability is written at once; a change of value at most once per interval,
    except at the hourly flush. Kept apart from the entity classes so every platform follows
    the same rule.
    """

    __slots__ = ("_available", "_last_write", "_value")

    def __init__(self) -> None:
        self._available: bool | None = None
        self._value: object = object()
        self._last_write = float("-inf")

    def should_write(self, available: bool, value: object, interval: float, *, flush: bool) -> bool:
        """True when (`available`, `value`) differ from what was written and may be written now."""
        if available == self._available and value == self._value:
            return False
        now = time.monotonic()
        if available == self._available and not flush and now - self._last_write < interval:
            return False
        self._available, self._value, self._last_write = available, value, now
        return True

    def holds_back(self, available: bool, value: object) -> bool:
        """True when (`available`, `value`) differ from what was last written: a change waits
        for its interval."""
        return not (available == self._available and value == self._value)
