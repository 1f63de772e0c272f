"""A stream decoder that redoes only changed groups gives exactly what a full decode gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.energy_ledger.core.tic import TicFrame, TicGroup, TicMode, TicStreamParser
from custom_components.energy_ledger.core.tic import decode as decode_module
from custom_components.energy_ledger.core.tic.decode import FrameDecoder, decode_frame
from tools.tic_simulator import MeterModel, corrupt

START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the spring DST change is in this stream


def test_stream_of_simulated_frames_decodes_as_full_decodes() -> None:
    """Hours of a noisy three-phase producer stream: every Reading equals the full decode."""
    model = MeterModel("standard", phases=3, producer=True, seed=4, start=START)
    rng = random.Random(4)
    parser = TicStreamParser()
    decoder = FrameDecoder()
    compared = 0
    for raw in model.frames(97.0, 300):  # ~8 hours, the clock switch included
        for frame in parser.feed(corrupt(raw, 0.0005, rng)):
            assert decoder.decode(frame, START) == decode_frame(frame, START)
            compared += 1
    assert compared > 250
    assert parser.rejected["checksum"] + parser.rejected["malformed"] > 0  # noise did bite


def test_historic_stream_decodes_as_full_decodes() -> None:
    """A historic Tempo meter: the index registers and PAPP move, the period changes."""
    model = MeterModel("historic", phases=1, seed=5, start=START)
    parser = TicStreamParser()
    decoder = FrameDecoder()
    readings = [
        (decoder.decode(frame, START), frame)
        for raw in model.frames(61.0, 300)
        for frame in parser.feed(raw)
    ]
    assert len(readings) == 300
    assert len({reading.import_energy_wh for reading, _ in readings}) > 10
    for reading, frame in readings:
        assert reading == decode_frame(frame, START)


def test_shape_changes_are_decoded_in_full() -> None:
    """A label replaced at the same position, or a shorter frame, leaves no stale value."""
    decoder = FrameDecoder()
    first = TicFrame(TicMode.STANDARD, (TicGroup("ADSC", "1"), TicGroup("SINSTS", "00100")))
    moved = TicFrame(TicMode.STANDARD, (TicGroup("ADSC", "1"), TicGroup("SINSTI", "00050")))
    shorter = TicFrame(TicMode.STANDARD, (TicGroup("ADSC", "1"),))
    invalid = TicFrame(TicMode.STANDARD, (TicGroup("ADSC", "1"), TicGroup("SINSTI", "0x050")))
    assert decoder.decode(first, START).values == {"ADSC": "1", "SINSTS": 100}
    assert decoder.decode(moved, START).values == {"ADSC": "1", "SINSTI": 50}
    assert decoder.decode(shorter, START).values == {"ADSC": "1"}
    assert decoder.decode(moved, START).values == {"ADSC": "1", "SINSTI": 50}
    # Same shape, the value now malformed: the label goes, it does not keep its old value.
    assert decoder.decode(invalid, START).values == {"ADSC": "1"}


def test_a_reading_is_not_changed_by_the_frames_after_it() -> None:
    """Readings of unchanged frames share their mappings; a later change must not reach them."""
    decoder = FrameDecoder()
    frame = TicFrame(
        TicMode.HISTORIC,
        (TicGroup("ADCO", "1"), TicGroup("BASE", "000001000"), TicGroup("PAPP", "00500")),
    )
    first = decoder.decode(frame, START)
    same = decoder.decode(TicFrame(TicMode.HISTORIC, frame.groups), START)
    changed = TicFrame(
        TicMode.HISTORIC,
        (TicGroup("ADCO", "1"), TicGroup("BASE", "000001003"), TicGroup("PAPP", "x")),
    )
    later = decoder.decode(changed, START)
    assert later.values == {"ADCO": "1", "BASE": 1003}
    assert (later.import_energy_wh, later.import_power_va) == (1003, None)
    for reading in (first, same):
        assert reading.values == {"ADCO": "1", "BASE": 1000, "PAPP": 500}
        assert reading.import_registers_wh == {"BASE": 1000}
        assert (reading.import_energy_wh, reading.import_power_va) == (1000, 500)


def test_each_normalized_part_reads_only_the_labels_it_declares() -> None:
    """The stream decoder redoes a part only when one of its declared labels changed."""
    assert sum(map(len, decode_module._READS.values())) == len(decode_module.PART_OF)
    values = {label: f"{label} value" for label in decode_module.PART_OF} | {"OTHER": "x"}
    for part, labels in decode_module._READS.items():
        read: set[str] = set()

        def get(label: str, read: set[str] = read) -> object:
            read.add(label)
            return values.get(label)

        part(decode_module._Normalized({}, ()), get)
        assert read
        assert read <= set(labels), part.__name__


# Values that exercise every part: registers sent or not, malformed or not, EAST or the sum of
# the historic registers, the power fallbacks, both addresses, the tariff from LTARF/NTARF or
# from PTEC, and a clock with its horodate.
_VARIANTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "ADSC": (("012345678912", None), ("", None)),
    "ADCO": (("021234567890", None),),
    "EAST": (("000010000", None), ("00001x000", None)),
    "EASF01": (("000004000", None), ("000004001", None), ("bad", None)),
    "EASF02": (("000006000", None),),
    "HCHC": (("000723392", None), ("000723393", None), ("?", None)),
    "HCHP": (("001742238", None),),
    "BBRHCJB": (("018328856", None),),
    "SINSTS": (("00420", None), ("-1", None)),
    "SINST1": (("00410", None),),
    "PAPP": (("00400", None), ("00390", None)),
    "SINSTI": (("00050", None), ("", None)),
    "EAIT": (("000000100", None), ("x", None)),
    "LTARF": (("    HC BLEU     ", None), ("", None)),
    "NTARF": (("01", None), ("1x", None)),
    "PTEC": (("HPJR", None), ("HC..", None), ("??", None)),
    "DATE": (("", "H240501120000"), ("", "E240101120000"), ("", "X24")),
    "SMAXSN": (("03000", "E200614120000"), ("03001", None)),
    "IINST": (("002", None),),
}
_POOL = {
    label: [TicGroup(label, data, horodate) for data, horodate in variants]
    for label, variants in _VARIANTS.items()
}
"""The same group objects over and over, as the framing memo hands them out."""


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(_POOL)), min_size=1, max_size=8, unique=True).flatmap(
        lambda labels: st.lists(
            st.tuples(*(st.sampled_from(_POOL[label]) for label in labels)),
            min_size=1,
            max_size=12,
        )
    ),
    st.lists(st.sampled_from(sorted(_POOL)), max_size=3, unique=True),
)
def test_any_stream_decodes_as_full_decodes(
    frames: list[tuple[TicGroup, ...]], other_shape: list[str]
) -> None:
    """Frames of one shape whose groups change, repeat or turn malformed, now and then a
    frame of another shape: the stream decoder always gives the full decode."""
    decoder = FrameDecoder()
    other = tuple(_POOL[label][0] for label in other_shape)
    for index, groups in enumerate(frames):
        frame = TicFrame(TicMode.STANDARD, other if other and index % 5 == 4 else groups)
        assert decoder.decode(frame, START) == decode_frame(frame, START)
