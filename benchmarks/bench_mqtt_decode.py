"""MQTT payload decoding: µs per payload for the EnerLink decoders, on real and simulated payloads.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_mqtt_decode.py             # table
    .venv/bin/python benchmarks/bench_mqtt_decode.py --profile   # + cProfile of each decoder

Payloads: the real v1 sensors, heartbeat and status samples (``tests/core/mqtt_samples.py``) and
a v2 data and status message of the simulator (``tools/mqtt_simulator.py``, fixed seed). Each
figure is the best of ``--repeat`` runs of ``--number`` decodes (time.perf_counter).

Valid payloads are checked by a plain walk of each schema (`schema.LenientSchema`); voluptuous
runs only to explain an invalid one. In the same run: ``check`` and ``voluptuous`` time the walk
and the voluptuous schema alone on the same parsed payload; ``decode (vol.)`` times the whole
decoder with the walk refusing every payload, so voluptuous validates it, as every payload was
validated before the walk existed (a clean v2 data payload, otherwise validated and converted in
one walk of its own, `enerlink._clean_v2_reading`, then goes the general way too).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import voluptuous as vol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.energy_ledger.core.mqtt import (  # noqa: E402
    DecodeResult,
    decode_v1_heartbeat,
    decode_v1_sensors,
    decode_v1_status,
    decode_v2_data,
    decode_v2_status,
    enerlink,
)
from custom_components.energy_ledger.core.mqtt.device import (  # noqa: E402
    V1_HEARTBEAT_SCHEMA,
    V1_STATUS_SCHEMA,
    V2_STATUS_SCHEMA,
)
from custom_components.energy_ledger.core.mqtt.enerlink import (  # noqa: E402
    V1_SENSORS_SCHEMA,
    V2_DATA_SCHEMA,
)
from custom_components.energy_ledger.core.mqtt.schema import LenientSchema  # noqa: E402
from tests.core.mqtt_samples import V1_HEARTBEAT, V1_SENSORS, V1_STATUS  # noqa: E402
from tools.mqtt_simulator import build_devices  # noqa: E402

NOW = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)


def _cases() -> list[tuple[str, bytes, Callable[[bytes], DecodeResult[Any]], LenientSchema]]:
    device = build_devices("v2", 1, interval=5.0, start=NOW, clock=0.0)[0]
    _, v2_data = device.data_message()
    _, v2_status = device.status_message()
    return [
        (
            "v1 sensors (real)",
            V1_SENSORS,
            lambda p: decode_v1_sensors(p, meter_id="v1", received_at=NOW),
            V1_SENSORS_SCHEMA,
        ),
        (
            "v1 heartbeat (real)",
            V1_HEARTBEAT,
            lambda p: decode_v1_heartbeat(p, received_at=NOW),
            V1_HEARTBEAT_SCHEMA,
        ),
        (
            "v1 status (real)",
            V1_STATUS,
            lambda p: decode_v1_status(p, received_at=NOW),
            V1_STATUS_SCHEMA,
        ),
        (
            "v2 data (simulator)",
            v2_data,
            lambda p: decode_v2_data(p, received_at=NOW),
            V2_DATA_SCHEMA,
        ),
        (
            "v2 status (simulator)",
            v2_status,
            lambda p: decode_v2_status(p, received_at=NOW),
            V2_STATUS_SCHEMA,
        ),
    ]


def _refuse(_data: object) -> object:
    """Stands in for the walk: refuses, so `validate` falls back to voluptuous."""
    raise vol.Invalid("measuring voluptuous")


def _no_reading(_raw: object, _received_at: datetime) -> None:
    """Stands in for the one walk of v2 data: sends every payload the general way."""


def _repeat(run: Callable[[], object], number: int) -> None:
    for _ in range(number):
        run()


def _best_us(run: Callable[[], object], number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile each decoder")
    args = parser.parse_args()
    print(
        f"{'payload':24} {'bytes':>6} {'decode µs':>10} {'decode (vol.)':>13} {'ratio':>6}"
        f" {'check µs':>9} {'voluptuous µs':>14} {'ratio':>6}"
    )
    for name, payload, decode, schema in _cases():
        result = decode(payload)
        assert result.value is not None, name
        assert not result.problems, (name, result)
        raw = json.loads(payload)
        decode_us = _best_us(partial(decode, payload), args.number, args.repeat)
        check_us = _best_us(partial(schema.check, raw), args.number, args.repeat)
        vol_us = _best_us(partial(schema.schema, raw), args.number, args.repeat)
        walk, schema.check = schema.check, _refuse
        one_walk, enerlink._clean_v2_reading = enerlink._clean_v2_reading, _no_reading
        try:
            slow_us = _best_us(partial(decode, payload), args.number, args.repeat)
        finally:
            schema.check, enerlink._clean_v2_reading = walk, one_walk
        print(
            f"{name:24} {len(payload):6} {decode_us:10.1f} {slow_us:13.1f}"
            f" {slow_us / decode_us:5.1f}x {check_us:9.1f} {vol_us:14.1f} {vol_us / check_us:5.1f}x"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(_repeat, partial(decode, payload), args.number)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
