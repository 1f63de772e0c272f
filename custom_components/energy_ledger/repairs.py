"""A repair issue when the meter's port stays unreadable, removed as soon as frames return.

Entities already turn unavailable at once; the repair issue is for the case a user would not
notice on a dashboard: an adapter that has been gone for minutes (unplugged, renamed after a
reboot, moved to another USB socket), with the way out (plug it back or reconfigure the port).
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import CONF_PORT, DOMAIN

PORT_UNAVAILABLE_MINUTES = 5
"""How long the port may stay unreadable before a repair issue is raised."""


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
