"""A Linky behind a one-value-per-topic bridge, end to end: a real broker, the Domestik frame.

A bridge client publishes the first complete frame of `domestik/TeleInfod_trame_standard.txt`
the way TeleInfod does (one label per topic under `TeleInfo/LinkyConsommation`, numbers
re-printed without leading zeros, horodates on `<label>/h`). The same frame is also written, as
serial bytes, to a pseudo-terminal read by an ordinary TIC entry: the point of the profile is
that both meters get the same entities with the same states.

One thing a real broker adds: `+` is a wildcard, so a topic name cannot contain it (paho refuses
to publish `.../NJOURF+1`, mosquitto disconnects a client that tries). The tomorrow labels
(NJOURF+1, PJOURF+1) never cross a broker; the bridge here skips them as a real one must.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_ledger.const import (
    CONF_BASE_TOPIC,
    CONF_BAUDRATE,
    CONF_HOST,
    CONF_KIND,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MODE,
    CONF_MQTT_PORT,
    CONF_PORT,
    CONF_PROFILE,
    DOMAIN,
    KIND_MQTT,
    PROFILE_TIC_PER_TOPIC,
)
from custom_components.energy_ledger.core.mqtt import ProblemKind
from custom_components.energy_ledger.core.tic import spec_for
from custom_components.energy_ledger.core.tic.labels import LabelKind
from custom_components.energy_ledger.sensor import SERIAL_LINE_SENSORS

from .conftest import MeterFeed, TicLine
from .mqtt_broker import LOOPBACK, Broker
from .test_tic_end_to_end import wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

SAMPLE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "samples"
    / "domestik"
    / "TeleInfod_trame_standard.txt"
)
BASE = "TeleInfo/LinkyConsommation"
ADSC = "0123456189012"
RAW_LABELS = frozenset({"ADSC", "VTIC", "DATE", "NGTF", "LTARF", "STGE", "MSG1", "MSG2"})
RAW_LABELS |= {"PRM", "RELAIS"}
"""Labels TeleInfod publishes as the meter sent them; it re-prints the others as numbers."""
TEXT_KINDS = frozenset({LabelKind.TEXT, LabelKind.TARIFF_OPTION, LabelKind.TARIFF_PERIOD})


def first_frame_lines() -> list[str]:
    """The lines of the sample's first complete frame (ADSC to ETX), checksums kept."""
    lines = SAMPLE.read_text(encoding="ascii").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("ADSC\t"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("\x03"))
    return lines[start:end]


def serial_frame(lines: list[str]) -> bytes:
    """The frame as the meter sends it on the wire: STX, LF group CR..., ETX."""
    return b"\x02" + b"".join(b"\n" + line.encode("ascii") + b"\r" for line in lines) + b"\x03"


def bridge_messages(lines: list[str]) -> list[tuple[str, bytes]]:
    """What TeleInfod publishes for these lines: (topic, payload), in frame order."""
    messages: list[tuple[str, bytes]] = []
    for line in lines:
        fields = line.split("\t")[:-1]  # without the checksum
        label = fields[0]
        horodate, data = (fields[1], fields[2]) if len(fields) == 3 else (None, fields[1])
        topic = f"{BASE}/{label}"
        if "+" in label:  # not a valid topic name: no broker would carry it
            continue
        if label == "DATE":
            messages.append((topic, (horodate or "").encode()))
            continue
        if label not in RAW_LABELS and spec_for(label).kind not in TEXT_KINDS:
            digits = ""
            for char in data.lstrip(" "):  # C atoi: the leading digits, the rest ignored
                if not char.isdigit():
                    break
                digits += char
            data = str(int(digits or "0"))
        messages.append((topic, data.encode()))
        if horodate is not None:
            messages.append((f"{topic}/h", horodate.encode()))
    return messages


async def publish_all(broker: Broker, messages: list[tuple[str, bytes]]) -> None:
    """Publish from one client of its own, like the bridge does."""
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="teleinfod") as bridge:
        for topic, payload in messages:
            await bridge.publish(topic, payload, qos=1)


async def setup_per_topic(hass: HomeAssistant, broker: Broker, base: str = BASE) -> MockConfigEntry:
    """A direct per-topic entry on `broker`, set up and subscribed."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {base}",
        unique_id=f"{LOOPBACK}:{broker.port}/{PROFILE_TIC_PER_TOPIC}/{base}",
        data={
            CONF_KIND: KIND_MQTT,
            CONF_HOST: LOOPBACK,
            CONF_MQTT_PORT: broker.port,
            CONF_PROFILE: PROFILE_TIC_PER_TOPIC,
            CONF_BASE_TOPIC: base,
        },
        options={CONF_MIN_WRITE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    return entry


def states_by_key(hass: HomeAssistant, entry: MockConfigEntry, prefix: str) -> dict[str, Any]:
    """(platform, description key) -> state of every registered entity of the entry."""
    found: dict[str, Any] = {}
    for reg in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        state = hass.states.get(reg.entity_id)
        key = f"{reg.domain}.{reg.unique_id.removeprefix(prefix)}"
        found[key] = None if state is None else state.state
    return found


async def test_bridge_meter_gets_the_entities_and_states_of_a_serial_one(
    hass: HomeAssistant, broker: Broker, tic_line: TicLine
) -> None:
    """Same frame, two transports: the same entities with the same states.

    Two deliberate differences: the serial line's own counters (frames received, rejected
    groups) have no meaning behind a bridge, and the tomorrow labels cannot cross a broker.
    """
    lines = first_frame_lines()
    serial_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Linky",
        unique_id=ADSC,
        data={CONF_PORT: tic_line.port, CONF_MODE: "standard", CONF_BAUDRATE: 9600},
        options={CONF_MIN_WRITE_INTERVAL: 0},
    )
    serial_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(serial_entry.entry_id)
    feed = MeterFeed(tic_line, serial_frame(lines))
    try:
        serial_prefix = f"{ADSC}_"
        await wait_for(
            lambda: states_by_key(hass, serial_entry, serial_prefix).get("sensor.east") == "0.802"
        )
        entry = await setup_per_topic(hass, broker)
        await publish_all(broker, bridge_messages(lines))
        bridge_prefix = f"{entry.entry_id}_tic_"
        expected_keys = {
            key
            for key in states_by_key(hass, serial_entry, serial_prefix)
            if key.split(".", 1)[1] not in SERIAL_LINE_SENSORS and "+" not in key
        }
        await wait_for(lambda: set(states_by_key(hass, entry, bridge_prefix)) == expected_keys)
        await hass.async_block_till_done()
        serial = states_by_key(hass, serial_entry, serial_prefix)
        bridge = states_by_key(hass, entry, bridge_prefix)
    finally:
        await feed.stop()

    assert {"sensor.njourf+1", "sensor.pjourf+1"} <= set(serial)
    assert set(bridge) == expected_keys
    assert not entry.runtime_data.coordinator.problems
    assert len(bridge) > 30
    # The meter clock drift is measured at each one's own reception time.
    for key in ("sensor.meter_clock_drift",):
        assert key in bridge
        bridge.pop(key), serial.pop(key)
    differing = {key: (serial[key], bridge[key]) for key in bridge if serial[key] != bridge[key]}
    assert differing == {}
    shown = {key: value for key, value in bridge.items() if value is not None}
    assert len(shown) > 30  # the others are disabled by default, on both meters
    assert shown["sensor.east"] == "0.802"  # Wh from the meter, shown in kWh
    assert shown["sensor.eait"] == "7472.722"
    assert shown["sensor.urms1"] == "239"
    assert shown["sensor.ngtf"] == "PRODUCTEUR"
    assert shown["binary_sensor.connection"] == "on"
    assert shown["binary_sensor.injecting"] == "off"


async def test_one_device_per_base_topic(hass: HomeAssistant, broker: Broker) -> None:
    """Two bridges on one broker: two devices, each with its own values, nothing mixed up."""
    lines = first_frame_lines()
    first = await setup_per_topic(hass, broker)
    second = await setup_per_topic(hass, broker, "TeleInfo/LinkyProduction")
    messages = bridge_messages(lines)
    production = [
        (topic.replace(BASE, "TeleInfo/LinkyProduction"), b"1234" if topic.endswith("/EAST") else p)
        for topic, p in messages
    ]
    await publish_all(broker, messages + production)

    def east(entry: MockConfigEntry) -> str | None:
        return states_by_key(hass, entry, f"{entry.entry_id}_tic_").get("sensor.east")

    await wait_for(lambda: east(first) == "0.802" and east(second) == "1.234")
    devices = dr.async_get(hass)
    for entry, name in ((first, f"Linky {BASE}"), (second, "Linky TeleInfo/LinkyProduction")):
        (device,) = dr.async_entries_for_config_entry(devices, entry.entry_id)
        assert device.name == name
        assert device.identifiers == {(DOMAIN, f"{entry.entry_id}_tic")}


async def test_bad_values_keep_the_last_good_one_and_are_logged_once(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong value is counted and logged once per topic; the entity keeps its value."""
    entry = await setup_per_topic(hass, broker)
    await publish_all(broker, bridge_messages(first_frame_lines()))
    key = f"{entry.entry_id}_tic_"
    await wait_for(lambda: states_by_key(hass, entry, key).get("sensor.east") == "0.802")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await publish_all(
            broker, [(f"{BASE}/EAST", b"abc"), (f"{BASE}/EAST", b"-5"), (f"{BASE}/EAST", b"x")]
        )
        await publish_all(broker, [(f"{BASE}/EAST", b"900")])
        await wait_for(lambda: states_by_key(hass, entry, key).get("sensor.east") == "0.9")
    problems = entry.runtime_data.coordinator.problems
    assert problems[ProblemKind.WRONG_TYPE] == 2
    assert problems[ProblemKind.NEGATIVE_TOTAL] == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per kind on this topic, not one per message
    assert ADSC not in caplog.text


async def test_broker_loss_makes_the_meter_unavailable(hass: HomeAssistant, broker: Broker) -> None:
    """The broker killed: every value unavailable and the link off, until it comes back."""
    entry = await setup_per_topic(hass, broker)
    await publish_all(broker, bridge_messages(first_frame_lines()))
    key = f"{entry.entry_id}_tic_"
    await wait_for(lambda: states_by_key(hass, entry, key).get("sensor.east") == "0.802")
    broker.kill()
    await wait_for(lambda: states_by_key(hass, entry, key)["sensor.east"] == STATE_UNAVAILABLE)
    assert states_by_key(hass, entry, key)["binary_sensor.connection"] == "off"


async def test_diagnostics_show_the_link_but_no_meter_identity(
    hass: HomeAssistant, broker: Broker, hass_client: ClientSessionGenerator
) -> None:
    """A per-topic entry's diagnostics: messages and problems, never the address or the PRM."""
    entry = await setup_per_topic(hass, broker)
    await publish_all(broker, [*bridge_messages(first_frame_lines()), (f"{BASE}/EAST", b"x")])
    await wait_for(lambda: entry.runtime_data.coordinator.problems[ProblemKind.WRONG_TYPE] == 1)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in (ADSC, "19528654014760", LOOPBACK):
        assert secret not in text, secret
    assert diagnostics["problems"] == {"wrong_type": 1}
    assert diagnostics["meters"]["meter_1"]["online"] is True
    assert diagnostics["meters"]["meter_1"]["messages"] == len(bridge_messages(first_frame_lines()))


async def test_entities_come_back_unavailable_after_a_reload(
    hass: HomeAssistant, broker: Broker
) -> None:
    """After a restart the meter's entities are there at once, unavailable until it speaks."""
    entry = await setup_per_topic(hass, broker)
    await publish_all(broker, bridge_messages(first_frame_lines()))
    key = f"{entry.entry_id}_tic_"
    await wait_for(lambda: states_by_key(hass, entry, key).get("sensor.east") == "0.802")
    before = set(states_by_key(hass, entry, key))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    states = states_by_key(hass, entry, key)
    assert set(states) == before
    assert states["sensor.east"] == STATE_UNAVAILABLE
    assert states["binary_sensor.connection"] == "off"
    await wait_for(lambda: entry.runtime_data.coordinator.connected)
    await publish_all(broker, [(f"{BASE}/EAST", b"803")])
    await wait_for(lambda: states_by_key(hass, entry, key)["sensor.east"] == "0.803")
