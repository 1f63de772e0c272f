"""Ledger benchmark: what accounting one meter reading costs, against parsing that reading.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_ledger.py              # human-readable table
    .venv/bin/python benchmarks/bench_ledger.py --json       # the same figures as JSON

The readings are those of a standard three-phase Tempo meter (frames generated from the real
capture in ``../shared/tic-captures`` with the moving values changed on every frame, as
``bench_parser.py``'s "realistic" stream), one every 1.3 s, so a 5-minute window ends every ~230
readings and an hour every ~2770: their cost (Decimal arithmetic, the hour handed over) is spread
over the readings as it is in real life.

- ``parse``: `TicReader` on the byte stream in 64-byte reads, per frame (what the integration
  runs for each frame: framing, checksums, typed decoding);
- ``ledger, changed values``: a `LedgerBook` (Tempo plan, the ten EASF registers, SINSTS as the
  consumption power) fed what Home Assistant would give it: a register or the power only when its
  value changed, the period (resolved from LTARF) when it changed;
- ``ledger, every value``: every register and the power on every reading (an upper bound).

Each figure is the best of ``--repeat`` runs in the same process, interleaved.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_parser import RECEIVED_AT, chunked, realistic_standard_frames  # noqa: E402

from custom_components.energy_ledger.core.ledger_book import BookSetup, LedgerBook  # noqa: E402
from custom_components.energy_ledger.core.reading import Reading  # noqa: E402
from custom_components.energy_ledger.core.tariff import (  # noqa: E402
    PLAN_PERIODS,
    PeriodResolver,
    PlanKind,
    PricePlan,
)
from custom_components.energy_ledger.core.tic.decode import clear_memo  # noqa: E402
from custom_components.energy_ledger.core.tic.reader import TicReader  # noqa: E402

INTERVAL = timedelta(seconds=1.3)


def parse(chunks: list[bytes]) -> list[Reading]:
    """Frame and decode the stream, one reading every `INTERVAL`."""
    clear_memo()
    readings: list[Reading] = []

    def clock() -> datetime:
        return RECEIVED_AT + INTERVAL * len(readings)

    read = TicReader().read
    for chunk in chunks:
        readings += read(chunk, clock)
    return readings


def tempo_setup(registers: tuple[str, ...]) -> BookSetup:
    plan = PricePlan(kind=PlanKind.TEMPO, zone=ZoneInfo("Europe/Paris"), energy={})
    prices = dict.fromkeys(PLAN_PERIODS[PlanKind.TEMPO], "0.1552")
    plan = plan.with_prices(date(2025, 1, 1), energy=prices, feed_in="0")
    return BookSetup(
        plan=plan, window=timedelta(minutes=5), imports=registers, power_series=("consumption",)
    )


def feed_changed(readings: list[Reading], setup: BookSetup) -> int:
    """Feed what changed, as state change events would; returns the hours handed over."""
    book = LedgerBook(setup)
    book.resume(readings[0].received_at)
    resolve = PeriodResolver.for_plan(PlanKind.TEMPO).resolve_reading
    last: dict[str, int] = {}
    power: int | None = None
    period: str | None = None
    hours = 0
    for reading in readings:
        when = reading.received_at
        if (key := resolve(reading)) is not None and key != period:
            period = key
            hours += len(book.set_period(key, when))
        for label, wh in reading.import_registers_wh.items():
            if last.get(label) != wh:
                last[label] = wh
                hours += len(book.register(label, wh, when))
        if (va := reading.import_power_va) is not None and va != power:
            power = va
            hours += len(book.power("consumption", when, va))
    return hours


def feed_every(readings: list[Reading], setup: BookSetup) -> int:
    """Feed every register and the power on every reading."""
    book = LedgerBook(setup)
    book.resume(readings[0].received_at)
    resolve = PeriodResolver.for_plan(PlanKind.TEMPO).resolve_reading
    hours = 0
    for reading in readings:
        when = reading.received_at
        if (key := resolve(reading)) is not None:
            hours += len(book.set_period(key, when))
        for label, wh in reading.import_registers_wh.items():
            hours += len(book.register(label, wh, when))
        if (va := reading.import_power_va) is not None:
            hours += len(book.power("consumption", when, va))
    return hours


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    chunks = chunked(realistic_standard_frames(args.readings), 64)
    readings = parse(chunks)
    count = len(readings)
    setup = tempo_setup(tuple(readings[0].import_registers_wh))
    hours = feed_changed(readings, setup)
    runs: dict[str, Callable[[], object]] = {
        "parse": lambda: parse(chunks),
        "ledger, changed values": lambda: feed_changed(readings, setup),
        "ledger, every value": lambda: feed_every(readings, setup),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.repeat):
        for name, run in runs.items():
            best[name] = min(best[name], timed(run))
    per_reading = {name: seconds / count * 1e6 for name, seconds in best.items()}
    ratios = {
        name: us / per_reading["parse"] for name, us in per_reading.items() if name != "parse"
    }
    if args.json:
        print(json.dumps({"readings": count, "us_per_reading": per_reading, "ratios": ratios}))
        return
    print(
        f"{count} standard three-phase readings, one every {INTERVAL.total_seconds()} s "
        f"({count * INTERVAL / timedelta(hours=1):.1f} h, {hours} hours handed over); "
        f"best of {args.repeat}, Python {platform.python_version()}"
    )
    print(f"{'':28}{'µs/reading':>12}{'× parse':>10}")
    for name, us in per_reading.items():
        ratio = "" if name == "parse" else f"{ratios[name]:.2f}"
        print(f"{name:28}{us:12.2f}{ratio:>10}")


if __name__ == "__main__":
    main()
