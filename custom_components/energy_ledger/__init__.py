"""Energy Ledger: Linky TIC and MQTT smart meters into Home Assistant, and a ledger on top.

Home Assistant always has `homeassistant` installed, so the setup functions are imported here at
load time (Home Assistant loads integrations in its executor). Outside Home Assistant, where only
the pure `core` package is wanted (tests, benchmarks, the simulator), that import is skipped so
`custom_components.energy_ledger.core` stays importable on its own.
"""

from __future__ import annotations

try:
    from .entry import async_setup_entry, async_unload_entry
except ModuleNotFoundError as err:  # pragma: no cover - exercised by tests/core/test_purity.py
    if not (err.name or "").startswith("homeassistant"):
        raise
else:
    __all__ = ["async_setup_entry", "async_unload_entry"]
