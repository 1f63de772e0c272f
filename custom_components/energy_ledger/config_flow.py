"""Add a Linky from the UI: pick or type a port, see what the meter is, confirm.

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
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo

from .const import (
    CONF_BAUDRATE,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MODE,
    CONF_PORT,
    DEFAULT_MIN_WRITE_INTERVAL,
    DOMAIN,
)
from .core.tic.profile import MeterProfile, profile_of
from .entry import EnergyLedgerConfigEntry
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


class EnergyLedgerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Config flow of a TIC meter."""

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
            CONF_PORT: self._port,
            CONF_MODE: str(self._detection.mode),
            CONF_BAUDRATE: self._detection.baudrate,
        }

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose or type the port; it is read before going further."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if not (error := await self._async_read_meter(user_input[CONF_PORT].strip())):
                self._abort_if_unique_id_configured(updates=self._entry_data())
                return await self.async_step_confirm()
            errors["base"] = error
        default = user_input[CONF_PORT] if user_input else None
        return self.async_show_form(
            step_id="user", data_schema=await self._async_port_schema(default), errors=errors
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


class EnergyLedgerOptionsFlow(OptionsFlow):
    """How often an entity whose value keeps changing may write its state."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Single options form."""
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_MIN_WRITE_INTERVAL: int(user_input[CONF_MIN_WRITE_INTERVAL])}
            )
        current = self.config_entry.options.get(CONF_MIN_WRITE_INTERVAL, DEFAULT_MIN_WRITE_INTERVAL)
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_MIN_WRITE_INTERVAL, default=current): NumberSelector(
                        NumberSelectorConfig(
                            min=0,
                            max=3600,
                            step=1,
                            unit_of_measurement="s",
                            mode=NumberSelectorMode.BOX,
                        )
                    )
                }
            ),
        )
