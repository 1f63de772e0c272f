"""Sensors of a ledger: power statistics, the current period and prices, saving and injection.

One device per ledger (a service: it measures nothing itself). Sensors exist only where the
ledger's sources can feed them (no production source: no saving). Money is shown rounded to the
cent with `core.saving.to_cents`, and only here: the ledger keeps exact totals, so the shown
value is always the exact running total rounded once, never a sum of rounded pieces.

The ledger tells every sensor at each clock instant (window end, period boundary, price change),
but most figures do not move at most instants (no sun at night, no import while self-consuming):
a sensor writes its state only when its value or attributes differ from what it last wrote, so
the recorder is not handed one unchanged row per sensor per window. The power statistics do write
at each window end: their window bounds are attributes and they move every window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .const import DOMAIN
from .core.saving import to_cents
from .core.tariff import PLAN_PERIODS
from .entry import EnergyLedgerConfigEntry, LedgerRuntimeData
from .ledger_coordinator import LedgerCoordinator
from .ledger_settings import LedgerSettings

CURRENCY = "EUR"
PRICE_UNIT = f"{CURRENCY}/{UnitOfEnergy.KILO_WATT_HOUR}"
ALL_PERIODS = tuple(dict.fromkeys(p for periods in PLAN_PERIODS.values() for p in periods))

type LedgerValue = StateType | Decimal


@dataclass(frozen=True, kw_only=True)
class LedgerSensorEntityDescription(SensorEntityDescription):
    """A ledger sensor: when it exists, its value and attributes from the coordinator."""

    exists_fn: Callable[[LedgerSettings], bool] = lambda settings: True
    value_fn: Callable[[LedgerCoordinator], LedgerValue]
    attributes_fn: Callable[[LedgerCoordinator], dict[str, Any] | None] | None = None


def _rate(rate: Decimal | None) -> float | None:
    return None if rate is None else float(rate)


def _power_sensors(series: str) -> list[LedgerSensorEntityDescription]:
    def exists(settings: LedgerSettings) -> bool:
        return series in settings.power_entities

    def attributes(coordinator: LedgerCoordinator) -> dict[str, Any] | None:
        window = coordinator.last_window.get(series)
        if window is None:
            return None
        return {
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "covered_seconds": window.covered.total_seconds(),
        }

    def statistic(name: str) -> Callable[[LedgerCoordinator], float | None]:
        def value(coordinator: LedgerCoordinator) -> float | None:
            window = coordinator.last_window.get(series)
            return None if window is None else float(getattr(window, name))

        return value

    return [
        LedgerSensorEntityDescription(
            key=f"{series}_power_{stat}",
            translation_key=f"ledger_{series}_power_{stat}",
            device_class=SensorDeviceClass.POWER,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfPower.WATT,
            suggested_display_precision=0,
            exists_fn=exists,
            value_fn=statistic(field),
            attributes_fn=attributes,
        )
        for stat, field in (("min", "minimum"), ("max", "maximum"), ("mean", "mean"))
    ]


def _grid_cost(period: str) -> LedgerSensorEntityDescription:
    return LedgerSensorEntityDescription(
        key=f"grid_cost_{period}",
        translation_key=f"ledger_grid_cost_{period}",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=CURRENCY,
        suggested_display_precision=2,
        exists_fn=lambda s: s.has_grid_import and period in s.plan.periods,
        value_fn=lambda c: to_cents(c.grid_cost_eur.get(period, Decimal(0))),
    )


def _energy(
    key: str, value_fn: Callable[[LedgerCoordinator], Decimal]
) -> LedgerSensorEntityDescription:
    return LedgerSensorEntityDescription(
        key=key,
        translation_key=f"ledger_{key}",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        exists_fn=lambda s: s.has_production,
        value_fn=value_fn,
    )


def _earned(
    key: str, value_fn: Callable[[LedgerCoordinator], Decimal]
) -> LedgerSensorEntityDescription:
    return LedgerSensorEntityDescription(
        key=key,
        translation_key=f"ledger_{key}",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=CURRENCY,
        suggested_display_precision=2,
        exists_fn=lambda s: s.has_production,
        value_fn=lambda c: to_cents(value_fn(c)),
    )


def _percent(
    key: str,
    value_fn: Callable[[LedgerCoordinator], Decimal | None],
    exists: Callable[[LedgerSettings], bool],
) -> LedgerSensorEntityDescription:
    return LedgerSensorEntityDescription(
        key=key,
        translation_key=f"ledger_{key}",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        exists_fn=exists,
        value_fn=lambda c: _rate(value_fn(c)),
    )


LEDGER_SENSORS: tuple[LedgerSensorEntityDescription, ...] = (
    *_power_sensors("consumption"),
    *_power_sensors("production"),
    LedgerSensorEntityDescription(
        key="power_balance",
        translation_key="ledger_power_balance",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        exists_fn=lambda s: len(s.power_entities) == 2,
        value_fn=lambda c: c.balance_w(),
    ),
    LedgerSensorEntityDescription(
        key="tariff_period",
        translation_key="ledger_tariff_period",
        device_class=SensorDeviceClass.ENUM,
        options=list(ALL_PERIODS),
        value_fn=lambda c: c.period,
    ),
    LedgerSensorEntityDescription(
        key="price",
        translation_key="ledger_price",
        native_unit_of_measurement=PRICE_UNIT,
        suggested_display_precision=4,
        value_fn=lambda c: c.price_now(),
    ),
    LedgerSensorEntityDescription(
        key="feed_in_price",
        translation_key="ledger_feed_in_price",
        native_unit_of_measurement=PRICE_UNIT,
        suggested_display_precision=4,
        exists_fn=lambda s: s.has_production,
        value_fn=lambda c: c.feed_in_price_now(),
    ),
    _energy("self_consumed_energy", lambda c: c.totals.total_self_consumed_wh),
    _earned("saving", lambda c: c.totals.total_saving_eur),
    _energy("injected_energy", lambda c: c.totals.injected_wh),
    _earned("injection_earnings", lambda c: c.totals.injection_eur),
    _percent(
        "self_consumption_rate",
        lambda c: c.totals.self_consumption_rate(),
        lambda s: s.has_production,
    ),
    _percent(
        "self_sufficiency",
        lambda c: c.totals.self_sufficiency(),
        lambda s: s.has_production and s.has_grid_import,
    ),
    *(_grid_cost(period) for period in ALL_PERIODS),
)


class LedgerSensor(SensorEntity):
    """A sensor showing one figure of its ledger, written when the ledger says it changed."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: LedgerSensorEntityDescription
    _written: tuple[LedgerValue, dict[str, Any] | None] | None = None
    """Value and attributes as last written; None before the first write."""

    def __init__(
        self,
        entry: EnergyLedgerConfigEntry,
        coordinator: LedgerCoordinator,
        description: LedgerSensorEntityDescription,
    ) -> None:
        self.coordinator = coordinator
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Energy Ledger",
            model="Ledger",
            entry_type=DeviceEntryType.SERVICE,
        )
        if description.device_class is SensorDeviceClass.ENUM:
            self._attr_options = list(coordinator.settings.plan.periods)

    async def async_added_to_hass(self) -> None:
        """Write the state whenever what the ledger shows through this sensor changes.

        The platform writes the first state right after this returns, with what is shown now.
        """
        self._written = self._shown()
        self.async_on_remove(self.coordinator.async_add_listener(self._async_ledger_changed))

    def _shown(self) -> tuple[LedgerValue, dict[str, Any] | None]:
        return self.native_value, self.extra_state_attributes

    @callback
    def _async_ledger_changed(self) -> None:
        """Write the state if its value or attributes moved since the last write."""
        if (shown := self._shown()) != self._written:
            self._written = shown
            self.async_write_ha_state()

    @property
    def native_value(self) -> LedgerValue:
        return self.entity_description.value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.coordinator)


def async_setup_ledger_sensors(
    hass: HomeAssistant,
    entry: EnergyLedgerConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the ledger's sensors that its sources can feed."""
    runtime = entry.runtime_data
    assert isinstance(runtime, LedgerRuntimeData)
    coordinator = runtime.coordinator
    async_add_entities(
        LedgerSensor(entry, coordinator, description)
        for description in LEDGER_SENSORS
        if description.exists_fn(coordinator.settings)
    )
