"""MQTT ingest: EnerLink v2 meters through a real mosquitto into entity states, against the
hand-written Home Assistant `mqtt` sensors a user would configure otherwise, in the same run.

Run: `.venv/bin/python -m pytest benchmarks/test_bench_mqtt_ingest.py -s -p no:logging`
(a pytest file because it needs the Home Assistant test harness; not part of `scripts/test`).
Sizes can be changed through the environment: BENCH_MQTT_METERS (200), BENCH_MQTT_INTERVAL (5 s),
BENCH_MQTT_WINDOW (60 s), BENCH_MQTT_BURST_METERS ("1,20"), BENCH_MQTT_BURST_MESSAGES (1000),
BENCH_MQTT_BURST_REPEATS (3). BENCH_MQTT_PROFILE=1 prints a cProfile of the event loop during our
first burst (figures then slower).

Contestants, in the same Home Assistant instance with the recorder:

- **ours**: an Energy Ledger MQTT entry (direct aiomqtt connection, profile EnerLink v2), with
  the same unit, device class and state class per field as theirs (energy shown in kWh, which
  ours converts at each write), plus its health, connection and control entities;
- **theirs**: Home Assistant's own MQTT integration connected to the same broker, with one
  `mqtt` sensor per field per meter, each with a `value_template` that picks its meter out of
  the shared topic (``{% if value_json.meterId == 'METER001' %}{{ ... / 1000 }}{% endif %}``: an
  empty result is ignored) — one per field of every subsystem the simulator's data messages
  carry, which is what our integration shows for them (built from a sample message, so both
  follow the simulator; the entity counts are printed next to the figures).

Figures:

1. **Burst**: the same pre-generated data messages (tools/mqtt_simulator.py, fixed seed) published
   as fast as a separate process can, QoS 0, in BENCH_MQTT_BURST_REPEATS consecutive bursts (the
   simulation goes on from one to the next). Per burst, messages per second from the first to the
   last one handled, and event-loop CPU per message (thread CPU time of the loop, read when the
   first and the last message are handled); each contestant's best burst is shown, the one the
   busy shared machine disturbed least. The headline figure writes every change (our minimum
   write interval 0, as an `mqtt` sensor writes each new value), so both do the same work for the
   user: both are loaded together and take each burst in turns (theirs on a topic of their own,
   `THEIR_BURST_TOPIC`, that ours does not hear), every burst starting with an idle recorder, so
   that a busy spell of the machine, or the recorder still writing down the previous burst, falls
   on neither alone. A second figure then runs ours alone as users get it by default (minimum
   write interval 30 s: a changing value written at most that often) on the same bursts, against
   theirs above (`mqtt` sensors have no such policy): labelled apart, it never replaces the first.
2. **Realistic load**, one contestant after the other: the simulator's command line (a process of
   its own) with N meters every S seconds, data and status; once every meter has been seen, the
   process CPU time and the event loop's thread CPU time over a fixed wall window, as a share of
   one core, and the messages handled in that window. Ours runs with its default write policy,
   as users get it.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import os
import pstats
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from homeassistant import config as conf_util
from homeassistant.components import mqtt
from homeassistant.components.mqtt.const import CONFIG_ENTRY_MINOR_VERSION, CONFIG_ENTRY_VERSION
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.energy_ledger.const import (
    CONF_HOST,
    CONF_KIND,
    CONF_MIN_WRITE_INTERVAL,
    CONF_MQTT_PORT,
    CONF_PASSWORD,
    CONF_PROFILE,
    CONF_TLS,
    CONF_TLS_INSECURE,
    CONF_USERNAME,
    DEFAULT_MIN_WRITE_INTERVAL,
    DOMAIN,
    KIND_MQTT,
    PROFILE_ENERLINK_V2,
)
from tests.integration.mqtt_broker import LOOPBACK, Broker
from tools.mqtt_simulator import build_devices, data_rounds, v2_meter_id

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)
"""A sunny morning: batteries charging, exports starting, every value moving."""
METERS = int(os.environ.get("BENCH_MQTT_METERS", "200"))
INTERVAL = float(os.environ.get("BENCH_MQTT_INTERVAL", "5"))
WINDOW = float(os.environ.get("BENCH_MQTT_WINDOW", "60"))
BURST_METERS = [int(n) for n in os.environ.get("BENCH_MQTT_BURST_METERS", "1,20").split(",")]
BURST_MESSAGES = int(os.environ.get("BENCH_MQTT_BURST_MESSAGES", "1000"))
BURST_REPEATS = int(os.environ.get("BENCH_MQTT_BURST_REPEATS", "3"))
PROFILE = os.environ.get("BENCH_MQTT_PROFILE") == "1"
DATA_TOPIC = "enerlink/meters/data"
THEIR_BURST_TOPIC = "theirs/enerlink/meters/data"
"""Where the bursts go for theirs, so that both contestants can be loaded together and take
their bursts in turns (ours subscribes to `enerlink/meters/#` and never hears these)."""

PUBLISHER = """
import asyncio, json, sys
import aiomqtt

async def main(port, path):
    with open(path) as lines:
        messages = [json.loads(line) for line in lines]
    async with aiomqtt.Client("127.0.0.1", int(port), identifier="bench-publisher") as client:
        for topic, payload in messages:
            await client.publish(topic, payload.encode(), qos=0)

asyncio.run(main(*sys.argv[1:]))
"""
"""Publishes a file of [topic, payload] lines as fast as it can, from a process of its own."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: object, enable_custom_integrations: None
) -> None:
    """Real recorder, custom integration allowed."""


@pytest.fixture(autouse=True)
def quiet_logs(hass: HomeAssistant) -> Iterator[None]:
    """No log lines in the measurements: the test harness logs every entity registered and, for
    the whole session, every SQL statement, work neither contestant does in a real installation
    (and a flood that would bury the figures)."""
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    loggers = [logging.getLogger(), logging.getLogger("homeassistant")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """Home Assistant's MQTT client may leave its reconnect timer behind at teardown."""
    return True


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto that queues without limit for a slow subscriber (no message dropped)."""
    server = Broker(tmp_path)
    with server.config.open("a") as config:
        config.write("max_queued_messages 0\nmax_queued_bytes 0\n")
    server.start()
    yield server
    server.kill()


# --------------------------------------------------------------------------------------------------
# The two contestants


SHAPES: dict[str, tuple[str | None, str | None, str]] = {
    # field name in a v2 subsystem: unit, device class, quantity (its key in the units block)
    "voltage": ("V", "voltage", "voltage"),
    "current": ("A", "current", "current"),
    "power": ("W", "power", "power"),
    "soc": ("%", "battery", ""),
    "energy": ("Wh", "energy", "energy"),
    "daily_energy": ("Wh", "energy", "energy"),
    "total_energy": ("Wh", "energy", "energy"),
    "settlement_energy": ("Wh", "energy", "energy"),
}
"""How a user would declare each numeric field of a v2 data message as an `mqtt` sensor."""
MILLI = frozenset({"mW", "mA"})
SIGNED = frozenset({"net_solar", "net_grid"})


def hand_written_mqtt_config(
    meter_ids: list[str], sample: dict[str, Any], topic: str = DATA_TOPIC
) -> dict[str, Any]:
    """What a user would write in configuration.yaml for the same entities: one `mqtt` sensor
    per field of every subsystem a data message carries (`sample`, any meter's), as ours shows
    them: numbers in base units (a template divides mW and mA by 1000), the battery state as
    text, flags as binary sensors."""
    sensors: list[dict[str, Any]] = []
    binary_sensors: list[dict[str, Any]] = []
    units: dict[str, str] = sample["units"]
    for meter in meter_ids:
        pick = f"{{% if value_json.meterId == '{meter}' %}}"
        for subsystem, fields in sample["data"].items():
            for name, value in fields.items():
                path = f"{subsystem}.{name}"
                common = {
                    "name": f"{meter} {subsystem} {name}",
                    "unique_id": f"{meter}_{path}",
                    "state_topic": topic,
                }
                if isinstance(value, bool):
                    binary_sensors.append(
                        common
                        | {
                            "value_template": f"{pick}{{{{ 'ON' if value_json.data.{path}"
                            " else 'OFF' }}{% endif %}",
                        }
                    )
                elif isinstance(value, str):
                    # A text sensor would show an empty result: keep the state for other meters.
                    sensors.append(
                        common
                        | {
                            "value_template": f"{pick}{{{{ value_json.data.{path} }}}}"
                            "{% else %}{{ this.state }}{% endif %}",
                        }
                    )
                else:
                    unit, device_class, quantity = SHAPES[name]
                    tail = " / 1000" if units.get(quantity) in MILLI else ""
                    state_class = (
                        "measurement"
                        if unit != "Wh"
                        else "total"
                        if subsystem in SIGNED
                        else "total_increasing"
                    )
                    sensors.append(
                        common
                        | {
                            "value_template": f"{pick}{{{{ value_json.data.{path}{tail} }}}}"
                            "{% endif %}",
                            "unit_of_measurement": unit,
                            "device_class": device_class,
                            "state_class": state_class,
                        }
                    )
    return {"mqtt": {"sensor": sensors, "binary_sensor": binary_sensors}}


async def wait_for(condition: Callable[[], bool], seconds: float = 600.0) -> None:
    """Poll `condition` while the event loop runs; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@dataclass
class Arrivals:
    """When messages were handled: wall time and the event loop's own CPU time."""

    count: int = 0
    first: tuple[float, float] | None = None
    last: tuple[float, float] = (0.0, 0.0)
    meters: set[str] = field(default_factory=set)

    @callback
    def record(self, *_: object) -> None:
        stamp = (time.perf_counter(), time.thread_time())
        self.count += 1
        if self.first is None:
            self.first = stamp
        self.last = stamp

    def reset(self) -> None:
        self.count, self.first = 0, None

    def rate(self) -> tuple[float, float]:
        """Messages per second and loop CPU µs per message, between the first and the last."""
        assert self.first is not None
        assert self.count > 1
        wall = self.last[0] - self.first[0]
        cpu = self.last[1] - self.first[1]
        return (self.count - 1) / wall, cpu / (self.count - 1) * 1e6


class Ours:
    """An Energy Ledger MQTT entry, EnerLink v2."""

    def __init__(
        self, hass: HomeAssistant, broker: Broker, policy: str = "", **options: float
    ) -> None:
        self.hass = hass
        self.name = f"Energy Ledger ({policy})" if policy else "Energy Ledger"
        self.entry = MockConfigEntry(
            domain=DOMAIN,
            title="EnerLink bench",
            unique_id=f"{LOOPBACK}:{broker.port}/{PROFILE_ENERLINK_V2}/{policy}",
            data={
                CONF_KIND: KIND_MQTT,
                CONF_HOST: LOOPBACK,
                CONF_MQTT_PORT: broker.port,
                CONF_USERNAME: None,
                CONF_PASSWORD: None,
                CONF_TLS: False,
                CONF_TLS_INSECURE: False,
                CONF_PROFILE: PROFILE_ENERLINK_V2,
            },
            options=options,
        )
        self.arrivals = Arrivals()

    async def start(self, meter_ids: list[str]) -> None:
        self.entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        coordinator = self.entry.runtime_data.coordinator
        await wait_for(lambda: coordinator.connected, 30)
        # Told after the entities (registered before), so it sees a message fully handled.
        coordinator.async_add_listener(self.arrivals.record)

    def seen(self) -> set[str]:
        return set(self.entry.runtime_data.coordinator.meters)

    def entities(self) -> int:
        return len(er.async_entries_for_config_entry(er.async_get(self.hass), self.entry.entry_id))

    def state(self, meter: str, key: str) -> str | None:
        unique_id = f"{self.entry.entry_id}_{meter}_{key}"
        for platform in ("sensor", "binary_sensor"):
            if found := er.async_get(self.hass).async_get_entity_id(platform, DOMAIN, unique_id):
                state = self.hass.states.get(found)
                return None if state is None else state.state
        return None

    async def stop(self) -> None:
        """Unload, then remove, so that another entry can follow on the same broker."""
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.config_entries.async_remove(self.entry.entry_id)
        await self.hass.async_block_till_done()


class Theirs:
    """Home Assistant's MQTT integration with hand-written template sensors."""

    name = "HA mqtt + value_template"

    def __init__(
        self,
        hass: HomeAssistant,
        broker: Broker,
        patch: pytest.MonkeyPatch,
        sample: tuple[str, bytes],
        topic: str = DATA_TOPIC,
    ) -> None:
        self.hass = hass
        self.topic = topic
        self._patch = patch
        self._sample: dict[str, Any] = json.loads(sample[1])
        self.entry = MockConfigEntry(
            domain=mqtt.DOMAIN,
            data={"broker": LOOPBACK, "port": broker.port},
            version=CONFIG_ENTRY_VERSION,
            minor_version=CONFIG_ENTRY_MINOR_VERSION,
        )
        self.arrivals = Arrivals()
        self._unsubscribe: Callable[[], None] | None = None
        self._meters: set[str] = set()

    async def start(self, meter_ids: list[str]) -> None:
        config = hand_written_mqtt_config(meter_ids, self._sample, self.topic)

        async def configuration_yaml(_hass: HomeAssistant) -> dict[str, Any]:
            return config

        # The MQTT entry reads its entities from configuration.yaml when it loads.
        self._patch.setattr(conf_util, "async_hass_config_yaml", configuration_yaml)
        self.entry.add_to_hass(self.hass)
        assert await async_setup_component(self.hass, mqtt.DOMAIN, config)
        assert await mqtt.async_wait_for_mqtt_client(self.hass)

        @callback
        def seen(message: mqtt.ReceiveMessage) -> None:
            self.arrivals.record()
            if len(self._meters) < len(meter_ids):
                self._meters.add(json.loads(message.payload)["meterId"])

        # Subscribed after the sensors, so it is called after them for each message.
        self._unsubscribe = await mqtt.async_subscribe(self.hass, self.topic, seen)
        await self.hass.async_block_till_done()

    def seen(self) -> set[str]:
        return self._meters

    def entities(self) -> int:
        return len(er.async_entries_for_config_entry(er.async_get(self.hass), self.entry.entry_id))

    def state(self, meter: str, key: str) -> str | None:
        registry = er.async_get(self.hass)
        subsystem, _, name = key.partition("_")
        path = f"{subsystem}.{name}"
        for platform in ("sensor", "binary_sensor"):
            if found := registry.async_get_entity_id(platform, mqtt.DOMAIN, f"{meter}_{path}"):
                state = self.hass.states.get(found)
                return None if state is None else state.state
        return None

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()


type Contestant = Ours | Theirs


async def publish_file(broker: Broker, messages: list[tuple[str, bytes]], path: Path) -> None:
    """Publish `messages` from a process of its own, as fast as it can."""
    text = "".join(json.dumps([topic, payload.decode()]) + "\n" for topic, payload in messages)
    await asyncio.to_thread(path.write_text, text)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, str(broker.port), str(path), cwd=ROOT
    )
    assert await process.wait() == 0


async def until_subscribed(
    broker: Broker, contestant: Contestant, probe: tuple[str, bytes]
) -> None:
    """Publish `probe` until the contestant handles it: its subscription reached the broker
    (Home Assistant's MQTT client sends subscriptions after a short cooldown)."""
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="bench-probe") as client:
        while contestant.arrivals.count == 0:
            await client.publish(*probe, qos=1)
            await asyncio.sleep(0.2)
    await wait_for(lambda: contestant.arrivals.count > 0)


@pytest.fixture
async def simulator(broker: Broker) -> AsyncIterator[Callable[[], Any]]:
    """Starts the simulator's command line on demand; stops it at the end."""
    processes: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tools.mqtt_simulator",
            "--port",
            str(broker.port),
            "--profile",
            "v2",
            "--meters",
            str(METERS),
            "--interval",
            str(INTERVAL),
            "--quiet",
            cwd=ROOT,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await process.wait()


# --------------------------------------------------------------------------------------------------
# Benchmarks


@dataclass
class BurstFigures:
    """One contestant's bursts: the best of each figure (the least disturbed by the machine)."""

    rates: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    entities: int = 0

    @property
    def rate(self) -> float:
        return max(self.rates)

    @property
    def cpu(self) -> float:
        return min(self.cpus)

    def line(self, name: str) -> str:
        return (
            f"\n    {name:<7} {self.rate:6.0f} msg/s, {self.cpu:6.0f} µs loop CPU/msg,"
            f" capacity {1e6 / self.cpu:5.0f} msg/s ({self.entities} entities)"
        )


def _ratios(ours: BurstFigures, theirs: BurstFigures) -> str:
    return (
        f"\n    ours/theirs: {ours.rate / theirs.rate:.1f}x wall throughput,"
        f" {theirs.cpu / ours.cpu:.1f}x capacity"
    )


@dataclass(frozen=True)
class Bench:
    """Where the bursts run."""

    hass: HomeAssistant
    broker: Broker
    tmp_path: Path


async def _ready(
    bench: Bench,
    contestant: Contestant,
    meter_ids: list[str],
    topic: str,
    warm_up: list[tuple[str, bytes]],
) -> None:
    """Start `contestant`, then warm it up on `topic`: every meter once, so that entities exist
    before the clock starts."""
    await contestant.start(meter_ids)
    await until_subscribed(bench.broker, contestant, (topic, warm_up[0][1]))
    retopic = [(topic, p) for _, p in warm_up]
    await publish_file(bench.broker, retopic, bench.tmp_path / "warm_up.jsonl")
    await wait_for(lambda: contestant.arrivals.count >= len(warm_up))
    await bench.hass.async_block_till_done()


async def _burst(
    bench: Bench,
    contestant: Contestant,
    topic: str,
    burst: list[tuple[str, bytes]],
    figures: BurstFigures,
    *,
    profile: bool = False,
) -> None:
    """Publish `burst` on `topic`, wait until `contestant` handled it all, keep its figures.

    The recorder is idle when a burst starts: none still writes down the previous burst's states
    (the other contestant's, in turns) while this one runs.
    """
    await async_wait_recording_done(bench.hass)
    contestant.arrivals.reset()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()  # this coroutine runs in the event loop's thread
    retopic = [(topic, p) for _, p in burst]
    await publish_file(bench.broker, retopic, bench.tmp_path / "burst.jsonl")
    await wait_for(lambda: contestant.arrivals.count >= len(burst))
    await bench.hass.async_block_till_done()
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            "energy_ledger|entity.py|aiomqtt|paho|core.py", 45
        )
    rate, cpu_us = contestant.arrivals.rate()
    figures.rates.append(rate)
    figures.cpus.append(cpu_us)
    figures.entities = contestant.entities()


def _assert_shown(
    contestant: Contestant, last: dict[str, Any], sent: list[dict[str, Any]] | None = None
) -> None:
    """Not vacuous: the last message's values are what the user sees; with `sent`, values the
    bursts carried (with the default policy, each waits for its interval to be written)."""
    meter = last["meterId"]
    voltage = contestant.state(meter, "battery_voltage")
    power = contestant.state(meter, "import_power")
    assert voltage is not None
    assert power is not None
    if sent is not None:
        assert float(voltage) in {data["battery"]["voltage"] for data in sent}
        assert float(power) in {data["import"]["power"] / 1000 for data in sent}
    else:
        assert float(voltage) == last["data"]["battery"]["voltage"]
        assert float(power) == pytest.approx(last["data"]["import"]["power"] / 1000)


@pytest.mark.parametrize("meters", BURST_METERS)
async def test_burst_throughput(
    hass: HomeAssistant,
    broker: Broker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    meters: int,
) -> None:
    """Messages per second and loop CPU per message on the same bursts: ours with every change
    written and theirs, loaded together and taking the bursts in turns; then ours with its
    default write policy."""
    devices = build_devices("v2", meters, interval=INTERVAL, start=START, clock=0.0)
    meter_ids = [v2_meter_id(i) for i in range(1, meters + 1)]
    size = max(BURST_MESSAGES // meters, 2) * meters
    messages = list(data_rounds(devices, 1 + size // meters * BURST_REPEATS, INTERVAL))
    warm_up = messages[:meters]
    bursts = [messages[meters + i * size : meters + (i + 1) * size] for i in range(BURST_REPEATS)]
    last = json.loads(bursts[-1][-1][1])
    every_change = Ours(hass, broker, "every change", **{CONF_MIN_WRITE_INTERVAL: 0})
    theirs = Theirs(hass, broker, monkeypatch, warm_up[0], THEIR_BURST_TOPIC)
    ours_figures, their_figures, default_figures = BurstFigures(), BurstFigures(), BurstFigures()
    # In turns, so that a busy spell of the shared machine falls on both alike.
    turns = ((every_change, DATA_TOPIC, ours_figures), (theirs, THEIR_BURST_TOPIC, their_figures))
    bench = Bench(hass, broker, tmp_path)
    for contestant, topic, _ in turns:
        await _ready(bench, contestant, meter_ids, topic, warm_up)
    for number, burst in enumerate(bursts):
        for contestant, topic, figures in turns:
            first = PROFILE and contestant is every_change and not number
            await _burst(bench, contestant, topic, burst, figures, profile=first)
    for contestant, _, _ in turns:
        _assert_shown(contestant, last)
        await contestant.stop()

    default = Ours(hass, broker, "default policy")
    await _ready(bench, default, meter_ids, DATA_TOPIC, warm_up)
    for burst in bursts:
        await _burst(bench, default, DATA_TOPIC, burst, default_figures)
    sent = [m["data"] for _, p in messages if (m := json.loads(p))["meterId"] == last["meterId"]]
    _assert_shown(default, last, sent)
    await default.stop()
    print(
        f"\nbursts of {size} v2 data messages from {meters} meter(s), best of {BURST_REPEATS}"
        " (msg/s: wall clock, shared machine; capacity: 1 s of loop CPU / CPU per message):"
        "\n  every change written (ours: minimum write interval 0; an `mqtt` sensor writes each"
        " new value), bursts taken in turns:"
        + ours_figures.line("ours:")
        + their_figures.line("theirs:")
        + _ratios(ours_figures, their_figures)
        + "\n  as users get them by default (ours: minimum write interval"
        f" {DEFAULT_MIN_WRITE_INTERVAL} s, a changed value written at most that often; theirs:"
        " the same sensors, above):"
        + default_figures.line("ours:")
        + _ratios(default_figures, their_figures)
    )


async def _measure_window(
    hass: HomeAssistant, contestant: Contestant
) -> tuple[float, float, float]:
    """Process and loop CPU shares of one core, and messages handled per second, over WINDOW."""
    contestant.arrivals.reset()
    wall, process, loop = time.perf_counter(), time.process_time(), time.thread_time()
    await asyncio.sleep(WINDOW)
    wall = time.perf_counter() - wall
    process = time.process_time() - process
    loop = time.thread_time() - loop
    return process / wall, loop / wall, contestant.arrivals.count / wall


async def test_cpu_share_at_realistic_load(
    hass: HomeAssistant,
    broker: Broker,
    monkeypatch: pytest.MonkeyPatch,
    simulator: Callable[[], Any],
) -> None:
    """CPU share with METERS meters every INTERVAL s: ours (default write policy), theirs."""
    meter_ids = [v2_meter_id(i) for i in range(1, METERS + 1)]
    offered = METERS / INTERVAL
    lines = []
    per_message: dict[str, float] = {}
    sample = next(data_rounds(build_devices("v2", 1, interval=INTERVAL, start=START), 1, INTERVAL))
    contestants: list[Contestant] = [
        Ours(hass, broker),
        Theirs(hass, broker, monkeypatch, sample),
    ]
    for contestant in contestants:
        await contestant.start(meter_ids)
        process = await simulator()
        await wait_for(lambda c=contestant: len(c.seen()) >= METERS)
        await asyncio.sleep(2 * INTERVAL)  # entity creation of the last meters settles
        cpu, loop, handled = await _measure_window(hass, contestant)
        per_message[contestant.name] = loop / handled
        lines.append(
            f"\n  {contestant.name}: process {cpu:.1%}, event loop {loop:.1%} of one core;"
            f" {handled:.1f} messages/s handled, {loop / handled * 1e3:.2f} ms loop CPU each"
            f" ({contestant.entities()} entities)"
        )
        process.terminate()
        await process.wait()
        await contestant.stop()
    ours, theirs = per_message.values()
    print(
        f"\n{METERS} EnerLink v2 meters every {INTERVAL:g} s ({offered:.0f} data messages/s"
        f" + {METERS / 30:.0f} status messages/s, which only ours subscribes to),"
        f" {WINDOW:g} s window:" + "".join(lines) + f"\n  theirs/ours loop CPU per message:"
        f" {theirs / ours:.1f}x"
    )
