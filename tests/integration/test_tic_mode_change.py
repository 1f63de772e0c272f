"""A meter switched between historic and standard TIC on a real pseudo-terminal: the repair issue
that says so, and its fix flow that removes the old mode's entities."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.repairs import RepairsFlowManager, repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_ledger.const import CONF_BAUDRATE, CONF_MODE, CONF_PORT, DOMAIN
from custom_components.energy_ledger.core.tic import TicMode
from custom_components.energy_ledger.core.tic.encode import (
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)
from custom_components.energy_ledger.repairs import MODE_CHANGED, mode_issue_id, note_tic_mode
from custom_components.energy_ledger.sources import tic_serial

from .conftest import MeterFeed, TicLine
from .test_tic_end_to_end import ADSC, state_of, wait_for

HISTORIC = encode_frame(
    [
        encode_historic_group("ADCO", ADSC),  # the same meter address in both modes
        encode_historic_group("OPTARIF", "BASE"),
        encode_historic_group("ISOUSC", "30"),
        encode_historic_group("BASE", "001181243"),
        encode_historic_group("PTEC", "TH.."),
        encode_historic_group("IINST", "002"),
        encode_historic_group("IMAX", "090"),
        encode_historic_group("PAPP", "00540"),
    ]
)
STANDARD = encode_frame(
    [
        encode_standard_group("ADSC", ADSC),
        encode_standard_group("VTIC", "02"),
        encode_standard_group("LTARF", "      BASE      "),
        encode_standard_group("EAST", "001181250"),
        encode_standard_group("EASF01", "001181250"),
        encode_standard_group("IRMS1", "002"),
        encode_standard_group("URMS1", "231"),
        encode_standard_group("SINSTS", "00540"),
        encode_standard_group("NTARF", "01"),
    ]
)
HISTORIC_ONLY = ("optarif", "isousc", "base", "iinst", "imax", "papp")
STANDARD_ONLY = ("vtic", "ltarf", "east", "easf01", "irms1", "urms1", "sinsts", "ntarf")
KEPT_WHATEVER_THE_MODE = (("sensor", "tariff_period"), ("binary_sensor", "connection"))


@pytest.fixture(autouse=True)
def fast_redetection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames of the other mode read as silence: re-detect after 0.6 s of it, not 30 s."""
    monkeypatch.setattr(tic_serial, "SILENCE_BEFORE_REDETECT", 0.6)
    monkeypatch.setattr(tic_serial, "BACKOFF_START", 0.1)


async def setup_meter(hass: HomeAssistant, port: str, mode: str | None) -> MockConfigEntry:
    """Add and set up a meter entry on `port` recorded in `mode` (None: no mode recorded)."""
    data: dict[str, Any] = {CONF_PORT: port, CONF_BAUDRATE: 1200}
    if mode is not None:
        data[CONF_MODE] = mode
    entry = MockConfigEntry(domain=DOMAIN, title="Linky", unique_id=ADSC, data=data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


def mode_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    """Every mode-change issue of the integration."""
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith("tic_mode_changed")
    ]


def registered(hass: HomeAssistant, platform: str, key: str) -> bool:
    """Whether the entity registry holds the meter's entity of `key`."""
    unique_id = f"{ADSC}_{key}"
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id) is not None


async def read_in(entry: MockConfigEntry, mode: str) -> None:
    """Wait until the source reads frames in `mode`, detected and then locked by its reader.

    Detection and reading each lock the mode from their own first frame: a meter switching
    between the two would be read in the new mode without a re-detection, which no real meter
    does (it switches once in years), so a test switches only after both.
    """
    source = entry.runtime_data.coordinator.source
    await wait_for(lambda: source.mode == mode and source.reader.mode == mode)


async def repairs(hass: HomeAssistant) -> RepairsFlowManager:
    """The repairs integration's flow manager: what Settings → Repairs drives."""
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager


async def test_no_issue_when_the_mode_is_first_detected(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """An entry with no mode recorded gets the detected one, and no repair issue."""
    feed = MeterFeed(tic_line, STANDARD)
    try:
        entry = await setup_meter(hass, tic_line.port, mode=None)
        await wait_for(lambda: state_of(hass, "sensor", "east") == "1181.25")
        assert entry.data[CONF_MODE] == "standard"
        assert mode_issues(hass) == []
    finally:
        await feed.stop()


async def test_switch_to_standard_raises_an_issue_whose_fix_removes_historic_entities(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """Historic, then standard frames on the same port: the issue names both modes and the new
    registers; its fix removes the historic labels' entities only, then deletes the issue."""
    manager = await repairs(hass)
    feed = MeterFeed(tic_line, HISTORIC)
    try:
        entry = await setup_meter(hass, tic_line.port, mode="historic")
        await read_in(entry, "historic")
        assert mode_issues(hass) == []  # read in the recorded mode: nothing to say

        feed.frame = STANDARD
        await wait_for(lambda: state_of(hass, "sensor", "east") == "1181.25")
        assert entry.data[CONF_MODE] == "standard"
        assert state_of(hass, "sensor", "base") == STATE_UNAVAILABLE
        [issue] = mode_issues(hass)
        assert issue.issue_id == f"tic_mode_changed_{entry.entry_id}"
        assert issue.translation_key == "tic_mode_changed_to_standard"
        assert issue.is_fixable
        assert issue.is_persistent  # noticed once: it must outlive a restart
        assert issue.severity is ir.IssueSeverity.WARNING
        assert issue.translation_placeholders == {
            "title": "Linky",
            "new_index": "EAST, EASF01…EASF10",
        }

        result = await manager.async_init(DOMAIN, data={"issue_id": issue.issue_id})
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "confirm"
        placeholders = result["description_placeholders"]
        assert placeholders is not None
        assert placeholders["count"] == str(len(HISTORIC_ONLY))
        assert "sensor.linky_imported_energy_base" in placeholders["entities"].split(", ")
        assert all(registered(hass, "sensor", key) for key in HISTORIC_ONLY)  # not before submit

        result = await manager.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

        assert not any(registered(hass, "sensor", key) for key in HISTORIC_ONLY)
        assert all(registered(hass, "sensor", key) for key in STANDARD_ONLY)
        assert all(registered(hass, platform, key) for platform, key in KEPT_WHATEVER_THE_MODE)
        assert mode_issues(hass) == []
        assert entry.state is ConfigEntryState.LOADED  # reloaded: see the flow's docstring
        await read_in(entry, "standard")

        # Back to historic: the removed entities return, and the issue speaks of this switch.
        feed.frame = HISTORIC
        await wait_for(lambda: state_of(hass, "sensor", "base") == "1181.243")
        [issue] = mode_issues(hass)
        assert issue.translation_key == "tic_mode_changed_to_historic"
        assert issue.translation_placeholders is not None
    finally:
        await feed.stop()


async def test_switching_back_before_the_fix_replaces_the_issue(
    hass: HomeAssistant, tic_line: TicLine
) -> None:
    """Historic, standard, historic again with the issue still open: one issue, the last switch."""
    feed = MeterFeed(tic_line, HISTORIC)
    try:
        entry = await setup_meter(hass, tic_line.port, mode="historic")
        await read_in(entry, "historic")
        feed.frame = STANDARD
        await wait_for(lambda: state_of(hass, "sensor", "east") == "1181.25")
        assert len(mode_issues(hass)) == 1
        await read_in(entry, "standard")

        feed.frame = HISTORIC
        await wait_for(lambda: entry.data[CONF_MODE] == "historic")
        [issue] = mode_issues(hass)
        assert issue.translation_key == "tic_mode_changed_to_historic"
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["new_index"].startswith("BASE, HCHC/HCHP")
    finally:
        await feed.stop()


async def test_an_ignored_issue_does_not_hide_the_next_switch(hass: HomeAssistant) -> None:
    """The user ignored the issue of one switch: the switch back is shown all the same."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=ADSC, data={CONF_MODE: "historic"})
    entry.add_to_hass(hass)
    note_tic_mode(hass, entry, TicMode.STANDARD)
    [issue] = mode_issues(hass)
    ir.async_ignore_issue(hass, DOMAIN, issue.issue_id, ignore=True)
    assert mode_issues(hass)[0].dismissed_version is not None

    note_tic_mode(hass, entry, TicMode.HISTORIC)
    [issue] = mode_issues(hass)
    assert issue.dismissed_version is None
    assert issue.translation_key == "tic_mode_changed_to_historic"


async def test_a_new_mode_records_the_baud_rate_it_was_detected_at(hass: HomeAssistant) -> None:
    """After a switch from historic (1200 baud) to standard (9600 baud), the next start tries
    9600 first instead of waiting for 1200 to time out."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=ADSC, data={CONF_MODE: "historic", CONF_BAUDRATE: 1200}
    )
    entry.add_to_hass(hass)
    note_tic_mode(hass, entry, TicMode.STANDARD, 9600)
    assert entry.data[CONF_MODE] == "standard"
    assert entry.data[CONF_BAUDRATE] == 9600
    note_tic_mode(hass, entry, TicMode.STANDARD, 1200)  # same mode: nothing is rewritten
    assert entry.data[CONF_BAUDRATE] == 9600


async def test_deleting_the_entry_withdraws_its_issue(hass: HomeAssistant) -> None:
    """The issue outlives restarts, not its entry."""
    assert await async_setup_component(hass, DOMAIN, {})
    entry = MockConfigEntry(domain=DOMAIN, unique_id=ADSC, data={CONF_MODE: "historic"})
    entry.add_to_hass(hass)
    note_tic_mode(hass, entry, TicMode.STANDARD)
    assert len(mode_issues(hass)) == 1
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert mode_issues(hass) == []


async def test_fixing_the_issue_of_a_missing_entry_only_withdraws_it(hass: HomeAssistant) -> None:
    """An issue whose entry is gone (deleted while Home Assistant was stopped) removes
    nothing when fixed."""
    manager = await repairs(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    ir.async_create_issue(
        hass,
        DOMAIN,
        mode_issue_id("gone"),
        is_fixable=True,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"{MODE_CHANGED}_to_standard",
        translation_placeholders={"title": "Linky", "new_index": "EAST"},
        data={"entry_id": "gone", "mode": "standard"},
    )
    [issue] = mode_issues(hass)

    result = await manager.async_init(DOMAIN, data={"issue_id": issue.issue_id})
    assert result["description_placeholders"] is not None
    assert result["description_placeholders"]["count"] == "0"
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mode_issues(hass) == []
