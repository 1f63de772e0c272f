"""A simulated Linky: TIC frames of a plausible household, on a pseudo-terminal or stdout.

Run it from the repository root::

    python -m tools.tic_simulator --pty /tmp/energy-ledger/tic-standard  # as scripts/develop does
    python -m tools.tic_simulator --mode historic --phases 1 --pty /tmp/tic  # historic, 1 phase
    python -m tools.tic_simulator --stdout --count 10 --no-pacing > f.bin  # ten frames, no waiting
    python -m tools.tic_simulator --pty /tmp/tic --speed 600 --noise 0.001  # 10 min/s, bad wire

or use it as a library (tests, benchmarks)::

    model = MeterModel("standard", phases=3, producer=True, seed=1, start=datetime(2026, 6, 21))
    day = [model.frame_at(model.now + timedelta(minutes=i)) for i in range(1440)]  # a day, ~1 s

Why it is built this way:

- **Standard library plus our own encoder only.** The simulator must run on a machine without Home
  Assistant and while the integration is half-edited. Importing `custom_components.energy_ledger...`
  would run the integration's `__init__`, which imports Home Assistant when it is installed, so
  `core/tic/encode.py` (stdlib only) is loaded by its file path instead. Frames therefore use
  exactly the checksums the parser is tested against, and nothing here can drift from the encoder.
- **Power is a pure function of (seed, time).** Smooth "value noise" from an integer hash (no global
  random state, no `hash()` of strings, which is salted per process) gives the same load and sun for
  the same instant whatever the order of calls, in any process. Same seed and same calls: same
  bytes.
- **Registers integrate on a fixed 10-second grid.** Each grid cell uses the power at its midpoint,
  and a partial cell its share of it, so the index at time t does not depend on how often frames
  were asked for: a test sampling once a minute and the CLI sampling every 1.3 s see the same meter.
  Energy goes into integer Wh registers through one fractional remainder, so EAST = sum(EASF) =
  sum(EASD) exactly, as on a real meter (true in the captures), and registers can only grow.
- **The household.** ~300 W base load (standby plus a fridge compressor cycling on a 28-minute
  period), electric heating in winter, morning / lunch / evening peaks (later mornings at weekends),
  random appliances (kettle, oven, hob, washing machine...) in 20-minute slots, and a 2.4 kW water
  heater that runs at the start of the off-peak hours, switched by the meter's relay 1 as in most
  French homes (so RELAIS and the STGE dry-contact bit follow the tariff period, and the HC register
  really moves). Three-phase homes spread the load unevenly over the phases; the water heater sits
  on phase 1.
- **The sun.** A producer has a 3 kWp installation: zero at night, a sine-shaped bell between
  sunrise and sunset around solar noon for Paris (11:51 UTC), a day length and peak that follow the
  season, and clouds as a per-day cover plus fast dips. Injection = max(production - consumption, 0)
  goes into EAIT; a three-phase home has a three-phase inverter (production split evenly), and the
  meter nets the phases. The load has a power factor of 0.95 (its reactive energy goes to ERQ1 while
  importing, ERQ2 while exporting); the inverter works at cos phi = 1. Apparent power is sqrt(P**2 +
  Q**2) and shows in SINSTS when the net active power is >= 0, else in SINSTI (the rule of the
  Enedis specification).
- **Tariff.** HC/HP with off-peak 22:00-06:00 local time by default (`--offpeak`), or BASE. Index 1
  is HC and index 2 HP, as meters usually count them: NTARF, LTARF (" HEURE  CREUSE  "), EASF01/02,
  STGE bits 10-13 (= NTARF - 1) and PJOURF+1 (blocks like "22004001") all agree. The distributor
  calendar has a single index (EASD01 = EAST, STGE bits 14-15 = 0), like the real three-phase
  capture.
- **Clock.** DATE and every horodate are local Europe/Paris time with `E` in summer and `H` in
  winter, taken from the zoneinfo database, so DST days (the missing and the doubled hour) come out
  right. SMAXSN / SMAXIN are today's maxima with their time, SMAXSN-1 / SMAXIN-1 yesterday's (the
  model samples the previous day when it is created, so they are plausible from the first frame).
  CCASN / CCAIN are the mean powers of the last complete 30-minute load-curve window, UMOY the
  voltage at the last 10 minutes.
- **Identity.** ADSC/ADCO "0219" + type + serial: manufacturer 02, year 19, Linky type 61
  (single-phase) or 63 (three-phase), serial 000001 (`--serial`); PRM all zeros. Real-looking enough
  for parsers that check digits, obviously not anybody's meter.
- **Historic mode** sends what a Linky in historic mode sends (OPTARIF HC.., HCHC/HCHP, PTEC, IINST,
  IMAX, PAPP, HHPHC, MOTDETAT; three-phase: IINST1-3, IMAX1-3, PMAX, PPOT), SP-separated, checksum
  mode 1. It has no injection register, so a producer only lowers the import. Not simulated: the
  three-phase overload "short frames" (ADIR1-3), Tempo / EJP, MSG2, PPOINTE, DPM/FPM.
- **Real line speed.** A meter cannot send faster than its baud rate: 7E1 is 10 bits per character,
  so a 1.3 kB three-phase standard frame takes ~1.3 s at 9600 baud and a historic one ~2.3 s at
  1200. The writer paces itself on the bytes it has written (line time = characters x 10 / baud,
  slept in ~20 ms slices), not on a fixed sleep per frame, and the simulated clock follows the line
  time (times `--speed`). `--no-pacing` keeps the same virtual line time without waiting, for files
  and benchmarks.
- **A real pseudo-terminal.** `--pty PATH` opens a pty itself (no socat needed), puts the slave in
  raw mode (a fresh pty would turn CR into LF and echo), and links PATH to the slave device, removed
  on exit. The simulator keeps its own slave descriptor open, so readers can open and close the port
  as often as they like without hang-ups. Like a real wire, bytes nobody reads are lost: when the
  pty buffer is full the stale input is flushed instead of blocking the meter.
- **A bad wire on demand.** `--noise RATE` flips one bit in that fraction of the bytes and `--eot
  RATE` interrupts that fraction of the frames with EOT, to watch the rejected-group counters move.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import math
import os
import random
import signal
import struct
import sys
import termios
import time
import tty
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from types import FrameType, ModuleType
from typing import BinaryIO, Literal
from zoneinfo import ZoneInfo

Mode = Literal["standard", "historic"]
Tariff = Literal["hchp", "base"]

REPO_ROOT = Path(__file__).resolve().parent.parent
ENCODE_PY = REPO_ROOT / "custom_components" / "energy_ledger" / "core" / "tic" / "encode.py"


def _load_encoder() -> ModuleType:
    """Load core/tic/encode.py by path: the package __init__ would import Home Assistant."""
    spec = importlib.util.spec_from_file_location("_energy_ledger_tic_encode", ENCODE_PY)
    if spec is None or spec.loader is None:  # pragma: no cover - the file is part of the repo
        raise ImportError(f"cannot load the TIC encoder from {ENCODE_PY}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_encode = _load_encoder()
encode_standard_group = _encode.encode_standard_group
encode_historic_group = _encode.encode_historic_group
encode_frame = _encode.encode_frame

STX, ETX, EOT = 0x02, 0x03, 0x04
BITS_PER_CHAR = 10
"""7E1: start bit, 7 data bits, parity bit, stop bit."""
BAUDRATE: dict[str, int] = {"standard": 9600, "historic": 1200}
METER_TZ = "Europe/Paris"
DEFAULT_OFFPEAK: tuple[tuple[int, int], ...] = ((22 * 60, 6 * 60),)
"""Off-peak ranges as (start, end) minutes of the local day; a range may span midnight."""

CELL_SECONDS = 10.0
"""Integration grid of the registers (see the module docstring)."""
LOAD_POWER_FACTOR = 0.95
TAN_PHI = math.tan(math.acos(LOAD_POWER_FACTOR))
SOLAR_NOON_UTC_HOURS = 12.0 - 2.35 / 15.0
"""Paris is at 2.35 degrees east: the sun culminates ~9 minutes before 12:00 UTC."""
LOAD_CURVE_WINDOW = 30 * 60
"""CCASN / CCAIN: mean power over the last complete 30-minute window."""
UMOY_WINDOW = 10 * 60

NGTF = {"hchp": "H PLEINE/CREUSE ", "base": "      BASE      "}
LTARF = {
    ("hchp", 1): " HEURE  CREUSE  ",
    ("hchp", 2): " HEURE  PLEINE  ",
    ("base", 1): "      BASE      ",
}
MSG1 = "PAS DE          MESSAGE         "

APPLIANCES: tuple[tuple[str, float, float], ...] = (
    # name, watts, seconds
    ("kettle", 2000.0, 180.0),
    ("oven", 2200.0, 1800.0),
    ("induction hob", 2600.0, 900.0),
    ("washing machine", 2000.0, 1100.0),
    ("dishwasher", 1900.0, 1300.0),
    ("microwave", 1150.0, 300.0),
    ("vacuum cleaner", 800.0, 900.0),
    ("hair dryer", 1600.0, 420.0),
)
APPLIANCE_SLOT = 1200.0
_LONGEST_APPLIANCE = max(seconds for _, _, seconds in APPLIANCES)

# --------------------------------------------------------------------------------------------------
# Deterministic noise


_MASK64 = (1 << 64) - 1


def _mix(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 finaliser): stable across processes and platforms."""
    h = 0x9E3779B97F4A7C15
    for value in values:
        h = ((h ^ (value & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 29
    return h


def _unit(key: int, k: int) -> float:
    """A pseudo-random number in [0, 1) for `k` in the stream `key` (a splitmix64 step)."""
    z = (key + (k & _MASK64) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) / 18446744073709551616.0


def _smooth(key: int, t: float, period: float) -> float:
    """Smooth value noise in [-1, 1]: random knots every `period` seconds, smoothstep in between."""
    x = t / period
    k = math.floor(x)
    f = x - k
    f = f * f * (3.0 - 2.0 * f)
    a = _unit(key, k)
    b = _unit(key, k + 1)
    return 2.0 * (a + (b - a) * f) - 1.0


def _bell(x: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((x - centre) / width) ** 2)


# --------------------------------------------------------------------------------------------------
# The household


@dataclass(frozen=True, slots=True)
class PowerSample:
    """What flows through the meter at one instant, per phase (one entry for single-phase)."""

    t: float
    """POSIX timestamp."""
    local: datetime
    """The same instant on the meter's clock."""
    load: tuple[float, ...]
    """Active power consumed by the home, W."""
    production: tuple[float, ...]
    """Active power produced by the solar inverter, W."""

    def net(self, phase: int | None = None) -> float:
        """Active power drawn from the grid (negative when injecting), W; all phases when None."""
        if phase is None:
            return sum(self.load) - sum(self.production)
        return self.load[phase] - self.production[phase]

    def reactive(self, phase: int | None = None) -> float:
        """Reactive power of the load, VAr (the inverter runs at cos phi = 1)."""
        return (sum(self.load) if phase is None else self.load[phase]) * TAN_PHI

    def apparent(self, phase: int | None = None) -> float:
        """Apparent power seen by the meter, VA."""
        return math.hypot(self.net(phase), self.reactive(phase))


@dataclass(slots=True)
class _Max:
    va: int
    t: float


class MeterModel:
    """A Linky and the household behind it: call `advance`/`frame_at`, read bytes.

    `mode` "standard" or "historic"; `phases` 1 or 3; `producer` defaults to True in standard mode
    (historic mode has no injection register). Same `seed` and same calls give the same bytes.
    `start` is the meter's clock when created (aware, or naive in Europe/Paris; default: now).
    """

    def __init__(
        self,
        mode: Mode = "standard",
        phases: int = 3,
        producer: bool | None = None,
        seed: int = 0,
        *,
        start: datetime | None = None,
        tariff: Tariff = "hchp",
        offpeak: Sequence[tuple[int, int]] = DEFAULT_OFFPEAK,
        serial: int = 1,
        pv_peak_w: float = 3000.0,
        base_load_w: float = 300.0,
        timezone: str | tzinfo = METER_TZ,
    ) -> None:
        if mode not in BAUDRATE:
            raise ValueError(f"mode must be 'standard' or 'historic', not {mode!r}")
        if phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        if tariff not in NGTF:
            raise ValueError(f"tariff must be 'hchp' or 'base', not {tariff!r}")
        self.mode: Mode = mode
        self.phases = phases
        self.producer = (mode == "standard") if producer is None else producer
        self.seed = seed
        self._key = [_mix(seed, channel) for channel in range(40)]
        """One independent noise stream per channel (see `sample`)."""
        self.tariff: Tariff = tariff
        self.offpeak = tuple((start_m % 1440, end_m % 1440) for start_m, end_m in offpeak)
        if not self.offpeak:
            raise ValueError("offpeak needs at least one range")
        self.tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self.pv_peak_w = pv_peak_w if self.producer else 0.0
        self.base_load_w = base_load_w
        self.address = f"0219{61 if phases == 1 else 63}{serial % 1_000_000:06d}"
        self.prm = "00000000000000"
        self.pref_kva = 9 if phases == 1 else 12
        self.isousc = 45 if phases == 1 else 20

        when = datetime.now(UTC) if start is None else start
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        self._t = when.timestamp()

        # Plausible indexes of a meter installed years ago, different per seed.
        rng = random.Random(_mix(seed, 0x1D7))
        total = rng.randint(8_000_000, 30_000_000)
        self._easf = [0] * 10
        if tariff == "hchp":
            self._easf[0] = int(total * 0.42)
            self._easf[1] = total - self._easf[0]
        else:
            self._easf[0] = total
        self._east = total
        self._easd = [total, 0, 0, 0]
        self._eait = rng.randint(1_000_000, 6_000_000) if self.producer else 0
        self._erq = [
            rng.randint(500_000, 2_000_000),
            rng.randint(10_000, 200_000) if self.producer else 0,
            rng.randint(0, 20_000),
            rng.randint(0, 50_000),
        ]
        self._frac_import = self._frac_export = 0.0
        self._frac_q = [0.0, 0.0]

        self._cell_k: int | None = None
        self._cell: PowerSample | None = None
        self._window_cache: dict[tuple[int, int], tuple[int, int]] = {}
        self._umoy_cache: dict[int, tuple[int, ...]] = {}
        self._horodates: dict[int, str] = {}

        # Daily maxima: index 0 = all phases, 1..3 = phase n; plus the injection maximum.
        self._day: date | None = None
        self._smax: list[_Max] = []
        self._smax_prev: list[_Max] = []
        self._smaxin = _Max(0, 0.0)
        self._smaxin_prev = _Max(0, 0.0)
        local_start = datetime.fromtimestamp(self._t, self.tz)
        yesterday = datetime.combine(local_start.date() - timedelta(days=1), datetime.min.time())
        t = yesterday.replace(tzinfo=self.tz).timestamp()
        while t < self._t:  # sample yesterday and today so far: SMAXSN-1 is right from frame one
            self._observe(self.sample(t))
            t += 60.0

    # -- public API --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The meter's clock (aware, Europe/Paris)."""
        return datetime.fromtimestamp(self._t, self.tz)

    @property
    def baudrate(self) -> int:
        """The baud rate a real meter uses in this mode."""
        return BAUDRATE[self.mode]

    def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass, integrating the registers."""
        if seconds < 0:
            raise ValueError("a meter's clock only goes forward")
        self._advance_ts(self._t + seconds)

    def advance_to(self, when: datetime) -> None:
        """Let simulated time pass up to `when` (naive = meter's local time)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        target = when.timestamp()
        if target < self._t:
            raise ValueError(f"a meter's clock only goes forward ({when} is before {self.now})")
        self._advance_ts(target)

    def frame(self) -> bytes:
        """The frame the meter sends now: STX, groups, ETX."""
        if self.mode == "standard":
            groups = [encode_standard_group(*g) for g in self.standard_groups()]
        else:
            groups = [encode_historic_group(label, data) for label, data in self.historic_groups()]
        return encode_frame(groups)

    def frame_at(self, when: datetime) -> bytes:
        """Advance to `when` and return the frame sent at that instant."""
        self.advance_to(when)
        return self.frame()

    def frames(self, every: float, count: int) -> Iterator[bytes]:
        """`count` frames, `every` simulated seconds apart, starting now."""
        for index in range(count):
            if index:
                self.advance(every)
            yield self.frame()

    def sample(self, t: float) -> PowerSample:
        """The household's power flows at POSIX time `t` (pure function of seed and t)."""
        key = self._key
        local = datetime.fromtimestamp(t, self.tz)
        minute = local.hour * 60 + local.minute + (local.second + t % 1.0) / 60.0
        hour = minute / 60.0
        doy = local.timetuple().tm_yday
        winter = 0.5 * (1.0 + math.cos(2.0 * math.pi * (doy - 15) / 365.25))
        weekend = local.weekday() >= 5

        base = self.base_load_w * (1.0 + 0.12 * _smooth(key[1], t, 900.0))
        base += winter * 450.0 * (1.0 + 0.3 * _smooth(key[2], t, 1800.0))  # heating
        base += 90.0 if (t + self.seed * 97) % 1680.0 < 620.0 else 0.0  # fridge compressor
        jitter = 25.0 * (2.0 * _unit(key[6], math.floor(t)) - 1.0)
        activity = (
            800.0 * _bell(hour, 8.4 if weekend else 7.2, 0.7)
            + 400.0 * _bell(hour, 12.8, 1.0)
            + (1200.0 + 500.0 * winter) * _bell(hour, 19.7, 1.3)
        ) * max(0.0, 1.0 + 0.4 * _smooth(key[3], t, 420.0))
        appliance, appliance_phase = self._appliance(t, hour)
        heater = self._water_heater(local, minute, winter)

        sun = self._solar(t, doy)
        if self.phases == 1:
            return PowerSample(t, local, (base + jitter + activity + appliance + heater,), (sun,))
        load = [
            0.40 * base + 0.25 * activity + heater + jitter,
            0.33 * base + 0.45 * activity,
            0.27 * base + 0.30 * activity,
        ]
        load[appliance_phase] += appliance
        third = sun / 3.0
        return PowerSample(t, local, tuple(load), (third, third, third))

    # -- the household ----------------------------------------------------------------------------

    def _appliance(self, t: float, hour: float) -> tuple[float, int]:
        """Power of the appliance running at t (random per 20-minute slot), and its phase."""
        key = self._key
        slot = math.floor(t / APPLIANCE_SLOT)
        for k in range(slot - math.ceil(_LONGEST_APPLIANCE / APPLIANCE_SLOT), slot + 1):
            chance = 0.13 if 6.5 <= hour < 23.0 else 0.02
            if _unit(key[4], k) >= chance:
                continue
            kind = _mix(key[5], k)
            _, watts, seconds = APPLIANCES[kind % len(APPLIANCES)]
            elapsed = t - (k * APPLIANCE_SLOT + _unit(key[7], k) * APPLIANCE_SLOT)
            if 0.0 <= elapsed < seconds:
                return watts, (kind >> 8) % 3
        return 0.0, 0

    def _water_heater(self, local: datetime, minute: float, winter: float) -> float:
        """A 2.4 kW water heater on relay 1: it heats at the start of the off-peak hours."""
        start = self.offpeak[0][0]
        since = (minute - start) % 1440.0
        day = local.toordinal() - (1 if minute < start else 0)
        duration = 60.0 * (1.2 + 1.8 * _unit(self._key[8], day)) * (0.6 + 0.4 * winter)
        if since >= duration:
            return 0.0
        if self.tariff == "hchp" and not self._is_offpeak(minute):
            return 0.0
        return 2400.0

    def _solar(self, t: float, doy: int) -> float:
        """Solar production: a bell between sunrise and sunset, clouds as noise."""
        if self.pv_peak_w <= 0.0:
            return 0.0
        summer = 0.5 * (1.0 + math.cos(2.0 * math.pi * (doy - 172) / 365.25))
        day_length = 8.2 + 7.9 * summer  # Paris: ~8 h 10 in December, ~16 h 10 in June
        utc_hours = (t % 86400.0) / 3600.0
        x = (utc_hours - (SOLAR_NOON_UTC_HOURS - day_length / 2.0)) / day_length
        if not 0.0 < x < 1.0:
            return 0.0
        clear_sky = self.pv_peak_w * (0.3 + 0.5 * summer) * math.sin(math.pi * x) ** 2
        cover = _unit(self._key[9], math.floor(t / 86400.0)) ** 1.3
        clouds = 1.0 - cover * (0.55 + 0.45 * _smooth(self._key[10], t, 240.0))
        return clear_sky * max(0.05, clouds)

    def _is_offpeak(self, minute: float) -> bool:
        for start, end in self.offpeak:
            if start <= end:
                if start <= minute < end:
                    return True
            elif minute >= start or minute < end:
                return True
        return False

    def tariff_index(self, local: datetime) -> int:
        """NTARF at a local time: 1 = HC (or BASE), 2 = HP."""
        if self.tariff == "base":
            return 1
        return 1 if self._is_offpeak(local.hour * 60 + local.minute) else 2

    # -- integration ------------------------------------------------------------------------------

    def _advance_ts(self, target: float) -> None:
        t = self._t
        while t < target:
            k = math.floor(t / CELL_SECONDS)
            cell_end = (k + 1) * CELL_SECONDS
            end = min(cell_end, target)
            if k != self._cell_k:
                self._cell_k = k
                self._cell = self.sample((k + 0.5) * CELL_SECONDS)
            assert self._cell is not None
            self._accumulate(self._cell, end - t)
            if end == cell_end:
                self._observe(self._cell)
            t = end
        self._t = target

    def _accumulate(self, sample: PowerSample, seconds: float) -> None:
        hours = seconds / 3600.0
        net = sample.net()
        reactive_wh = sample.reactive() * hours
        if net >= 0.0:
            self._frac_import += net * hours
            whole = int(self._frac_import)
            if whole:
                self._frac_import -= whole
                self._east += whole
                self._easf[self.tariff_index(sample.local) - 1] += whole
                self._easd[0] += whole
            quadrant = 0
        else:
            if self.producer:
                self._frac_export -= net * hours
                whole = int(self._frac_export)
                if whole:
                    self._frac_export -= whole
                    self._eait += whole
            quadrant = 1
        self._frac_q[quadrant] += reactive_wh
        whole = int(self._frac_q[quadrant])
        if whole:
            self._frac_q[quadrant] -= whole
            self._erq[quadrant] += whole

    def _observe(self, sample: PowerSample) -> None:
        """Track today's and yesterday's maxima of apparent power."""
        day = sample.local.date()
        if self._day is not None and day < self._day:
            return
        if day != self._day:
            midnight = datetime.combine(day, datetime.min.time()).replace(tzinfo=self.tz)
            zero = midnight.timestamp()
            if self._day is not None and day - self._day == timedelta(days=1):
                self._smax_prev, self._smaxin_prev = self._smax, self._smaxin
            else:
                self._smax_prev = [_Max(0, zero - 86400.0) for _ in range(self.phases + 1)]
                self._smaxin_prev = _Max(0, zero - 86400.0)
            self._smax = [_Max(0, zero) for _ in range(self.phases + 1)]
            self._smaxin = _Max(0, zero)
            self._day = day
        net = sample.net()
        apparent = round(sample.apparent())
        if net >= 0.0:
            if apparent > self._smax[0].va:
                self._smax[0] = _Max(apparent, sample.t)
        elif self.producer and apparent > self._smaxin.va:
            self._smaxin = _Max(apparent, sample.t)
        for phase in range(self.phases if self.phases > 1 else 0):
            va = round(sample.apparent(phase)) if sample.net(phase) >= 0.0 else 0
            if va > self._smax[phase + 1].va:
                self._smax[phase + 1] = _Max(va, sample.t)

    def _window_means(self, end: float) -> tuple[int, int]:
        """Mean import and export power (W) over the load-curve window ending at `end`."""
        key = (int(end), LOAD_CURVE_WINDOW)
        cached = self._window_cache.get(key)
        if cached is None:
            samples = [self.sample(end - LOAD_CURVE_WINDOW + 30.0 + 60.0 * i) for i in range(30)]
            nets = [s.net() for s in samples]
            cached = (
                round(sum(max(n, 0.0) for n in nets) / len(nets)),
                round(sum(max(-n, 0.0) for n in nets) / len(nets)),
            )
            if len(self._window_cache) > 8:
                self._window_cache.clear()
            self._window_cache[key] = cached
        return cached

    def _voltages(self, sample: PowerSample) -> tuple[int, ...]:
        """Phase voltages: 230 V, slow drift, sag when drawing, rise when injecting."""
        volts = []
        for phase in range(self.phases):
            net = sample.net(phase if self.phases > 1 else None)
            u = 231.0 + 3.0 * _smooth(self._key[20 + phase], sample.t, 600.0)
            u += 0.8 * _smooth(self._key[30 + phase], sample.t, 20.0)
            u += -3.0 * max(net, 0.0) / 3000.0 + 5.0 * max(-net, 0.0) / 3000.0
            volts.append(round(u))
        return tuple(volts)

    # -- frames -----------------------------------------------------------------------------------

    def horodate(self, t: float) -> str:
        """SAAMMJJhhmmss on the meter's clock: E in summer time, H in winter time."""
        second = math.floor(t)
        text = self._horodates.get(second)
        if text is None:
            local = datetime.fromtimestamp(second, self.tz)
            text = ("E" if local.dst() else "H") + local.strftime("%y%m%d%H%M%S")
            if len(self._horodates) > 64:
                self._horodates.clear()
            self._horodates[second] = text
        return text

    def _pjourf(self) -> str:
        if self.tariff == "base":
            switches = [(0, 1)]
        else:
            points = sorted({0, *(m for r in self.offpeak for m in r)})
            switches = [(m, 1 if self._is_offpeak(m) else 2) for m in points]
        blocks = [f"{m // 60:02d}{m % 60:02d}{0x4000 | index:04X}" for m, index in switches][:11]
        return " ".join(blocks + ["NONUTILE"] * (11 - len(blocks)))

    def standard_groups(self) -> list[tuple[str, str, str | None]]:
        """(label, data, horodate) of the standard frame sent now, in the meter's order."""
        sample = self.sample(self._t)
        self._observe(sample)
        t = self._t
        three = self.phases == 3
        ntarf = self.tariff_index(sample.local)
        relay_closed = self.tariff == "base" or ntarf == 1
        net = sample.net()
        apparent = min(round(sample.apparent()), 99999)
        sinsts = apparent if net >= 0.0 else 0
        sinsti = apparent if net < 0.0 else 0
        volts = self._voltages(sample)
        phase_ids = range(self.phases) if three else [None]
        amps = [
            min(round(sample.apparent(p) / u), 999) for p, u in zip(phase_ids, volts, strict=True)
        ]
        stge = (0 if relay_closed else 1) | (ntarf - 1) << 10 | 1 << 17 | 3 << 19 | 1 << 21
        if self.producer:
            stge |= 1 << 8
            if sinsti > 0:
                stge |= 1 << 9
        window_end = math.floor(t / LOAD_CURVE_WINDOW) * LOAD_CURVE_WINDOW
        umoy_t = math.floor(t / UMOY_WINDOW) * UMOY_WINDOW
        umoy = self._umoy_cache.get(umoy_t)
        if umoy is None:
            umoy = self._voltages(self.sample(umoy_t))
            self._umoy_cache = {umoy_t: umoy}
        cca_now = self._window_means(window_end)
        cca_prev = self._window_means(window_end - LOAD_CURVE_WINDOW)
        suffixes = ("1", "2", "3") if three else ("1",)

        groups: list[tuple[str, str, str | None]] = [
            ("ADSC", self.address, None),
            ("VTIC", "02", None),
            ("DATE", "", self.horodate(t)),
            ("NGTF", NGTF[self.tariff], None),
            ("LTARF", LTARF[self.tariff, ntarf], None),
            ("EAST", f"{self._east % 10**9:09d}", None),
        ]
        groups += [(f"EASF{i + 1:02d}", f"{v % 10**9:09d}", None) for i, v in enumerate(self._easf)]
        groups += [(f"EASD{i + 1:02d}", f"{v % 10**9:09d}", None) for i, v in enumerate(self._easd)]
        if self.producer:
            groups.append(("EAIT", f"{self._eait % 10**9:09d}", None))
            groups += [(f"ERQ{i + 1}", f"{v % 10**9:09d}", None) for i, v in enumerate(self._erq)]
        groups += [(f"IRMS{s}", f"{a:03d}", None) for s, a in zip(suffixes, amps, strict=True)]
        groups += [(f"URMS{s}", f"{u:03d}", None) for s, u in zip(suffixes, volts, strict=True)]
        groups += [
            ("PREF", f"{self.pref_kva:02d}", None),
            ("PCOUP", f"{self.pref_kva:02d}", None),
            ("SINSTS", f"{sinsts:05d}", None),
        ]
        if three:
            groups += [
                (f"SINSTS{p + 1}", f"{self._phase_sinsts(sample, p):05d}", None) for p in range(3)
            ]
        groups.append(("SMAXSN", f"{self._smax[0].va:05d}", self.horodate(self._smax[0].t)))
        if three:
            groups += [
                (f"SMAXSN{p}", f"{m.va:05d}", self.horodate(m.t))
                for p, m in enumerate(self._smax[1:], 1)
            ]
        prev = self._smax_prev
        groups.append(("SMAXSN-1", f"{prev[0].va:05d}", self.horodate(prev[0].t)))
        if three:
            groups += [
                (f"SMAXSN{p}-1", f"{m.va:05d}", self.horodate(m.t))
                for p, m in enumerate(prev[1:], 1)
            ]
        if self.producer:
            groups += [
                ("SINSTI", f"{sinsti:05d}", None),
                ("SMAXIN", f"{self._smaxin.va:05d}", self.horodate(self._smaxin.t)),
                ("SMAXIN-1", f"{self._smaxin_prev.va:05d}", self.horodate(self._smaxin_prev.t)),
            ]
        groups += [
            ("CCASN", f"{cca_now[0]:05d}", self.horodate(window_end)),
            ("CCASN-1", f"{cca_prev[0]:05d}", self.horodate(window_end - LOAD_CURVE_WINDOW)),
        ]
        if self.producer:
            groups += [
                ("CCAIN", f"{cca_now[1]:05d}", self.horodate(window_end)),
                ("CCAIN-1", f"{cca_prev[1]:05d}", self.horodate(window_end - LOAD_CURVE_WINDOW)),
            ]
        groups += [
            (f"UMOY{s}", f"{u:03d}", self.horodate(umoy_t))
            for s, u in zip(suffixes, umoy, strict=True)
        ]
        groups += [
            ("STGE", f"{stge:08X}", None),
            ("MSG1", MSG1, None),
            ("PRM", self.prm, None),
            ("RELAIS", f"{1 if relay_closed else 0:03d}", None),
            ("NTARF", f"{ntarf:02d}", None),
            ("NJOURF", "00", None),
            ("NJOURF+1", "00", None),
            ("PJOURF+1", self._pjourf(), None),
        ]
        return groups

    @staticmethod
    def _phase_sinsts(sample: PowerSample, phase: int) -> int:
        if sample.net(phase) < 0.0:
            return 0
        return min(round(sample.apparent(phase)), 99999)

    def historic_groups(self) -> list[tuple[str, str]]:
        """(label, data) of the historic frame sent now, in the meter's order."""
        sample = self.sample(self._t)
        self._observe(sample)
        ntarf = self.tariff_index(sample.local)
        net = sample.net()
        papp = min(round(sample.apparent()), 99999) if net >= 0.0 else 0
        groups = [("ADCO", self.address)]
        if self.tariff == "hchp":
            groups += [
                ("OPTARIF", "HC.."),
                ("ISOUSC", f"{self.isousc:02d}"),
                ("HCHC", f"{self._easf[0] % 10**9:09d}"),
                ("HCHP", f"{self._easf[1] % 10**9:09d}"),
                ("PTEC", "HC.." if ntarf == 1 else "HP.."),
            ]
        else:
            groups += [
                ("OPTARIF", "BASE"),
                ("ISOUSC", f"{self.isousc:02d}"),
                ("BASE", f"{self._east % 10**9:09d}"),
                ("PTEC", "TH.."),
            ]
        if self.phases == 1:
            iinst = min(round(papp / 230.0), 999)
            groups.append(("IINST", f"{iinst:03d}"))
            if iinst > self.isousc:
                groups.append(("ADPS", f"{iinst:03d}"))
            groups += [("IMAX", "090"), ("PAPP", f"{papp:05d}")]
        else:
            for phase in range(3):
                drawn = sample.apparent(phase) if sample.net(phase) >= 0.0 else 0.0
                groups.append((f"IINST{phase + 1}", f"{min(round(drawn / 230.0), 999):03d}"))
            groups += [(f"IMAX{p}", "060") for p in (1, 2, 3)]
            groups += [("PMAX", f"{min(self._smax[0].va, 99999):05d}"), ("PAPP", f"{papp:05d}")]
        if self.tariff == "hchp":
            groups.append(("HHPHC", "A"))
        groups.append(("MOTDETAT", "000000"))
        if self.phases == 3:
            groups.append(("PPOT", "00"))
        return groups

    def registers(self) -> dict[str, int]:
        """The energy registers now, Wh / VArh (for tests and status lines)."""
        regs = {"EAST": self._east, "EAIT": self._eait}
        regs |= {f"EASF{i + 1:02d}": v for i, v in enumerate(self._easf)}
        regs |= {f"EASD{i + 1:02d}": v for i, v in enumerate(self._easd)}
        regs |= {f"ERQ{i + 1}": v for i, v in enumerate(self._erq)}
        return regs


# --------------------------------------------------------------------------------------------------
# A bad wire


def corrupt(data: bytes, rate: float, rng: random.Random) -> bytes:
    """Flip one of the 7 data bits in about `rate` of the bytes."""
    if rate <= 0.0:
        return data
    out = bytearray(data)
    for i in range(len(out)):
        if rng.random() < rate:
            out[i] ^= 1 << rng.randrange(7)
    return bytes(out)


def interrupt(frame: bytes, rng: random.Random) -> bytes:
    """The frame cut somewhere after its STX and ended by EOT, as when the meter is interrupted."""
    return frame[: rng.randrange(1, len(frame))] + bytes((EOT,))


def transmission_seconds(size: int, baudrate: int) -> float:
    """Time a 7E1 line needs for `size` characters."""
    return size * BITS_PER_CHAR / baudrate


# --------------------------------------------------------------------------------------------------
# Outputs


class PtyOutput:
    """A pseudo-terminal whose slave is linked at `path`; writes never block (like a wire)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master, self.slave = os.openpty()
        self.device = os.ttyname(self.slave)
        tty.setraw(self.slave)  # no CR->LF, no echo: bytes pass unchanged
        os.set_blocking(self.master, False)
        self.dropped = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()  # a leftover of a simulator that was killed
        elif path.exists():
            os.close(self.master)
            os.close(self.slave)
            raise FileExistsError(f"{path} exists and is not a symlink; not replacing it")
        path.symlink_to(self.device)

    def _keep_reconfigurable(self) -> None:
        """Put the pty's nominal speed back to 38400 baud after a reader set its own.

        A pty is always 8N1 whatever is asked; glibc's tcsetattr() reports the 7E1 a TIC reader
        asks for as EINVAL when the speed it asks for is already the current one (the speed is
        the only change it can see). A real serial port accepts the same settings again, so the
        simulator keeps the speed at one no TIC reader uses: a reader can reopen the port (or
        reconfigure it) at 9600 or 1200 as often as it likes.
        """
        attrs = termios.tcgetattr(self.slave)
        if attrs[4] != termios.B38400 or attrs[5] != termios.B38400:
            attrs[4] = attrs[5] = termios.B38400
            termios.tcsetattr(self.slave, termios.TCSANOW, attrs)

    def write(self, data: bytes) -> None:
        self._keep_reconfigurable()
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                # Nobody reads: drop what is waiting, as a meter's line does not wait either.
                self.dropped += self._pending()
                termios.tcflush(self.slave, termios.TCIFLUSH)
                continue
            view = view[written:]

    def _pending(self) -> int:
        raw = fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])

    def drain(self, timeout: float) -> None:
        """Give a reader up to `timeout` seconds to read what is buffered."""
        deadline = time.monotonic() + timeout
        while self._pending() and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.path.is_symlink() and os.readlink(self.path) == self.device:
                self.path.unlink()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class StreamOutput:
    """Raw bytes to a binary stream (stdout)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.dropped = 0

    def write(self, data: bytes) -> None:
        self.stream.write(data)
        self.stream.flush()

    def drain(self, timeout: float) -> None:
        pass

    def close(self) -> None:
        pass


class Line:
    """Pace writes to the baud rate; `elapsed` is the line time, the simulator's clock."""

    def __init__(self, baudrate: int, *, paced: bool = True) -> None:
        self.char_seconds = BITS_PER_CHAR / baudrate
        self.paced = paced
        self.chunk = max(1, round(0.02 / self.char_seconds))  # ~20 ms of line per write
        self.elapsed = 0.0
        self.sent = 0
        self._t0 = time.monotonic()

    def send(self, output: PtyOutput | StreamOutput, data: bytes) -> None:
        for i in range(0, len(data), self.chunk):
            piece = data[i : i + self.chunk]
            if self.paced:
                behind = time.monotonic() - self._t0 - self.elapsed
                if behind > 1.0:  # we were stalled: the line was idle, do not burst to catch up
                    self.elapsed += behind
            output.write(piece)
            self.sent += len(piece)
            self.elapsed += len(piece) * self.char_seconds
            if self.paced:
                delay = self._t0 + self.elapsed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)


# --------------------------------------------------------------------------------------------------
# Command line


def _parse_offpeak(text: str) -> tuple[tuple[int, int], ...]:
    def minutes(hhmm: str) -> int:
        hours, _, mins = hhmm.strip().partition(":")
        value = int(hours) * 60 + int(mins or 0)
        if not 0 <= value <= 1440:
            raise ValueError(hhmm)
        return value % 1440

    try:
        ranges = tuple(
            (minutes(a), minutes(b)) for a, b in (part.split("-") for part in text.split(","))
        )
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"off-peak hours look like 22:00-06:00 or 12:30-14:30,01:30-07:30, not {text!r}"
        ) from err
    return ranges


def _parse_start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from err


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.tic_simulator",
        description="Simulated Linky meter: TIC frames on a pseudo-terminal or stdout.",
    )
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--pty", type=Path, metavar="PATH", help="create a pty, link PATH to it")
    out.add_argument("--stdout", action="store_true", help="write raw bytes to stdout")
    parser.add_argument("--mode", choices=("standard", "historic"), default="standard")
    parser.add_argument("--phases", type=int, choices=(1, 3), default=3)
    parser.add_argument(
        "--producer",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="solar production and injection (default: yes in standard mode, no in historic)",
    )
    parser.add_argument("--tariff", choices=("hchp", "base"), default="hchp")
    parser.add_argument(
        "--offpeak", type=_parse_offpeak, default=DEFAULT_OFFPEAK, help="default 22:00-06:00"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--start", type=_parse_start, help="simulated start (ISO; default now)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serial", type=int, default=1, help="last 6 digits of the address")
    parser.add_argument(
        "--baud", type=int, help="line speed (default: 9600 standard, 1200 historic)"
    )
    parser.add_argument("--count", type=int, help="send N frames, then exit")
    parser.add_argument("--no-pacing", action="store_true", help="do not wait for the line")
    parser.add_argument("--noise", type=_fraction, default=0.0, help="fraction of bytes corrupted")
    parser.add_argument("--eot", type=_fraction, default=0.0, help="fraction of frames cut by EOT")
    parser.add_argument("--status", type=float, default=60.0, help="seconds between status lines")
    parser.add_argument("--quiet", action="store_true", help="no status lines on stderr")
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.speed <= 0:
        build_parser().error("--speed must be positive")
    model = MeterModel(
        args.mode,
        args.phases,
        args.producer,
        args.seed,
        start=args.start,
        tariff=args.tariff,
        offpeak=args.offpeak,
        serial=args.serial,
    )
    baudrate = args.baud or model.baudrate
    line = Line(baudrate, paced=not args.no_pacing)
    rng = random.Random(_mix(args.seed, 0xBAD))
    start = model.now

    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    output: PtyOutput | StreamOutput
    if args.pty:
        output = PtyOutput(args.pty)
        where = f"{args.pty} -> {output.device}"
    else:
        output = StreamOutput(sys.stdout.buffer)
        where = "stdout"
    kind = f"{args.mode}, {'three' if model.phases == 3 else 'single'}-phase"
    kind += ", producer" if model.producer else ""
    say(f"TIC simulator: {kind}, {baudrate} baud, x{args.speed:g}, on {where}")

    frames = 0
    next_status = time.monotonic() + args.status
    try:
        while args.count is None or frames < args.count:
            model.advance_to(start + timedelta(seconds=line.elapsed * args.speed))
            frame = model.frame()
            if args.eot and rng.random() < args.eot:
                frame = interrupt(frame, rng)
            line.send(output, corrupt(frame, args.noise, rng))
            frames += 1
            if args.status > 0 and time.monotonic() >= next_status:
                next_status += args.status
                regs = model.registers()
                say(
                    f"[{model.now:%Y-%m-%d %H:%M:%S %Z}] {frames} frames, EAST {regs['EAST']} Wh"
                    + (f", EAIT {regs['EAIT']} Wh" if model.producer else "")
                    + (f", {output.dropped} unread bytes dropped" if output.dropped else "")
                )
        output.drain(timeout=2.0)
    except (KeyboardInterrupt, BrokenPipeError):
        if not args.pty:
            # stdout is gone: keep the interpreter from complaining when it flushes at exit
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        output.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
