"""EnerLink MQTT meters end to end: a real mosquitto broker, the real samples, entity states.

A simulated meter publishes from its own aiomqtt client, exactly as a device would; the entry
connects to the broker as it would at home. Nothing between the broker and the entities is
replaced.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiomqtt
import pytest
from homeassistant import config_entries
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_ledger import config_flow, mqtt_coordinator
from custom_components.energy_ledger import coordinator as coordinator_module
from custom_components.energy_ledger.const import (
    CONF_CA_FILE,
    CONF_CLIENT_ID,
    CONF_COMMAND_TIMEOUT,
    CONF_EXPECTED_INTERVAL,
    CONF_HOST,
    CONF_KIND,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MQTT_PORT,
    CONF_PASSWORD,
    CONF_PROFILE,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_TOPIC_PREFIX,
    CONF_USERNAME,
    DOMAIN,
    KIND_MQTT,
    PROFILE_ENERLINK_V1,
    PROFILE_ENERLINK_V2,
)
from custom_components.energy_ledger.core.mqtt import ProblemKind
from custom_components.energy_ledger.sources import mqtt as mqtt_source

from .mqtt_broker import LOOPBACK, PASSWORD, USER, Broker, Certificates, free_port
from .test_tic_end_to_end import wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "enerlink"
V1_SENSORS = (SAMPLES / "v1_sensors_payload.json").read_bytes()
V1_HEARTBEAT = (SAMPLES / "v1_heartbeat_payload.json").read_bytes()
V1_STATUS = (SAMPLES / "v1_status_payload.json").read_bytes()
PREFIX = "home/energy-monitor"


def v2_data(meter_id: str, battery_power_mw: float) -> bytes:
    """A v2 data payload in the shape of the real skeleton, with mW and mA units."""
    return json.dumps(
        {
            "meterId": meter_id,
            "datetime": "2025-10-26T04:27:10Z",
            "units": {
                "datetime": "ISO8601",
                "voltage": "V",
                "current": "mA",
                "power": "mW",
                "energy": "Wh",
            },
            "data": {
                "battery": {
                    "voltage": 4.176,
                    "current": -36490,
                    "power": battery_power_mw,
                    "state": "discharging",
                    "total_energy": 1793.849,
                },
                "import": {"power": 800, "active": False, "total_energy": 10.0},
            },
        }
    ).encode()


V2_STATUS = json.dumps(
    {
        "meterId": "METER002",
        "datetime": "2025-10-26T04:26:57Z",
        "units": {"datetime": "ISO8601", "uptime": "ms", "free_heap": "bytes", "rssi": "dBm"},
        "data": {
            "wifi": {"connected": True, "rssi": -71, "ip": "192.168.1.77"},
            "system": {"uptime": 3600000, "free_heap": 225968},
        },
    }
).encode()


async def publish(broker: Broker, topic: str, payload: bytes) -> None:
    """Publish from a client of its own, like a meter would."""
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="simulated-meter") as meter:
        await meter.publish(topic, payload, qos=1)


async def setup_mqtt(
    hass: HomeAssistant, broker: Broker, profile: str = PROFILE_ENERLINK_V1, **options: float
) -> MockConfigEntry:
    """Add and set up an MQTT entry on `broker`; return once it is subscribed."""
    data: dict[str, Any] = {
        CONF_KIND: KIND_MQTT,
        CONF_HOST: LOOPBACK,
        CONF_MQTT_PORT: broker.port,
        CONF_USERNAME: None,
        CONF_PASSWORD: None,
        CONF_TLS: False,
        CONF_TLS_INSECURE: False,
        CONF_PROFILE: profile,
    }
    if profile == PROFILE_ENERLINK_V1:
        data[CONF_TOPIC_PREFIX] = PREFIX
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="EnerLink home/energy-monitor",
        unique_id=f"{LOOPBACK}:{broker.port}/{profile}",
        data=data,
        options=options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    return entry


def state_of(
    hass: HomeAssistant, entry: MockConfigEntry, key: str, meter: str = "v1", platform: str = ""
) -> str | None:
    """The state of one meter's entity, None while it does not exist."""
    registry = er.async_get(hass)
    unique_id = f"{entry.entry_id}_{meter}_{key}"
    for domain in (platform,) if platform else ("sensor", "binary_sensor"):
        if found := registry.async_get_entity_id(domain, DOMAIN, unique_id):
            state = hass.states.get(found)
            return state.state if state else None
    return None


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry after 0.05 s, doubling up to 0.4 s, so a restart is noticed quickly."""
    monkeypatch.setattr(mqtt_source, "BACKOFF_START", 0.05)
    monkeypatch.setattr(mqtt_source, "BACKOFF_MAX", 0.4)


async def test_v1_samples_become_entity_states(hass: HomeAssistant, broker: Broker) -> None:
    """The real v1 sensors, heartbeat and status payloads: every value where the user looks.

    Every change is written (no minimum interval) so the uptime shows the status's, which came
    after the heartbeat's; with the default interval the second would wait its turn.
    """
    entry = await setup_mqtt(hass, broker, **{CONF_MIN_WRITE_INTERVAL: 0})
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await publish(broker, f"{PREFIX}/heartbeat", V1_HEARTBEAT)
    await publish(broker, f"{PREFIX}/status", V1_STATUS)
    await wait_for(lambda: state_of(hass, entry, "wifi_rssi") == "-60")
    await hass.async_block_till_done()

    def value(key: str) -> float:
        state = state_of(hass, entry, key)
        assert state is not None, key
        return float(state)

    assert value("load_power") == 994.8
    assert value("load_current") == 240.75
    assert value("load_voltage") == 4.1212
    assert value("solar_power") == 1275.8
    assert value("export_power") == 38.6
    assert value("import_power") == 0.8
    assert value("battery_power") == 152.2
    assert value("battery_current") == -36.49
    # Energy in Wh from the meter, shown in kWh (the suggested unit).
    assert value("load_total_energy") == pytest.approx(10.1163 / 1000)
    assert value("solar_daily_energy") == pytest.approx(15.23495 / 1000)
    assert value("export_settlement_energy") == pytest.approx(1.959955 / 1000)
    assert state_of(hass, entry, "battery_state") == "charging"
    assert state_of(hass, entry, "export_active") == "on"
    assert state_of(hass, entry, "import_active") == "off"
    assert state_of(hass, entry, "solar_generating") == "on"
    assert state_of(hass, entry, "connection") == "on"
    assert value("free_heap") == 225968  # the status's, more recent than the heartbeat's
    # Uptime: the status came last, its ms-since-boot timestamp is the latest uptime.
    assert value("uptime") == pytest.approx(33860400 / 3_600_000)
    # Nothing the meter did not send: no state of charge in the v1 sample.
    assert state_of(hass, entry, "battery_soc") is None

    registry = er.async_get(hass)
    energy = registry.async_get(
        registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_v1_load_total_energy")
        or ""
    )
    assert energy is not None
    state = hass.states.get(energy.entity_id)
    assert state is not None
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert state.attributes["friendly_name"] == "EnerLink home/energy-monitor Load energy total"
    ip = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_v1_ip_address")
    assert ip is not None
    ip_entry = registry.async_get(ip)
    assert ip_entry is not None
    assert ip_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert ip_entry.entity_category == "diagnostic"

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert [(d.manufacturer, d.model, d.name) for d in devices] == [
        ("EnerLink", "EnerLink v1", "EnerLink home/energy-monitor")
    ]


async def test_v2_meters_become_devices_as_they_appear(hass: HomeAssistant, broker: Broker) -> None:
    """Two meterIds on the shared topic: two devices, each with its own values, units converted."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    await publish(broker, "enerlink/meters/data", v2_data("METER001", 152200))
    await wait_for(lambda: state_of(hass, entry, "battery_power", "METER001") == "152.2")
    registry = dr.async_get(hass)
    assert len(dr.async_entries_for_config_entry(registry, entry.entry_id)) == 1

    await publish(broker, "enerlink/meters/data", v2_data("METER002", 98000))
    await publish(broker, "enerlink/meters/status", V2_STATUS)
    # Commands share the root: never taken for telemetry.
    await publish(broker, "enerlink/meters/command/METER002", b'{"grid": "export"}')
    await wait_for(lambda: state_of(hass, entry, "wifi_rssi", "METER002") == "-71")
    assert float(state_of(hass, entry, "battery_power", "METER002") or 0) == 98.0
    assert state_of(hass, entry, "battery_current", "METER002") == "-36.49"
    assert state_of(hass, entry, "battery_state", "METER002") == "discharging"
    assert float(state_of(hass, entry, "battery_total_energy", "METER002") or 0) == 1.793849
    assert state_of(hass, entry, "battery_power", "METER001") == "152.2"
    # METER001 sent no status: no Wi-Fi sensor for it.
    assert state_of(hass, entry, "wifi_rssi", "METER001") is None
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    assert sorted(d.name or "" for d in devices) == ["EnerLink METER001", "EnerLink METER002"]
    assert {d.model for d in devices} == {"EnerLink v2"}
    coordinator = entry.runtime_data.coordinator
    assert coordinator.ignored_messages == 1
    assert not coordinator.problems


@pytest.mark.usefixtures("fast_backoff")
async def test_broker_killed_then_back_without_reload(hass: HomeAssistant, broker: Broker) -> None:
    """Broker gone: every entity unavailable. Back: new values arrive, no reload needed."""
    entry = await setup_mqtt(hass, broker)
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state_of(hass, entry, "load_power") == "994.8")
    await asyncio.to_thread(broker.kill)
    await wait_for(lambda: state_of(hass, entry, "load_power") == STATE_UNAVAILABLE)
    assert state_of(hass, entry, "battery_state") == STATE_UNAVAILABLE
    assert state_of(hass, entry, "connection") == "off"
    await asyncio.to_thread(broker.start)
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    # Nothing new from the meter yet: the old values do not come back as if fresh.
    await hass.async_block_till_done()
    assert state_of(hass, entry, "load_power") == STATE_UNAVAILABLE
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS.replace(b"994.8", b"501.5"))
    await wait_for(lambda: state_of(hass, entry, "load_power") == "501.5")
    assert state_of(hass, entry, "connection") == "on"


async def test_silent_meter_goes_offline(hass: HomeAssistant, broker: Broker) -> None:
    """No data nor heartbeat for three expected intervals: offline; a heartbeat: online."""
    entry = await setup_mqtt(hass, broker, **{CONF_EXPECTED_INTERVAL: 0.2})
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state_of(hass, entry, "connection") == "on")
    await wait_for(lambda: state_of(hass, entry, "connection") == "off", seconds=3)
    assert state_of(hass, entry, "load_power") == STATE_UNAVAILABLE
    await publish(broker, f"{PREFIX}/heartbeat", V1_HEARTBEAT)
    await wait_for(lambda: state_of(hass, entry, "load_power") == "994.8")


async def test_bad_payloads_are_counted_logged_once_and_never_shown(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Invalid JSON, NaN, wrong types: counted, one warning per topic and kind, no wrong value."""
    entry = await setup_mqtt(hass, broker, **{CONF_MIN_WRITE_INTERVAL: 0})
    coordinator = entry.runtime_data.coordinator
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state_of(hass, entry, "load_power") == "994.8")
    with caplog.at_level(logging.WARNING, logger=mqtt_coordinator.__name__):
        for _ in range(3):
            await publish(broker, f"{PREFIX}/sensors", b'{"load": {"power": ')
        await publish(broker, f"{PREFIX}/heartbeat", b"\xff\xfe")
        # One bad field among good ones: that field is dropped, the others are taken.
        await publish(
            broker,
            f"{PREFIX}/sensors",
            V1_SENSORS.replace(b'"power": 994.8', b'"power": NaN').replace(
                b'"power": 1275.8', b'"power": 1300.0'
            ),
        )
        await publish(
            broker,
            f"{PREFIX}/sensors",
            V1_SENSORS.replace(b'"power": 994.8', b'"power": "lots"').replace(
                b'"power": 1275.8', b'"power": 1310.0'
            ),
        )
        await wait_for(lambda: state_of(hass, entry, "solar_power") == "1310.0")
    assert coordinator.problems[ProblemKind.INVALID_JSON] == 4
    assert coordinator.problems[ProblemKind.NOT_FINITE] == 1
    assert coordinator.problems[ProblemKind.WRONG_TYPE] == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == mqtt_coordinator.__name__]
    assert len(warnings) == 4  # invalid JSON on two topics, NaN, wrong type
    assert sum("invalid_json" in message for message in warnings) == 2
    # The dropped field is not shown: no stale or made-up load power.
    assert state_of(hass, entry, "load_power") == STATE_UNAVAILABLE
    assert state_of(hass, entry, "load_current") == "240.75"
    assert state_of(hass, entry, "connection") == "on"
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state_of(hass, entry, "load_power") == "994.8")


async def test_diagnostics_redact_broker_credentials_ids_and_addresses(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, broker: Broker
) -> None:
    """Counts and values, never the host, the login, a meter id or an IP address."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            CONF_USERNAME: USER,
            CONF_PASSWORD: PASSWORD,
            CONF_CLIENT_ID: "dupont-house-ledger",
        },
    )
    await publish(broker, "enerlink/meters/data", v2_data("METER001", 152200))
    await publish(broker, "enerlink/meters/status", V2_STATUS)
    await publish(broker, "enerlink/meters/data", b"not json")
    await wait_for(lambda: len(entry.runtime_data.coordinator.meters) == 2)
    await wait_for(lambda: entry.runtime_data.coordinator.problems[ProblemKind.INVALID_JSON] == 1)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in (LOOPBACK, USER, PASSWORD, "dupont", "METER001", "METER002", "192.168.1.77"):
        assert secret not in text, secret
    assert diagnostics["source"]["connected"] is True
    assert diagnostics["problems"] == {"invalid_json": 1}
    assert diagnostics["meters"]["meter_1"]["values"]["battery.power_w"] == 152.2
    assert diagnostics["meters"]["meter_2"]["status"]["wifi_rssi_dbm"] == -71


# ---- Config flow ------------------------------------------------------------------------------


async def _open_mqtt_form(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "mqtt_broker"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt_broker"
    return result["flow_id"]


def _form(port: int, **fields: Any) -> dict[str, Any]:
    return {
        CONF_HOST: LOOPBACK,
        CONF_MQTT_PORT: port,
        CONF_TLS: False,
        CONF_TLS_INSECURE: False,
        CONF_PROFILE: PROFILE_ENERLINK_V1,
        CONF_TOPIC_PREFIX: PREFIX,
        **fields,
    }


async def test_flow_creates_a_v1_entry_that_reads_the_meter(
    hass: HomeAssistant, broker: Broker
) -> None:
    """The broker is tried, the entry created, and the meter's values arrive."""
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _form(broker.port, **{CONF_TOPIC_PREFIX: f" /{PREFIX}/ "})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"EnerLink {PREFIX}"
    assert result["data"] == {
        CONF_KIND: KIND_MQTT,
        CONF_HOST: LOOPBACK,
        CONF_MQTT_PORT: broker.port,
        CONF_USERNAME: None,
        CONF_PASSWORD: None,
        CONF_TLS: False,
        CONF_CA_FILE: None,
        CONF_TLS_INSECURE: False,
        CONF_CLIENT_ID: None,
        CONF_PROFILE: PROFILE_ENERLINK_V1,
        CONF_TOPIC_PREFIX: PREFIX,
    }
    entry = result["result"]
    assert entry.unique_id == f"{LOOPBACK}:{broker.port}/{PROFILE_ENERLINK_V1}/{PREFIX}"
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state_of(hass, entry, "load_power") == "994.8")


async def test_flow_same_broker_and_profile_only_once(hass: HomeAssistant, broker: Broker) -> None:
    """The same broker and prefix: refused. Another prefix or v2 on it: accepted."""
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _form(broker.port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _form(broker.port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "broker_already_configured"
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _form(broker.port, **{CONF_PROFILE: PROFILE_ENERLINK_V2})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "EnerLink v2 meters"
    assert CONF_TOPIC_PREFIX not in result["data"]
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == 2
    # Let both connect before the test ends: a connect cut short finishes in the background.
    await wait_for(lambda: all(entry.runtime_data.coordinator.connected for entry in entries))


async def test_flow_wrong_password_then_right(hass: HomeAssistant, auth_broker: Broker) -> None:
    """A refused login is explained; the right one creates the entry with its credentials."""
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _form(auth_broker.port, **{CONF_USERNAME: USER, CONF_PASSWORD: "wrong"})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, _form(auth_broker.port, **{CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (result["data"][CONF_USERNAME], result["data"][CONF_PASSWORD]) == (USER, PASSWORD)
    await wait_for(lambda: result["result"].runtime_data.coordinator.connected)


async def test_flow_nothing_listening(hass: HomeAssistant) -> None:
    """No broker on the port: cannot_connect, and no entry."""
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _form(free_port()))
    assert result["errors"] == {"base": "cannot_connect"}
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_flow_tls_certificate_not_trusted_then_insecure(
    hass: HomeAssistant, tls_broker: tuple[Broker, Certificates]
) -> None:
    """A certificate from a private CA fails the system store: tls_error. Insecure: accepted."""
    broker, _certificates = tls_broker
    flow_id = await _open_mqtt_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _form(broker.port, **{CONF_TLS: True})
    )
    assert result["errors"] == {"base": "tls_error"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, _form(broker.port, **{CONF_TLS: True, CONF_TLS_INSECURE: True})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (result["data"][CONF_TLS], result["data"][CONF_TLS_INSECURE]) == (True, True)
    await wait_for(lambda: result["result"].runtime_data.coordinator.connected)


async def test_flow_broker_that_never_answers(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port that accepts TCP but never answers CONNECT: timeout (after 0.3 s here)."""
    monkeypatch.setattr(
        config_flow,
        "test_connection",
        functools.partial(mqtt_source.test_connection, answer_timeout=0.3),
    )

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):
            pass
        writer.close()

    server = await asyncio.start_server(silent, LOOPBACK, 0)
    try:
        port = server.sockets[0].getsockname()[1]
        flow_id = await _open_mqtt_form(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, _form(port))
    finally:
        server.close()
        await server.wait_closed()
    assert result["errors"] == {"base": "timeout"}


async def test_v2_devices_come_back_unavailable_after_a_reload(
    hass: HomeAssistant, broker: Broker
) -> None:
    """Entities of a meter seen before are there at once after a restart, unavailable."""
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    await publish(broker, "enerlink/meters/data", v2_data("METER_7", 152200))
    await wait_for(lambda: state_of(hass, entry, "battery_power", "METER_7") == "152.2")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, entry, "battery_power", "METER_7") == STATE_UNAVAILABLE
    assert state_of(hass, entry, "connection", "METER_7") == "off"
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    await publish(broker, "enerlink/meters/data", v2_data("METER_7", 1000))
    await wait_for(lambda: state_of(hass, entry, "battery_power", "METER_7") == "1")


async def test_options_set_the_expected_interval(hass: HomeAssistant, broker: Broker) -> None:
    """An MQTT entry's options carry the meter's interval; a shorter one takes effect at once."""
    entry = await setup_mqtt(hass, broker)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    defaults = {str(key): key.default() for key in result["data_schema"].schema}
    assert defaults == {
        CONF_MIN_WRITE_INTERVAL: 30,
        CONF_EXPECTED_INTERVAL: 30,
        CONF_COMMAND_TIMEOUT: 300,
    }
    await publish(broker, f"{PREFIX}/sensors", V1_SENSORS)
    await wait_for(lambda: state_of(hass, entry, "connection") == "on")

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MIN_WRITE_INTERVAL: 0, CONF_EXPECTED_INTERVAL: 1}
    )
    assert entry.options == {
        CONF_MIN_WRITE_INTERVAL: 0,
        CONF_EXPECTED_INTERVAL: 1,
        CONF_COMMAND_TIMEOUT: 300,
    }
    await hass.async_block_till_done()
    # Three silent seconds are three of the new intervals (with the default 30 s it would take
    # 90 s): the meter goes offline.
    await wait_for(lambda: state_of(hass, entry, "connection") == "off", seconds=8)


async def test_v2_only_subsystems_become_entities(hass: HomeAssistant, broker: Broker) -> None:
    """Home load, solar output and the signed grid balance of a v2 meter get their own sensors.

    The grid balance goes down when the home exports: its energy is a `total`, not a counter
    that the recorder would take as reset at each decrease.
    """
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2)
    payload = json.loads(v2_data("METER001", 152200))
    payload["data"].update(
        {
            "load_home": {"power": 952, "total_energy": 4200.5},
            "solar_output": {"power": 1275800, "voltage": 231.2},
            "net_grid": {"power": -323800, "total_energy": 812.25},
        }
    )
    await publish(broker, "enerlink/meters/data", json.dumps(payload).encode())
    await wait_for(lambda: state_of(hass, entry, "net_grid_power", "METER001") == "-323.8")
    assert state_of(hass, entry, "load_home_power", "METER001") == "0.952"
    assert float(state_of(hass, entry, "load_home_total_energy", "METER001") or 0) == 4.2005
    assert state_of(hass, entry, "solar_output_voltage", "METER001") == "231.2"
    registry = er.async_get(hass)
    net_energy = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_METER001_net_grid_total_energy"
    )
    home_energy = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_METER001_load_home_total_energy"
    )
    assert net_energy is not None
    assert home_energy is not None
    net_state = hass.states.get(net_energy)
    home_state = hass.states.get(home_energy)
    assert net_state is not None
    assert home_state is not None
    assert float(net_state.state) == 0.81225
    assert net_state.attributes["state_class"] == "total"
    assert home_state.attributes["state_class"] == "total_increasing"
    assert net_state.attributes["friendly_name"] == "EnerLink METER001 Net grid energy total"
    # Sections the meter did not send create nothing.
    assert state_of(hass, entry, "solar_input_power", "METER001") is None
    # Exporting more lowers the balance: no device reset, unlike a counter going down.
    payload["data"]["net_grid"]["total_energy"] = 700.0
    await publish(broker, "enerlink/meters/data", json.dumps(payload).encode())
    meter = entry.runtime_data.coordinator.meters["METER001"]
    await wait_for(lambda: meter.reading.values["net_grid.total_energy_wh"] == 700.0)
    assert not meter.resets


async def test_held_back_change_is_written_by_a_later_message_that_repeats_it(
    hass: HomeAssistant, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default write policy, a change that comes within the minimum interval waits; the
    first message after the interval writes it, even one that repeats it (nothing changed in that
    message: an entity holding a change back still hears of it).

    The write throttle's clock is the test's, so the interval passes when the test says.
    """
    clock = [1000.0]
    monkeypatch.setattr(coordinator_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    entry = await setup_mqtt(hass, broker, PROFILE_ENERLINK_V2, **{CONF_MIN_WRITE_INTERVAL: 30})
    meters = entry.runtime_data.coordinator.meters

    async def send(power_mw: float, messages: int) -> None:
        await publish(broker, "enerlink/meters/data", v2_data("METER001", power_mw))
        await wait_for(lambda: "METER001" in meters and meters["METER001"].messages == messages)
        await hass.async_block_till_done()

    await send(152200, 1)
    await wait_for(lambda: state_of(hass, entry, "battery_power", "METER001") == "152.2")
    clock[0] += 31
    await send(98000, 2)  # a change after the interval: written at once
    assert state_of(hass, entry, "battery_power", "METER001") == "98"
    clock[0] += 5
    await send(1000, 3)  # within the interval: held back
    assert state_of(hass, entry, "battery_power", "METER001") == "98"
    clock[0] += 5
    await send(1000, 4)  # repeated, still within the interval
    assert state_of(hass, entry, "battery_power", "METER001") == "98"
    clock[0] += 30
    await send(1000, 5)  # repeated once the interval is over: the held-back change is written
    assert state_of(hass, entry, "battery_power", "METER001") == "1"
    assert state_of(hass, entry, "battery_voltage", "METER001") == "4.176"
