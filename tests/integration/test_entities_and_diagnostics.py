"""Snapshot of every entity a real three-phase Tempo meter gets, and redacted diagnostics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_ledger.diagnostics import _redact_port
from custom_components.energy_ledger.entity import TicEntity

from .conftest import MeterFeed, TicLine
from .test_tic_end_to_end import ADSC, setup_meter, state_of, wait_for

PRM = "07361794479930"
SNAPSHOT = Path(__file__).parent / "snapshots" / "entities_standard_tri_tempo.json"
"""Plain JSON rather than syrupy: its file format differs between the two Home Assistant lines.
Regenerate with UPDATE_SNAPSHOTS=1 and review the diff."""


async def test_entities_snapshot(hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed) -> None:
    """What a user sees in the device page: names, classes, units, states, categories."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "east") not in (None, STATE_UNAVAILABLE))
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    shown = {}
    for reg in sorted(
        er.async_entries_for_config_entry(registry, entry.entry_id), key=lambda e: e.entity_id
    ):
        state = hass.states.get(reg.entity_id)
        attributes = dict(state.attributes) if state else {}
        shown[reg.entity_id] = {
            "translation_key": reg.translation_key,
            "category": reg.entity_category and str(reg.entity_category),
            "disabled": reg.disabled_by is not None,
            "state": state.state if state else None,
            "device_class": attributes.get("device_class"),
            "state_class": attributes.get("state_class"),
            "unit": attributes.get("unit_of_measurement"),
            "options": attributes.get("options"),
        }
    # Counters move with timing; they are checked elsewhere.
    shown["sensor.linky_three_phase_frames_received"]["state"] = "counted"
    shown["sensor.linky_three_phase_meter_clock_drift"]["state"] = "measured"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
    assert shown == json.loads(SNAPSHOT.read_text())


async def test_diagnostics_are_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tic_line: TicLine,
    meter: MeterFeed,
) -> None:
    """Diagnostics tell what was detected and counted, never the meter address or PRM."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: entry.runtime_data.coordinator.frames_received >= 2)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert ADSC not in text
    assert PRM not in text
    assert diagnostics["entry"]["data"]["port"] == tic_line.port  # a plain path names no one
    assert diagnostics["source"]["mode"] == "standard"
    assert diagnostics["source"]["baudrate"] == 9600
    assert diagnostics["source"]["connected"] is True
    assert diagnostics["source"]["frames_valid"] >= 1
    assert diagnostics["meter"] == {
        "three_phase": True,
        "producer": False,
        "tariff_option": "TEMPO",
    }
    frame = diagnostics["recent_frames"][-1]
    assert frame["ADSC"] == frame["PRM"] == "**REDACTED**"
    assert frame["EAST"] == "021849106"
    assert "SINSTS" in diagnostics["labels"]


def test_port_redaction() -> None:
    """By-id paths carry the adapter's serial number and URLs a host: both are hidden."""
    by_id = "/dev/serial/by-id/usb-FTDI_TINFO-1234_DA0ABCDE-if00-port0"
    assert _redact_port(by_id) == "/dev/serial/by-id/**REDACTED**"
    assert _redact_port("socket://192.168.1.20:3333") == "socket://**REDACTED**"
    assert _redact_port("/dev/ttyUSB0") == "/dev/ttyUSB0"


async def test_disabled_by_default_entities_show_decoded_values(
    hass: HomeAssistant,
    tic_line: TicLine,
    meter: MeterFeed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a user gets when enabling the hidden ones: day profile, virtual relays, STGE peaks."""
    monkeypatch.setattr(TicEntity, "entity_registry_enabled_default", True)
    await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "pjourf+1") not in (None, "unavailable"))
    # PJOURF+1 "00004001 06004002 22004001 NONUTILE...": start time and tariff index per block.
    assert state_of(hass, "sensor", "pjourf+1") == "00:00 1, 06:00 2, 22:00 1"
    assert state_of(hass, "sensor", "easd01") == "21849.106"
    assert state_of(hass, "binary_sensor", "relay_2") == "off"
    # STGE 463A0800: bits 28-29 = 0 (no notice), bits 30-31 = 1 (PM1 in progress).
    assert state_of(hass, "sensor", "mobile_peak_notice") == "none"
    assert state_of(hass, "sensor", "mobile_peak_active") == "pm1"
    # Bit 23 (CPL synchronised) is 0 in 463A0800.
    assert state_of(hass, "binary_sensor", "cpl_synchronised") == "off"
