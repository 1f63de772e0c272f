"""The MQTT simulator's command line against a real mosquitto: what `scripts/develop` runs.

The simulator runs as its own process, as in the demo; the test listens like any MQTT client,
decodes what arrives with the integration's decoders, and sends a command as the integration
would (correlation id, ISO timestamp, QoS 1).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from custom_components.energy_ledger.core.mqtt import (
    GridMode,
    decode_v1_sensors,
    decode_v1_status,
    decode_v2_data,
    decode_v2_status,
)

from .mqtt_broker import LOOPBACK, Broker

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 21, tzinfo=UTC)


async def _simulator(broker: Broker, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.mqtt_simulator",
        "--host",
        LOOPBACK,
        "--port",
        str(broker.port),
        "--interval",
        "0.5",
        "--quiet",
        *args,
        cwd=ROOT,
    )


async def _stop(process: asyncio.subprocess.Process) -> int:
    """Stop it as Ctrl-C or `scripts/develop` would; its exit code."""
    if process.returncode is None:
        process.terminate()
    return await process.wait()


@pytest.mark.parametrize(
    ("profile", "data_topics", "command_topic", "status_topic"),
    [
        (
            "v2",
            {"enerlink/meters/data"},
            "enerlink/meters/command/METER002",
            "enerlink/meters/status",
        ),
        (
            "v1",
            {"home/energy-monitor/sensors", "home/energy-monitor-2/sensors"},
            "home/energy-monitor-2/command",
            "home/energy-monitor-2/status",
        ),
    ],
)
async def test_meters_publish_and_acknowledge_commands(
    broker: Broker,
    profile: str,
    data_topics: set[str],
    command_topic: str,
    status_topic: str,
) -> None:
    """Every meter publishes decodable data; a command is answered with its correlation id and
    its effect (grid off), by the meter it was sent to."""
    process = await _simulator(broker, "--profile", profile, "--meters", "2")
    try:
        async with aiomqtt.Client(LOOPBACK, broker.port, identifier="test-listener") as client:
            await client.subscribe("#")
            speakers: set[str] = set()
            async with asyncio.timeout(60):
                async for message in client.messages:
                    topic = message.topic.value
                    if topic not in data_topics:
                        continue
                    payload = bytes(message.payload)
                    if profile == "v2":
                        result = decode_v2_data(payload, received_at=NOW)
                        assert result.value is not None
                        speakers.add(result.value.meter_id)
                    else:
                        result = decode_v1_sensors(payload, meter_id="m", received_at=NOW)
                        speakers.add(topic)
                    assert result.problems == ()
                    if len(speakers) == 2:
                        break

            correlation_id = str(uuid.uuid4())
            command = {"grid": "off", "timestamp": "2026-06-21T10:00:00Z"}
            command["correlation_id"] = correlation_id
            await client.publish(command_topic, json.dumps(command), qos=1)
            async with asyncio.timeout(60):
                async for message in client.messages:
                    if message.topic.value != status_topic:
                        continue
                    payload = bytes(message.payload)
                    if json.loads(payload).get("correlation_id") == correlation_id:
                        break
            if profile == "v2":
                status = decode_v2_status(payload, received_at=NOW).value
                assert status is not None
                assert status.meter_id == "METER002"
            else:
                status = decode_v1_status(payload, received_at=NOW).value
                assert status is not None
            assert status.grid_mode is GridMode.OFF
    finally:
        assert await _stop(process) == 0
