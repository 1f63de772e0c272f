"""TIC parser benchmark: Energy Ledger's framing (+ typed decoding) vs pyteleinfo vs a naive parser.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_parser.py            # human-readable table
    .venv/bin/python benchmarks/bench_parser.py --json     # the same figures as JSON

Every contestant gets the same byte stream, cut into the same chunks (``--chunk`` bytes, 64 by
default: one full-speed USB-serial packet), the way a serial line delivers it: it must find the
frames in the stream itself. Each figure is the best of ``--repeat`` runs (time.perf_counter).

Streams:

- ``repeated``: the real frames of the captures in ``../shared/tic-captures`` played over and
  over. Nearly every group repeats, so the framing memo is warm: this is the best case.
- ``realistic``: frames generated with ``encode.py`` from the real frame's labels, where the values
  a live meter changes are changed on every frame (standard: DATE, EAST, EASF03, EASD01, SINSTS,
  SINSTS1-3, IRMS1-3, URMS1-3 = 14 of 55 groups; historic: the running index, IINST, PAPP = 3 of
  16 groups). The real capture changes only 3-9 groups per frame, so this is harsher than a real
  meter. The table shows how many groups the framing memo still recognised (small-range values
  such as URMS come back, as they do on a real meter).
- ``no memo``: the realistic stream with the framing memo disabled: every group fully checked.

Contestants:

- ``energy_ledger``: `TicReader`, what the integration runs: framing, checksums, short-frame
  completion and typed decoding into a `Reading` of every frame (horodates, STGE, registers,
  normalized fields);
- ``framing alone``: `TicStreamParser`, frames of checksum-valid groups, nothing decoded (the
  reader's general path, taken by frames that change shape);
- ``pyteleinfo``: pyteleinfo 0.4.0 ``teleinfo.decode`` (historic frames only: it rejects real
  standard frames, whose data contain spaces), fed the STX...ETX frames found in the stream;
- ``naive``: split the frame into lines on CR/LF, split each group on the separator, sum the
  checksum, int() the value when it is all digits; no EOT, no resync, no masking, no horodates.

Ratios: energy_ledger (and framing alone, for reference) vs pyteleinfo on historic frames, vs
naive on standard three-phase frames.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parents[1]
CAPTURES = REPO_ROOT.parent / "shared" / "tic-captures"
sys.path.insert(0, str(REPO_ROOT))

from custom_components.energy_ledger.core.tic import framing  # noqa: E402
from custom_components.energy_ledger.core.tic.decode import clear_memo  # noqa: E402
from custom_components.energy_ledger.core.tic.encode import (  # noqa: E402
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)
from custom_components.energy_ledger.core.tic.framing import TicStreamParser  # noqa: E402
from custom_components.energy_ledger.core.tic.reader import TicReader  # noqa: E402
from tools.tic_simulator import MeterModel  # noqa: E402

try:
    import teleinfo

    PYTELEINFO: Any = teleinfo
    PYTELEINFO_VERSION = str(teleinfo.__version__)
except ImportError:  # pragma: no cover - pyteleinfo is in requirements/dev.txt
    PYTELEINFO = None
    PYTELEINFO_VERSION = "not installed"

STX, ETX = b"\x02", b"\x03"
RECEIVED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


# -- streams ----------------------------------------------------------------------------------


def _frames_of(raw: bytes) -> list[bytes]:
    """The complete STX...ETX frames of a raw capture (partial ones at either end dropped)."""
    frames = []
    for piece in raw.split(ETX)[:-1]:
        start = piece.rfind(STX)
        if start >= 0:
            frames.append(piece[start:] + ETX)
    return frames


def real_historic_frames() -> list[bytes]:
    frames = _frames_of(
        (CAPTURES / "historic_mono_tempo__esciara-pyteleinfo__captured_frames.bin").read_bytes()
    )
    frames += _frames_of(
        (
            CAPTURES / "historic_mono_tempo__lains-teleinfo-nom__stream_legacy_complete.bin"
        ).read_bytes()
    )
    return frames


def real_standard_frames() -> list[bytes]:
    frames = _frames_of(
        (
            CAPTURES / "standard_tri_tempo__lains-teleinfo-nom__stream_standard_complete.bin"
        ).read_bytes()
    )
    message = (
        CAPTURES / "standard_tri_tempo__lains-teleinfo-nom__message_standard.bin"
    ).read_bytes()
    frames.append(STX + message.removesuffix(b"\n") + ETX)
    return frames


def _template(frame: bytes, separator: bytes) -> list[tuple[str, str, str | None]]:
    """(label, data, horodate) of every group of a real frame, to generate look-alikes from."""
    groups = []
    for line in frame.strip(STX + ETX).split(b"\r\n"):
        fields = line.strip(b"\r\n")[:-2].decode("ascii")
        if separator == b"\t":
            parts = fields.split("\t")
            horodate = parts[1] if len(parts) == 3 else None
            groups.append((parts[0], parts[-1], horodate))
        else:
            label, _, data = fields.partition(" ")
            groups.append((label, data, None))
    return groups


def realistic_standard_frames(count: int, seed: int = 1) -> list[bytes]:
    """Three-phase Tempo frames whose live values change on every frame, like a real meter's."""
    rng = random.Random(seed)
    template = _template(real_standard_frames()[0], b"\t")
    east = 21_849_106
    frames = []
    for index in range(count):
        east += rng.randint(1, 3)
        seconds = 8 * 3600 + index  # one frame a second from 08:00:00
        clock = f"H200215{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"
        powers = [rng.randint(100, 3000) for _ in range(3)]
        live: dict[str, tuple[str, str | None]] = {
            "DATE": ("", clock),
            "EAST": (f"{east:09d}", None),
            "EASF03": (f"{east - 21_361_975:09d}", None),
            "EASD01": (f"{east:09d}", None),
            "SINSTS": (f"{sum(powers):05d}", None),
            "SINSTS1": (f"{powers[0]:05d}", None),
            "SINSTS2": (f"{powers[1]:05d}", None),
            "SINSTS3": (f"{powers[2]:05d}", None),
            "IRMS1": (f"{powers[0] // 230:03d}", None),
            "IRMS2": (f"{powers[1] // 230:03d}", None),
            "IRMS3": (f"{powers[2] // 230:03d}", None),
            "URMS1": (f"{rng.randint(225, 245):03d}", None),
            "URMS2": (f"{rng.randint(225, 245):03d}", None),
            "URMS3": (f"{rng.randint(225, 245):03d}", None),
        }
        groups = []
        for label, data, horodate in template:
            value, stamp = live.get(label, (data, horodate))
            groups.append(encode_standard_group(label, value, stamp))
        frames.append(encode_frame(groups))
    return frames


def realistic_historic_frames(count: int, seed: int = 1) -> list[bytes]:
    """Single-phase Tempo frames whose index, IINST and PAPP change on every frame."""
    rng = random.Random(seed)
    template = _template(real_historic_frames()[0], b" ")
    index_wh = 18_328_856
    frames = []
    for _ in range(count):
        index_wh += rng.randint(1, 3)
        papp = rng.randint(100, 9000)
        live = {
            "BBRHCJB": f"{index_wh:09d}",
            "IINST": f"{papp // 230:03d}",
            "PAPP": f"{papp:05d}",
        }
        frames.append(
            encode_frame(
                encode_historic_group(label, live.get(label, data)) for label, data, _ in template
            )
        )
    return frames


def cycle(frames: list[bytes], count: int) -> list[bytes]:
    return [frames[index % len(frames)] for index in range(count)]


def chunked(frames: Iterable[bytes], size: int) -> list[bytes]:
    stream = b"".join(frames)
    return [stream[offset : offset + size] for offset in range(0, len(stream), size)]


# -- contestants ------------------------------------------------------------------------------


class Feeder(Protocol):
    def feed(self, data: bytes) -> int: ...


class OursParser:
    """TicStreamParser alone."""

    def __init__(self, parser: TicStreamParser | None = None) -> None:
        self.parser = parser or TicStreamParser()

    def feed(self, data: bytes) -> int:
        return len(self.parser.feed(data))


def received_at() -> datetime:
    return RECEIVED_AT


class OursReader:
    """TicReader: framing, short-frame completion and typed decoding into a Reading of every
    frame, as the integration runs them."""

    def __init__(self) -> None:
        self.read = TicReader().read
        # decode.py memoizes decoded groups and clock minutes module-wide: empty them before
        # each run, or the replayed stream would find every value decoded by the previous run.
        clear_memo()

    def feed(self, data: bytes) -> int:
        return len(self.read(data, received_at))


class NoMemoParser(TicStreamParser):
    MEMO_MAX_ENTRIES = 0


class FrameSplitter:
    """The stream handling the baselines need: keep bytes, hand out STX...ETX frames.

    Written as cheaply as TicStreamParser's own chunk handling (``3 in data``, an int, costs
    a sixth of ``b"\\x03" in data`` on CPython 3.13), so that the baselines are not slowed down
    by the harness.
    """

    def __init__(self) -> None:
        self.pending = b""

    def frames(self, data: bytes) -> list[bytes]:
        self.pending += data
        if 0x03 not in data:
            return []
        *complete, self.pending = self.pending.split(ETX)
        found = []
        for piece in complete:
            start = piece.rfind(STX)
            if start >= 0:
                found.append(piece[start:] + ETX)
        return found


class Pyteleinfo:
    def __init__(self) -> None:
        self.splitter = FrameSplitter()
        self.errors = 0

    def feed(self, data: bytes) -> int:
        count = 0
        for frame in self.splitter.frames(data):
            try:
                PYTELEINFO.decode(frame)
            except PYTELEINFO.TeleinfoError:
                self.errors += 1
            else:
                count += 1
        return count


def naive_decode(frame: bytes, separator: bytes, historic: bool) -> dict[str, object]:
    """Split-and-sum: lines on CR/LF, fields on the separator, checksum sum, int() the value."""
    values: dict[str, object] = {}
    covered = -2 if historic else -1  # historic mode 1 excludes the SP before the checksum
    for line in frame[1:-1].splitlines():
        if not line:
            continue
        if (sum(line[:covered]) & 0x3F) + 0x20 != line[-1]:
            continue
        fields = line[:-2].split(separator)
        value = fields[-1]
        values[fields[0].decode()] = int(value) if value.isdigit() else value.decode()
    return values


class Naive:
    def __init__(self, historic: bool) -> None:
        self.splitter = FrameSplitter()
        self.separator = b" " if historic else b"\t"
        self.historic = historic

    def feed(self, data: bytes) -> int:
        count = 0
        for frame in self.splitter.frames(data):
            naive_decode(frame, self.separator, self.historic)
            count += 1
        return count


# -- measuring --------------------------------------------------------------------------------


def run_once(make: Callable[[], Feeder], chunks: list[bytes], expected: int) -> float:
    """Seconds to feed the whole stream to a fresh contestant (garbage collected beforehand, so
    that every run starts from the same heap; the collector stays on while it runs)."""
    gc.collect()
    feeder = make()
    feed = feeder.feed
    delivered = 0
    start = time.perf_counter()
    for chunk in chunks:
        delivered += feed(chunk)
    elapsed = time.perf_counter() - start
    if delivered != expected:
        raise SystemExit(f"{type(feeder).__name__}: {delivered} frames, expected {expected}")
    return elapsed


def best_times(
    contestants: dict[str, Callable[[], Feeder]], chunks: list[bytes], expected: int, repeat: int
) -> dict[str, float]:
    """Best time of each contestant; runs are interleaved so that a busy moment of the machine
    does not fall on one contestant only."""
    best = dict.fromkeys(contestants, float("inf"))
    for make in contestants.values():
        run_once(make, chunks, expected)  # warm-up, not counted
    for _ in range(repeat):
        for name, make in contestants.items():
            best[name] = min(best[name], run_once(make, chunks, expected))
    return best


def memo_hit_rate(chunks: list[bytes]) -> float:
    """Share of groups the framing memo accepted without a full check, on one untimed pass."""
    checks = 0
    originals = dict(framing._CHECKS)

    def counting(check: Callable[[bytes], object]) -> Callable[[bytes], object]:
        def wrapper(raw: bytes) -> object:
            nonlocal checks
            checks += 1
            return check(raw)

        return wrapper

    for mode, check in originals.items():
        framing._CHECKS[mode] = counting(check)  # type: ignore[assignment]
    try:
        parser = TicStreamParser()
        for chunk in chunks:
            parser.feed(chunk)
    finally:
        framing._CHECKS.update(originals)
    return 1 - checks / parser.groups_valid


def simulated_meter_frames(mode: str, count: int) -> list[bytes]:
    """Consecutive frames of the household simulator (tools/tic_simulator.py) at the line's pace.

    What a real meter sends: the values move as a household's load and sun move, so between two
    frames only the groups that really change differ (clock, powers, currents, the busy index).
    """
    model = MeterModel(
        mode,
        phases=3 if mode == "standard" else 1,
        producer=mode == "standard",
        seed=9,
        start=RECEIVED_AT,
    )
    period = 1.3 if mode == "standard" else 2.3
    return list(model.frames(period, count))


def run(frames_count: int, chunk: int, repeat: int) -> dict[str, Any]:
    datasets = {
        ("historic", "repeated"): cycle(real_historic_frames(), frames_count),
        ("historic", "realistic"): realistic_historic_frames(frames_count),
        ("historic", "simulated meter"): simulated_meter_frames("historic", frames_count),
        ("standard", "repeated"): cycle(real_standard_frames(), frames_count),
        ("standard", "realistic"): realistic_standard_frames(frames_count),
        ("standard", "simulated meter"): simulated_meter_frames("standard", frames_count),
    }
    rows: list[dict[str, Any]] = []
    for (mode, kind), frames in datasets.items():
        chunks = chunked(frames, chunk)
        historic = mode == "historic"
        contestants: dict[str, Callable[[], Feeder]] = {"energy_ledger": OursReader}
        contestants["framing alone"] = OursParser
        if kind == "realistic":
            contestants["framing (no memo)"] = lambda: OursParser(NoMemoParser())
        if historic and PYTELEINFO is not None:
            contestants["pyteleinfo"] = Pyteleinfo
        contestants["naive"] = partial(Naive, historic)
        hit_rate = memo_hit_rate(chunks)
        for name, seconds in best_times(contestants, chunks, len(frames), repeat).items():
            rows.append(
                {
                    "mode": mode,
                    "stream": kind,
                    "contestant": name,
                    "frames": len(frames),
                    "frame_bytes": round(sum(map(len, frames)) / len(frames)),
                    "frames_per_s": round(len(frames) / seconds),
                    "us_per_frame": round(seconds / len(frames) * 1e6, 2),
                    "memo_hit_rate": round(hit_rate, 3) if name == "framing alone" else None,
                }
            )
        if not historic and PYTELEINFO is not None:
            probe = Pyteleinfo()
            for piece in chunks:
                probe.feed(piece)
            rows.append(
                {
                    "mode": mode,
                    "stream": kind,
                    "contestant": "pyteleinfo",
                    "frames": len(frames),
                    "rejected_frames": probe.errors,
                    "note": "raises on every real standard frame (data with spaces)",
                }
            )
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "pyteleinfo": PYTELEINFO_VERSION,
        "chunk_bytes": chunk,
        "repeat": repeat,
        "results": rows,
        "ratios": ratios(rows),
    }


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """energy_ledger speed-ups: vs pyteleinfo on historic frames, vs naive on standard frames."""
    speed = {
        (row["mode"], row["stream"], row["contestant"]): row["frames_per_s"]
        for row in rows
        if "frames_per_s" in row
    }
    found = []
    for (mode, stream, name), value in speed.items():
        if name not in {"energy_ledger", "framing alone"}:
            continue
        baseline = "pyteleinfo" if mode == "historic" else "naive"
        target = 5.0 if mode == "historic" else 2.0
        reference = speed.get((mode, stream, baseline))
        if reference:
            found.append(
                {
                    "mode": mode,
                    "stream": stream,
                    "contestant": name,
                    "vs": baseline,
                    "ratio": round(value / reference, 2),
                    "target": target,
                }
            )
    return found


def print_table(report: dict[str, Any]) -> None:
    print(
        f"Python {report['python']} ({report['machine']}), pyteleinfo {report['pyteleinfo']}, "
        f"chunks of {report['chunk_bytes']} bytes, best of {report['repeat']} runs"
    )
    print()
    header = (
        f"{'mode':9} {'stream':10} {'contestant':25} {'frames/s':>10} {'µs/frame':>9} memo hits"
    )
    print(header)
    print("-" * len(header))
    for row in report["results"]:
        if "frames_per_s" not in row:
            print(
                f"{row['mode']:9} {row['stream']:10} {row['contestant']:25} "
                f"rejected {row['rejected_frames']}/{row['frames']} frames: {row['note']}"
            )
            continue
        hits = "" if row["memo_hit_rate"] is None else f"{row['memo_hit_rate']:.0%}"
        if "no memo" in row["contestant"]:
            hits = "off"
        elif row["memo_hit_rate"] is not None and row["memo_hit_rate"] < 1:
            hits = f"{row['memo_hit_rate']:.1%}"
        print(
            f"{row['mode']:9} {row['stream']:10} {row['contestant']:25} "
            f"{row['frames_per_s']:10.0f} {row['us_per_frame']:9.1f} {hits}"
        )
    print()
    for ratio in report["ratios"]:
        verdict = "meets" if ratio["ratio"] >= ratio["target"] else "BELOW"
        print(
            f"{ratio['mode']:9} {ratio['stream']:10} {ratio['contestant']:25} "
            f"{ratio['ratio']:5.1f}x {ratio['vs']} ({verdict} the {ratio['target']:.0f}x target)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--frames", type=int, default=2000, help="frames per stream")
    parser.add_argument("--chunk", type=int, default=64, help="bytes per read from the line")
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure (best is kept)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    report = run(args.frames, args.chunk, args.repeat)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
