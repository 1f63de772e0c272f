"""Add a Linky from the UI (pick or type a port, see what the meter is, confirm) or a broker.

The user step is a menu: a Linky on a serial port, or MQTT smart meters on a broker. The MQTT
branch connects to the broker once before the entry is created, so a wrong host, password or
TLS setting is explained in the form. Its unique id is the broker and what is read there.

The flow reads the port before anything is created, so a wrong path, a permission problem or a
meter in the other TIC mode is explained in the form instead of surfacing later as an entity
that never gets a value. The meter address is the unique id: the same meter behind a new port
(a dongle moved to another USB socket) updates the existing entry instead of creating a twin.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import serialx
import voluptuous as vol
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo

from .const import (
    CONF_BAUDRATE,
    CONF_EXPECTED_INTERVAL,
    CONF_HOST,
    CONF_KIND,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MODE,
    CONF_MQTT_PORT,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_PROFILE,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_TOPIC_PREFIX,
    CONF_USERNAME,
    DEFAULT_EXPECTED_INTERVAL,
    DEFAULT_MIN_WRITE_INTERVAL,
    DEFAULT_MQTT_PORT,
    DEFAULT_V1_PREFIX,
    DOMAIN,
    KIND_MQTT,
    KIND_TIC,
    PROFILE_ENERLINK_V1,
    PROFILES,
)
from .core.tic.profile import MeterProfile, profile_of
from .entry import EnergyLedgerConfigEntry, entry_kind
from .mqtt_coordinator import settings_from_entry
from .sources.mqtt import test_connection
from .sources.tic_serial import Detection, NoTicDataError, TicPortError, detect

BY_ID_DIR = Path("/dev/serial/by-id")


def _stable_port_paths() -> dict[str, str]:
    """Map each real device (/dev/ttyUSB0) to its stable /dev/serial/by-id link (blocking)."""
    if not BY_ID_DIR.is_dir():
        return {}
    return {os.path.realpath(link): str(link) for link in sorted(BY_ID_DIR.iterdir())}


def _stable_path(device: str) -> str:
    """The /dev/serial/by-id link of `device` when there is one, else `device` (blocking)."""
    return _stable_port_paths().get(os.path.realpath(device), device)


MQTT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_MQTT_PORT, default=DEFAULT_MQTT_PORT): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_USERNAME): TextSelector(),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Required(CONF_TLS, default=False): BooleanSelector(),
        vol.Required(CONF_TLS_INSECURE, default=False): BooleanSelector(),
        vol.Required(CONF_PROFILE, default=PROFILE_ENERLINK_V1): SelectSelector(
            SelectSelectorConfig(
                options=list(PROFILES), translation_key=CONF_PROFILE, mode=SelectSelectorMode.LIST
            )
        ),
        vol.Optional(CONF_TOPIC_PREFIX, default=DEFAULT_V1_PREFIX): TextSelector(),
    }
)


def _mqtt_entry_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """What an MQTT entry stores, from the form: trimmed, typed, v1's prefix only for v1."""
    profile = user_input[CONF_PROFILE]
    tls = bool(user_input.get(CONF_TLS, False))
    data: dict[str, Any] = {
        CONF_KIND: KIND_MQTT,
        CONF_HOST: user_input[CONF_HOST].strip(),
        CONF_MQTT_PORT: int(user_input.get(CONF_MQTT_PORT, DEFAULT_MQTT_PORT)),
        CONF_USERNAME: (user_input.get(CONF_USERNAME) or "").strip() or None,
        CONF_PASSWORD: user_input.get(CONF_PASSWORD) or None,
        CONF_TLS: tls,
        CONF_TLS_INSECURE: tls and bool(user_input.get(CONF_TLS_INSECURE, False)),
        CONF_PROFILE: profile,
    }
    if profile == PROFILE_ENERLINK_V1:
        prefix = (user_input.get(CONF_TOPIC_PREFIX) or DEFAULT_V1_PREFIX).strip().strip("/")
        data[CONF_TOPIC_PREFIX] = prefix or DEFAULT_V1_PREFIX
    return data


def _mqtt_unique_id(data: dict[str, Any]) -> str:
    """Broker and what is read there: the same meters cannot be added twice."""
    where = f"{data[CONF_HOST].lower()}:{data[CONF_MQTT_PORT]}"
    if data[CONF_PROFILE] == PROFILE_ENERLINK_V1:
        return f"{where}/{PROFILE_ENERLINK_V1}/{data[CONF_TOPIC_PREFIX]}"
    return f"{where}/{data[CONF_PROFILE]}"


def _mqtt_title(data: dict[str, Any]) -> str:
    if data[CONF_PROFILE] == PROFILE_ENERLINK_V1:
        return f"EnerLink {data[CONF_TOPIC_PREFIX]}"
    return "EnerLink v2 meters"


class EnergyLedgerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Config flow of a TIC meter or of an MQTT broker with its meters."""

    VERSION = 1

    def __init__(self) -> None:
        self._port: str | None = None
        self._detection: Detection | None = None
        self._profile: MeterProfile | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: EnergyLedgerConfigEntry) -> EnergyLedgerOptionsFlow:
        """Options: how often entities may write their state."""
        return EnergyLedgerOptionsFlow()

    async def _async_port_options(self) -> list[SelectOptionDict]:
        """The machine's serial ports, by their stable path when udev gives one."""
        ports = await serialx.async_list_serial_ports()
        by_id = await self.hass.async_add_executor_job(_stable_port_paths)
        options: list[SelectOptionDict] = []
        for port in ports:
            path = by_id.get(port.resolved_device, port.device)
            described = " - ".join(filter(None, (port.manufacturer, port.product)))
            label = f"{path} ({described})" if described else path
            options.append(SelectOptionDict(value=path, label=label))
        return options

    async def _async_port_schema(self, default: str | None) -> vol.Schema:
        options = await self._async_port_options()
        key = vol.Required(CONF_PORT, default=default) if default else vol.Required(CONF_PORT)
        return vol.Schema(
            {
                key: SelectSelector(
                    SelectSelectorConfig(
                        options=options, custom_value=True, mode=SelectSelectorMode.DROPDOWN
                    )
                )
            }
        )

    async def _async_read_meter(self, port: str) -> str | None:
        """Read the port and claim the meter's address as unique id; an error key, or None."""
        try:
            detection = await detect(port)
        except (TicPortError, NoTicDataError) as err:
            return err.reason
        profile = profile_of(detection.frame)
        if profile.address is None:
            return "no_address"
        self._port, self._detection, self._profile = port, detection, profile
        await self.async_set_unique_id(profile.address)
        return None

    def _entry_data(self) -> dict[str, Any]:
        assert self._detection is not None
        return {
            CONF_KIND: KIND_TIC,
            CONF_PORT: self._port,
            CONF_MODE: str(self._detection.mode),
            CONF_BAUDRATE: self._detection.baudrate,
        }

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Which kind of meter: a Linky on a serial port or MQTT smart meters on a broker."""
        return self.async_show_menu(step_id="user", menu_options=["tic", "mqtt_broker"])

    async def async_step_tic(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose or type the port; it is read before going further."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if not (error := await self._async_read_meter(user_input[CONF_PORT].strip())):
                self._abort_if_unique_id_configured(updates=self._entry_data())
                return await self.async_step_confirm()
            errors["base"] = error
        default = user_input[CONF_PORT] if user_input else None
        return self.async_show_form(
            step_id="tic", data_schema=await self._async_port_schema(default), errors=errors
        )

    async def async_step_mqtt_broker(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Broker, login and payload profile; the broker is tried before the entry exists."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _mqtt_entry_data(user_input)
            await self.async_set_unique_id(_mqtt_unique_id(data))
            self._abort_if_unique_id_configured(error="broker_already_configured")
            if not (error := await test_connection(settings_from_entry(data))):
                return self.async_create_entry(title=_mqtt_title(data), data=data)
            errors["base"] = error
        return self.async_show_form(
            step_id="mqtt_broker",
            data_schema=self.add_suggested_values_to_schema(
                MQTT_SCHEMA, {k: v for k, v in (user_input or {}).items() if k != CONF_PASSWORD}
            ),
            errors=errors,
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """A known TIC adapter was plugged in: offer to read it."""
        self._port = await self.hass.async_add_executor_job(_stable_path, discovery_info.device)
        self._async_abort_entries_match({CONF_PORT: self._port})
        self.context["title_placeholders"] = {"port": self._port}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Read the discovered adapter once the user agrees."""
        assert self._port is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            if not (error := await self._async_read_meter(self._port)):
                self._abort_if_unique_id_configured(updates=self._entry_data())
                return await self.async_step_confirm()
            errors["base"] = error
        return self.async_show_form(
            step_id="usb_confirm",
            description_placeholders={"port": self._port},
            errors=errors,
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what was found on the port and create the entry."""
        assert self._profile is not None
        assert self._detection is not None
        if user_input is not None:
            return self.async_create_entry(title=self._title(), data=self._entry_data())
        return self.async_show_form(
            step_id="confirm", description_placeholders=self._placeholders()
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the meter to another port; the meter behind it must be the same one."""
        entry = self._get_reconfigure_entry()
        if entry_kind(entry) == KIND_MQTT:
            return self.async_abort(reason="mqtt_reconfigure_unsupported")
        errors: dict[str, str] = {}
        if user_input is not None:
            if not (error := await self._async_read_meter(user_input[CONF_PORT].strip())):
                self._abort_if_unique_id_mismatch(reason="wrong_meter")
                return self.async_update_reload_and_abort(entry, data_updates=self._entry_data())
            errors["base"] = error
        default = user_input[CONF_PORT] if user_input else entry.data[CONF_PORT]
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=await self._async_port_schema(default),
            errors=errors,
        )

    def _title(self) -> str:
        assert self._profile is not None
        return "Linky three-phase" if self._profile.three_phase else "Linky"

    def _placeholders(self) -> dict[str, str]:
        assert self._profile is not None
        assert self._detection is not None
        profile = self._profile
        return {
            "port": self._port or "",
            "mode": str(profile.mode),
            "baudrate": str(self._detection.baudrate),
            "phases": "3" if profile.three_phase else "1",
            "producer": "✓" if profile.producer else "✗",
            "tariff_option": profile.tariff_option or "?",
        }


def _seconds_selector(minimum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=3600, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
        )
    )


class EnergyLedgerOptionsFlow(OptionsFlow):
    """How often entities may write; for MQTT meters, how often the meter is expected to talk."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Single options form."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
        options = self.config_entry.options
        fields: dict[vol.Marker, NumberSelector] = {
            vol.Required(
                CONF_MIN_WRITE_INTERVAL,
                default=options.get(CONF_MIN_WRITE_INTERVAL, DEFAULT_MIN_WRITE_INTERVAL),
            ): _seconds_selector(0)
        }
        if entry_kind(self.config_entry) == KIND_MQTT:
            fields[
                vol.Required(
                    CONF_EXPECTED_INTERVAL,
                    default=options.get(CONF_EXPECTED_INTERVAL, DEFAULT_EXPECTED_INTERVAL),
                )
            ] = _seconds_selector(1)
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))
