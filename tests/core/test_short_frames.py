"""Historic three-phase overload bulletins are completed with the last long frame."""

from __future__ import annotations

from custom_components.energy_ledger.core.tic import TicFrame, TicGroup, TicMode
from custom_components.energy_ledger.core.tic.short_frames import (
    complete_short_frame,
    is_short_frame,
)

LONG = TicFrame(
    TicMode.HISTORIC,
    (
        TicGroup("ADCO", "XXXXXXXXXXXX"),
        TicGroup("OPTARIF", "BASE"),
        TicGroup("BASE", "001181243"),
        TicGroup("PTEC", "TH.."),
        TicGroup("IINST1", "000"),
        TicGroup("IINST2", "002"),
        TicGroup("IINST3", "000"),
        TicGroup("PAPP", "00540"),
    ),
)
SHORT = TicFrame(
    TicMode.HISTORIC,
    (
        TicGroup("ADIR1", "031"),
        TicGroup("ADCO", "XXXXXXXXXXXX"),
        TicGroup("IINST1", "031"),
        TicGroup("IINST2", "002"),
        TicGroup("IINST3", "000"),
    ),
)


def test_short_and_long_frames_are_told_apart() -> None:
    """ADIRx without PTEC/OPTARIF/PAPP is a short frame; a long frame with ADIRx is not."""
    assert is_short_frame(SHORT)
    assert not is_short_frame(LONG)
    assert not is_short_frame(TicFrame(TicMode.HISTORIC, (*LONG.groups, TicGroup("ADIR1", "031"))))


def test_completed_short_frame_keeps_indexes_and_updates_currents() -> None:
    """The index and power stay; the currents and the overrun come from the short frame."""
    completed = {g.label: g.data for g in complete_short_frame(SHORT, LONG).groups}
    assert completed["BASE"] == "001181243"
    assert completed["PAPP"] == "00540"
    assert completed["IINST1"] == "031"
    assert completed["ADIR1"] == "031"
    assert len(completed) == len(LONG.groups) + 1
