"""Energy Ledger: Linky TIC and MQTT smart meters into Home Assistant, and a ledger on top.

Home Assistant always has `homeassistant` installed, so the setup functions are imported here at
load time (Home Assistant loads integrations in its executor). Outside Home Assistant, where only
the pure `core` package is wanted (tests, benchmarks, the simulator), that import is skipped so
`custom_components.energy_ledger.core` stays importable on its own.
"""

from __future__ import annotations

try:
    from .entry import (
        CONFIG_SCHEMA,
        async_remove_entry,
        async_setup,
        async_setup_entry,
        async_unload_entry,
    )
    from .mqtt_entity import async_remove_config_entry_device
except ModuleNotFoundError as err:  # pragma: no cover - exercised by tests/core/test_purity.py
    if not (err.name or "").startswith("homeassistant"):
        raise
else:
    __all__ = [
        "CONFIG_SCHEMA",
        "async_remove_config_entry_device",
        "async_remove_entry",
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
    ]
