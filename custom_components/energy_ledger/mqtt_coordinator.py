"""Push coordinator of an MQTT broker entry: its meters' latest data, health and availability.

One entry is one broker connection with one payload profile:

* EnerLink v1 (`<prefix>/sensors`, `/heartbeat`, `/status`): one meter, the entry's own;
* EnerLink v2 (`enerlink/meters/data`, `/status`): any number of meters sharing the topics, each
  `meterId` a device of its own, created when it first appears;
* TIC labels, one topic per value (`<base>/#`): one Linky behind a TIC-to-MQTT bridge, whose
  values `PerTopicFeed` offers to the TIC entities.

The broker is reached directly (`MqttSource`) or through Home Assistant's own MQTT integration
(`HaMqttSource`, entry `transport` = `home_assistant`); both hand over raw messages alike.

Messages are decoded by the pure core (`core.mqtt`); this class keeps, per meter, the latest
`Reading`, heartbeat and status, and tells entities. A message that does not decode leaves what
the meter showed untouched: its problems are counted by kind and each kind is logged once per
topic, never once per message. A meter is online while the broker link is up and it sent valid
data or a heartbeat within `OFFLINE_AFTER_INTERVALS` expected intervals; the broker going down
takes every meter offline at once, and only fresh messages bring them back.

Entities write under the same rule as TIC entities (`WriteThrottle`, hourly flush). A data
message is told only to the entities it can change: those of its meter whose value changed, those
that follow no single value, and those still waiting to write a change the throttle held back;
anything else (availability, what the meter sends, heartbeats and status, the broker, the hour)
is told to every entity concerned. With a handful of values changing per message out of dozens,
this spares most entities a look at a message that says nothing new to them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval, async_track_utc_time_change
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BASE_TOPIC,
    CONF_CA_FILE,
    CONF_CLIENT_ID,
    CONF_EXPECTED_INTERVAL,
    CONF_HOST,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MQTT_PORT,
    CONF_PASSWORD,
    CONF_PROFILE,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_TOPIC_PREFIX,
    CONF_TRANSPORT,
    CONF_USERNAME,
    DEFAULT_EXPECTED_INTERVAL,
    DEFAULT_MIN_WRITE_INTERVAL,
    DEFAULT_MQTT_PORT,
    DEFAULT_V1_PREFIX,
    OFFLINE_AFTER_INTERVALS,
    PROFILE_ENERLINK_V2,
    PROFILE_TIC_PER_TOPIC,
    TRANSPORT_HOME_ASSISTANT,
    V2_TOPIC_ROOT,
)
from .coordinator import UpdateListener
from .core.mqtt import (
    SIGNED_SUBSYSTEMS,
    DecodeResult,
    DeviceStatus,
    Heartbeat,
    Problem,
    ProblemKind,
    TotalTracker,
    decode_v1_heartbeat,
    decode_v1_sensors,
    decode_v1_status,
    decode_v2_data,
    decode_v2_status,
)
from .core.reading import Reading
from .per_topic_feed import TIC_METER, PerTopicFeed
from .sources.ha_mqtt import HaMqttSource
from .sources.mqtt import MqttSettings, MqttSource

_LOGGER = logging.getLogger(__name__)

V1_METER: Final = "v1"
"""Key of the single meter of a v1 entry (v1 payloads name no meter)."""

HEALTH_FIELDS: Final = ("uptime_ms", "free_heap_bytes", "wifi_rssi_dbm", "ip_address")
"""Heartbeat and status fields shown as entities, as `health.<field>` in `MeterState.shown`."""
ENERGY_SUFFIXES: Final = ("daily_energy_wh", "total_energy_wh", "settlement_energy_wh")

"""Called with `flush=True` at the end of each hour and on availability changes."""
type MeterListener = Callable[[str], None]
"""Called with a meter key when that meter appears or starts sending something new."""
type InboundObserver = Callable[[str, bytes], None]
"""Shown every inbound message, raw, before decoding (command acknowledgements)."""
_ABSENT: Final = object()


@dataclass(slots=True)
class _MeterListeners:
    """Who hears of one meter's updates, and of which."""

    every: list[UpdateListener] = field(default_factory=list)
    """All of them, in the order they came: told of everything but unchanged values."""
    keyless: list[UpdateListener] = field(default_factory=list)
    """Those that follow no single value: told of every data message too."""
    by_value: dict[str, list[UpdateListener]] = field(default_factory=dict)
    """Those following one value key: told of a data message that changed it."""
    pending: dict[UpdateListener, None] = field(default_factory=dict)
    """Those holding a change back (write throttle): told of every data message until written."""


@dataclass(slots=True)
class MeterState:
    """What one meter last said: data, heartbeat, status, and when."""

    key: str
    """`V1_METER`, or the v2 `meterId` (personal: never logged)."""
    reading: Reading | None = None
    heartbeat: Heartbeat | None = None
    status: DeviceStatus | None = None
    last_seen: float | None = None
    """`time.monotonic()` of the last valid data or heartbeat; None after a broker loss."""
    online: bool = False
    messages: int = 0
    resets: Counter[str] = field(default_factory=Counter)
    """Energy counters seen going down (device resets), by value key."""
    shown: frozenset[str] = frozenset()
    """What the meter's latest messages carry (`compute_shown`), kept for entities."""

    def compute_shown(self) -> frozenset[str]:
        """What the meter sends, for entity creation: value keys plus health fields."""
        shown: set[str] = set()
        if self.reading is not None:
            shown.update(self.reading.values)
        for record in (self.heartbeat, self.status):
            if record is not None:
                shown.update(
                    f"health.{name}"
                    for name in HEALTH_FIELDS
                    if getattr(record, name, None) is not None
                )
        return frozenset(shown)


def settings_from_entry(data: Mapping[str, Any]) -> MqttSettings:
    """The broker settings an MQTT entry's data (or the config flow's form) describes.

    A CA file only means something with TLS (the flow refuses one without it), so it is dropped
    rather than failing the entry when TLS is off. Entries older than these fields have neither.
    """
    tls = bool(data.get(CONF_TLS, False))
    return MqttSettings(
        host=str(data[CONF_HOST]).strip(),
        port=int(data.get(CONF_MQTT_PORT, DEFAULT_MQTT_PORT)),
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        tls=tls,
        ca_file=(data.get(CONF_CA_FILE) or None) if tls else None,
        tls_insecure=tls and bool(data.get(CONF_TLS_INSECURE, False)),
        client_id=data.get(CONF_CLIENT_ID) or None,
    )


class MqttCoordinator:
    """Receives messages from the broker, decodes them per profile and tells entities."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.profile: str = entry.data[CONF_PROFILE]
        self.prefix: str = (entry.data.get(CONF_TOPIC_PREFIX) or DEFAULT_V1_PREFIX).strip("/")
        self.tic_feed: PerTopicFeed | None = None
        """The TIC face of a one-value-per-topic Linky; None for EnerLink profiles."""
        if self.profile == PROFILE_TIC_PER_TOPIC:
            self.tic_feed = PerTopicFeed(self, entry.data[CONF_BASE_TOPIC])
            topics = [f"{self.tic_feed.base_topic}/#"]
        elif self.is_v2:
            topics = [f"{V2_TOPIC_ROOT}/#"]
        else:
            topics = [f"{self.prefix}/{name}" for name in ("sensors", "heartbeat", "status")]
        self.source: MqttSource | HaMqttSource
        if entry.data.get(CONF_TRANSPORT) == TRANSPORT_HOME_ASSISTANT:
            self.source = HaMqttSource(
                hass, topics, on_message=self.handle_message, on_connection=self.handle_connection
            )
        else:
            self.source = MqttSource(
                settings_from_entry(entry.data),
                topics,
                on_message=self.handle_message,
                on_connection=self.handle_connection,
                on_login_refused=self._login_refused,
            )
        self.meters: dict[str, MeterState] = {}
        self.connected = False
        """True while the broker link is up and subscribed (told by the source)."""
        self.problems: Counter[ProblemKind] = Counter()
        """Problems met in payloads, by kind, since the entry was loaded."""
        self.ignored_messages = 0
        """Messages on a subscribed topic that is not one the profile decodes."""
        self._logged: set[tuple[str, ProblemKind]] = set()
        self._totals = TotalTracker()
        self._listeners: list[UpdateListener] = []
        self._listeners_by_meter: dict[str, _MeterListeners] = {}
        self._meter_listeners: list[MeterListener] = []
        self._inbound_observers: list[InboundObserver] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_staleness: CALLBACK_TYPE | None = None
        self._notify_scheduled = False

    @property
    def is_v2(self) -> bool:
        """Whether the entry follows the EnerLink v2 profile (several meters)."""
        return self.profile == PROFILE_ENERLINK_V2

    @property
    def min_write_interval(self) -> float:
        """Seconds between two writes of an entity whose value keeps changing."""
        return float(self.entry.options.get(CONF_MIN_WRITE_INTERVAL, DEFAULT_MIN_WRITE_INTERVAL))

    @property
    def expected_interval(self) -> float:
        """Seconds between two messages of a meter."""
        return float(self.entry.options.get(CONF_EXPECTED_INTERVAL, DEFAULT_EXPECTED_INTERVAL))

    @callback
    def async_start(self) -> None:
        """Start the hourly flush and the staleness check; the source is started by the caller."""
        self._unsubs.append(
            async_track_utc_time_change(self.hass, self._flush_hour, minute=59, second=59)
        )
        self.async_arm_staleness_check()

    @callback
    def async_arm_staleness_check(self) -> None:
        """(Re)start the staleness timer at the pace of the current expected interval.

        Checked four times per interval: a silent meter goes offline at most a quarter of an
        interval late. Called again when the options change.
        """
        if self._unsub_staleness is not None:
            self._unsub_staleness()
        self._unsub_staleness = async_track_time_interval(
            self.hass,
            self._check_staleness,
            timedelta(seconds=max(self.expected_interval / 4, 0.05)),
        )

    @callback
    def async_stop(self) -> None:
        """Stop the timers."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._unsub_staleness is not None:
            self._unsub_staleness()
            self._unsub_staleness = None

    @callback
    def async_add_listener(
        self,
        listener: UpdateListener,
        meter_key: str | None = None,
        value_key: str | None = None,
    ) -> CALLBACK_TYPE:
        """Call `listener` on every update and at each hour flush.

        With `meter_key`, only on that meter's updates, plus those told to every meter (broker
        connection, staleness, hour flush): with hundreds of meters on one broker, a message
        must not wake the entities of every other meter. With `value_key` as well (a key of
        `MeterState.shown`), a data message that leaves that value as it was is not told, unless
        the listener said it holds a change back (`async_set_pending`): for a listener whose
        state depends on nothing else of a data message.
        """
        if meter_key is None:
            self._listeners.append(listener)
            return lambda: self._listeners.remove(listener)
        group = self._listeners_by_meter.get(meter_key)
        if group is None:
            group = self._listeners_by_meter[meter_key] = _MeterListeners()
        group.every.append(listener)
        followers = group.keyless if value_key is None else group.by_value.setdefault(value_key, [])
        followers.append(listener)

        def remove() -> None:
            group.every.remove(listener)
            followers.remove(listener)
            group.pending.pop(listener, None)
            if value_key is not None and not followers:
                del group.by_value[value_key]
            if not group.every and self._listeners_by_meter.get(meter_key) is group:
                del self._listeners_by_meter[meter_key]

        return remove

    @callback
    def async_set_pending(self, meter_key: str, listener: UpdateListener, pending: bool) -> None:
        """Whether a listener following a value holds a change back: if so, it is told of every
        data message of its meter until it says otherwise (it may write once its interval is
        over, whatever the message says)."""
        group = self._listeners_by_meter.get(meter_key)
        if group is None:
            return
        if pending:
            group.pending[listener] = None
        else:
            group.pending.pop(listener, None)

    @callback
    def async_add_inbound_observer(self, observer: InboundObserver) -> CALLBACK_TYPE:
        """Show `observer` every inbound message (topic, raw payload), whatever its topic."""
        self._inbound_observers.append(observer)
        return lambda: self._inbound_observers.remove(observer)

    @callback
    def async_add_meter_listener(self, listener: MeterListener) -> CALLBACK_TYPE:
        """Call `listener` with a meter key when the meter appears or sends something new."""
        self._meter_listeners.append(listener)
        return lambda: self._meter_listeners.remove(listener)

    @callback
    def async_forget_meter(self, key: str) -> None:
        """Drop a meter whose device the user removed; if it speaks again it is new again.

        Meter listeners are told with the key of a meter no longer in `meters`.
        """
        if self.meters.pop(key, None) is not None:
            for listener in list(self._meter_listeners):
                listener(key)

    # ---- Inbound ------------------------------------------------------------------------------

    @callback
    def handle_message(self, topic: str, payload: bytes, _retain: bool) -> None:
        """Route one message to its decoder; keep what it gives, count what went wrong."""
        for observer in self._inbound_observers:
            observer(topic, payload)
        now = dt_util.utcnow()
        if self.tic_feed is not None:
            self._apply_per_topic(self.tic_feed, topic, payload, now)
            return
        if self.is_v2:
            if topic == f"{V2_TOPIC_ROOT}/data":
                self._apply(topic, decode_v2_data(payload, received_at=now), "reading")
            elif topic == f"{V2_TOPIC_ROOT}/status":
                self._apply(topic, decode_v2_status(payload, received_at=now), "status")
            else:  # commands and acknowledgements share the root; not telemetry
                self.ignored_messages += 1
            return
        suffix = topic.removeprefix(f"{self.prefix}/")
        if suffix == "sensors":
            result: DecodeResult[object] = decode_v1_sensors(
                payload, meter_id=V1_METER, received_at=now
            )
            self._apply(topic, result, "reading")
        elif suffix == "heartbeat":
            self._apply(topic, decode_v1_heartbeat(payload, received_at=now), "heartbeat")
        elif suffix == "status":
            self._apply(topic, decode_v1_status(payload, received_at=now), "status")
        else:  # pragma: no cover - the source subscribes to these three topics only
            self.ignored_messages += 1

    def _apply(self, topic: str, result: DecodeResult[object], slot: str) -> None:
        if result.problems:
            self._count(topic, result.problems)
        value = result.value
        if value is None:
            return
        key = V1_METER
        if self.is_v2:
            meter_id = getattr(value, "meter_id", None)
            if not isinstance(meter_id, str):  # pragma: no cover - v2 decoders always set it
                return
            key = meter_id
        meter = self.meters.get(key)
        if meter is None:
            meter = self.meters[key] = MeterState(key)
        meter.messages += 1
        # With a reading: its values, and those of the meter's previous one (if any).
        previous: Mapping[str, object] | None = None
        values: Mapping[str, object] = {}
        if isinstance(value, Reading):
            previous = None if meter.reading is None else meter.reading.values
            values = value.values
            self._track_totals(meter, value, previous)
            meter.reading = value
        elif isinstance(value, Heartbeat):
            meter.heartbeat = value
        elif isinstance(value, DeviceStatus):
            meter.status = value
        if slot != "status":
            # Data and heartbeats prove the meter is alive; a status alone may be retained.
            meter.last_seen = time.monotonic()
        was_online = meter.online
        meter.online = self._is_online(meter)
        # A data message with the keys of the previous one shows the same things (the health
        # fields come with heartbeats and status only): not worked out again.
        same_keys = previous is not None and previous.keys() == values.keys()
        shown = meter.shown if same_keys else meter.compute_shown()
        same_shown = shown == meter.shown
        if not same_shown:
            new = shown - meter.shown
            meter.shown = shown
            if new:
                for listener in list(self._meter_listeners):
                    listener(key)
        flush = was_online != meter.online or _last_second_of_hour(dt_util.utcnow())
        if previous is not None and same_shown and not flush:
            # The same values as before, some changed: told to those they may concern.
            self._notify_changed(key, [k for k in values if previous.get(k, _ABSENT) != values[k]])
        else:
            self._notify(flush=flush, meter_key=key)

    def _apply_per_topic(
        self, feed: PerTopicFeed, topic: str, payload: bytes, now: datetime
    ) -> None:
        """One label of a per-topic Linky; entities hear once of the labels of one loop turn.

        A bridge publishes a frame as one message per label. Those handed over in the same
        event-loop turn are told to entities once, so the frame's `Reading` is rebuilt once
        rather than per label (Home Assistant's MQTT client reads up to 500 messages per socket
        read; the direct aiomqtt source hands them over one per turn, so one update each).
        """
        if (problem := feed.feed(topic, payload, now)) is not None:
            self._count(topic, (problem,))
            return
        meter = self.meters.get(TIC_METER)
        if meter is None:
            meter = self.meters[TIC_METER] = MeterState(TIC_METER)
        meter.messages += 1
        meter.last_seen = time.monotonic()
        if not meter.online:
            meter.online = self._is_online(meter)
            self._notify(flush=True)
        elif not self._notify_scheduled:
            self._notify_scheduled = True
            self.hass.loop.call_soon(self._notify_burst)

    @callback
    def _notify_burst(self) -> None:
        self._notify_scheduled = False
        self._notify(flush=_last_second_of_hour(dt_util.utcnow()))

    def _track_totals(
        self, meter: MeterState, reading: Reading, previous: Mapping[str, object] | None
    ) -> None:
        """Count energy counters going down: a device reset, never negative energy.

        A signed balance (``net_grid``, ``net_solar``) goes down whenever the home exports:
        that is no reset, so those are not tracked. A counter equal to its value in the
        meter's `previous` reading (which the tracker saw) is no news to the tracker.
        """
        for name, value in reading.values.items():
            if (
                _is_counter(name)
                and isinstance(value, (int, float))
                and (previous is None or previous.get(name, _ABSENT) != value)
                and self._totals.update(meter.key, name, value).reset
            ):
                meter.resets[name] += 1

    def _count(self, topic: str, problems: tuple[Problem, ...]) -> None:
        for problem in problems:
            self.problems[problem.kind] += 1
            if (topic, problem.kind) in self._logged:
                continue
            self._logged.add((topic, problem.kind))
            _LOGGER.warning(
                "MQTT payload problem on %s: %s at '%s' (%s); further %s problems on this "
                "topic are only counted",
                topic,
                problem.kind,
                problem.field,
                problem.detail,
                problem.kind,
            )

    def _is_online(self, meter: MeterState) -> bool:
        if not self.connected or meter.last_seen is None:
            return False
        silence = time.monotonic() - meter.last_seen
        return silence <= OFFLINE_AFTER_INTERVALS * self.expected_interval

    @callback
    def _login_refused(self) -> None:
        """The broker refused the saved login: ask the user for the new one. Home Assistant
        keeps one re-authentication flow per entry, however often this is called."""
        self.entry.async_start_reauth(self.hass)

    @callback
    def handle_connection(self, connected: bool) -> None:
        """The broker went up or down; a lost broker leaves no meter online."""
        self.connected = connected
        for meter in self.meters.values():
            if not connected:
                meter.last_seen = None
            meter.online = self._is_online(meter)
        self._notify(flush=True)

    @callback
    def _check_staleness(self, _now: datetime) -> None:
        changed = False
        for meter in self.meters.values():
            online = self._is_online(meter)
            if online != meter.online:
                meter.online = online
                changed = True
        if changed:
            self._notify(flush=True)

    @callback
    def _flush_hour(self, _now: datetime) -> None:
        self._notify(flush=True)

    def _notify(self, *, flush: bool, meter_key: str | None = None) -> None:
        """Tell the listeners of `meter_key` (of every meter when None), then the others."""
        if meter_key is None:
            groups = list(self._listeners_by_meter.values())
        else:
            group = self._listeners_by_meter.get(meter_key)
            groups = [] if group is None else [group]
        for group in groups:
            for listener in list(group.every):
                listener(flush)
        for listener in list(self._listeners):
            listener(flush)

    def _notify_changed(self, meter_key: str, changed: list[str]) -> None:
        """Tell a data message that changed the values `changed` (and nothing else) of a meter
        to the listeners it may concern, then to those of every meter."""
        group = self._listeners_by_meter.get(meter_key)
        if group is not None:
            told = dict.fromkeys(group.keyless)
            for key in changed:
                for listener in group.by_value.get(key, ()):
                    told[listener] = None
            told.update(group.pending)
            for listener in told:
                listener(False)
        for listener in list(self._listeners):
            listener(False)


_COUNTERS: dict[str, bool] = {}
"""Value key -> whether it is an energy counter; the decoders' keys are a small fixed set."""


def _is_counter(name: str) -> bool:
    """Whether the value `name` is an energy counter (daily, total, settlement) that only goes
    up between device resets; answered once per key rather than per message."""
    counter = _COUNTERS.get(name)
    if counter is None:
        counter = _COUNTERS[name] = (
            name.endswith(ENERGY_SUFFIXES) and name.partition(".")[0] not in SIGNED_SUBSYSTEMS
        )
    return counter


def _last_second_of_hour(now: datetime) -> bool:
    return now.minute == 59 and now.second == 59
