"""A stream decoder that redoes only changed groups gives exactly what a full decode gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from custom_components.energy_ledger.core.tic import TicFrame, TicGroup, TicMode, TicStreamParser
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
