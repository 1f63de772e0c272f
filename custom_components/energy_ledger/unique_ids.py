"""The unique id of a meter's entity, in one place: entities are created with it, and the mode
repair finds the entities of a TIC mode's labels by it."""

from __future__ import annotations


def meter_entity_unique_id(meter: str | None, key: str) -> str:
    """The meter's own id (a TIC entry's unique id, its meter address, or a per-topic bridge's
    prefix), ``_``, the entity's key in lower case: stable across ports and restarts."""
    return f"{meter}_{key.lower()}"
