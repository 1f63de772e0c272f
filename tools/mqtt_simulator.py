"""Simulated EnerLink smart meters: v1 or v2 payloads on an MQTT broker, and their commands.

Run it from the repository root::

    python -m tools.mqtt_simulator --host 127.0.0.1 --port 1883 --profile v2 --meters 3
    python -m tools.mqtt_simulator --profile v1 --interval 5  # one v1 meter, home/energy-monitor
    python -m tools.mqtt_simulator --profile v2 --meters 200 --interval 5 --quiet  # benchmark load
    python -m tools.mqtt_simulator --speed 60  # a simulated minute per second: a day in 24 min

or use it as a library (tests, benchmarks)::

    meter = EnerLinkMeter("METER001", seed=1, start=datetime(2026, 6, 21, tzinfo=UTC))
    meter.advance(300)
    payload = meter.v2_data()  # a dict, ready for json.dumps

Why it is built this way:

- **The household is the TIC simulator's.** Each meter owns a single-phase producer
  `tools.tic_simulator.MeterModel` and asks it for the home's load and the sun at any instant
  (a pure function of seed and time: appliances, heating, water heater, clouds, seasons), so the
  Linky and the EnerLink meters of the demo live in the same kind of home. Nothing here imports
  the integration: the payloads are written from the protocol notes, and the tests check them
  with the integration's decoders, so a decoder bug cannot hide a simulator bug.
- **A battery between the sun and the grid.** 5 kWh, 2.5 kW, kept above a 10 % reserve: it takes
  the solar surplus and covers the deficit; what is left goes to or comes from the grid. The grid
  mode decides what the grid may do: ``export`` both ways, ``import`` never takes the surplus
  (the inverter curtails it), ``off`` takes and gives nothing (the home sheds what the sun and the
  battery cannot cover). No conversion losses: energy in = energy out + what the battery stored.
- **Counters follow the powers.** As in the TIC simulator, energy integrates on a fixed 10-second
  grid using the flows at each cell's midpoint (a partial cell counts its share), so a counter at
  time t does not depend on how often it was read, and a counter only grows. Per subsystem:
  ``total`` since the last reset command, ``daily`` since local midnight (Europe/Paris) and, unless
  ``--no-settlement``, ``settlement`` since the last ``reset_settlement`` command (the platform
  resets it after each 5-minute settlement). Battery energy is what the battery delivered.
- **Profiles.** v1 is one meter per topic prefix (``home/energy-monitor``, then
  ``home/energy-monitor-2``...): ``/sensors`` in W, A, V, Wh (the documented v1 units, no units
  block) with ``timestamp`` = ms since boot, ``/heartbeat`` every 30 s, ``/status`` every 60 s;
  commands on ``<prefix>/command``. v2 puts every meter on ``enerlink/meters/data`` (mW, mA, V, Wh
  in a ``units`` block, ``meterId``, ISO ``datetime``) and ``enerlink/meters/status`` every 30 s;
  commands on ``enerlink/meters/command/<meterId>``. Meters start at random phases of the interval,
  so 200 meters do not all speak in the same millisecond.
- **Commands.** ``{"grid": "import"|"export"|"off"}``, ``{"energy": {"reset": "all"|"battery"|
  "solar"|"load"}}`` (daily, total and settlement counters of those subsystems back to zero, which
  the integration must read as a device reset), ``{"energy": {"reset_settlement": "all"}}``,
  ``{"mqtt": {"sensor_interval": 5000}}`` (ms), and component settings (``{"motor1": {...}}``,
  ``pwm``, ``relay``) echoed in the status. With ``--ack`` (the default) the meter answers every
  command that carries a ``correlation_id`` with a status message, sent at once on its status
  topic, carrying that ``correlation_id`` at the top level: the message that shows the new state
  is the acknowledgement. ``--no-ack`` plays a device that never answers (every real row of
  ``device_commands`` in the samples timed out).
- **Identity.** v2 meter ids are ``METER001``, ``METER002``...; IP addresses come from the
  documentation range 192.0.2.0/24. Nothing here is anybody's meter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from tools.tic_simulator import CELL_SECONDS, METER_TZ, MeterModel, _mix, _smooth, _unit

Profile = Literal["v1", "v2"]
GridMode = Literal["import", "export", "off"]
GRID_MODES: Final[Mapping[str, GridMode]] = {"import": "import", "export": "export", "off": "off"}

V1_PREFIX: Final = "home/energy-monitor"
V2_ROOT: Final = "enerlink/meters"
V2_DATA_UNITS: Final = {
    "datetime": "ISO8601",
    "voltage": "V",
    "current": "mA",
    "power": "mW",
    "energy": "Wh",
}
V2_STATUS_UNITS: Final = {
    "datetime": "ISO8601",
    "uptime": "ms",
    "free_heap": "bytes",
    "rssi": "dBm",
}

HEARTBEAT_SECONDS: Final = 30.0
STATUS_SECONDS: Final = 60.0
"""v1 status period; v2 sends its status every `HEARTBEAT_SECONDS` (it has no heartbeat)."""
MIN_INTERVAL_MS: Final = 1000
MAX_INTERVAL_MS: Final = 3_600_000

BATTERY_WH: Final = 5000.0
BATTERY_MAX_W: Final = 2500.0
BATTERY_RESERVE: Final = 0.10
PREHISTORY_STEP: Final = 60.0
METER_SELF_W: Final = 1.8
"""What the meter's own electronics draw (v2 ``load_smart_mtr``)."""
RESET_GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "all": ("load", "solar", "import", "export", "battery", "meter"),
    "battery": ("battery",),
    "solar": ("solar",),
    "load": ("load",),
}
COMPONENTS: Final = ("motor", "motor1", "motor2", "pwm", "relay")
"""Command sections the simulated device accepts as settings and echoes in its status."""


@dataclass(frozen=True, slots=True)
class Flows:
    """Power flows of one instant, W, all >= 0."""

    load: float
    """Consumed by the home (after shedding, in grid mode ``off``)."""
    solar: float
    """Produced by the panels (after curtailment)."""
    charge: float
    discharge: float
    grid_import: float
    grid_export: float
    voltage: float
    """Grid voltage, V."""
    battery_state: str
    """charging, discharging, idle, full (nothing to take) or empty (at its reserve)."""


@dataclass(slots=True)
class Counter:
    """A subsystem's energy counters, Wh."""

    daily: float = 0.0
    total: float = 0.0
    settlement: float = 0.0

    def add(self, wh: float) -> None:
        self.daily += wh
        self.total += wh
        self.settlement += wh


def _wh(value: float) -> float:
    """An energy as published: 4 decimals (rounding is monotonic, so counters stay rising)."""
    return round(value, 4)


@dataclass(slots=True)
class _Cell:
    k: int
    flows: Flows


@dataclass(slots=True)
class CommandOutcome:
    """What a command did: the parts applied and the parts the device did not understand."""

    applied: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    correlation_id: str | None = None


class EnerLinkMeter:
    """One EnerLink device and the home behind it; same seed and same calls, same payloads.

    `start` is the meter's clock when created (aware; default now). Counters start from
    plausible values of a device installed some months ago, different per seed.
    """

    def __init__(
        self,
        meter_id: str,
        seed: int = 1,
        *,
        start: datetime | None = None,
        interval: float = 5.0,
        settlement: bool = True,
        pv_peak_w: float = 3000.0,
    ) -> None:
        self.meter_id = meter_id
        self.seed = seed
        self.home = MeterModel("standard", 1, True, seed, start=start, pv_peak_w=pv_peak_w)
        self.tz = ZoneInfo(METER_TZ)
        self._t = self.home.now.timestamp()
        self.interval_ms = round(interval * 1000)
        self.settlement = settlement
        self.grid_mode: GridMode = "export"
        self.components: dict[str, dict[str, object]] = {}
        rng = random.Random(_mix(seed, 0xE7E4))
        self.boot_t = self._t - rng.uniform(600.0, 40 * 86400.0)
        self.soc_wh = BATTERY_WH * rng.uniform(0.3, 0.7)
        self.counters: dict[str, Counter] = {
            name: Counter(total=rng.uniform(low, high))
            for name, low, high in (
                ("load", 500_000.0, 3_000_000.0),
                ("solar", 300_000.0, 2_000_000.0),
                ("import", 200_000.0, 1_500_000.0),
                ("export", 50_000.0, 600_000.0),
                ("battery", 20_000.0, 400_000.0),
                ("meter", 1_000.0, 10_000.0),
            )
        }
        self.ip = f"192.0.2.{1 + seed % 254}"
        self._key = _mix(seed, 0x5E4)
        self._cell: _Cell | None = None
        self._next_midnight = self._midnight_after(self._t)
        self._live_today_so_far()

    # -- time ------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The meter's clock (aware, UTC)."""
        return datetime.fromtimestamp(self._t, UTC)

    @property
    def uptime_ms(self) -> int:
        return math.floor((self._t - self.boot_t) * 1000)

    def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass, integrating every counter."""
        if seconds < 0:
            raise ValueError("a meter's clock only goes forward")
        self.advance_to_ts(self._t + seconds)

    def advance_to_ts(self, target: float) -> None:
        """Let simulated time pass up to the POSIX time `target`."""
        t = self._t
        while t < target:
            if t >= self._next_midnight:
                self._new_day(t)
            k = math.floor(t / CELL_SECONDS)
            # Local midnight is a whole hour of UTC, so it always falls on a cell boundary.
            end = min((k + 1) * CELL_SECONDS, target, self._next_midnight)
            cell = self._cell
            if cell is None or cell.k != k:
                cell = self._cell = _Cell(k, self.flows_at((k + 0.5) * CELL_SECONDS))
            self._accumulate(cell.flows, end - t)
            t = end
        self._t = max(self._t, target)

    def _local_date(self, t: float) -> date:
        return datetime.fromtimestamp(t, self.tz).date()

    def _midnight_after(self, t: float) -> float:
        day = self._local_date(t) + timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()

    def _new_day(self, t: float) -> None:
        for counter in self.counters.values():
            counter.daily = 0.0
        self._next_midnight = self._midnight_after(t)

    def _live_today_so_far(self) -> None:
        """Fill today's counters and the battery from local midnight to now, a minute a step.

        Coarser than the 10-second grid (a day of 10-second cells for 200 meters would take
        a minute), which is fine for a past nobody reads. The platform settled just before.
        """
        day = self._local_date(self._t)
        t = datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()
        while t < self._t:
            step = min(PREHISTORY_STEP, self._t - t)
            self._accumulate(self.flows_at(t + step / 2, step), step)
            t += step
        for counter in self.counters.values():
            counter.settlement = 0.0

    # -- physics ---------------------------------------------------------------------------------

    def flows_at(self, t: float, horizon: float = CELL_SECONDS) -> Flows:
        """The flows at POSIX time `t` for the battery charge and grid mode of now, such that
        `horizon` seconds of them keep the battery between its reserve and full."""
        sample = self.home.sample(t)
        load = sum(sample.load)
        solar = sum(sample.production)
        hours = horizon / 3600.0
        room = max(BATTERY_WH - self.soc_wh, 0.0) / hours
        available = max(self.soc_wh - BATTERY_RESERVE * BATTERY_WH, 0.0) / hours
        charge = discharge = grid_import = grid_export = 0.0
        surplus = solar - load
        if surplus >= 0.0:
            charge = min(surplus, BATTERY_MAX_W, room)
            rest = surplus - charge
            if self.grid_mode == "export":
                grid_export = rest
            else:
                solar -= rest  # curtailed: nobody may take it
        else:
            discharge = min(-surplus, BATTERY_MAX_W, available)
            rest = -surplus - discharge
            if self.grid_mode == "off":
                load -= rest  # islanded: the home sheds what nothing can supply
            else:
                grid_import = rest
        voltage = 231.0 + 3.0 * _smooth(self._key, t, 600.0) + 0.8 * _smooth(self._key + 1, t, 20.0)
        voltage += -3.0 * grid_import / 3000.0 + 5.0 * grid_export / 3000.0
        if charge > 1.0:
            state = "charging"
        elif discharge > 1.0:
            state = "discharging"
        elif surplus > 0.0 and room < 1.0:
            state = "full"
        elif surplus < 0.0 and available < 1.0:
            state = "empty"
        else:
            state = "idle"
        return Flows(load, solar, charge, discharge, grid_import, grid_export, voltage, state)

    def flows(self) -> Flows:
        """The flows now (what a reading shows)."""
        return self.flows_at(self._t)

    def _accumulate(self, flows: Flows, seconds: float) -> None:
        hours = seconds / 3600.0
        counters = self.counters
        counters["load"].add(flows.load * hours)
        counters["solar"].add(flows.solar * hours)
        counters["import"].add(flows.grid_import * hours)
        counters["export"].add(flows.grid_export * hours)
        counters["battery"].add(flows.discharge * hours)
        counters["meter"].add(METER_SELF_W * hours)
        self.soc_wh += (flows.charge - flows.discharge) * hours
        self.soc_wh = min(max(self.soc_wh, 0.0), BATTERY_WH)

    @property
    def soc_pct(self) -> int:
        return round(100.0 * self.soc_wh / BATTERY_WH)

    def _battery_voltage(self) -> float:
        return 46.0 + 8.0 * self.soc_wh / BATTERY_WH

    def _panel_voltage(self, solar_w: float) -> float:
        return 0.0 if solar_w <= 0.0 else 300.0 + 60.0 * min(solar_w / 3000.0, 1.0)

    def _rssi(self) -> int:
        return round(-62.0 + 6.0 * _smooth(self._key + 2, self._t, 300.0))

    def _free_heap(self) -> int:
        return 180_000 + math.floor(40_000 * _unit(self._key + 3, math.floor(self._t / 30.0)))

    # -- payloads --------------------------------------------------------------------------------

    def _energies(self, name: str, suffix: str) -> dict[str, float]:
        counter = self.counters[name]
        fields = {
            f"daily_energy{suffix}": _wh(counter.daily),
            f"total_energy{suffix}": _wh(counter.total),
        }
        if self.settlement:
            fields[f"settlement_energy{suffix}"] = _wh(counter.settlement)
        return fields

    def v1_sensors(self) -> dict[str, Any]:
        """``<prefix>/sensors``: W, A, V, Wh, ``timestamp`` in ms since boot."""
        f = self.flows()
        u = f.voltage
        battery_power = f.charge if f.charge > 0.0 else f.discharge
        battery_u = self._battery_voltage()
        panel_u = self._panel_voltage(f.solar)
        return {
            "timestamp": self.uptime_ms,
            "load": {
                "power": round(f.load, 1),
                "current": round(f.load / u, 2),
                "voltage": round(u, 1),
                **self._energies("load", "_wh"),
            },
            "solar": {
                "power": round(f.solar, 1),
                "current": round(f.solar / panel_u, 2) if panel_u else 0.0,
                "voltage": round(panel_u, 1),
                "generating": f.solar > 0.0,
                **self._energies("solar", "_wh"),
            },
            "export": {
                "power": round(f.grid_export, 1),
                "active": f.grid_export > 0.0,
                "current": round(f.grid_export / u, 2),
                "voltage": round(u, 1),
                **self._energies("export", "_wh"),
            },
            "import": {
                "power": round(f.grid_import, 1),
                "active": f.grid_import > 0.0,
                "current": round(f.grid_import / u, 2),
                "voltage": round(u, 1),
                **self._energies("import", "_wh"),
            },
            "battery": {
                "power": round(battery_power, 1),
                "state": f.battery_state,
                # As in the real v1 sample: power is a magnitude, current < 0 while charging.
                "current": round((f.discharge - f.charge) / battery_u, 2),
                "voltage": round(battery_u, 2),
                "soc": self.soc_pct,
                **self._energies("battery", "_wh"),
            },
        }

    def v1_heartbeat(self) -> dict[str, Any]:
        """``<prefix>/heartbeat``."""
        return {
            "qos": 1,
            "status": "alive",
            "uptime": self.uptime_ms,
            "free_heap": self._free_heap(),
            "timestamp": self.uptime_ms,
        }

    def _grid_section(self) -> dict[str, object]:
        f = self.flows()
        return {
            "mode": self.grid_mode,
            "exporting": f.grid_export > 0.0,
            "importing": f.grid_import > 0.0,
        }

    def v1_status(self, correlation_id: str | None = None) -> dict[str, Any]:
        """``<prefix>/status``; with `correlation_id`, the acknowledgement of that command."""
        status: dict[str, Any] = {
            "timestamp": self.uptime_ms,
            "grid": self._grid_section(),
            "mqtt": {"attempts": 0, "connected": True, "sensor_interval": self.interval_ms},
            "wifi": {"ip": self.ip, "rssi": self._rssi(), "connected": True},
            "system": {"free_heap": self._free_heap()},
            **{name: dict(settings) for name, settings in self.components.items()},
        }
        if correlation_id is not None:
            status["correlation_id"] = correlation_id
        return status

    def _v2_clock(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def v2_data(self) -> dict[str, Any]:
        """``enerlink/meters/data``: mW, mA, V, Wh."""
        f = self.flows()
        u = round(f.voltage, 1)
        battery_u = round(self._battery_voltage(), 2)
        panel_u = round(self._panel_voltage(f.solar), 1)
        net_solar_w = f.solar - f.load
        net_grid_w = f.grid_import - f.grid_export
        c = self.counters

        def ac(watts: float) -> dict[str, object]:
            return {
                "voltage": u,
                "current": round(watts / f.voltage * 1000),
                "power": round(watts * 1000),
            }

        return {
            "meterId": self.meter_id,
            "datetime": self._v2_clock(),
            "units": dict(V2_DATA_UNITS),
            "data": {
                "battery": {
                    "voltage": battery_u,
                    "current": round((f.discharge - f.charge) / battery_u * 1000),
                    "power": round((f.charge if f.charge > 0.0 else f.discharge) * 1000),
                    "state": f.battery_state,
                    "soc": self.soc_pct,
                    **self._energies("battery", ""),
                },
                "export": {
                    **ac(f.grid_export),
                    "active": f.grid_export > 0.0,
                    **self._energies("export", ""),
                },
                "import": {
                    **ac(f.grid_import),
                    "active": f.grid_import > 0.0,
                    **self._energies("import", ""),
                },
                "load_smart_mtr": {**ac(METER_SELF_W), **self._energies("meter", "")},
                "load_home": {**ac(f.load), **self._energies("load", "")},
                "solar_input": {
                    "voltage": panel_u,
                    "current": round(f.solar / 0.97 / panel_u * 1000) if panel_u else 0,
                    "power": round(f.solar / 0.97 * 1000),
                },
                "solar_output": {
                    **ac(f.solar),
                    "generating": f.solar > 0.0,
                    **self._energies("solar", ""),
                },
                "net_solar": {
                    "power": round(net_solar_w * 1000),
                    "energy": _wh(c["solar"].total - c["load"].total),
                },
                "net_grid": {
                    "power": round(net_grid_w * 1000),
                    "energy": _wh(c["import"].total - c["export"].total),
                },
            },
        }

    def v2_status(self, correlation_id: str | None = None) -> dict[str, Any]:
        """``enerlink/meters/status``; with `correlation_id`, that command's acknowledgement."""
        status: dict[str, Any] = {
            "meterId": self.meter_id,
            "datetime": self._v2_clock(),
            "units": dict(V2_STATUS_UNITS),
            "data": {
                "wifi": {"connected": True, "rssi": self._rssi(), "ip": self.ip},
                "grid": self._grid_section(),
                "mqtt": {"connected": True, "attempts": 0, "sensor_interval": self.interval_ms},
                "system": {"uptime": self.uptime_ms, "free_heap": self._free_heap()},
                "sensors": {"load": True, "solar": True, "battery": True, "grid": True},
                **{name: dict(settings) for name, settings in self.components.items()},
            },
        }
        if correlation_id is not None:
            status["correlation_id"] = correlation_id
        return status

    # -- commands --------------------------------------------------------------------------------

    def apply_command(self, command: Mapping[str, object]) -> CommandOutcome:
        """Apply what the device understands of a command object; say what it did."""
        outcome = CommandOutcome()
        correlation_id = command.get("correlation_id")
        if isinstance(correlation_id, str) and correlation_id:
            outcome.correlation_id = correlation_id
        for key, value in command.items():
            if key in ("correlation_id", "timestamp"):
                continue
            mode = GRID_MODES.get(value) if isinstance(value, str) else None
            if key == "grid" and mode is not None:
                self.grid_mode = mode
                outcome.applied.append(f"grid {mode}")
            elif key == "energy" and isinstance(value, dict):
                self._energy_command(value, outcome)
            elif (
                key == "mqtt"
                and isinstance(value, dict)
                and _is_interval(value.get("sensor_interval"))
            ):
                self.interval_ms = int(value["sensor_interval"])
                outcome.applied.append(f"sensor interval {self.interval_ms} ms")
            elif key in COMPONENTS and isinstance(value, dict) and _scalars(value):
                self.components.setdefault(key, {}).update(value)
                outcome.applied.append(key)
            else:
                outcome.ignored.append(key)
        self._cell = None  # the flows of the current cell change with the grid mode
        return outcome

    def _energy_command(self, value: Mapping[str, object], outcome: CommandOutcome) -> None:
        for action, target in value.items():
            if action == "reset" and isinstance(target, str) and target in RESET_GROUPS:
                for name in RESET_GROUPS[target]:
                    self.counters[name] = Counter()
                outcome.applied.append(f"energy reset {target}")
            elif action == "reset_settlement" and target == "all":
                for counter in self.counters.values():
                    counter.settlement = 0.0
                outcome.applied.append("settlement reset")
            else:
                outcome.ignored.append(f"energy.{action}")


def _is_interval(value: object) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and MIN_INTERVAL_MS <= value <= MAX_INTERVAL_MS
    )


def _scalars(value: Mapping[str, object]) -> bool:
    return all(isinstance(v, (str, int, float, bool)) for v in value.values())


# --------------------------------------------------------------------------------------------------
# Topics and messages


def v1_prefix(index: int, base: str = V1_PREFIX) -> str:
    """The topic prefix of the v1 meter number `index` (1-based): a v1 meter has its own."""
    return base if index == 1 else f"{base}-{index}"


def v2_meter_id(index: int) -> str:
    return f"METER{index:03d}"


@dataclass(slots=True)
class SimulatedDevice:
    """A meter with its topics and its own publishing schedule (monotonic seconds)."""

    meter: EnerLinkMeter
    profile: Profile
    prefix: str
    next_data: float
    next_health: float
    next_status: float

    @property
    def command_topic(self) -> str:
        if self.profile == "v1":
            return f"{self.prefix}/command"
        return f"{V2_ROOT}/command/{self.meter.meter_id}"

    @property
    def status_topic(self) -> str:
        return f"{self.prefix}/status" if self.profile == "v1" else f"{V2_ROOT}/status"

    def data_message(self) -> tuple[str, bytes]:
        if self.profile == "v1":
            return f"{self.prefix}/sensors", _dumps(self.meter.v1_sensors())
        return f"{V2_ROOT}/data", _dumps(self.meter.v2_data())

    def health_messages(self) -> list[tuple[str, bytes]]:
        """Heartbeat (v1) or status (v2), every `HEARTBEAT_SECONDS`."""
        if self.profile == "v1":
            return [(f"{self.prefix}/heartbeat", _dumps(self.meter.v1_heartbeat()))]
        return [self.status_message()]

    def status_message(self, correlation_id: str | None = None) -> tuple[str, bytes]:
        if self.profile == "v1":
            return self.status_topic, _dumps(self.meter.v1_status(correlation_id))
        return self.status_topic, _dumps(self.meter.v2_status(correlation_id))


def _dumps(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def build_devices(
    profile: Profile,
    count: int,
    *,
    interval: float,
    start: datetime | None = None,
    seed: int = 1,
    settlement: bool = True,
    prefix: str = V1_PREFIX,
    clock: float | None = None,
) -> list[SimulatedDevice]:
    """`count` devices, each first speaking at a random phase of its interval after `clock`."""
    now = time.monotonic() if clock is None else clock
    rng = random.Random(_mix(seed, 0x5EED))
    devices = []
    for index in range(1, count + 1):
        meter_id = v2_meter_id(index) if profile == "v2" else f"v1-{index}"
        meter = EnerLinkMeter(
            meter_id, seed + index - 1, start=start, interval=interval, settlement=settlement
        )
        first = now + rng.uniform(0.0, interval)
        devices.append(
            SimulatedDevice(
                meter,
                profile,
                v1_prefix(index, prefix) if profile == "v1" else V2_ROOT,
                next_data=first,
                next_health=first,
                next_status=first
                + (rng.uniform(0.0, STATUS_SECONDS) if profile == "v1" else math.inf),
            )
        )
    return devices


def data_rounds(
    devices: Sequence[SimulatedDevice], rounds: int, every: float
) -> Iterator[tuple[str, bytes]]:
    """`rounds` data messages per device, `every` simulated seconds apart (benchmarks, tests)."""
    for index in range(rounds):
        for device in devices:
            if index:
                device.meter.advance(every)
            yield device.data_message()


# --------------------------------------------------------------------------------------------------
# Running against a broker


class Runner:
    """Publishes every device's messages on schedule and answers their commands."""

    def __init__(self, args: argparse.Namespace, devices: list[SimulatedDevice]) -> None:
        self.args = args
        self.devices = devices
        self.by_command_topic = {d.command_topic: d for d in devices}
        self.sim_start = time.time() if args.start is None else args.start.timestamp()
        self.wall_start = time.monotonic()
        self.published = 0
        self.commands = 0

    def say(self, text: str) -> None:
        if not self.args.quiet:
            print(text, file=sys.stderr, flush=True)

    def sim_now(self) -> float:
        return self.sim_start + (time.monotonic() - self.wall_start) * self.args.speed

    async def run(self) -> None:
        import aiomqtt  # noqa: PLC0415 - only the command line needs a broker

        backoff = 1.0
        down_said = False
        while True:
            try:
                async with aiomqtt.Client(
                    self.args.host,
                    self.args.port,
                    username=self.args.username,
                    password=self.args.password,
                    identifier=f"enerlink-simulator-{os.getpid()}",
                    max_queued_outgoing_messages=10 * len(self.devices) + 100,
                ) as client:
                    await client.subscribe([(topic, 1) for topic in self.by_command_topic])
                    self.say(f"connected to {self.args.host}:{self.args.port}")
                    down_said = False
                    backoff = 1.0
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._publish(client))
                        group.create_task(self._listen(client))
            except* aiomqtt.MqttError as errors:
                if not down_said:
                    self.say(f"broker unavailable ({errors.exceptions[0]}); retrying")
                    down_said = True
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _publish(self, client: Any) -> None:
        qos = self.args.qos
        next_report = time.monotonic() + self.args.report
        while True:
            now = time.monotonic()
            for device in self.devices:
                due = [
                    kind
                    for kind, at in (
                        ("data", device.next_data),
                        ("health", device.next_health),
                        ("status", device.next_status),
                    )
                    if at <= now
                ]
                if not due:
                    continue
                device.meter.advance_to_ts(max(self.sim_now(), device.meter.now.timestamp()))
                messages: list[tuple[str, bytes]] = []
                if "data" in due:
                    messages.append(device.data_message())
                    device.next_data = _next(device.next_data, device.meter.interval_ms / 1000, now)
                if "health" in due:
                    messages += device.health_messages()
                    device.next_health = _next(device.next_health, HEARTBEAT_SECONDS, now)
                if "status" in due:
                    messages.append(device.status_message())
                    device.next_status = _next(device.next_status, STATUS_SECONDS, now)
                for topic, payload in messages:
                    await client.publish(topic, payload, qos=qos)
                    self.published += 1
            if self.args.report > 0 and now >= next_report:
                next_report += self.args.report
                self.say(self._report())
            wake = min(min(d.next_data, d.next_health, d.next_status) for d in self.devices)
            await asyncio.sleep(max(wake - time.monotonic(), 0.0))

    def _report(self) -> str:
        first = self.devices[0].meter
        f = first.flows()
        return (
            f"[{first.now.astimezone(first.tz):%Y-%m-%d %H:%M %Z}] {self.published} messages,"
            f" {self.commands} commands; {first.meter_id}: load {f.load:.0f} W,"
            f" solar {f.solar:.0f} W, battery {first.soc_pct} %, grid {first.grid_mode}"
        )

    async def _listen(self, client: Any) -> None:
        async for message in client.messages:
            device = self.by_command_topic.get(str(message.topic))
            if device is None:
                continue
            try:
                command = json.loads(bytes(message.payload))
            except ValueError:
                self.say(f"{device.meter.meter_id}: a command that is not JSON, ignored")
                continue
            if not isinstance(command, dict):
                self.say(f"{device.meter.meter_id}: a command that is not an object, ignored")
                continue
            self.commands += 1
            device.meter.advance_to_ts(max(self.sim_now(), device.meter.now.timestamp()))
            outcome = device.meter.apply_command(command)
            done = ", ".join(outcome.applied) or "with nothing to do"
            self.say(
                f"{device.meter.meter_id}: command {done}"
                + (f"; ignored {', '.join(outcome.ignored)}" if outcome.ignored else "")
            )
            if self.args.ack and outcome.correlation_id is not None:
                topic, payload = device.status_message(outcome.correlation_id)
                await client.publish(topic, payload, qos=1)
                self.published += 1


def _next(previous: float, period: float, now: float) -> float:
    """The next slot of a fixed schedule; after a stall, the next one from now (no burst)."""
    following = previous + period
    return following if following > now else now + period


# --------------------------------------------------------------------------------------------------
# Command line


def _parse_start(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from err
    return when if when.tzinfo is not None else when.replace(tzinfo=ZoneInfo(METER_TZ))


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mqtt_simulator",
        description="Simulated EnerLink smart meters publishing to an MQTT broker.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--profile", choices=("v1", "v2"), default="v2")
    parser.add_argument("--meters", type=int, default=1, help="number of meters (default 1)")
    parser.add_argument(
        "--interval", type=_positive, default=5.0, help="seconds between data messages (default 5)"
    )
    parser.add_argument("--prefix", default=V1_PREFIX, help="v1 topic prefix of the first meter")
    parser.add_argument("--qos", type=int, choices=(0, 1, 2), default=0, help="telemetry QoS")
    parser.add_argument(
        "--ack",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="acknowledge commands carrying a correlation_id (default: yes)",
    )
    parser.add_argument(
        "--settlement",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send settlement counters (default: yes)",
    )
    parser.add_argument("--speed", type=_positive, default=1.0, help="simulated seconds per second")
    parser.add_argument("--start", type=_parse_start, help="simulated start (ISO; default now)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", type=float, default=60.0, help="seconds between status lines")
    parser.add_argument("--quiet", action="store_true", help="no status lines on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.meters < 1:
        parser.error("--meters must be at least 1")
    devices = build_devices(
        args.profile,
        args.meters,
        interval=args.interval,
        start=args.start,
        seed=args.seed,
        settlement=args.settlement,
        prefix=args.prefix.strip("/"),
    )
    runner = Runner(args, devices)
    where = (
        f"{V2_ROOT}/data and /status"
        if args.profile == "v2"
        else ", ".join(d.prefix for d in devices[:3]) + (" ..." if len(devices) > 3 else "")
    )
    runner.say(
        f"MQTT simulator: {args.meters} EnerLink {args.profile} meter(s) every {args.interval:g} s"
        f" on {args.host}:{args.port} ({where}), x{args.speed:g}"
    )
    asyncio.run(_serve(runner))
    return 0


async def _serve(runner: Runner) -> None:
    """Run until SIGINT (Ctrl-C), SIGTERM or SIGHUP, then disconnect cleanly."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await runner.run()


if __name__ == "__main__":
    sys.exit(main())
