"""What kind of meter a frame comes from: the facts the config flow shows before adding it."""

from __future__ import annotations

from dataclasses import dataclass

from .model import TicFrame, TicMode

_PHASE_2_3_LABELS = frozenset(
    {"IRMS2", "IRMS3", "URMS2", "URMS3", "SINSTS2", "SINSTS3", "IINST2", "IINST3", "ADIR2"}
)
_PRODUCER_LABELS = frozenset({"EAIT", "SINSTI", "SMAXIN", "CCAIN"})


@dataclass(frozen=True, slots=True)
class MeterProfile:
    """Mode, phases, producer and tariff option of one meter, read from one frame."""

    address: str | None
    """ADSC (standard) or ADCO (historic). Personal data: never log it."""
    mode: TicMode
    three_phase: bool
    producer: bool
    tariff_option: str | None
    """NGTF text in standard mode, OPTARIF in historic mode, stripped of padding and dots."""


def profile_of(frame: TicFrame) -> MeterProfile:
    """Read the meter's profile from the labels present in `frame`."""
    data = {group.label: group.data for group in frame.groups}
    address = data.get("ADSC") or data.get("ADCO")
    option = data.get("NGTF") if frame.mode is TicMode.STANDARD else data.get("OPTARIF")
    return MeterProfile(
        address=address.strip() if address else None,
        mode=frame.mode,
        three_phase=not _PHASE_2_3_LABELS.isdisjoint(data),
        producer=not _PRODUCER_LABELS.isdisjoint(data),
        tariff_option=option.strip(" .") or None if option else None,
    )
