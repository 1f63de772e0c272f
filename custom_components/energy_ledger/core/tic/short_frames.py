"""Historic three-phase "short frames": overload bulletins that carry only a few labels.

During a current overrun, and for a minute after, a historic three-phase meter sends cycles of
20 short frames (ADIR1-3, ADCO, IINST1-3) and one long frame. Taken alone, a short frame would
make every other value vanish twenty times in a row; completed with the last long frame, the
indexes and powers keep their last known values while the currents and overrun flags update.
"""

from __future__ import annotations

from .model import TicFrame

_SHORT_FRAME_MARKERS = frozenset({"ADIR1", "ADIR2", "ADIR3"})
_LONG_FRAME_MARKERS = frozenset({"PTEC", "OPTARIF", "PAPP"})


def is_short_frame(frame: TicFrame) -> bool:
    """An overload bulletin: it has ADIRx and lacks what every long frame carries."""
    labels = {group.label for group in frame.groups}
    return not labels.isdisjoint(_SHORT_FRAME_MARKERS) and labels.isdisjoint(_LONG_FRAME_MARKERS)


def complete_short_frame(short: TicFrame, last_long: TicFrame) -> TicFrame:
    """The last long frame with the short frame's groups in place of (or added to) its own."""
    fresh = {group.label: group for group in short.groups}
    groups = [fresh.pop(group.label, group) for group in last_long.groups]
    return TicFrame(mode=short.mode, groups=(*groups, *fresh.values()))
