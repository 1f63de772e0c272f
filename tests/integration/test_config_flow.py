"""Config flow: every step and error against a real pseudo-terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import serialx
from homeassistant import config_entries
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service_info.usb import UsbServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_ledger import config_flow
from custom_components.energy_ledger.const import (
    CONF_BASE_TOPIC,
    CONF_BAUDRATE,
    CONF_CA_FILE,
    CONF_CLIENT_ID,
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
    DOMAIN,
    KIND_MQTT,
    KIND_TIC,
    PROFILE_ENERLINK_V2,
    PROFILE_TIC_PER_TOPIC,
)
from custom_components.energy_ledger.core.tic.encode import encode_frame, encode_standard_group
from custom_components.energy_ledger.sources import mqtt as mqtt_source
from custom_components.energy_ledger.sources.mqtt import MqttSource

from .conftest import HISTORIC_HC, MeterFeed, TicLine, one_frame
from .mqtt_broker import LOOPBACK, PASSWORD, USER, Broker, Certificates, free_port
from .test_mqtt_meters import publish, setup_mqtt, v2_data
from .test_mqtt_meters import state_of as mqtt_state_of
from .test_tic_end_to_end import state_of, wait_for

ADSC = "041776199277"
"""The meter address in the standard three-phase capture."""


async def _open_tic_form(hass: HomeAssistant) -> ConfigFlowResult:
    """The user step is a menu; choosing the Linky leads to the port form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["tic", "mqtt_broker", "ledger"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "tic"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tic"
    assert CONF_PORT in result["data_schema"].schema
    return result


async def _start_user_flow(hass: HomeAssistant) -> str:
    return (await _open_tic_form(hass))["flow_id"]


async def test_user_flow_detects_and_creates_entry(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """A user types the port, sees what was found, and gets one entry keyed by the meter."""
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {
        "port": tic_line.port,
        "mode": "standard",
        "baudrate": "9600",
        "phases": "3",
        "producer": "✗",
        "tariff_option": "TEMPO",
    }
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Linky three-phase"
    assert result["data"] == {
        CONF_KIND: KIND_TIC,
        CONF_PORT: tic_line.port,
        CONF_MODE: "standard",
        CONF_BAUDRATE: 9600,
    }
    assert result["result"].unique_id == ADSC
    # The port the flow just read is opened again by the entry, and values arrive.
    await wait_for(lambda: state_of(hass, "sensor", "east") == "21849.106")


async def test_user_flow_historic_meter(hass: HomeAssistant, tic_line: TicLine) -> None:
    """A historic single-phase meter is recognised as such."""
    feed = MeterFeed(tic_line, one_frame(HISTORIC_HC.read_bytes()))
    try:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    finally:
        await feed.stop()
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert (placeholders["mode"], placeholders["phases"], placeholders["tariff_option"]) == (
        "historic",
        "1",
        "HC",
    )


async def test_user_flow_cannot_open_then_recovers(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """A wrong path is explained in the form; the right one then works."""
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PORT: "/dev/serial/by-id/does-not-exist"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_open"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    assert result["step_id"] == "confirm"


async def test_user_flow_no_data(hass: HomeAssistant, tic_line: TicLine) -> None:
    """A port on which the meter says nothing: the hint about wiring and mode."""
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    assert result["errors"] == {"base": "no_data"}


async def test_user_flow_not_tic(hass: HomeAssistant, tic_line: TicLine) -> None:
    """Bytes that never form a valid TIC group: not a TIC stream."""
    feed = MeterFeed(tic_line, b"\x02\nHELLO WORLD\r\nAT+OK\r\x03" * 4)
    try:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    finally:
        await feed.stop()
    assert result["errors"] == {"base": "not_tic"}


async def test_user_flow_frame_without_address(hass: HomeAssistant, tic_line: TicLine) -> None:
    """Valid frames without ADSC/ADCO cannot identify the meter."""
    frame = encode_frame([encode_standard_group("SINSTS", "00420")])
    feed = MeterFeed(tic_line, frame)
    try:
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    finally:
        await feed.stop()
    assert result["errors"] == {"base": "no_address"}


async def test_user_flow_permission_denied(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied gets its own hint.

    Tests run as root, which no device permission stops, so the open is made to fail the way
    the kernel fails it for a user outside the dialout group.
    """

    async def denied(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/dev/ttyUSB0")

    monkeypatch.setattr(serialx, "open_serial_connection", denied)
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: "/dev/ttyUSB0"})
    assert result["errors"] == {"base": "permission_denied"}


async def test_same_meter_on_new_port_updates_entry(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """The meter moved to another USB socket: the existing entry follows it, no twin."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=ADSC,
        data={CONF_PORT: "/dev/ttyUSB7", CONF_MODE: "standard", CONF_BAUDRATE: 9600},
    )
    entry.add_to_hass(hass)
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: tic_line.port})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_PORT] == tic_line.port
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    await hass.async_block_till_done()


@pytest.mark.usefixtures("socket_enabled")
async def test_a_port_an_entry_already_reads_is_refused(
    hass: HomeAssistant, tic_line: TicLine, tmp_path: Path
) -> None:
    """The port of a configured meter, by its path or another link to the same device, is
    refused with the reason (the entry holds it: reading would only fail with cannot_open).
    An MQTT entry, whose data also has a port (a number), does not get in the way."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="mqtt_broker",
        data={CONF_KIND: KIND_MQTT, CONF_HOST: "127.0.0.1", CONF_MQTT_PORT: 1883},
    ).add_to_hass(hass)
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=ADSC,
        data={CONF_PORT: tic_line.port, CONF_MODE: "standard", CONF_BAUDRATE: 9600},
    ).add_to_hass(hass)
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="other meter",
        data={CONF_PORT: "socket://192.0.2.7:2000", CONF_MODE: "standard", CONF_BAUDRATE: 9600},
    ).add_to_hass(hass)
    link = tmp_path / "usb-FTDI_TINFO-if00-port0"
    link.symlink_to(tic_line.port)
    for port in (tic_line.port, f" {link} ", "socket://192.0.2.7:2000"):
        flow_id = await _start_user_flow(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PORT: port})
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_PORT: "port_in_use"}
    # Another bridge is read as usual (nothing listens there: the usual error).
    flow_id = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PORT: f"socket://{LOOPBACK}:{free_port()}"}
    )
    assert result["errors"] == {"base": "cannot_open"}
    assert len(hass.config_entries.async_entries(DOMAIN)) == 3


def _usb_info(port: str) -> UsbServiceInfo:
    return UsbServiceInfo(
        device=port,
        vid="0403",
        pid="6015",
        serial_number="DA0ABCDE",
        manufacturer="FTDI",
        description="TINFO-1234",
    )


async def test_usb_discovery(hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed) -> None:
    """A plugged adapter is offered, read on confirmation, then added."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(tic_line.port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == ADSC
    await hass.async_block_till_done()


async def test_usb_discovery_no_data_then_already_configured(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """A silent adapter shows the error on confirm; a port already in use is not offered."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(tic_line.port)
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "usb_confirm"
    assert result["errors"] == {"base": "no_data"}

    MockConfigEntry(
        domain=DOMAIN, unique_id=ADSC, data={CONF_PORT: tic_line.port, CONF_BAUDRATE: 9600}
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(tic_line.port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_usb_discovery_of_known_meter_on_new_port(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """The adapter of a configured meter reappears under another path: entry updated."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=ADSC, data={CONF_PORT: "/dev/ttyUSB3", CONF_BAUDRATE: 9600}
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(tic_line.port)
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_PORT] == tic_line.port
    await hass.async_block_till_done()


async def test_reconfigure(hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed) -> None:
    """Reconfigure: an error is shown, then the same meter on the new port is accepted."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=ADSC,
        data={CONF_PORT: "/dev/ttyUSB9", CONF_MODE: "standard", CONF_BAUDRATE: 1200},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: "/dev/nonexistent"}
    )
    assert result["errors"] == {"base": "cannot_open"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: tic_line.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_KIND: KIND_TIC,
        CONF_PORT: tic_line.port,
        CONF_MODE: "standard",
        CONF_BAUDRATE: 9600,
    }
    await hass.async_block_till_done()


async def test_reconfigure_to_another_meter_is_refused(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """The port now leads to a different meter: refused, entry unchanged."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="021999000001", data={CONF_PORT: "/dev/ttyUSB9"}
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: tic_line.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
    assert entry.data[CONF_PORT] == "/dev/ttyUSB9"


async def test_options_flow(hass: HomeAssistant) -> None:
    """The write interval is an option with a default."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=ADSC, data={CONF_PORT: "/dev/ttyUSB9"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    (key,) = result["data_schema"].schema
    assert (str(key), key.default()) == (CONF_MIN_WRITE_INTERVAL, 30)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MIN_WRITE_INTERVAL: 5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_MIN_WRITE_INTERVAL: 5}


async def test_ports_are_offered_by_their_stable_path(
    hass: HomeAssistant,
    tic_line: TicLine,
    meter: MeterFeed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A USB adapter is listed under /dev/serial/by-id, which survives re-plugging.

    This machine has no USB adapter, so the port list answers with the pty as a USB device
    would be described, and the by-id folder is a real folder of real links.
    """
    device = os.path.realpath(tic_line.port)
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    stable = by_id / "usb-FTDI_TINFO-1234_DA0ABCDE-if00-port0"
    stable.symlink_to(device)
    monkeypatch.setattr(config_flow, "BY_ID_DIR", by_id)

    async def ports() -> list[serialx.SerialPortInfo]:
        return [
            serialx.SerialPortInfo(
                device=device,
                resolved_device=device,
                vid=0x0403,
                pid=0x6015,
                serial_number="DA0ABCDE",
                manufacturer="FTDI",
                product="TINFO-1234",
                bcd_device=None,
                interface_description=None,
                interface_num=0,
            )
        ]

    monkeypatch.setattr(serialx, "async_list_serial_ports", ports)
    result = await _open_tic_form(hass)
    selector = result["data_schema"].schema[CONF_PORT]
    assert selector.config["options"] == [
        {"value": str(stable), "label": f"{stable} (FTDI - TINFO-1234)"}
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: str(stable)}
    )
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["data"][CONF_PORT] == str(stable)
    await hass.async_block_till_done()


# ---- MQTT: one value per topic, reconfigure ---------------------------------------------------


async def _open_mqtt_broker_form(hass: HomeAssistant) -> str:
    """Without Home Assistant's MQTT integration the MQTT choice leads straight to the form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "mqtt_broker"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "mqtt_broker")
    return result["flow_id"]


def _translated(section: str, key: str) -> bool:
    strings = json.loads((Path(config_flow.__file__).parent / "strings.json").read_text())
    return key in strings["config"][section]


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_per_topic_flow_needs_a_base_topic(hass: HomeAssistant, broker: Broker) -> None:
    """The one-value-per-topic profile: a base topic is required, then the entry reads it."""
    flow_id = await _open_mqtt_broker_form(hass)
    form = {
        CONF_HOST: LOOPBACK,
        CONF_MQTT_PORT: broker.port,
        CONF_TLS: False,
        CONF_TLS_INSECURE: False,
        CONF_PROFILE: PROFILE_TIC_PER_TOPIC,
    }
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["errors"] == {CONF_BASE_TOPIC: "base_topic_required"}
    assert _translated("error", "base_topic_required")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**form, CONF_BASE_TOPIC: "TeleInfo/+/EAST"}
    )
    assert result["errors"] == {CONF_BASE_TOPIC: "base_topic_wildcard"}
    assert _translated("error", "base_topic_wildcard")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**form, CONF_BASE_TOPIC: "TeleInfo/LinkyConsommation/"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Linky TeleInfo/LinkyConsommation"
    assert result["data"][CONF_BASE_TOPIC] == "TeleInfo/LinkyConsommation"
    assert CONF_TOPIC_PREFIX not in result["data"]
    entry = result["result"]
    assert entry.unique_id == (
        f"{LOOPBACK}:{broker.port}/{PROFILE_TIC_PER_TOPIC}/TeleInfo/LinkyConsommation"
    )
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    await publish(broker, "TeleInfo/LinkyConsommation/EAST", b"802")
    registry = er.async_get(hass)
    east = f"{entry.entry_id}_tic_east"
    await wait_for(lambda: registry.async_get_entity_id("sensor", DOMAIN, east) is not None)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, east)
    assert entity_id is not None
    await wait_for(lambda: (s := hass.states.get(entity_id)) is not None and s.state == "0.802")


async def _setup_broker_entry(
    hass: HomeAssistant, broker: Broker, *, credentials: bool = False
) -> MockConfigEntry:
    """A direct EnerLink v2 entry on `broker`, connected."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="EnerLink v2 meters",
        unique_id=f"{LOOPBACK}:{broker.port}/{PROFILE_ENERLINK_V2}",
        data={
            CONF_KIND: KIND_MQTT,
            CONF_HOST: LOOPBACK,
            CONF_MQTT_PORT: broker.port,
            CONF_USERNAME: USER if credentials else None,
            CONF_PASSWORD: PASSWORD if credentials else None,
            CONF_TLS: False,
            CONF_TLS_INSECURE: False,
            CONF_PROFILE: PROFILE_ENERLINK_V2,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    return entry


async def _reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, **fields: object
) -> ConfigFlowResult:
    result = await entry.start_reconfigure_flow(hass)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "mqtt_reconfigure")
    assert {str(key) for key in result["data_schema"].schema} == {
        CONF_HOST,
        CONF_MQTT_PORT,
        CONF_USERNAME,
        CONF_PASSWORD,
        CONF_TLS,
        CONF_CA_FILE,
        CONF_TLS_INSECURE,
        CONF_CLIENT_ID,
    }
    form = {CONF_HOST: LOOPBACK, CONF_TLS: False, CONF_TLS_INSECURE: False, **fields}
    return await hass.config_entries.flow.async_configure(result["flow_id"], form)


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_reconfigure_moves_to_another_broker(
    hass: HomeAssistant, broker: Broker, tmp_path: Path
) -> None:
    """A new broker: tried, saved, the entry reloaded on it; nothing listening: refused."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    result = await _reconfigure(hass, entry, **{CONF_MQTT_PORT: free_port()})
    assert result["errors"] == {"base": "cannot_connect"}
    assert _translated("error", "cannot_connect")
    assert entry.data[CONF_MQTT_PORT] == broker.port

    (tmp_path / "other").mkdir()
    other = Broker(tmp_path / "other")
    other.start()
    try:
        result = await _reconfigure(hass, entry, **{CONF_MQTT_PORT: other.port})
        assert (result["type"], result["reason"]) == (
            FlowResultType.ABORT,
            "reconfigure_successful",
        )
        assert _translated("abort", "reconfigure_successful")
        assert entry.data[CONF_MQTT_PORT] == other.port
        assert entry.unique_id == f"{LOOPBACK}:{other.port}/{PROFILE_ENERLINK_V2}"
        await hass.async_block_till_done()
        await wait_for(lambda: entry.runtime_data.coordinator.connected)
        await publish(other, "enerlink/meters/data", v2_data("METER_9", 4000))
        await wait_for(lambda: mqtt_state_of(hass, entry, "battery_power", "METER_9") == "4")
    finally:
        other.kill()


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_reconfigure_login_keeps_or_drops_the_password(
    hass: HomeAssistant, auth_broker: Broker
) -> None:
    """Wrong password: invalid_auth. Empty with the same user: the saved one is kept."""
    entry = await _setup_broker_entry(hass, auth_broker, credentials=True)
    result = await _reconfigure(
        hass,
        entry,
        **{CONF_MQTT_PORT: auth_broker.port, CONF_USERNAME: USER, CONF_PASSWORD: "wrong"},
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert _translated("error", "invalid_auth")
    result = await _reconfigure(
        hass, entry, **{CONF_MQTT_PORT: auth_broker.port, CONF_USERNAME: USER}
    )
    assert result["reason"] == "reconfigure_successful"
    assert (entry.data[CONF_USERNAME], entry.data[CONF_PASSWORD]) == (USER, PASSWORD)
    # Another user without a password is tried as such (and refused by this broker).
    result = await _reconfigure(
        hass, entry, **{CONF_MQTT_PORT: auth_broker.port, CONF_USERNAME: "someone-else"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.connected)


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_reauth_tries_the_new_login_then_saves_it(
    hass: HomeAssistant, auth_broker: Broker
) -> None:
    """The broker's password changed: the new login is asked for, tried on the broker (a wrong
    one is refused in the form), saved, and the meters reconnect with it."""
    entry = await _setup_broker_entry(hass, auth_broker, credentials=True)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PASSWORD: "old"})
    result = await entry.start_reauth_flow(hass)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "reauth_confirm")
    placeholders = result["description_placeholders"]
    assert (placeholders["title"], placeholders["broker"]) == (
        "EnerLink v2 meters",
        f"{LOOPBACK}:{auth_broker.port}",
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USER, CONF_PASSWORD: "still wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert entry.data[CONF_PASSWORD] == "old"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: f" {USER} ", CONF_PASSWORD: PASSWORD}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    assert _translated("abort", "reauth_successful")
    assert (entry.data[CONF_USERNAME], entry.data[CONF_PASSWORD]) == (USER, PASSWORD)
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.connected)


@pytest.mark.usefixtures("socket_enabled")
async def test_a_refused_login_asks_for_the_new_one_once(
    hass: HomeAssistant, auth_broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker's password changed: the entry cannot connect, and Settings offers one
    re-authentication for it however often the broker refuses the old login."""
    monkeypatch.setattr(mqtt_source, "BACKOFF_START", 0.05)
    monkeypatch.setattr(mqtt_source, "BACKOFF_MAX", 0.05)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="EnerLink v2 meters",
        unique_id=f"{LOOPBACK}:{auth_broker.port}/{PROFILE_ENERLINK_V2}",
        data={
            CONF_KIND: KIND_MQTT,
            CONF_HOST: LOOPBACK,
            CONF_MQTT_PORT: auth_broker.port,
            CONF_USERNAME: USER,
            CONF_PASSWORD: "the old one",
            CONF_TLS: False,
            CONF_TLS_INSECURE: False,
            CONF_PROFILE: PROFILE_ENERLINK_V2,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    source = entry.runtime_data.coordinator.source
    await wait_for(lambda: source.reconnects >= 3)  # refused three times
    await hass.async_block_till_done()
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == config_entries.SOURCE_REAUTH
    ]
    assert [flow["context"]["entry_id"] for flow in flows] == [entry.entry_id]
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.connected)


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_reconfigure_tls(
    hass: HomeAssistant, broker: Broker, tls_broker: tuple[Broker, Certificates]
) -> None:
    """To a TLS broker with a private CA: tls_error until the user accepts any certificate."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    secure, certificates = tls_broker
    result = await _reconfigure(hass, entry, **{CONF_MQTT_PORT: secure.port, CONF_TLS: True})
    assert result["errors"] == {"base": "tls_error"}
    assert _translated("error", "tls_error")
    result = await _reconfigure(
        hass, entry, **{CONF_MQTT_PORT: secure.port, CONF_TLS: True, CONF_TLS_INSECURE: True}
    )
    assert result["reason"] == "reconfigure_successful"
    assert (entry.data[CONF_TLS], entry.data[CONF_TLS_INSECURE]) == (True, True)
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    # Then its CA: the certificate is checked again, the host name too.
    result = await _reconfigure(
        hass,
        entry,
        **{
            CONF_MQTT_PORT: secure.port,
            CONF_TLS: True,
            CONF_CA_FILE: str(certificates.ca_file),
            CONF_CLIENT_ID: "ledger-reconfigured",
        },
    )
    assert result["reason"] == "reconfigure_successful"
    assert (entry.data[CONF_CA_FILE], entry.data[CONF_TLS_INSECURE]) == (
        str(certificates.ca_file),
        False,
    )
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    await wait_for(lambda: " as ledger-reconfigured " in secure.log.read_text())


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_reconfigure_onto_an_entry_that_exists(
    hass: HomeAssistant, broker: Broker, auth_broker: Broker
) -> None:
    """The same meters on the same broker twice: refused, nothing changed."""
    first = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    await _setup_broker_entry(hass, auth_broker, credentials=True)
    result = await _reconfigure(
        hass,
        first,
        **{CONF_MQTT_PORT: auth_broker.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD},
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "broker_already_configured")
    assert _translated("abort", "broker_already_configured")
    assert first.data[CONF_MQTT_PORT] == broker.port


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_flow_ca_file_and_client_id(
    hass: HomeAssistant, tls_broker: tuple[Broker, Certificates], tmp_path: Path
) -> None:
    """A private CA's file is checked in the form, then trusted; the broker sees the client id."""
    secure, certificates = tls_broker
    flow_id = await _open_mqtt_broker_form(hass)
    form = {
        CONF_HOST: LOOPBACK,
        CONF_MQTT_PORT: secure.port,
        CONF_TLS: True,
        CONF_TLS_INSECURE: False,
        CONF_PROFILE: PROFILE_ENERLINK_V2,
        CONF_CLIENT_ID: " ledger-under-test ",
    }
    not_a_ca = tmp_path / "notes.txt"
    not_a_ca.write_text("not a certificate\n")
    for fields, error in (
        ({CONF_TLS: False, CONF_CA_FILE: str(certificates.ca_file)}, "ca_file_needs_tls"),
        ({CONF_CA_FILE: str(tmp_path / "missing.pem")}, "ca_file_not_found"),
        ({CONF_CA_FILE: str(tmp_path)}, "ca_file_not_found"),
        ({CONF_CA_FILE: str(not_a_ca)}, "ca_file_unreadable"),
        ({CONF_CA_FILE: str(certificates.key_file)}, "ca_file_unreadable"),
    ):
        result = await hass.config_entries.flow.async_configure(flow_id, {**form, **fields})
        assert result["errors"] == {CONF_CA_FILE: error}, fields
        assert _translated("error", error)
    assert not hass.config_entries.async_entries(DOMAIN)

    result = await hass.config_entries.flow.async_configure(
        flow_id, {**form, CONF_CA_FILE: f" {certificates.ca_file} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CA_FILE] == str(certificates.ca_file)
    assert result["data"][CONF_CLIENT_ID] == "ledger-under-test"
    entry = result["result"]
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    source = entry.runtime_data.coordinator.source
    assert isinstance(source, MqttSource)
    settings = source.settings
    assert (settings.ca_file, settings.tls_insecure, settings.client_id) == (
        str(certificates.ca_file),
        False,
        "ledger-under-test",
    )
    await wait_for(lambda: " as ledger-under-test " in secure.log.read_text())


@pytest.mark.usefixtures("socket_enabled")
async def test_mqtt_flow_without_client_id_lets_the_library_choose(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Optional fields left empty are stored as None; the connection still works."""
    flow_id = await _open_mqtt_broker_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_HOST: LOOPBACK,
            CONF_MQTT_PORT: broker.port,
            CONF_TLS: False,
            CONF_TLS_INSECURE: False,
            CONF_PROFILE: PROFILE_ENERLINK_V2,
            CONF_CLIENT_ID: "  ",
            CONF_CA_FILE: "",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (result["data"][CONF_CA_FILE], result["data"][CONF_CLIENT_ID]) == (None, None)
    entry = result["result"]
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    source = entry.runtime_data.coordinator.source
    assert isinstance(source, MqttSource)
    assert (source.settings.ca_file, source.settings.client_id) == (None, None)
