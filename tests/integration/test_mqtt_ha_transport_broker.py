"""Home Assistant's MQTT integration as the transport, on a real mosquitto (not the framework's
mocked client): what a user does to the MQTT integration must not strand the meters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant import config as conf_util
from homeassistant.components import mqtt
from homeassistant.components.mqtt.const import CONFIG_ENTRY_MINOR_VERSION, CONFIG_ENTRY_VERSION
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_ledger.const import PROFILE_ENERLINK_V2

from .mqtt_broker import LOOPBACK, Broker
from .test_mqtt_ha_transport import setup_ha_entry
from .test_mqtt_meters import publish, state_of, v2_data
from .test_tic_end_to_end import wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

DATA_TOPIC = "enerlink/meters/data"


def _mqtt_entry(broker: Broker) -> MockConfigEntry:
    return MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={"broker": LOOPBACK, "port": broker.port},
        version=CONFIG_ENTRY_VERSION,
        minor_version=CONFIG_ENTRY_MINOR_VERSION,
    )


@pytest.fixture
async def ha_mqtt(
    hass: HomeAssistant, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> MockConfigEntry:
    """Home Assistant's MQTT integration connected to the test's mosquitto."""

    async def configuration_yaml(_hass: HomeAssistant) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(conf_util, "async_hass_config_yaml", configuration_yaml)
    entry = _mqtt_entry(broker)
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, mqtt.DOMAIN, {})
    assert await mqtt.async_wait_for_mqtt_client(hass)
    await wait_for(lambda: mqtt.is_connected(hass))
    return entry


async def _battery_power_after(
    hass: HomeAssistant, broker: Broker, entry: MockConfigEntry, milliwatts: float
) -> None:
    """Publish until the meter shows `milliwatts` in W: Home Assistant's client sends its
    subscriptions after a cooldown, so the first messages may find nobody subscribed yet."""

    def shown() -> float | None:
        state = state_of(hass, entry, "battery_power", "METER001")
        return None if state in (None, STATE_UNAVAILABLE) else float(state)

    for _ in range(100):
        await publish(broker, DATA_TOPIC, v2_data("METER001", milliwatts))
        await asyncio.sleep(0.1)
        await hass.async_block_till_done()
        if shown() == milliwatts / 1000:
            return
    pytest.fail(f"battery power shows {shown()} W, never {milliwatts / 1000} W")


async def test_meters_survive_the_mqtt_integration_removed_and_added_again(
    hass: HomeAssistant, broker: Broker, ha_mqtt: MockConfigEntry
) -> None:
    """Reloaded, or removed and added again: the meters go unavailable while it is gone and
    read again once it is back, without touching the Energy Ledger entry."""
    entry = await setup_ha_entry(hass, PROFILE_ENERLINK_V2)
    coordinator = entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.connected)
    await _battery_power_after(hass, broker, entry, 152200)

    assert await hass.config_entries.async_reload(ha_mqtt.entry_id)
    await wait_for(lambda: mqtt.is_connected(hass))
    await _battery_power_after(hass, broker, entry, 98000)

    await hass.config_entries.async_remove(ha_mqtt.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: not coordinator.connected)
    assert state_of(hass, entry, "battery_power", "METER001") == STATE_UNAVAILABLE

    again = _mqtt_entry(broker)
    again.add_to_hass(hass)
    assert await hass.config_entries.async_setup(again.entry_id)
    await wait_for(lambda: mqtt.is_connected(hass))
    await wait_for(lambda: coordinator.connected)
    await _battery_power_after(hass, broker, entry, 45000)
