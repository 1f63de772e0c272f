"""Sensors of a TIC meter: one per label it sends, plus decoded status, tariff and health.

Label sensors are described from the core label catalogue (unit, kind, phase), so a label added
to the catalogue gets its entity without touching this file. Derived sensors (tariff period,
Tempo colours, breaker state, clock drift, counters) are listed explicitly below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    Platform,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfInformation,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import TicCoordinator
from .core.mqtt import SIGNED_SUBSYSTEMS, V1_SUBSYSTEMS, V2_SUBSYSTEMS, DeviceStatus, Heartbeat
from .core.mqtt.commands import CommandStatus
from .core.reading import Reading
from .core.tic import LABELS, LabelKind, LabelSpec, Stge, TempoColour
from .core.tic.labels import UNKNOWN_TRANSLATION_KEY
from .core.tic.period import PERIOD_KEYS, period_key
from .core.tic.stge import CutOffState, ProfileBlock, tempo_from_ptec
from .entity import (
    TicEntity,
    TicEntityDescription,
    TicFeed,
    async_add_entities_as_labels_appear,
)
from .entry import EnergyLedgerConfigEntry, LedgerRuntimeData, MqttRuntimeData, TicRuntimeData
from .ledger_sensor import async_setup_ledger_sensors
from .mqtt_command_entity import LastCommandEntity, async_add_command_entities
from .mqtt_coordinator import MeterState
from .mqtt_entity import (
    MqttMeterEntity,
    MqttMeterEntityDescription,
    async_add_entities_as_meters_appear,
)

PARALLEL_UPDATES = 0

REJECT_REASONS = ("checksum", "malformed", "interrupted", "oversize")


@dataclass(frozen=True, kw_only=True)
class TicSensorEntityDescription(TicEntityDescription, SensorEntityDescription):
    """A TIC sensor: how to read its value and attributes from the coordinator."""

    value_fn: Callable[[TicFeed], StateType | datetime]
    attributes_fn: Callable[[TicFeed], dict[str, Any] | None] | None = None


_KIND_FIELDS: dict[LabelKind, dict[str, Any]] = {
    LabelKind.ENERGY: {
        "device_class": SensorDeviceClass.ENERGY,
        "state_class": SensorStateClass.TOTAL_INCREASING,
        "native_unit_of_measurement": UnitOfEnergy.WATT_HOUR,
        "suggested_unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
        "suggested_display_precision": 3,
    },
    LabelKind.REACTIVE_ENERGY: {
        "state_class": SensorStateClass.TOTAL_INCREASING,
        "native_unit_of_measurement": "varh",
    },
    LabelKind.APPARENT_POWER: {
        "device_class": SensorDeviceClass.APPARENT_POWER,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfApparentPower.VOLT_AMPERE,
    },
    LabelKind.ACTIVE_POWER: {
        "device_class": SensorDeviceClass.POWER,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfPower.WATT,
    },
    LabelKind.CURRENT: {
        "device_class": SensorDeviceClass.CURRENT,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
    },
    LabelKind.VOLTAGE: {
        "device_class": SensorDeviceClass.VOLTAGE,
        "state_class": SensorStateClass.MEASUREMENT,
        "native_unit_of_measurement": UnitOfElectricPotential.VOLT,
    },
    # Subscribed power: a contract figure, not a measurement; kVA is not an apparent-power unit
    # on every supported Home Assistant version, so no device class.
    LabelKind.POWER_KVA: {
        "native_unit_of_measurement": "kVA",
        "entity_category": EntityCategory.DIAGNOSTIC,
    },
    LabelKind.DURATION_MIN: {
        "device_class": SensorDeviceClass.DURATION,
        "native_unit_of_measurement": UnitOfTime.MINUTES,
    },
    LabelKind.TARIFF_INDEX: {},
    LabelKind.TARIFF_PERIOD: {},
    LabelKind.INTEGER: {"entity_category": EntityCategory.DIAGNOSTIC},
    LabelKind.TEXT: {"entity_category": EntityCategory.DIAGNOSTIC},
    LabelKind.TARIFF_OPTION: {"entity_category": EntityCategory.DIAGNOSTIC},
    LabelKind.DATE: {
        "device_class": SensorDeviceClass.TIMESTAMP,
        "entity_category": EntityCategory.DIAGNOSTIC,
    },
    LabelKind.DAY_PROFILE: {
        "entity_category": EntityCategory.DIAGNOSTIC,
        "entity_registry_enabled_default": False,
    },
    LabelKind.HEX_STATUS: {
        "entity_category": EntityCategory.DIAGNOSTIC,
        "entity_registry_enabled_default": False,
    },
}
"""Kinds shown as a sensor of their own. Others are decoded into derived entities (STGE,
RELAIS, DEMAIN, PPOT) or are personal data never shown as an entity (ADSC, ADCO, PRM)."""

SKIPPED_LABELS = frozenset({"PTEC"})
"""Shown through the translated `tariff_period` enum sensor instead of its raw code."""

DISABLED_LABELS = frozenset(
    {"EASD01", "EASD02", "EASD03", "EASD04", "CCASN-1", "CCAIN-1", "SMAXSN-1", "SMAXIN-1"}
    | {f"SMAXSN{phase}-1" for phase in (1, 2, 3)}
    | {f"{prefix}{n}" for prefix in ("DPM", "FPM") for n in (1, 2, 3)}
)
"""Sent by the meter but rarely wanted: distributor twins of the supplier registers,
yesterday's figures and mobile-peak bounds. Users can enable them."""


def _format_value(value: object) -> StateType | datetime:
    if isinstance(value, tuple):
        return ", ".join(_format_block(block) for block in value if isinstance(block, ProfileBlock))
    if isinstance(value, int | str | datetime):
        return value
    return str(value)


def _format_block(block: ProfileBlock) -> str:
    return f"{block.start:%H:%M} {block.tariff_index}"


def _label_description(spec: LabelSpec) -> TicSensorEntityDescription | None:
    fields = _KIND_FIELDS.get(spec.kind)
    if fields is None or spec.label in SKIPPED_LABELS:
        return None
    label = spec.label
    fields = dict(fields)
    if label in DISABLED_LABELS:
        fields["entity_registry_enabled_default"] = False

    def value(coordinator: TicFeed) -> StateType | datetime:
        reading = coordinator.reading
        return None if reading is None else _format_value(reading.values.get(label))

    def horodate(coordinator: TicFeed) -> dict[str, Any] | None:
        reading = coordinator.reading
        stamp = None if reading is None else reading.timestamps.get(label)
        return {"horodate": stamp.isoformat()} if stamp is not None else None

    return TicSensorEntityDescription(
        key=label,
        translation_key=spec.translation_key,
        present_fn=lambda reading: label in reading.values,
        value_fn=value,
        attributes_fn=horodate if spec.has_horodate and spec.kind is not LabelKind.DATE else None,
        **fields,
    )


def _stge(reading: Reading | None) -> Stge | None:
    value = None if reading is None else reading.values.get("STGE")
    return value if isinstance(value, Stge) else None


def _is_tempo(reading: Reading) -> bool:
    option = reading.values.get("NGTF") or reading.values.get("OPTARIF") or ""
    return isinstance(option, str) and ("TEMPO" in option.upper() or option.startswith("BBR"))


def _tempo_today(coordinator: TicFeed) -> str | None:
    reading = coordinator.reading
    if (stge := _stge(reading)) is not None:
        return stge.tempo_today
    ptec = None if reading is None else reading.values.get("PTEC")
    return tempo_from_ptec(ptec) if isinstance(ptec, str) else None


def _tempo_tomorrow(coordinator: TicFeed) -> str | None:
    reading = coordinator.reading
    if (stge := _stge(reading)) is not None:
        return stge.tempo_tomorrow
    demain = None if reading is None else reading.values.get("DEMAIN")
    return demain if isinstance(demain, TempoColour) else None


def _mobile_peak(field: str) -> Callable[[TicFeed], str | None]:
    def value(coordinator: TicFeed) -> str | None:
        stge = _stge(coordinator.reading)
        if stge is None:
            return None
        peak = getattr(stge, field)
        return f"pm{peak}" if peak else "none"

    return value


def _rejected(reason: str) -> Callable[[TicFeed], int | None]:
    def value(coordinator: TicFeed) -> int | None:
        if not isinstance(coordinator, TicCoordinator):  # pragma: no cover - serial only
            return None
        return coordinator.source.reader.rejected.get(reason, 0)

    return value


def _frames_received(coordinator: TicFeed) -> int | None:
    return coordinator.frames_received if isinstance(coordinator, TicCoordinator) else None


SERIAL_LINE_SENSORS = frozenset({"frames_received", *(f"rejected_{r}" for r in REJECT_REASONS)})
"""Counters of the serial line: a Linky behind an MQTT bridge has none."""


TEMPO_OPTIONS = [colour.value for colour in TempoColour]
MOBILE_PEAK_OPTIONS = ["none", "pm1", "pm2", "pm3"]

DERIVED_SENSORS: tuple[TicSensorEntityDescription, ...] = (
    TicSensorEntityDescription(
        key="tariff_period",
        translation_key="tariff_period",
        device_class=SensorDeviceClass.ENUM,
        options=list(PERIOD_KEYS),
        present_fn=lambda reading: "PTEC" in reading.values or "LTARF" in reading.values,
        value_fn=lambda c: None if c.reading is None else period_key(c.reading.values),
    ),
    TicSensorEntityDescription(
        key="tempo_today",
        translation_key="tempo_today",
        device_class=SensorDeviceClass.ENUM,
        options=TEMPO_OPTIONS,
        present_fn=_is_tempo,
        value_fn=_tempo_today,
    ),
    TicSensorEntityDescription(
        key="tempo_tomorrow",
        translation_key="tempo_tomorrow",
        device_class=SensorDeviceClass.ENUM,
        options=TEMPO_OPTIONS,
        present_fn=_is_tempo,
        value_fn=_tempo_tomorrow,
    ),
    TicSensorEntityDescription(
        key="mobile_peak_notice",
        translation_key="mobile_peak_notice",
        device_class=SensorDeviceClass.ENUM,
        options=MOBILE_PEAK_OPTIONS,
        entity_registry_enabled_default=False,
        present_fn=lambda reading: "STGE" in reading.values,
        value_fn=_mobile_peak("mobile_peak_notice"),
    ),
    TicSensorEntityDescription(
        key="mobile_peak_active",
        translation_key="mobile_peak_active",
        device_class=SensorDeviceClass.ENUM,
        options=MOBILE_PEAK_OPTIONS,
        entity_registry_enabled_default=False,
        present_fn=lambda reading: "STGE" in reading.values,
        value_fn=_mobile_peak("mobile_peak_active"),
    ),
    TicSensorEntityDescription(
        key="cut_off_device",
        translation_key="cut_off_device",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in CutOffState],
        present_fn=lambda reading: "STGE" in reading.values,
        value_fn=lambda c: None if (s := _stge(c.reading)) is None else s.cut_off_device.value,
    ),
    TicSensorEntityDescription(
        key="meter_clock_drift",
        translation_key="meter_clock_drift",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        present_fn=lambda reading: reading.meter_clock is not None,
        value_fn=lambda c: c.meter_clock_drift,
    ),
    TicSensorEntityDescription(
        key="frames_received",
        translation_key="frames_received",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        always_available=True,
        present_fn=lambda reading: True,
        value_fn=_frames_received,
    ),
    *(
        TicSensorEntityDescription(
            key=f"rejected_{reason}",
            translation_key=f"rejected_{reason}",
            state_class=SensorStateClass.TOTAL_INCREASING,
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            always_available=True,
            present_fn=lambda reading: True,
            value_fn=_rejected(reason),
        )
        for reason in REJECT_REASONS
    ),
)


def describe_unknown_label(label: str) -> TicSensorEntityDescription:
    """A label outside the Enedis specifications: shown as its text, named after the label."""
    return TicSensorEntityDescription(
        key=label,
        translation_key=UNKNOWN_TRANSLATION_KEY,
        translation_placeholders={"label": label},
        entity_category=EntityCategory.DIAGNOSTIC,
        present_fn=lambda reading: label in reading.values,
        value_fn=lambda c: (
            None if c.reading is None else _format_value(c.reading.values.get(label))
        ),
    )


LABEL_SENSORS: tuple[TicSensorEntityDescription, ...] = tuple(
    description for spec in LABELS.values() if (description := _label_description(spec)) is not None
)


class TicSensor(TicEntity, SensorEntity):
    """A sensor whose value comes from the latest reading of its meter."""

    entity_description: TicSensorEntityDescription

    def _shown_value(self) -> object:
        return self.entity_description.value_fn(self.coordinator)

    @property
    def native_value(self) -> StateType | datetime:
        """The value from the latest reading."""
        return self.entity_description.value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The horodate the meter sent with the value, where it sends one."""
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.coordinator)


# ---- MQTT meters ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MqttSensorEntityDescription(MqttMeterEntityDescription, SensorEntityDescription):
    """An MQTT meter sensor: how to read its value from the meter's latest state."""

    value_fn: Callable[[MeterState], StateType]


BATTERY_STATES = ["charging", "discharging", "idle", "full", "empty"]
"""Battery states EnerLink devices report; any other text is shown as unknown, never guessed."""


def _reading_value(key: str) -> Callable[[MeterState], StateType]:
    def value(meter: MeterState) -> StateType:
        found = None if meter.reading is None else meter.reading.values.get(key)
        return found if isinstance(found, int | float) and not isinstance(found, bool) else None

    return value


def _battery_state(meter: MeterState) -> str | None:
    state = None if meter.reading is None else meter.reading.values.get("battery.state")
    if not isinstance(state, str):
        return None
    state = state.strip().lower()
    return state if state in BATTERY_STATES else None


def _health(name: str) -> Callable[[MeterState], StateType]:
    """The most recent of the heartbeat's and the status's `name` field."""

    def value(meter: MeterState) -> StateType:
        latest: Heartbeat | DeviceStatus | None = None
        for record in (meter.heartbeat, meter.status):
            if (
                record is not None
                and getattr(record, name, None) is not None
                and (latest is None or record.received_at >= latest.received_at)
            ):
                latest = record
        found: StateType = None if latest is None else getattr(latest, name)
        return found

    return value


_MEASURE_FIELDS: dict[str, dict[str, Any]] = {
    "power": {
        "device_class": SensorDeviceClass.POWER,
        "native_unit_of_measurement": UnitOfPower.WATT,
        "state_class": SensorStateClass.MEASUREMENT,
        "suggested_display_precision": 1,
    },
    "current": {
        "device_class": SensorDeviceClass.CURRENT,
        "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
        "state_class": SensorStateClass.MEASUREMENT,
        "suggested_display_precision": 2,
    },
    "voltage": {
        "device_class": SensorDeviceClass.VOLTAGE,
        "native_unit_of_measurement": UnitOfElectricPotential.VOLT,
        "state_class": SensorStateClass.MEASUREMENT,
        "suggested_display_precision": 2,
    },
}
_ENERGY_FIELDS = ("daily_energy", "total_energy", "settlement_energy")


def _subsystem_sensors(subsystem: str) -> list[MqttSensorEntityDescription]:
    """Power, current, voltage and energies of one subsystem, created only when it sends them.

    A signed subsystem (``net_grid``, ``net_solar``) carries a balance that may go down: its
    energies are `total`, not `total_increasing`, or the recorder would see each decrease as a
    meter reset.
    """
    energy_state_class = (
        SensorStateClass.TOTAL
        if subsystem in SIGNED_SUBSYSTEMS
        else SensorStateClass.TOTAL_INCREASING
    )
    descriptions = [
        MqttSensorEntityDescription(
            key=f"{subsystem}_{name}",
            translation_key=f"{subsystem}_{name}",
            shown_key=f"{subsystem}.{name}_{unit}",
            value_fn=_reading_value(f"{subsystem}.{name}_{unit}"),
            **fields,
        )
        for name, unit, fields in (
            ("power", "w", _MEASURE_FIELDS["power"]),
            ("current", "a", _MEASURE_FIELDS["current"]),
            ("voltage", "v", _MEASURE_FIELDS["voltage"]),
        )
    ]
    descriptions += [
        MqttSensorEntityDescription(
            key=f"{subsystem}_{name}",
            translation_key=f"{subsystem}_{name}",
            shown_key=f"{subsystem}.{name}_wh",
            value_fn=_reading_value(f"{subsystem}.{name}_wh"),
            device_class=SensorDeviceClass.ENERGY,
            state_class=energy_state_class,
            native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
            suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=3,
        )
        for name in _ENERGY_FIELDS
    ]
    return descriptions


MQTT_SENSORS: tuple[MqttSensorEntityDescription, ...] = (
    *(
        d
        for subsystem in dict.fromkeys((*V1_SUBSYSTEMS, *V2_SUBSYSTEMS))
        for d in _subsystem_sensors(subsystem)
    ),
    MqttSensorEntityDescription(
        key="battery_state",
        translation_key="battery_state",
        device_class=SensorDeviceClass.ENUM,
        options=BATTERY_STATES,
        shown_key="battery.state",
        value_fn=_battery_state,
    ),
    MqttSensorEntityDescription(
        key="battery_soc",
        translation_key="battery_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        shown_key="battery.soc_pct",
        value_fn=_reading_value("battery.soc_pct"),
    ),
    MqttSensorEntityDescription(
        key="uptime",
        translation_key="uptime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        shown_key="health.uptime_ms",
        value_fn=_health("uptime_ms"),
    ),
    MqttSensorEntityDescription(
        key="free_heap",
        translation_key="free_heap",
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        entity_category=EntityCategory.DIAGNOSTIC,
        shown_key="health.free_heap_bytes",
        value_fn=_health("free_heap_bytes"),
    ),
    MqttSensorEntityDescription(
        key="wifi_rssi",
        translation_key="wifi_rssi",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        shown_key="health.wifi_rssi_dbm",
        value_fn=lambda meter: None if meter.status is None else meter.status.wifi_rssi_dbm,
    ),
    MqttSensorEntityDescription(
        key="ip_address",
        translation_key="ip_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        shown_key="health.ip_address",
        value_fn=lambda meter: None if meter.status is None else meter.status.ip_address,
    ),
)


class MqttMeterSensor(MqttMeterEntity, SensorEntity):
    """A sensor whose value comes from the latest messages of its MQTT meter."""

    entity_description: MqttSensorEntityDescription

    def _shown_value(self) -> object:
        return self.native_value

    @property
    def native_value(self) -> StateType:
        """The value from the meter's latest messages."""
        meter = self.meter
        return None if meter is None else self.entity_description.value_fn(meter)


@dataclass(frozen=True, kw_only=True)
class LastCommandSensorEntityDescription(MqttMeterEntityDescription, SensorEntityDescription):
    """The "Last command" sensor of an EnerLink meter."""


LAST_COMMAND_SENSOR = LastCommandSensorEntityDescription(
    key="last_command",
    translation_key="last_command",
    device_class=SensorDeviceClass.ENUM,
    options=[status.value for status in CommandStatus],
    entity_category=EntityCategory.DIAGNOSTIC,
    shown_key=None,
    always_available=True,
)


class LastCommandSensor(LastCommandEntity, SensorEntity):
    """Where the latest command sent to the meter stands, with what it asked and its id.

    Restored after a restart; a command pending at shutdown comes back timed out.
    """

    entity_description: LastCommandSensorEntityDescription

    def _shown_value(self) -> object:
        last = self.commands.last.get(self.meter_key)
        return None if last is None else (last.status, last.command.correlation_id)

    @property
    def native_value(self) -> str | None:
        """pending, acknowledged or timed_out; unknown before the first command."""
        last = self.commands.last.get(self.meter_key)
        return None if last is None else last.status.value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The command object sent (without its envelope) and its correlation id."""
        last = self.commands.last.get(self.meter_key)
        if last is None:
            return None
        return {"command": dict(last.command.body), "correlation_id": last.command.correlation_id}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add sensors as the meter's labels appear, or as MQTT meters appear and send values."""
    if isinstance(entry.runtime_data, LedgerRuntimeData):
        async_setup_ledger_sensors(hass, entry, async_add_entities)
        return
    runtime = entry.runtime_data
    if isinstance(runtime, MqttRuntimeData) and runtime.coordinator.tic_feed is None:
        async_add_entities_as_meters_appear(
            hass,
            entry,
            Platform.SENSOR,
            descriptions=MQTT_SENSORS,
            entity_factory=MqttMeterSensor,
            async_add_entities=async_add_entities,
        )
        async_add_command_entities(
            hass,
            entry,
            Platform.SENSOR,
            descriptions=(LAST_COMMAND_SENSOR,),
            entity_class=LastCommandSensor,
            async_add_entities=async_add_entities,
        )
        return
    async_add_entities_as_labels_appear(
        hass,
        entry,
        Platform.SENSOR,
        descriptions=tuple(
            d
            for d in (*LABEL_SENSORS, *DERIVED_SENSORS)
            if isinstance(runtime, TicRuntimeData) or d.key not in SERIAL_LINE_SENSORS
        ),
        entity_factory=TicSensor,
        async_add_entities=async_add_entities,
        describe_unknown_label=describe_unknown_label,
    )
