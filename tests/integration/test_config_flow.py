"""Config flow: every step and error against a real pseudo-terminal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import serialx
from homeassistant import config_entries
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.usb import UsbServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_ledger import config_flow
from custom_components.energy_ledger.const import (
    CONF_BAUDRATE,
    CONF_KIND,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MODE,
    CONF_PORT,
    DOMAIN,
    KIND_TIC,
)
from custom_components.energy_ledger.core.tic.encode import encode_frame, encode_standard_group

from .conftest import HISTORIC_HC, MeterFeed, TicLine, one_frame
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
    assert result["menu_options"] == ["tic", "mqtt_broker"]
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
