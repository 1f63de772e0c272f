"""EnerLink meter controls end to end: a real mosquitto broker and a simulated device.

The simulated device is an aiomqtt client subscribed to the command topic, as a meter is: it
sees exactly what the integration published (payload and QoS), and it answers, or not, by
publishing like a meter would. Timeouts run on Home Assistant's clock (`async_fire_time_changed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_restore_state_shutdown_restart,
    mock_restore_cache_with_extra_data,
)

from custom_components.energy_ledger.button import BUTTONS
from custom_components.energy_ledger.const import (
    CONF_BASE_TOPIC,
    CONF_COMMAND_TIMEOUT,
    CONF_EXPECTED_INTERVAL,
    CONF_MIN_WRITE_INTERVAL,
    CONF_PROFILE,
    DOMAIN,
    PROFILE_ENERLINK_V1,
    PROFILE_ENERLINK_V2,
    PROFILE_TIC_PER_TOPIC,
)
from custom_components.energy_ledger.mqtt_commands import EVENT_COMMAND
from custom_components.energy_ledger.number import SENSOR_INTERVAL
from custom_components.energy_ledger.select import GRID_MODE
from custom_components.energy_ledger.sensor import LAST_COMMAND_SENSOR

from .conftest import MeterFeed, TicLine
from .mqtt_broker import LOOPBACK, Broker
from .test_mqtt_meters import (
    PREFIX,
    V1_HEARTBEAT,
    V1_SENSORS,
    V1_STATUS,
    publish,
    setup_mqtt,
    v2_data,
)
from .test_tic_end_to_end import setup_meter, state_of, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

COMPONENT = Path(__file__).resolve().parents[2] / "custom_components" / "energy_ledger"
V1_COMMAND_TOPIC = f"{PREFIX}/command"
TIMEOUT = timedelta(minutes=5)


class Device:
    """The meter's side of the broker: what it received on its command topic."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._received: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()

    async def collect(self) -> None:
        async for message in self._client.messages:
            await self._received.put(message)

    async def next_command(self) -> tuple[str, dict[str, Any]]:
        """The next command received, checked for QoS 1; its topic and payload."""
        message = await asyncio.wait_for(self._received.get(), 10)
        assert message.qos == 1
        assert isinstance(message.payload, bytes)
        return message.topic.value, json.loads(message.payload)

    def nothing_else(self) -> bool:
        return self._received.empty()


@contextlib.asynccontextmanager
async def device_listening(broker: Broker, topic: str) -> AsyncIterator[Device]:
    """A device subscribed with QoS 1 to `topic`, collecting until the block ends."""
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier=f"device-{uuid.uuid4()}") as client:
        await client.subscribe(topic, qos=1)
        device = Device(client)
        task = asyncio.get_running_loop().create_task(device.collect())
        try:
            yield device
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def find(
    hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str, meter: str
) -> str | None:
    """The entity id of one of a meter's entities, None while it does not exist."""
    return er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{entry.entry_id}_{meter}_{key}"
    )


def entity_of(
    hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str, meter: str
) -> str:
    found = find(hass, entry, platform, key, meter)
    assert found is not None, (platform, key, meter)
    return found


def state(hass: HomeAssistant, entity_id: str | None) -> str | None:
    found = None if entity_id is None else hass.states.get(entity_id)
    return None if found is None else found.state


def assert_envelope(payload: dict[str, Any]) -> str:
    """A UUID correlation id and an ISO timestamp close to now; returns the id."""
    correlation_id = payload["correlation_id"]
    assert uuid.UUID(correlation_id).version == 4
    sent = datetime.fromisoformat(payload["timestamp"])
    assert abs(sent - dt_util.utcnow()) < timedelta(minutes=1)
    assert payload["timestamp"].endswith("Z")
    return str(correlation_id)


def statuses(events: list[Event[Any]], correlation_id: str) -> list[str]:
    return [e.data["status"] for e in events if e.data["correlation_id"] == correlation_id]


async def v1_meter_online(hass: HomeAssistant, broker: Broker) -> MockConfigEntry:
    """A v1 entry whose meter sent data and a status; every value change written at once."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V1, **{CONF_MIN_WRITE_INTERVAL: 0})
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await publish(broker, f"{PREFIX}/status", V1_STATUS)  # grid mode: export
    await wait_for(lambda: state(hass, find(hass, entry, "select", "grid_mode", "v1")) == "export")
    return entry


# ---- EnerLink v1 ------------------------------------------------------------------------------


async def test_v1_button_press_is_published_and_acknowledged(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Press → the device gets the reset with its envelope → it answers → acknowledged."""
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v1_meter_online(hass, broker)
    button = entity_of(hass, entry, "button", "energy_reset_all", "v1")
    last = entity_of(hass, entry, "sensor", "last_command", "v1")
    assert state(hass, last) == STATE_UNKNOWN
    assert hass.states.get(button).attributes["friendly_name"] == (  # type: ignore[union-attr]
        "EnerLink home/energy-monitor Reset all energy counters"
    )

    async with device_listening(broker, V1_COMMAND_TOPIC) as device:
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
        topic, payload = await device.next_command()
    assert topic == V1_COMMAND_TOPIC
    correlation_id = assert_envelope(payload)
    assert {k: v for k, v in payload.items() if k not in ("timestamp", "correlation_id")} == {
        "energy": {"reset": "all"}
    }
    assert state(hass, last) == "pending"
    attributes = hass.states.get(last).attributes  # type: ignore[union-attr]
    assert attributes["command"] == {"energy": {"reset": "all"}}
    assert attributes["correlation_id"] == correlation_id
    assert statuses(events, correlation_id) == ["pending"]

    # The meter confirms in its next status, as EnerLink firmwares do.
    status = json.loads(V1_STATUS)
    status["correlation_id"] = correlation_id
    await publish(broker, f"{PREFIX}/status", json.dumps(status).encode())
    await wait_for(lambda: state(hass, last) == "acknowledged")
    assert statuses(events, correlation_id) == ["pending", "acknowledged"]
    device_id = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{entry.entry_id}_v1")})
    assert device_id is not None
    assert events[-1].data == {
        "entry_id": entry.entry_id,
        "device_id": device_id.id,
        "meter": "v1",
        "command": {"energy": {"reset": "all"}},
        "correlation_id": correlation_id,
        "status": "acknowledged",
    }
    # Acknowledged means settled: the timeout passing later changes nothing.
    async_fire_time_changed(hass, dt_util.utcnow() + TIMEOUT * 2)
    await hass.async_block_till_done()
    assert state(hass, last) == "acknowledged"
    assert statuses(events, correlation_id) == ["pending", "acknowledged"]


async def test_v1_select_shows_the_acknowledged_grid_mode(
    hass: HomeAssistant, broker: Broker
) -> None:
    """The select shows the reported mode; a chosen mode shows once the meter acknowledged it."""
    entry = await v1_meter_online(hass, broker)
    select = entity_of(hass, entry, "select", "grid_mode", "v1")
    assert hass.states.get(select).attributes["options"] == ["import", "export", "off"]  # type: ignore[union-attr]

    async with device_listening(broker, V1_COMMAND_TOPIC) as device:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "import"}, blocking=True
        )
        _, payload = await device.next_command()
    assert payload["grid"] == "import"
    # Not in force until the meter says so.
    assert state(hass, select) == "export"
    heartbeat = json.loads(V1_HEARTBEAT)
    heartbeat["correlation_id"] = payload["correlation_id"]
    await publish(broker, f"{PREFIX}/heartbeat", json.dumps(heartbeat).encode())
    await wait_for(lambda: state(hass, select) == "import")
    # A status reporting another mode afterwards wins: it is the newer word of the meter.
    await publish(broker, f"{PREFIX}/status", V1_STATUS)
    await wait_for(lambda: state(hass, select) == "export")


async def test_v1_no_acknowledgement_times_out_after_five_minutes(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Silence: pending through the five minutes, timed out after; a late answer is ignored."""
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v1_meter_online(hass, broker)
    number = entity_of(hass, entry, "number", "sensor_interval", "v1")
    last = entity_of(hass, entry, "sensor", "last_command", "v1")
    async with device_listening(broker, V1_COMMAND_TOPIC) as device:
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: number, "value": 5000}, blocking=True
        )
        _, payload = await device.next_command()
    assert payload["mqtt"] == {"sensor_interval": 5000}
    correlation_id = payload["correlation_id"]
    sent = dt_util.utcnow()

    async_fire_time_changed(hass, sent + TIMEOUT - timedelta(seconds=30))
    await hass.async_block_till_done()
    assert state(hass, last) == "pending"
    async_fire_time_changed(hass, sent + TIMEOUT + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert state(hass, last) == "timed_out"
    assert statuses(events, correlation_id) == ["pending", "timed_out"]
    assert state(hass, number) == STATE_UNKNOWN  # never confirmed, never shown

    heartbeat = json.loads(V1_HEARTBEAT)
    heartbeat["correlation_id"] = correlation_id
    await publish(broker, f"{PREFIX}/heartbeat", json.dumps(heartbeat).encode())
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS.replace(b"994.8", b"700.1"))
    await wait_for(
        lambda: state(hass, entity_of(hass, entry, "sensor", "load_power", "v1")) == "700.1",
    )
    assert state(hass, last) == "timed_out"
    assert statuses(events, correlation_id) == ["pending", "timed_out"]


# ---- EnerLink v2 ------------------------------------------------------------------------------


async def v2_meters_online(hass: HomeAssistant, broker: Broker) -> MockConfigEntry:
    """A v2 entry with two meters that sent data; every value change written at once."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2, **{CONF_MIN_WRITE_INTERVAL: 0})
    await publish(broker, "enerlink/meters/data", v2_data("METER001", 152200))
    await publish(broker, "enerlink/meters/data", v2_data("METER002", 98000))
    await wait_for(
        lambda: state(hass, find(hass, entry, "select", "grid_mode", "METER002")) == STATE_UNKNOWN
    )
    return entry


async def test_v2_command_goes_to_its_meter_and_is_acknowledged_on_an_ack_topic(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Per-meter command topic; the echo of our own command is no answer; the device's is."""
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v2_meters_online(hass, broker)
    select = entity_of(hass, entry, "select", "grid_mode", "METER002")
    last_2 = entity_of(hass, entry, "sensor", "last_command", "METER002")
    last_1 = entity_of(hass, entry, "sensor", "last_command", "METER001")

    async with device_listening(broker, "enerlink/meters/command/+") as device:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "off"}, blocking=True
        )
        topic, payload = await device.next_command()
        assert device.nothing_else()
    assert topic == "enerlink/meters/command/METER002"
    correlation_id = assert_envelope(payload)
    assert payload["grid"] == "off"

    # The entry, subscribed to enerlink/meters/#, hears its own command: not an answer. A later
    # message is processed after it, so once that shows, the echo has been seen.
    await publish(broker, "enerlink/meters/data", v2_data("METER001", 123400))
    await wait_for(
        lambda: (
            state(hass, entity_of(hass, entry, "sensor", "battery_power", "METER001")) == "123.4"
        )
    )
    assert state(hass, last_2) == "pending"
    assert state(hass, select) == STATE_UNKNOWN

    await publish(
        broker,
        "enerlink/meters/command/METER002/ack",
        json.dumps({"correlation_id": correlation_id, "result": "ok"}).encode(),
    )
    await wait_for(lambda: state(hass, last_2) == "acknowledged")
    assert state(hass, select) == "off"
    assert state(hass, last_1) == STATE_UNKNOWN
    assert [e.data["meter"] for e in events] == ["METER002", "METER002"]
    assert statuses(events, correlation_id) == ["pending", "acknowledged"]


async def test_v2_no_acknowledgement_times_out(hass: HomeAssistant, broker: Broker) -> None:
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v2_meters_online(hass, broker)
    button = entity_of(hass, entry, "button", "settlement_reset", "METER001")
    last = entity_of(hass, entry, "sensor", "last_command", "METER001")
    async with device_listening(broker, "enerlink/meters/command/METER001") as device:
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
        _, payload = await device.next_command()
    assert payload["energy"] == {"reset_settlement": "all"}
    assert state(hass, last) == "pending"
    async_fire_time_changed(hass, dt_util.utcnow() + TIMEOUT + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert state(hass, last) == "timed_out"
    assert statuses(events, payload["correlation_id"]) == ["pending", "timed_out"]


# ---- Acknowledgement timeout option ----------------------------------------------------------


def schema_of(result: ConfigFlowResult) -> dict[vol.Optional, Any]:
    """The fields of a form."""
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    fields: dict[vol.Optional, Any] = schema.schema
    return fields


async def acknowledge(broker: Broker, correlation_id: str) -> None:
    """The v1 meter answers in its next heartbeat."""
    heartbeat = json.loads(V1_HEARTBEAT)
    heartbeat["correlation_id"] = correlation_id
    await publish(broker, f"{PREFIX}/heartbeat", json.dumps(heartbeat).encode())


async def test_the_timeout_option_applies_to_commands_sent_after_it(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Set to 60 s, no reload: the next command times out after 60 s, the pending one at 5 min."""
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v1_meter_online(hass, broker)
    commands = entry.runtime_data.commands
    number = entity_of(hass, entry, "number", "sensor_interval", "v1")
    select = entity_of(hass, entry, "select", "grid_mode", "v1")
    last = entity_of(hass, entry, "sensor", "last_command", "v1")
    async with device_listening(broker, V1_COMMAND_TOPIC) as device:
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: number, "value": 5000}, blocking=True
        )
        _, before = await device.next_command()

        result = await hass.config_entries.options.async_init(entry.entry_id)
        defaults = {str(k): k.default() for k in schema_of(result) if callable(k.default)}
        assert defaults[CONF_COMMAND_TIMEOUT] == 300
        options = {CONF_MIN_WRITE_INTERVAL: 0, CONF_EXPECTED_INTERVAL: 30}
        for nonsense in (5, 3601):
            with pytest.raises(vol.Invalid, match=CONF_COMMAND_TIMEOUT):
                await hass.config_entries.options.async_configure(
                    result["flow_id"], {**options, CONF_COMMAND_TIMEOUT: nonsense}
                )
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**options, CONF_COMMAND_TIMEOUT: 60}
        )
        await hass.async_block_till_done()
        assert entry.options[CONF_COMMAND_TIMEOUT] == 60
        # Not reloaded: the same commands follow the pending one.
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.commands is commands

        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "off"}, blocking=True
        )
        _, after = await device.next_command()
    sent = dt_util.utcnow()

    async_fire_time_changed(hass, sent + timedelta(seconds=61))
    await hass.async_block_till_done()
    assert statuses(events, after["correlation_id"]) == ["pending", "timed_out"]
    assert statuses(events, before["correlation_id"]) == ["pending"]
    assert state(hass, last) == "timed_out"
    assert hass.states.get(last).attributes["command"] == {"grid": "off"}  # type: ignore[union-attr]

    async_fire_time_changed(hass, sent + TIMEOUT + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert statuses(events, before["correlation_id"]) == ["pending", "timed_out"]


async def test_per_topic_bridges_have_no_timeout_option(
    hass: HomeAssistant, broker: Broker
) -> None:
    """A TIC-to-MQTT bridge takes no command: nothing to time out, no such field."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V1)
    entry_data = {**entry.data, CONF_PROFILE: PROFILE_TIC_PER_TOPIC, CONF_BASE_TOPIC: "TeleInfo/L"}
    bridge = MockConfigEntry(domain=DOMAIN, title="Bridge", data=entry_data)
    bridge.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(bridge.entry_id)
    assert {str(key) for key in schema_of(result)} == {
        CONF_MIN_WRITE_INTERVAL,
        CONF_EXPECTED_INTERVAL,
    }


# ---- Restart -----------------------------------------------------------------------------------


async def test_controls_and_last_command_come_back_after_a_restart(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Acknowledged mode and interval are shown again; a command left pending ends timed out."""
    entry = await v1_meter_online(hass, broker)  # its status says: export
    select = entity_of(hass, entry, "select", "grid_mode", "v1")
    number = entity_of(hass, entry, "number", "sensor_interval", "v1")
    button = entity_of(hass, entry, "button", "energy_reset_all", "v1")
    last = entity_of(hass, entry, "sensor", "last_command", "v1")
    async with device_listening(broker, V1_COMMAND_TOPIC) as device:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "import"}, blocking=True
        )
        _, grid = await device.next_command()
        await acknowledge(broker, grid["correlation_id"])
        await wait_for(lambda: state(hass, select) == "import")
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: number, "value": 5000}, blocking=True
        )
        _, interval = await device.next_command()
        await acknowledge(broker, interval["correlation_id"])
        await wait_for(lambda: state(hass, number) == "5000.0")
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
        _, reset = await device.next_command()  # the meter never answers this one
    assert state(hass, last) == "pending"

    # Home Assistant stops (the entities store what they show) and starts again.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await async_mock_restore_state_shutdown_restart(hass)
    events = async_capture_events(hass, EVENT_COMMAND)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: entry.runtime_data.coordinator.connected)

    assert state(hass, last) == "timed_out"
    attributes = hass.states.get(last).attributes  # type: ignore[union-attr]
    assert attributes["command"] == {"energy": {"reset": "all"}}
    assert attributes["correlation_id"] == reset["correlation_id"]
    assert [(e.data["correlation_id"], e.data["status"]) for e in events] == [
        (reset["correlation_id"], "timed_out")
    ]
    # The meter speaks again, without a status: the acknowledged settings are what it runs with.
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state(hass, select) == "import")
    assert state(hass, number) == "5000.0"
    # Nothing is left waiting: time passing changes nothing, a late answer neither.
    await acknowledge(broker, reset["correlation_id"])
    async_fire_time_changed(hass, dt_util.utcnow() + TIMEOUT * 2)
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS.replace(b"994.8", b"700.1"))
    await wait_for(
        lambda: state(hass, entity_of(hass, entry, "sensor", "load_power", "v1")) == "700.1"
    )
    assert state(hass, last) == "timed_out"
    assert len(events) == 1
    # A status the meter sends after the restart is newer than the restored mode: it wins.
    await publish(broker, f"{PREFIX}/status", V1_STATUS)
    await wait_for(lambda: state(hass, select) == "export")


async def test_stored_states_that_make_no_sense_are_ignored_with_a_warning(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """A mode no meter has and a mangled command: shown unknown; the valid interval is kept."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V1, **{CONF_MIN_WRITE_INTERVAL: 0})
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: find(hass, entry, "sensor", "last_command", "v1") is not None)
    select = entity_of(hass, entry, "select", "grid_mode", "v1")
    number = entity_of(hass, entry, "number", "sensor_interval", "v1")
    last = entity_of(hass, entry, "sensor", "last_command", "v1")
    assert await hass.config_entries.async_unload(entry.entry_id)
    acknowledged_at = dt_util.utcnow().isoformat()
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(select, "sideways"), {"value": "sideways", "acknowledged_at": acknowledged_at}),
            (State(number, "5000.0"), {"value": 5000, "acknowledged_at": acknowledged_at}),
            (State(last, "pending"), {"command": {"grid": "off"}, "status": "pending"}),
        ],
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state(hass, number) == "5000.0")
    assert state(hass, select) == STATE_UNKNOWN
    assert state(hass, last) == STATE_UNKNOWN
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    ignored = sorted(w for w in warnings if w.startswith("Ignoring the stored state"))
    assert len(ignored) == 2
    assert ignored[0] == (
        f"Ignoring the stored state of {select}: value must be one of "
        "['export', 'import', 'off'] for dictionary value @ data['grid']"
    )
    # Which of the missing keys voluptuous names first is its business.
    assert ignored[1].startswith(f"Ignoring the stored state of {last}: required key not provided")


# ---- The send_command action -------------------------------------------------------------------


def meter_device(hass: HomeAssistant, entry: MockConfigEntry, meter: str) -> str:
    device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, f"{entry.entry_id}_{meter}")}
    )
    assert device is not None
    return device.id


async def test_send_command_action_sends_a_raw_command_and_returns_its_id(
    hass: HomeAssistant, broker: Broker
) -> None:
    """A motor command (no control covers it): validated, sent, followed like the controls."""
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v2_meters_online(hass, broker)
    device_id = meter_device(hass, entry, "METER001")
    motor = {"motor1": {"percent": 70, "direction": "forward"}}
    async with device_listening(broker, "enerlink/meters/command/METER001") as device:
        # An invalid command is refused with the field named, and nothing is published...
        with pytest.raises(vol.Invalid, match=r"data\['command'\]\['energy'\]\['rest'\]"):
            await hass.services.async_call(
                DOMAIN,
                "send_command",
                {"device_id": device_id, "command": {"energy": {"rest": "all"}}},
                blocking=True,
            )
        with pytest.raises(vol.Invalid, match="added by Energy Ledger"):
            await hass.services.async_call(
                DOMAIN,
                "send_command",
                {"device_id": device_id, "command": {"grid": "off", "correlation_id": "x"}},
                blocking=True,
            )
        # ...so the first command the device gets is the valid one that follows.
        response = await hass.services.async_call(
            DOMAIN,
            "send_command",
            {"device_id": device_id, "command": motor},
            blocking=True,
            return_response=True,
        )
        _, payload = await device.next_command()
    assert response == {"correlation_id": payload["correlation_id"], "status": "pending"}
    assert {k: v for k, v in payload.items() if k in motor} == motor
    await publish(
        broker,
        "enerlink/meters/command/METER001/ack",
        json.dumps({"correlation_id": payload["correlation_id"]}).encode(),
    )
    last = entity_of(hass, entry, "sensor", "last_command", "METER001")
    await wait_for(lambda: state(hass, last) == "acknowledged")
    assert hass.states.get(last).attributes["command"] == motor  # type: ignore[union-attr]
    assert [e.data["command"] for e in events] == [motor, motor]


async def test_send_command_refuses_devices_that_take_no_commands(
    hass: HomeAssistant, broker: Broker
) -> None:
    entry = await v2_meters_online(hass, broker)
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    stranger = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("demo", "lamp")}
    )
    for device_id in (stranger.id, "no-such-device"):
        with pytest.raises(ServiceValidationError) as caught:
            await hass.services.async_call(
                DOMAIN,
                "send_command",
                {"device_id": device_id, "command": {"grid": "off"}},
                blocking=True,
            )
        assert caught.value.translation_key == "not_a_command_meter"
    device_id = meter_device(hass, entry, "METER001")
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_command",
            {"device_id": device_id, "command": {"grid": "off"}},
            blocking=True,
        )
    assert caught.value.translation_key == "meter_not_loaded"


async def test_broker_down_gives_a_clear_error_and_tracks_nothing(
    hass: HomeAssistant, broker: Broker
) -> None:
    events = async_capture_events(hass, EVENT_COMMAND)
    entry = await v1_meter_online(hass, broker)
    coordinator = entry.runtime_data.coordinator
    await asyncio.to_thread(broker.kill)
    await wait_for(lambda: not coordinator.connected)
    button = entity_of(hass, entry, "button", "energy_reset_all", "v1")
    await wait_for(lambda: state(hass, button) == STATE_UNAVAILABLE)
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_command",
            {"device_id": meter_device(hass, entry, "v1"), "command": {"grid": "off"}},
            blocking=True,
        )
    assert caught.value.translation_key == "broker_unavailable"
    assert str(caught.value).startswith("The command was not sent")
    assert not entry.runtime_data.commands.tracker.pending
    assert events == []
    assert state(hass, entity_of(hass, entry, "sensor", "last_command", "v1")) == STATE_UNKNOWN


async def test_tic_meters_have_no_controls(
    hass: HomeAssistant, tic_line: TicLine, meter: MeterFeed
) -> None:
    """A Linky takes no command: no select, button, number nor last-command sensor."""
    entry = await setup_meter(hass, tic_line.port)
    await wait_for(lambda: state_of(hass, "sensor", "east") not in (None, STATE_UNAVAILABLE))
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert {e.domain for e in entities} == {"sensor", "binary_sensor"}
    assert not [e for e in entities if e.unique_id.endswith("_last_command")]


# ---- Names and icons --------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["strings.json", "translations/fr.json"])
def test_every_control_has_a_name_and_an_icon(language: str) -> None:
    texts = json.loads((COMPONENT / language).read_text(encoding="utf-8"))["entity"]
    icons = json.loads((COMPONENT / "icons.json").read_text(encoding="utf-8"))["entity"]
    for platform, descriptions in (
        ("button", BUTTONS),
        ("select", (GRID_MODE,)),
        ("number", (SENSOR_INTERVAL,)),
        ("sensor", (LAST_COMMAND_SENSOR,)),
    ):
        for description in descriptions:
            key = description.translation_key
            assert key is not None
            assert texts[platform][key]["name"], key
            assert icons[platform][key]["default"].startswith("mdi:"), key
            for option in getattr(description, "options", None) or ():
                assert texts[platform][key]["state"][option], (key, option)
