"""Repair issues of a TIC meter: a port that stays unreadable, a meter that changed TIC mode.

Entities already turn unavailable at once; the port issue is for the case a user would not
notice on a dashboard: an adapter that has been gone for minutes (unplugged, renamed after a
reboot, moved to another USB socket), with the way out (plug it back or reconfigure the port).
It goes away as soon as frames return.

The mode issue is for a switch the grid operator makes remotely (historic to standard TIC, or
back): the source re-detects the mode and the new labels get their entities, but the old index
registers stop moving, so an Energy panel still pointing at them stops counting without a word.
The issue says so, survives restarts until dealt with (the change is noticed only once), and its
fix flow removes the entities of the labels only the old mode sends.
"""

from __future__ import annotations

from typing import Any, Final

import voluptuous as vol
from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from .const import CONF_BAUDRATE, CONF_MODE, CONF_PORT, DOMAIN
from .core.tic import LABELS, TicMode
from .unique_ids import meter_entity_unique_id

PORT_UNAVAILABLE_MINUTES = 5
"""How long the port may stay unreadable before a repair issue is raised."""

MODE_CHANGED: Final = "tic_mode_changed"
"""The mode issue's id is this plus the entry id (one per entry); its translation key is this
plus ``_to_`` and the new mode, so each language names both modes in its own words."""

INDEX_LABELS: Final = {
    TicMode.STANDARD: "EAST, EASF01…EASF10",
    TicMode.HISTORIC: "BASE, HCHC/HCHP, EJPHN/EJPHPM, BBRHCJB…BBRHPJR",
}
"""The import index registers of each mode, named in the issue as the Energy panel's new sources."""


def _issue_id(entry: ConfigEntry) -> str:
    return f"port_unavailable_{entry.entry_id}"


def raise_port_unavailable(hass: HomeAssistant, entry: ConfigEntry, error: str | None) -> None:
    """Tell the user, in Settings → Repairs, that the meter cannot be read."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        _issue_id(entry),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="port_unavailable",
        translation_placeholders={
            "title": entry.title,
            "port": entry.data[CONF_PORT],
            "minutes": str(PORT_UNAVAILABLE_MINUTES),
            "error": error or "?",
        },
    )


def clear_port_unavailable(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The meter is read again (or the entry is gone): no more issue."""
    ir.async_delete_issue(hass, DOMAIN, _issue_id(entry))


def mode_issue_id(entry_id: str) -> str:
    """The id of an entry's mode issue: one per entry, so a switch back replaces it."""
    return f"{MODE_CHANGED}_{entry_id}"


@callback
def note_tic_mode(
    hass: HomeAssistant, entry: ConfigEntry, mode: TicMode, baudrate: int | None = None
) -> None:
    """Record the mode the meter was just detected in; raise the mode issue if it changed.

    An entry without a recorded mode only gets it recorded: there is nothing to compare with.
    The baud rate it was detected at is recorded with a new mode (the two modes usually differ
    in baud): the next start tries it first.
    """
    recorded = entry.data.get(CONF_MODE)
    if recorded == mode:
        return
    data = {**entry.data, CONF_MODE: str(mode)}
    if baudrate is not None:
        data[CONF_BAUDRATE] = baudrate
    hass.config_entries.async_update_entry(entry, data=data)
    if recorded is None:
        return
    issue_id = mode_issue_id(entry.entry_id)
    # Each switch is news: an issue the user ignored for the previous one must not hide it.
    ir.async_delete_issue(hass, DOMAIN, issue_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"{MODE_CHANGED}_to_{mode}",
        translation_placeholders={"title": entry.title, "new_index": INDEX_LABELS[mode]},
        data={"entry_id": entry.entry_id, "mode": str(mode)},
    )


def _other_mode_entities(
    registry: er.EntityRegistry, entry: ConfigEntry, mode: TicMode
) -> list[er.RegistryEntry]:
    """The entry's entities of labels only the mode other than `mode` sends.

    Label entities are found by their unique id (`meter_entity_unique_id`, keyed by label).
    Entities of labels both modes send, derived and source-health entities have other unique
    ids and stay.
    """
    stale = {
        meter_entity_unique_id(entry.unique_id, label)
        for label, spec in LABELS.items()
        if spec.mode is not None and spec.mode != mode
    }
    return [
        registered
        for registered in er.async_entries_for_config_entry(registry, entry.entry_id)
        if registered.unique_id in stale
    ]


class ModeChangedFlow(RepairsFlow):
    """Confirm, then remove the old mode's label entities; the flow manager deletes the issue."""

    def __init__(self, entry_id: str, mode: TicMode, placeholders: dict[str, str]) -> None:
        self._entry_id = entry_id
        self._mode = mode
        self._placeholders = placeholders

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """The only step is the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Show what will be removed; on submit remove it and reload the entry.

        The reload lets entities removed here come back if the meter ever returns to the old
        mode: a running entry creates an entity only once per label.
        """
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        registry = er.async_get(self.hass)
        stale = [] if entry is None else _other_mode_entities(registry, entry, self._mode)
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=vol.Schema({}),
                description_placeholders={
                    **self._placeholders,
                    "count": str(len(stale)),
                    "entities": ", ".join(sorted(e.entity_id for e in stale)) or "—",
                },
            )
        for registered in stale:
            registry.async_remove(registered.entity_id)
        if entry is not None and entry.state is ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue of ours: only the mode issue is fixable."""
    assert data is not None, issue_id
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    placeholders = dict(issue.translation_placeholders or {}) if issue else {}
    return ModeChangedFlow(str(data["entry_id"]), TicMode(str(data["mode"])), placeholders)
