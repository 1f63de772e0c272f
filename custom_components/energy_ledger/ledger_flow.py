"""Add a ledger from the UI, and change its prices, sources and window afterwards.

A ledger reads other entities (of this integration or not), so its flow asks for entity ids,
a price plan with the way the current period is known, and the prices. Everything is checked
in the form: an entity Home Assistant does not know, a price that is not a non-negative
decimal, a schedule or an index map that does not parse, or a set of sources the ledger cannot
compute anything from. An off-peak schedule is the daily spans plus, optionally, other spans
on chosen weekdays (all day on Saturday and Sunday for a weekend contract). Prices are kept as
decimal strings (never floats) and dated: the ones entered when the ledger is added apply from
today; the options flow adds dated prices, future dates included, without losing the earlier
ones (history stays priced as it was).

A user may keep several ledgers (two homes, or the same meter under two plans to compare), so
the unique id is the name: two ledgers cannot share a name, which would make their entities
indistinguishable.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import voluptuous as vol
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    DateSelector,
    EntityFilterSelectorConfig,
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from .const import (
    CONF_CONSUMPTION_POWER_ENTITY,
    CONF_EXPORT_ENTITY,
    CONF_IMPORT_ENTITIES,
    CONF_INDEX_MAP,
    CONF_KIND,
    CONF_NAME,
    CONF_OFF_PEAK_HOURS,
    CONF_PERIOD_ENTITY,
    CONF_PERIOD_SOURCE,
    CONF_PLAN,
    CONF_PRICES,
    CONF_PRODUCTION_ENTITY,
    CONF_PRODUCTION_POWER_ENTITY,
    CONF_WINDOW_MINUTES,
    DEFAULT_OFF_PEAK_HOURS,
    DEFAULT_WINDOW_MINUTES,
    KIND_LEDGER,
    PERIOD_SOURCE_ENTITY,
    PERIOD_SOURCE_SCHEDULE,
    WINDOW_MINUTES,
)
from .core.tariff import PLAN_PERIODS, PlanKind, PricePlan, to_price
from .ledger_adapter import ENERGY_UNITS, POWER_UNITS
from .ledger_settings import (
    CONF_OFF_PEAK_DAYS,
    CONF_OFF_PEAK_DAYS_HOURS,
    DEFAULT_OFF_PEAK_DAYS_HOURS,
    WEEKDAYS,
    parse_index_map,
    parse_off_peak_hours,
)

CONF_FEED_IN_PRICE = "feed_in_price"
CONF_SUBSCRIPTION = "subscription"
CONF_VALID_FROM = "valid_from"
PRICE_PREFIX = "price_"

SOURCE_FIELDS = (
    CONF_IMPORT_ENTITIES,
    CONF_EXPORT_ENTITY,
    CONF_PRODUCTION_ENTITY,
    CONF_CONSUMPTION_POWER_ENTITY,
    CONF_PRODUCTION_POWER_ENTITY,
)
PERIOD_FIELDS = (
    CONF_PERIOD_SOURCE,
    CONF_PERIOD_ENTITY,
    CONF_INDEX_MAP,
    CONF_OFF_PEAK_HOURS,
    CONF_OFF_PEAK_DAYS,
    CONF_OFF_PEAK_DAYS_HOURS,
)

NAME_SCHEMA = vol.Schema({vol.Required(CONF_NAME): TextSelector()})

_ENERGY_FILTER = EntityFilterSelectorConfig(domain="sensor", device_class=SensorDeviceClass.ENERGY)
"""What the register pickers list, as the Energy panel's own pickers do."""
_POWER_FILTER = EntityFilterSelectorConfig(
    domain="sensor", device_class=[SensorDeviceClass.POWER, SensorDeviceClass.APPARENT_POWER]
)
"""What the power pickers list: a Linky's powers are apparent (VA)."""

_UNITS_OF: dict[str, tuple[frozenset[str], str]] = {
    CONF_IMPORT_ENTITIES: (ENERGY_UNITS, "not_energy"),
    CONF_EXPORT_ENTITY: (ENERGY_UNITS, "not_energy"),
    CONF_PRODUCTION_ENTITY: (ENERGY_UNITS, "not_energy"),
    CONF_CONSUMPTION_POWER_ENTITY: (POWER_UNITS, "not_power"),
    CONF_PRODUCTION_POWER_ENTITY: (POWER_UNITS, "not_power"),
}
"""Per source field: the units the ledger can convert, and the error for any other."""


def _sources_schema(with_window: bool) -> vol.Schema:
    fields: dict[vol.Marker, Any] = {
        vol.Optional(CONF_IMPORT_ENTITIES): EntitySelector(
            EntitySelectorConfig(multiple=True, filter=_ENERGY_FILTER)
        ),
        vol.Optional(CONF_EXPORT_ENTITY): EntitySelector(
            EntitySelectorConfig(filter=_ENERGY_FILTER)
        ),
        vol.Optional(CONF_PRODUCTION_ENTITY): EntitySelector(
            EntitySelectorConfig(filter=_ENERGY_FILTER)
        ),
        vol.Optional(CONF_CONSUMPTION_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(filter=_POWER_FILTER)
        ),
        vol.Optional(CONF_PRODUCTION_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(filter=_POWER_FILTER)
        ),
    }
    if with_window:
        fields[vol.Required(CONF_WINDOW_MINUTES, default=str(DEFAULT_WINDOW_MINUTES))] = (
            SelectSelector(
                SelectSelectorConfig(
                    options=[str(m) for m in WINDOW_MINUTES],
                    translation_key=CONF_WINDOW_MINUTES,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
        )
    return vol.Schema(fields)


def _period_fields() -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_PERIOD_SOURCE, default=PERIOD_SOURCE_ENTITY): SelectSelector(
            SelectSelectorConfig(
                options=[PERIOD_SOURCE_ENTITY, PERIOD_SOURCE_SCHEDULE],
                translation_key=CONF_PERIOD_SOURCE,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_PERIOD_ENTITY): EntitySelector(),
        vol.Optional(CONF_INDEX_MAP): TextSelector(),
        vol.Optional(CONF_OFF_PEAK_HOURS, default=DEFAULT_OFF_PEAK_HOURS): TextSelector(),
        vol.Optional(CONF_OFF_PEAK_DAYS): SelectSelector(
            SelectSelectorConfig(
                options=list(WEEKDAYS),
                multiple=True,
                translation_key="weekday",
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_OFF_PEAK_DAYS_HOURS, default=DEFAULT_OFF_PEAK_DAYS_HOURS): TextSelector(),
    }


TARIFF_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_PLAN, default=str(PlanKind.HC_HP)): SelectSelector(
            SelectSelectorConfig(
                options=[str(kind) for kind in PlanKind],
                translation_key=CONF_PLAN,
                mode=SelectSelectorMode.LIST,
            )
        ),
        **_period_fields(),
    }
)
PERIOD_SCHEMA = vol.Schema(_period_fields())


def _prices_schema(kind: PlanKind, *, dated: bool) -> vol.Schema:
    """One text field per period of the plan, the feed-in price and the subscription.

    When adding a ledger every price is asked for; when adding dated prices in the options,
    each is optional (empty: unchanged).
    """
    marker = vol.Optional if dated else vol.Required
    fields: dict[vol.Marker, Any] = {}
    if dated:
        fields[vol.Required(CONF_VALID_FROM)] = DateSelector()
    for period in PLAN_PERIODS[kind]:
        fields[marker(f"{PRICE_PREFIX}{period}")] = TextSelector()
    if dated:
        fields[vol.Optional(CONF_FEED_IN_PRICE)] = TextSelector()
        fields[vol.Optional(CONF_SUBSCRIPTION)] = TextSelector()
    else:
        fields[vol.Required(CONF_FEED_IN_PRICE, default="0")] = TextSelector()
        fields[vol.Required(CONF_SUBSCRIPTION, default="0")] = TextSelector()
    return vol.Schema(fields)


def _price(text: str) -> Decimal:
    """A price typed by a user: a decimal comma is accepted (0,2068), a float never stored."""
    return to_price(text.strip().replace(",", ".").replace(" ", ""))


def parse_prices(
    kind: PlanKind, user_input: dict[str, Any]
) -> tuple[dict[str, Decimal], Decimal | None, Decimal | None, dict[str, str]]:
    """(energy prices per period, feed-in, subscription, errors) from the price form.

    Empty fields are left out (None); every filled field must be a non-negative decimal.
    """
    errors: dict[str, str] = {}
    parsed: dict[str, Decimal] = {}
    fields = [f"{PRICE_PREFIX}{p}" for p in PLAN_PERIODS[kind]]
    for field in (*fields, CONF_FEED_IN_PRICE, CONF_SUBSCRIPTION):
        text = str(user_input.get(field) or "").strip()
        if not text:
            continue
        try:
            parsed[field] = _price(text)
        except (ValueError, TypeError):
            errors[field] = "bad_price"
    energy = {f.removeprefix(PRICE_PREFIX): parsed[f] for f in fields if f in parsed}
    return energy, parsed.get(CONF_FEED_IN_PRICE), parsed.get(CONF_SUBSCRIPTION), errors


def _entity_known(hass: HomeAssistant, entity_id: str) -> bool:
    """Known when it has a state, or a registry entry (its integration is not loaded yet)."""
    return (
        hass.states.get(entity_id) is not None
        or er.async_get(hass).async_get(entity_id) is not None
    )


def _unit_fits(hass: HomeAssistant, entity_id: str, units: frozenset[str]) -> bool:
    """Whether the entity measures in one of `units`, as far as Home Assistant can tell now.

    A live state says it best; an entity that is unavailable (its integration not loaded yet)
    is judged by the unit its registry entry keeps, and given the benefit of the doubt when
    neither tells (the ledger then counts its unusable states, see `ledger_adapter`).
    """
    state = hass.states.get(entity_id)
    unit = None if state is None else state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit is None and (entry := er.async_get(hass).async_get(entity_id)) is not None:
        unit = entry.unit_of_measurement
    if unit is not None:
        return unit in units
    live = state is not None and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    return not live  # a live state without any unit is no measurement


def clean_sources(user_input: dict[str, Any]) -> dict[str, Any]:
    """The source fields only, empty ones as None (a list for the import registers)."""
    sources: dict[str, Any] = {
        field: (user_input.get(field) or None) for field in SOURCE_FIELDS[1:]
    }
    sources[CONF_IMPORT_ENTITIES] = list(dict.fromkeys(user_input.get(CONF_IMPORT_ENTITIES) or ()))
    return sources


def validate_sources(hass: HomeAssistant, sources: dict[str, Any]) -> dict[str, str]:
    """Errors of the sources form; the ledger must be able to compute something from them."""
    errors: dict[str, str] = {}
    for field in SOURCE_FIELDS:
        value = sources.get(field)
        entities = value if isinstance(value, list) else [value] if value else []
        units, wrong_unit = _UNITS_OF[field]
        if any(not _entity_known(hass, e) for e in entities):
            errors[field] = "unknown_entity"
        elif any(not _unit_fits(hass, e, units) for e in entities):
            errors[field] = wrong_unit
    if errors:
        return errors
    production = sources[CONF_PRODUCTION_ENTITY] or sources[CONF_PRODUCTION_POWER_ENTITY]
    grid = sources[CONF_IMPORT_ENTITIES] or sources[CONF_CONSUMPTION_POWER_ENTITY]
    if not (production or grid or sources[CONF_EXPORT_ENTITY]):
        errors["base"] = "no_source"
    elif sources[CONF_EXPORT_ENTITY] and not production:
        errors["base"] = "export_needs_production"
    elif production and not (grid or sources[CONF_EXPORT_ENTITY]):
        errors["base"] = "production_needs_grid"
    return errors


def clean_period(user_input: dict[str, Any]) -> dict[str, Any]:
    return {
        CONF_PERIOD_SOURCE: user_input.get(CONF_PERIOD_SOURCE, PERIOD_SOURCE_ENTITY),
        CONF_PERIOD_ENTITY: user_input.get(CONF_PERIOD_ENTITY) or None,
        CONF_INDEX_MAP: (user_input.get(CONF_INDEX_MAP) or "").strip(),
        CONF_OFF_PEAK_HOURS: (user_input.get(CONF_OFF_PEAK_HOURS) or "").strip()
        or DEFAULT_OFF_PEAK_HOURS,
        CONF_OFF_PEAK_DAYS: [
            d for d in WEEKDAYS if d in (user_input.get(CONF_OFF_PEAK_DAYS) or ())
        ],
        CONF_OFF_PEAK_DAYS_HOURS: (user_input.get(CONF_OFF_PEAK_DAYS_HOURS) or "").strip()
        or DEFAULT_OFF_PEAK_DAYS_HOURS,
    }


def validate_period(hass: HomeAssistant, kind: PlanKind, period: dict[str, Any]) -> dict[str, str]:
    """Errors of the period source: a base plan needs none, others need an entity or a schedule."""
    if kind is PlanKind.BASE:
        return {}
    if period[CONF_PERIOD_SOURCE] == PERIOD_SOURCE_SCHEDULE:
        if kind is not PlanKind.HC_HP:
            return {CONF_PERIOD_SOURCE: "schedule_needs_hc_hp"}
        errors: dict[str, str] = {}
        for field in (CONF_OFF_PEAK_HOURS, CONF_OFF_PEAK_DAYS_HOURS):
            try:
                parse_off_peak_hours(period[field])
            except ValueError:
                errors[field] = "bad_schedule"
        if len(period[CONF_OFF_PEAK_DAYS]) == len(WEEKDAYS):
            errors[CONF_OFF_PEAK_DAYS] = "every_day_chosen"
        return errors
    entity = period[CONF_PERIOD_ENTITY]
    if not entity:
        return {CONF_PERIOD_ENTITY: "period_entity_required"}
    if not _entity_known(hass, entity):
        return {CONF_PERIOD_ENTITY: "unknown_entity"}
    try:
        parse_index_map(period[CONF_INDEX_MAP], kind)
    except ValueError:
        return {CONF_INDEX_MAP: "bad_index_map"}
    return {}


def _today() -> date:
    return dt_util.now().date()


class LedgerConfigFlowMixin(ConfigFlow):
    """The ledger branch of the config flow: name, sources, tariff, prices."""

    _ledger: dict[str, Any]

    async def async_step_ledger(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Name the ledger; the name is its identity (several ledgers may coexist)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not any(char.isalnum() for char in name):
                errors[CONF_NAME] = "bad_name"
            else:
                await self.async_set_unique_id(f"{KIND_LEDGER}_{slugify(name)}")
                self._abort_if_unique_id_configured(error="ledger_already_configured")
                self._ledger = {CONF_NAME: name}
                return await self.async_step_ledger_sources()
        return self.async_show_form(
            step_id="ledger",
            data_schema=self.add_suggested_values_to_schema(NAME_SCHEMA, user_input or {}),
            errors=errors,
        )

    async def async_step_ledger_sources(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where grid import, export, production and powers come from."""
        errors: dict[str, str] = {}
        if user_input is not None:
            sources = clean_sources(user_input)
            if not (errors := validate_sources(self.hass, sources)):
                self._ledger.update(sources)
                return await self.async_step_ledger_tariff()
        return self.async_show_form(
            step_id="ledger_sources",
            data_schema=self.add_suggested_values_to_schema(
                _sources_schema(with_window=False), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_ledger_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The price plan and how the current period is known."""
        errors: dict[str, str] = {}
        if user_input is not None:
            kind = PlanKind(user_input[CONF_PLAN])
            period = clean_period(user_input)
            if not (errors := validate_period(self.hass, kind, period)):
                self._ledger.update(period, **{CONF_PLAN: str(kind)})
                return await self.async_step_ledger_prices()
        return self.async_show_form(
            step_id="ledger_tariff",
            data_schema=self.add_suggested_values_to_schema(TARIFF_SCHEMA, user_input or {}),
            errors=errors,
        )

    async def async_step_ledger_prices(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The plan's prices, applying from today."""
        kind = PlanKind(self._ledger[CONF_PLAN])
        errors: dict[str, str] = {}
        if user_input is not None:
            energy, feed_in, subscription, errors = parse_prices(kind, user_input)
            if not errors:
                plan = PricePlan(
                    kind=kind, zone=ZoneInfo(self.hass.config.time_zone), energy={}
                ).with_prices(
                    _today(),
                    energy=energy,
                    feed_in=feed_in or Decimal(0),
                    subscription=subscription or Decimal(0),
                )
                options = {
                    **{k: v for k, v in self._ledger.items() if k != CONF_NAME},
                    CONF_PRICES: plan.to_dict(),
                    CONF_WINDOW_MINUTES: DEFAULT_WINDOW_MINUTES,
                }
                return self.async_create_entry(
                    title=self._ledger[CONF_NAME],
                    data={CONF_KIND: KIND_LEDGER, CONF_NAME: self._ledger[CONF_NAME]},
                    options=options,
                )
        return self.async_show_form(
            step_id="ledger_prices",
            data_schema=self.add_suggested_values_to_schema(
                _prices_schema(kind, dated=False), user_input or {}
            ),
            errors=errors,
        )


class LedgerOptionsFlow(OptionsFlow):
    """Add dated prices, change the sources and the window, change the period source."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What to change."""
        return await self.async_step_ledger_menu()

    async def async_step_ledger_menu(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return self.async_show_menu(
            step_id="ledger_menu",
            menu_options=["ledger_prices", "ledger_sources", "ledger_period"],
        )

    @property
    def _kind(self) -> PlanKind:
        return PlanKind(self.config_entry.options[CONF_PLAN])

    def _save(self, changes: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    async def async_step_ledger_prices(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New prices applying from a date (today, a past date to correct, or a future one)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            energy, feed_in, subscription, errors = parse_prices(self._kind, user_input)
            if not errors and not (energy or feed_in is not None or subscription is not None):
                errors["base"] = "no_price_given"
            if not errors:
                plan = PricePlan.from_dict(self.config_entry.options[CONF_PRICES]).with_prices(
                    user_input[CONF_VALID_FROM],
                    energy=energy,
                    feed_in=feed_in,
                    subscription=subscription,
                )
                return self._save({CONF_PRICES: plan.to_dict()})
        suggested = user_input or {CONF_VALID_FROM: _today().isoformat()}
        return self.async_show_form(
            step_id="ledger_prices",
            data_schema=self.add_suggested_values_to_schema(
                _prices_schema(self._kind, dated=True), suggested
            ),
            errors=errors,
        )

    async def async_step_ledger_sources(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Other source entities, or another window length."""
        errors: dict[str, str] = {}
        if user_input is not None:
            sources = clean_sources(user_input)
            if not (errors := validate_sources(self.hass, sources)):
                window = int(user_input.get(CONF_WINDOW_MINUTES, DEFAULT_WINDOW_MINUTES))
                return self._save({**sources, CONF_WINDOW_MINUTES: window})
        options = self.config_entry.options
        suggested = user_input or {
            **{k: options[k] for k in SOURCE_FIELDS if options.get(k)},
            CONF_WINDOW_MINUTES: str(options.get(CONF_WINDOW_MINUTES, DEFAULT_WINDOW_MINUTES)),
        }
        return self.async_show_form(
            step_id="ledger_sources",
            data_schema=self.add_suggested_values_to_schema(
                _sources_schema(with_window=True), suggested
            ),
            errors=errors,
        )

    async def async_step_ledger_period(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Another period entity, index map or off-peak schedule (the plan stays)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            period = clean_period(user_input)
            if not (errors := validate_period(self.hass, self._kind, period)):
                return self._save(period)
        options = self.config_entry.options
        suggested = user_input or {k: options[k] for k in PERIOD_FIELDS if options.get(k)}
        return self.async_show_form(
            step_id="ledger_period",
            data_schema=self.add_suggested_values_to_schema(PERIOD_SCHEMA, suggested),
            errors=errors,
        )
