"""Add a Linky from the UI (pick or type a port, see what the meter is, confirm) or a broker.

The user step is a menu: a Linky on a serial port, or MQTT smart meters on a broker. The MQTT
branch connects to the broker once before the entry is created, so a wrong host, password or
TLS setting is explained in the form. Its unique id is the broker and what is read there. When
Home Assistant's own MQTT integration is set up, the MQTT branch first asks whether to use its
connection (no broker settings to type again) or a direct one. A direct entry's broker settings
can be changed later (reconfigure), tried before they are saved.

The flow reads the port before anything is created, so a wrong path, a permission problem or a
meter in the other TIC mode is explained in the form instead of surfacing later as an entity
that never gets a value. The meter address is the unique id: the same meter behind a new port
(a dongle moved to another USB socket) updates the existing entry instead of creating a twin.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import serialx
import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
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
    CONF_BASE_TOPIC,
    CONF_BAUDRATE,
    CONF_CA_FILE,
    CONF_CLIENT_ID,
    CONF_COMMAND_TIMEOUT,
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
    CONF_TRANSPORT,
    CONF_USERNAME,
    DEFAULT_EXPECTED_INTERVAL,
    DEFAULT_MIN_WRITE_INTERVAL,
    DEFAULT_MQTT_PORT,
    DEFAULT_V1_PREFIX,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT,
    KIND_TIC,
    PROFILE_ENERLINK_V1,
    PROFILE_TIC_PER_TOPIC,
    PROFILES,
    TRANSPORT_HOME_ASSISTANT,
)
from .core.mqtt.commands import DEFAULT_TIMEOUT, TIMEOUT_MAX_S, TIMEOUT_MIN_S
from .core.tic.profile import MeterProfile, profile_of
from .entry import EnergyLedgerConfigEntry, entry_kind
from .ledger_flow import LedgerConfigFlowMixin, LedgerOptionsFlow
from .mqtt_commands import COMMAND_PROFILES
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


def _same_device(port: str, others: list[str]) -> bool:
    """Whether `port` names the same device as one of `others`: the same text, or two paths
    to one device (/dev/serial/by-id/... and /dev/ttyUSB0). Blocking: resolves links."""
    if port in others:
        return True
    if "://" in port:
        return False  # a network bridge is only named one way
    device = os.path.realpath(port)
    return any("://" not in other and os.path.realpath(other) == device for other in others)


CONNECTION_FIELDS: dict[vol.Marker, Any] = {
    vol.Required(CONF_HOST): TextSelector(),
    vol.Required(CONF_MQTT_PORT, default=DEFAULT_MQTT_PORT): NumberSelector(
        NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
    ),
    vol.Optional(CONF_USERNAME): TextSelector(),
    vol.Optional(CONF_PASSWORD): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
    vol.Required(CONF_TLS, default=False): BooleanSelector(),
    vol.Optional(CONF_CA_FILE): TextSelector(),
    vol.Required(CONF_TLS_INSECURE, default=False): BooleanSelector(),
    vol.Optional(CONF_CLIENT_ID): TextSelector(),
}
"""Where the broker is and how to log in: a direct connection's settings."""
PROFILE_FIELDS: dict[vol.Marker, Any] = {
    vol.Required(CONF_PROFILE, default=PROFILE_ENERLINK_V1): SelectSelector(
        SelectSelectorConfig(
            options=list(PROFILES), translation_key=CONF_PROFILE, mode=SelectSelectorMode.LIST
        )
    ),
    vol.Optional(CONF_TOPIC_PREFIX, default=DEFAULT_V1_PREFIX): TextSelector(),
    vol.Optional(CONF_BASE_TOPIC): TextSelector(),
}
"""What the meters publish and where, whichever connection reaches them."""
MQTT_SCHEMA = vol.Schema({**CONNECTION_FIELDS, **PROFILE_FIELDS})
HA_MQTT_SCHEMA = vol.Schema(PROFILE_FIELDS)
MQTT_RECONFIGURE_SCHEMA = vol.Schema(CONNECTION_FIELDS)
REAUTH_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_USERNAME): CONNECTION_FIELDS[vol.Optional(CONF_USERNAME)],
        vol.Optional(CONF_PASSWORD): CONNECTION_FIELDS[vol.Optional(CONF_PASSWORD)],
    }
)


def _login_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """User name (trimmed) and password from a form; None for what is left empty."""
    return {
        CONF_USERNAME: (user_input.get(CONF_USERNAME) or "").strip() or None,
        CONF_PASSWORD: user_input.get(CONF_PASSWORD) or None,
    }


def _connection_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """A direct connection's settings from the form: trimmed and typed."""
    tls = bool(user_input.get(CONF_TLS, False))
    return {
        CONF_HOST: user_input[CONF_HOST].strip(),
        CONF_MQTT_PORT: int(user_input.get(CONF_MQTT_PORT, DEFAULT_MQTT_PORT)),
        **_login_data(user_input),
        CONF_TLS: tls,
        CONF_CA_FILE: (user_input.get(CONF_CA_FILE) or "").strip() or None,
        CONF_TLS_INSECURE: tls and bool(user_input.get(CONF_TLS_INSECURE, False)),
        CONF_CLIENT_ID: (user_input.get(CONF_CLIENT_ID) or "").strip() or None,
    }


def _ca_file_error(connection: Mapping[str, Any]) -> str | None:
    """None when the CA file is absent or usable, else the error key; reads the file (executor).

    Checked here so a typo in the path is explained in the form instead of as a TLS failure; the
    file is loaded as the connection will load it, so a key or an empty file is refused too.
    """
    path = connection[CONF_CA_FILE]
    if path is None:
        return None
    if not connection[CONF_TLS]:
        return "ca_file_needs_tls"
    if not os.path.isfile(path):
        return "ca_file_not_found"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError):
        return "ca_file_unreadable"
    return None


def _profile_data(user_input: dict[str, Any]) -> dict[str, Any] | str:
    """The profile and its topic from the form, or the error key of a missing base topic.

    v1 keeps its prefix only, the per-topic profile its base topic only: trimmed of blanks and
    slashes. A base topic is a topic, not a filter: wildcards would subscribe to other meters.
    """
    profile = user_input[CONF_PROFILE]
    data: dict[str, Any] = {CONF_KIND: KIND_MQTT, CONF_PROFILE: profile}
    if profile == PROFILE_ENERLINK_V1:
        prefix = (user_input.get(CONF_TOPIC_PREFIX) or DEFAULT_V1_PREFIX).strip().strip("/")
        data[CONF_TOPIC_PREFIX] = prefix or DEFAULT_V1_PREFIX
    elif profile == PROFILE_TIC_PER_TOPIC:
        base = (user_input.get(CONF_BASE_TOPIC) or "").strip().strip("/")
        if not base:
            return "base_topic_required"
        if "+" in base or "#" in base:
            return "base_topic_wildcard"
        data[CONF_BASE_TOPIC] = base
    return data


def _mqtt_entry_data(user_input: dict[str, Any]) -> dict[str, Any] | str:
    """What a direct MQTT entry stores, from the form; or the error key of the topic fields."""
    data = _profile_data(user_input)
    if isinstance(data, str):
        return data
    return {**data, **_connection_data(user_input)}


def _mqtt_unique_id(data: Mapping[str, Any]) -> str:
    """Broker and what is read there: the same meters cannot be added twice."""
    if data.get(CONF_TRANSPORT) == TRANSPORT_HOME_ASSISTANT:
        where = "home_assistant_mqtt"
    else:
        where = f"{data[CONF_HOST].lower()}:{data[CONF_MQTT_PORT]}"
    if data[CONF_PROFILE] == PROFILE_ENERLINK_V1:
        return f"{where}/{PROFILE_ENERLINK_V1}/{data[CONF_TOPIC_PREFIX]}"
    if data[CONF_PROFILE] == PROFILE_TIC_PER_TOPIC:
        return f"{where}/{PROFILE_TIC_PER_TOPIC}/{data[CONF_BASE_TOPIC]}"
    return f"{where}/{data[CONF_PROFILE]}"


def _mqtt_title(data: dict[str, Any]) -> str:
    if data[CONF_PROFILE] == PROFILE_ENERLINK_V1:
        return f"EnerLink {data[CONF_TOPIC_PREFIX]}"
    if data[CONF_PROFILE] == PROFILE_TIC_PER_TOPIC:
        return f"Linky {data[CONF_BASE_TOPIC]}"
    return "EnerLink v2 meters"


def _ha_mqtt_loaded(hass: HomeAssistant) -> bool:
    """Whether Home Assistant's own MQTT integration is set up (its connection can be shared)."""
    return bool(hass.config_entries.async_loaded_entries(mqtt.DOMAIN))


async def _ha_mqtt_error(hass: HomeAssistant) -> str | None:
    """None when Home Assistant's MQTT client is there and connected, else the error key."""
    if not await mqtt.async_wait_for_mqtt_client(hass) or not mqtt.is_connected(hass):
        return "ha_mqtt_unavailable"
    return None


class EnergyLedgerConfigFlow(LedgerConfigFlowMixin, ConfigFlow, domain=DOMAIN):
    """Config flow of a TIC meter or of an MQTT broker with its meters."""

    VERSION = 1

    def __init__(self) -> None:
        self._port: str | None = None
        self._detection: Detection | None = None
        self._profile: MeterProfile | None = None
        self._direct = False
        """The user chose a direct broker connection over Home Assistant's MQTT one."""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: EnergyLedgerConfigEntry) -> OptionsFlow:
        """Options: how often entities may write their state; a ledger's prices and sources."""
        if entry_kind(config_entry) == KIND_LEDGER:
            return LedgerOptionsFlow()
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
        return self.async_show_menu(step_id="user", menu_options=["tic", "mqtt_broker", "ledger"])

    async def _async_port_in_use(self, port: str) -> bool:
        """Whether an entry already reads `port`: it holds the port, so reading it here would
        only fail with a puzzling "cannot open"."""
        ports = [
            entry.data[CONF_PORT]
            for entry in self._async_current_entries(include_ignore=False)
            if entry_kind(entry) == KIND_TIC
        ]
        return bool(ports) and await self.hass.async_add_executor_job(_same_device, port, ports)

    async def async_step_tic(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose or type the port; it is read before going further."""
        errors: dict[str, str] = {}
        if user_input is not None:
            port = user_input[CONF_PORT].strip()
            if await self._async_port_in_use(port):
                errors[CONF_PORT] = "port_in_use"
            elif not (error := await self._async_read_meter(port)):
                self._abort_if_unique_id_configured(updates=self._entry_data())
                return await self.async_step_confirm()
            else:
                errors["base"] = error
        default = user_input[CONF_PORT] if user_input else None
        return self.async_show_form(
            step_id="tic", data_schema=await self._async_port_schema(default), errors=errors
        )

    async def async_step_mqtt_broker(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Broker, login and payload profile; the broker is tried before the entry exists.

        With Home Assistant's MQTT integration set up, the user first picks which connection.
        """
        if user_input is None and not self._direct and _ha_mqtt_loaded(self.hass):
            return await self.async_step_mqtt_transport()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _mqtt_entry_data(user_input)
            if isinstance(data, str):
                errors[CONF_BASE_TOPIC] = data
            elif ca_error := await self.hass.async_add_executor_job(_ca_file_error, data):
                errors[CONF_CA_FILE] = ca_error
            else:
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

    async def async_step_mqtt_transport(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Home Assistant's MQTT connection, or one of our own to a broker."""
        return self.async_show_menu(
            step_id="mqtt_transport", menu_options=["mqtt_home_assistant", "mqtt_direct"]
        )

    async def async_step_mqtt_direct(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A connection of our own to a broker, although Home Assistant has one."""
        self._direct = True
        return await self.async_step_mqtt_broker()

    async def async_step_mqtt_home_assistant(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Payload profile only: Home Assistant's MQTT integration knows the broker."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _profile_data(user_input)
            if isinstance(data, str):
                errors[CONF_BASE_TOPIC] = data
            else:
                data[CONF_TRANSPORT] = TRANSPORT_HOME_ASSISTANT
                await self.async_set_unique_id(_mqtt_unique_id(data))
                self._abort_if_unique_id_configured(error="broker_already_configured")
                if not (error := await _ha_mqtt_error(self.hass)):
                    return self.async_create_entry(title=_mqtt_title(data), data=data)
                errors["base"] = error
        return self.async_show_form(
            step_id="mqtt_home_assistant",
            data_schema=self.add_suggested_values_to_schema(HA_MQTT_SCHEMA, user_input or {}),
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
            return await self.async_step_mqtt_reconfigure()
        if entry_kind(entry) == KIND_LEDGER:
            return self.async_abort(reason="ledger_use_options")
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

    async def async_step_mqtt_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New broker, login, TLS, CA file or client id of a direct entry; tried before saving.

        An empty password keeps the saved one while the user name stays the same (the form never
        shows it); a new user name without a password logs in without one. Entries on Home
        Assistant's MQTT connection have nothing of ours to change.
        """
        entry = self._get_reconfigure_entry()
        if entry.data.get(CONF_TRANSPORT) == TRANSPORT_HOME_ASSISTANT:
            return self.async_abort(reason="reconfigure_in_mqtt_integration")
        errors: dict[str, str] = {}
        if user_input is not None:
            connection = _connection_data(user_input)
            if connection[CONF_PASSWORD] is None and connection[CONF_USERNAME] == entry.data.get(
                CONF_USERNAME
            ):
                connection[CONF_PASSWORD] = entry.data.get(CONF_PASSWORD)
            data = {**entry.data, **connection}
            unique_id = _mqtt_unique_id(data)
            if any(
                other.unique_id == unique_id and other.entry_id != entry.entry_id
                for other in self._async_current_entries(include_ignore=False)
            ):
                return self.async_abort(reason="broker_already_configured")
            if ca_error := await self.hass.async_add_executor_job(_ca_file_error, connection):
                errors[CONF_CA_FILE] = ca_error
            elif not (error := await test_connection(settings_from_entry(data))):
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, data_updates=connection
                )
            else:
                errors["base"] = error
        shown = user_input or entry.data
        return self.async_show_form(
            step_id="mqtt_reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                MQTT_RECONFIGURE_SCHEMA,
                {
                    k: v
                    for k, v in shown.items()
                    if k in CONNECTION_FIELDS and k != CONF_PASSWORD and v is not None
                },
            ),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The broker refused the saved login of a direct entry (a password changed)."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The new user name and password, tried on the broker before they are saved."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            login = _login_data(user_input)
            error = await test_connection(settings_from_entry({**entry.data, **login}))
            if not error:
                return self.async_update_reload_and_abort(entry, data_updates=login)
            errors["base"] = error
        username = (user_input or entry.data).get(CONF_USERNAME)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, {CONF_USERNAME: username} if username else {}
            ),
            description_placeholders={
                "title": entry.title,
                "broker": f"{entry.data[CONF_HOST]}:{entry.data[CONF_MQTT_PORT]}",
            },
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


def _seconds_selector(minimum: int, maximum: int = 3600) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
        )
    )


class EnergyLedgerOptionsFlow(OptionsFlow):
    """Write pace of entities; for MQTT meters, their expected interval and command timeout."""

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
        if (
            entry_kind(self.config_entry) == KIND_MQTT
            and self.config_entry.data.get(CONF_PROFILE) in COMMAND_PROFILES
        ):
            fields[
                vol.Required(
                    CONF_COMMAND_TIMEOUT,
                    default=options.get(CONF_COMMAND_TIMEOUT, int(DEFAULT_TIMEOUT.total_seconds())),
                )
            ] = _seconds_selector(TIMEOUT_MIN_S, TIMEOUT_MAX_S)
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))
