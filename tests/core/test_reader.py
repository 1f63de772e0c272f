"""`TicReader` gives exactly what the parser, short-frame completion and a decoder give.

The reference is the three steps the reader fuses, run one after the other on the same bytes:
`TicStreamParser.feed`, `complete_short_frame` for historic three-phase short frames, and
`FrameDecoder.decode`. Every reading and every counter must be equal, whatever the chunking,
the line noise, the interruptions and the shape changes of the stream.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.energy_ledger.core.reading import Reading
from custom_components.energy_ledger.core.tic import TicFrame, TicMode, TicStreamParser
from custom_components.energy_ledger.core.tic.decode import FrameDecoder
from custom_components.energy_ledger.core.tic.encode import (
    checksum,
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)
from custom_components.energy_ledger.core.tic.reader import RECENT_FRAMES, TicReader
from custom_components.energy_ledger.core.tic.short_frames import (
    complete_short_frame,
    is_short_frame,
)
from tests.core.captures import capture_names, load_capture
from tools.tic_simulator import MeterModel, corrupt, interrupt

START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the spring clock change is in this stream


def clock() -> datetime:
    return START


class ReferenceReader:
    """The three steps `TicReader` fuses, one after the other."""

    def __init__(self) -> None:
        self.parser = TicStreamParser()
        self.decoder = FrameDecoder()
        self.last_long: TicFrame | None = None
        self.frames: list[TicFrame] = []

    def read(self, data: bytes, received_at: datetime) -> list[Reading]:
        readings = []
        for frame in self.parser.feed(data):
            self.frames.append(frame)
            whole = frame
            if not is_short_frame(frame):
                self.last_long = frame
            elif self.last_long is not None:
                whole = complete_short_frame(frame, self.last_long)
            readings.append(self.decoder.decode(whole, received_at))
        return readings


def counters(parser: TicStreamParser) -> tuple[int, int, int, dict[str, int], object]:
    return (
        parser.bytes_received,
        parser.frames_valid,
        parser.groups_valid,
        dict(parser.rejected),
        parser.mode,
    )


def read_both(
    pieces: list[bytes], reader: TicReader | None = None
) -> tuple[list[Reading], TicReader, ReferenceReader]:
    """Feed the same chunks to both; return the reader's readings after checking they match."""
    reader, reference = reader or TicReader(), ReferenceReader()
    got: list[Reading] = []
    for index, piece in enumerate(pieces):
        at = START.replace(second=index % 60)
        readings = reader.read(piece, lambda at=at: at)
        assert readings == reference.read(piece, at)
        got += readings
        assert counters(reader) == counters(reference.parser)
    return got, reader, reference


def cut(data: bytes, rng: random.Random, largest: int = 200) -> list[bytes]:
    pieces = []
    offset = 0
    while offset < len(data):
        size = rng.randint(1, largest)
        pieces.append(data[offset : offset + size])
        offset += size
    return pieces


def damaged_stream(model: MeterModel, every: float, count: int, seed: int, rate: float) -> bytes:
    """Frames of `model` with bit flips, and now and then a frame cut short by EOT."""
    rng = random.Random(seed)
    out = []
    for frame in model.frames(every, count):
        sent = interrupt(frame, rng) if rng.random() < 0.03 else frame
        out.append(corrupt(sent, rate, rng))
    return b"".join(out)


@pytest.mark.parametrize(
    ("mode", "phases", "producer"),
    [("standard", 3, True), ("standard", 1, False), ("historic", 1, False), ("historic", 3, False)],
)
def test_simulated_meter_reads_like_the_three_steps(mode: str, phases: int, producer: bool) -> None:
    """Hours of a live meter on a noisy line, in chunks of every size: equal readings."""
    model = MeterModel(mode, phases=phases, producer=producer, seed=11, start=START)  # type: ignore[arg-type]
    stream = damaged_stream(model, 37.0, 400, seed=3, rate=0.0004)
    readings, reader, _ = read_both(cut(stream, random.Random(5)))
    assert len(readings) > 350
    assert len({reading.import_energy_wh for reading in readings}) > 20  # the index moved
    assert reader.rejected["checksum"] + reader.rejected["malformed"] > 0  # noise did bite


def with_checksum_mode_2(frame: bytes) -> bytes:
    """A historic frame whose checksums cover the separator before them too (mode 2)."""
    groups = frame[2:-2].split(b"\r\n")
    return encode_frame(
        b"\n" + group[:-1] + bytes((checksum(group[:-1]),)) + b"\r" for group in groups
    )


def test_historic_checksum_mode_2_reads_like_the_three_steps() -> None:
    """Meters whose checksum covers the last separator: a moved index is checked in place
    with that sum, and a mode-1 group slipped in is rejected as the parser rejects it."""
    model = MeterModel("historic", phases=1, seed=8, start=START)
    frames = [with_checksum_mode_2(frame) for frame in model.frames(41.0, 200)]
    frames[50] = next(model.frames(41.0, 1))  # one frame of mode 1 groups
    rng = random.Random(8)
    stream = b"".join(corrupt(frame, 0.0004, rng) for frame in frames)
    readings, reader, _ = read_both(cut(stream, random.Random(9)))
    assert len(readings) > 190
    assert len({reading.import_energy_wh for reading in readings}) > 20
    assert reader.rejected["checksum"] > 10  # the mode 1 frame's groups


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["standard", "historic"]),
    phases=st.sampled_from([1, 3]),
    rate=st.sampled_from([0.0, 0.0005, 0.003, 0.02]),
    largest=st.sampled_from([1, 7, 64, 512, 5000]),
)
def test_damaged_streams_read_like_the_three_steps(
    seed: int, mode: str, phases: int, rate: float, largest: int
) -> None:
    """Any seed, noise rate and chunking of a simulated meter: equal readings and counters."""
    model = MeterModel(mode, phases=phases, seed=seed % 1000, start=START)  # type: ignore[arg-type]
    stream = damaged_stream(model, 13.0, 25, seed=seed, rate=rate)
    read_both(cut(stream, random.Random(seed), largest))


@given(st.lists(st.binary(max_size=300), max_size=12))
def test_any_bytes_read_like_the_three_steps(pieces: list[bytes]) -> None:
    """Random bytes (with frame control bytes now and then) never raise and match."""
    read_both(pieces)


@pytest.mark.parametrize("size", [1, 100, 999])
def test_oversize_frame_is_dropped_as_soon_as_the_parser_drops_it(size: int) -> None:
    """Bytes that never end a frame are counted as oversize at the very chunk the parser
    counts them, though the reader holds chunks back until a frame control byte."""
    stream = b"\x02\nADCO 021961000001 E\r" + b"\nPAPP 00100 #\r" * 400 + b"\x03"
    readings, reader, _ = read_both([stream[i : i + size] for i in range(0, len(stream), size)])
    assert readings == []
    assert reader.rejected["oversize"] == 1


@pytest.mark.parametrize("name", capture_names())
def test_real_captures_read_like_the_three_steps(name: str) -> None:
    """Every real capture, repeated so that the fast path gets its chance."""
    data = load_capture(name)
    read_both(cut(data * 3, random.Random(len(name)), 64))


def test_regular_frames_take_the_fast_path() -> None:
    """On a steady stream no group object is built after the first frame: the readings still
    follow the values that move (the index and the power)."""
    groups = [("ADCO", "021961000001"), ("OPTARIF", "BASE"), ("BASE", "{:09d}"), ("PAPP", "{:05d}")]

    def frame(index: int, power: int) -> bytes:
        return encode_frame(
            encode_historic_group(label, data.format(index if label == "BASE" else power))
            for label, data in groups
        )

    reader = TicReader()
    stream = b"".join(frame(1000 + step, 500 + 10 * step) for step in range(5))
    readings = reader.read(stream, clock)
    built = TicStreamParser._complete_frame
    calls = 0

    def counting(self: TicStreamParser, body: bytes) -> TicFrame | None:
        nonlocal calls
        calls += 1
        return built(self, body)

    TicStreamParser._complete_frame = counting  # type: ignore[method-assign]
    try:
        more = reader.read(frame(1010, 900), clock)
    finally:
        TicStreamParser._complete_frame = built  # type: ignore[method-assign]
    assert calls == 0
    assert [r.import_energy_wh for r in (*readings, *more)] == [1000, 1001, 1002, 1003, 1004, 1010]
    assert more[0].import_power_va == 900
    assert more[0].values["OPTARIF"] == "BASE"


def test_short_frames_are_completed_by_the_last_long_frame() -> None:
    """A three-phase overload bulletin keeps the index of the long frame read before it, even
    when that long frame came by the fast path."""
    long_groups = [
        ("ADCO", "021963000001"),
        ("BASE", "{:09d}"),
        ("PTEC", "TH.."),
        ("PAPP", "01000"),
    ]
    short = encode_frame(
        encode_historic_group(label, data)
        for label, data in [("ADIR1", "000"), ("ADCO", "021963000001"), ("IINST1", "062")]
    )

    def long_frame(index: int) -> bytes:
        return encode_frame(
            encode_historic_group(label, data.format(index)) for label, data in long_groups
        )

    reader = TicReader(TicMode.HISTORIC)
    readings = reader.read(long_frame(7) + long_frame(8) + long_frame(9) + short, clock)
    assert [r.import_energy_wh for r in readings] == [7, 8, 9, 9]
    assert readings[-1].values["IINST1"] == 62
    assert readings[-1].values["PAPP"] == 1000


def test_recent_frames_are_the_last_frames_as_sent() -> None:
    """Diagnostics get the last frames back as groups, whichever path read them."""
    reader = TicReader()
    frames = [
        encode_frame(
            [
                encode_standard_group("ADSC", "041876097466"),
                encode_standard_group("SINSTS", f"{power:05d}"),
            ]
        )
        for power in range(10)
    ]
    reader.read(b"".join(frames), clock)
    recent = reader.recent_frames()
    assert len(recent) == RECENT_FRAMES
    assert [frame.groups[1].data for frame in recent] == [f"{power:05d}" for power in range(5, 10)]


def standard(*groups: tuple[str, str, str | None]) -> bytes:
    return encode_frame(encode_standard_group(*group) for group in groups)


def historic(*groups: tuple[str, str]) -> bytes:
    return encode_frame(encode_historic_group(*group) for group in groups)


ADSC = ("ADSC", "041876097466", None)
CLOCK = "H260115120000"


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param(
            [
                standard(ADSC, ("SMAXSN", "05000", CLOCK)),
                standard(ADSC, ("SMAXSN", "05100", None)),
                standard(ADSC, ("SMAXSN", "05200", CLOCK)),
                standard(ADSC, ("SMAXSN", "05300", CLOCK)),
            ],
            id="a horodate goes and comes back",
        ),
        pytest.param(
            [
                standard(ADSC, ("DATE", "", CLOCK)),
                standard(ADSC, ("DATE", "", "H261315120000")),  # month 13: no clock
                standard(ADSC, ("DATE", "", "H260115120001")),
                standard(ADSC, ("DATE", "X", "H260115120002")),  # data where there is none
                standard(ADSC, ("DATE", "", " 00000000000")),
            ],
            id="dates that are not valid clocks",
        ),
        pytest.param(
            [
                standard(ADSC, ("EAST", "000001000", None)),
                standard(ADSC, ("EAST", "00000100A", None)),  # valid group, not an integer
                standard(ADSC, ("EAST", "000001002", None)),
                standard(ADSC, ("EASF01", "000001003", None)),  # another label in its place
                standard(("EASF01", "000001004", None), ADSC),  # labels swapped
            ],
            id="integers that move out of shape",
        ),
        pytest.param(
            [
                historic(("ADIR1", "031"), ("ADCO", "021963000001"), ("IINST1", "031")),
                historic(("ADCO", "021963000001"), ("BASE", "000000100"), ("PAPP", "00540")),
                historic(("ADIR1", "032"), ("ADCO", "021963000001"), ("IINST1", "032")),
                historic(("ADCO", "021963000001"), ("BASE", "000000101"), ("PAPP", "00550")),
            ],
            id="a short frame before any long frame",
        ),
        pytest.param(
            [
                historic(("ADCO", "021961000001"), ("PAPP", "00100"), ("PAPP", "00200")),
                historic(("ADCO", "021961000001"), ("PAPP", "00110"), ("PAPP", "00200")),
            ],
            id="a label sent twice",
        ),
    ],
)
def test_frames_that_change_shape_read_like_the_three_steps(frames: list[bytes]) -> None:
    """Each frame alone, then the whole stream at once: equal readings and counters."""
    read_both(frames)
    read_both([b"".join(frames)])


def test_a_small_memo_forgets_and_reads_the_same() -> None:
    """Once the remembered groups exceed the bound they are forgotten, and found again."""
    model = MeterModel("standard", phases=3, seed=2, start=START)
    reader = TicReader()
    reader.MEMO_MAX_ENTRIES = 8
    readings, _, _ = read_both(list(model.frames(7.0, 60)), reader)
    assert len(readings) == 60


def test_reset_drops_the_partial_frame_and_keeps_the_counters() -> None:
    """After a reconnection the half frame read before is not glued to the next bytes."""
    frame = historic(("ADCO", "021961000001"), ("BASE", "000000100"), ("PAPP", "00540"))
    reader = TicReader()
    assert len(reader.read(frame + frame[:20], clock)) == 1
    reader.reset()
    assert reader.bytes_received == 2 * len(frame) - (len(frame) - 20)
    assert reader.mode is None  # detected again from the next frame
    readings = reader.read(frame[20:] + frame, clock)
    assert [reading.import_energy_wh for reading in readings] == [100]
    assert reader.frames_valid == 2
    assert reader.bytes_received == 3 * len(frame)


def test_the_frame_detection_found_starts_the_stream() -> None:
    """The frame read while detecting is decoded in the stream: a short frame read next is
    completed by it."""
    long_frame = historic(
        ("ADCO", "021963000001"), ("BASE", "000000100"), ("PTEC", "TH.."), ("PAPP", "00540")
    )
    detected = TicStreamParser().feed(long_frame)[0]
    reader = TicReader()
    assert reader.read_frame(detected, clock).import_energy_wh == 100
    short = historic(("ADIR1", "031"), ("ADCO", "021963000001"), ("IINST1", "031"))
    (reading,) = reader.read(short, clock)
    assert reading.import_energy_wh == 100
    assert reading.values["ADIR1"] == 31
