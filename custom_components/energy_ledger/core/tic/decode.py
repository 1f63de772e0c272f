"""Typed decoding of a validated TIC frame into the normalized `Reading`.

Each label's decoding function is chosen once, from the catalogue, when the module loads.
Decoded groups are memoized per ``(label, data, horodate)``: most groups of a frame repeat
unchanged from one frame to the next (address, contract, registers not in use), so a frame
typically costs one dict lookup per group plus the decoding of the few values that moved.

Decoding never raises: a checksum-valid group whose data does not parse for its kind (``EAST``
with a letter in it, an ``STGE`` that is not hex...) is left out of `Reading.values`. Labels the
catalogue does not know are kept, as stripped text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import compress
from operator import is_not
from typing import Final

from ..reading import Reading
from .horodate import parse_horodate
from .labels import IMPORT_REGISTER_LABELS, LABELS, LabelKind
from .model import TicFrame, TicGroup, TicMode
from .stge import (
    decode_day_profile,
    decode_demain,
    decode_ppot,
    decode_relais,
    decode_stge,
    historic_period,
)

type _Decoder = Callable[[str], object]

_INVALID: Final = object()
"""Marks a group whose data is malformed for its label (kept in the memo, left out of values)."""


def _int(data: str) -> int:
    # int() alone would accept " 12", "+12", "1_2" and non-ASCII digits.
    if data.isdigit() and data.isascii():
        return int(data)
    raise ValueError(data)


def _text(data: str) -> str:
    return data.strip()


def _period_text(data: str) -> str:
    # PTEC/OPTARIF pad with dots ("HC..", "EJP."); LTARF/NGTF pad with spaces.
    return data.strip(" .")


_BY_KIND: Final[dict[LabelKind, _Decoder]] = {
    LabelKind.ENERGY: _int,
    LabelKind.REACTIVE_ENERGY: _int,
    LabelKind.APPARENT_POWER: _int,
    LabelKind.ACTIVE_POWER: _int,
    LabelKind.CURRENT: _int,
    LabelKind.VOLTAGE: _int,
    LabelKind.POWER_KVA: _int,
    LabelKind.DURATION_MIN: _int,
    LabelKind.INTEGER: _int,
    LabelKind.TARIFF_INDEX: _int,
    LabelKind.TEXT: _text,
    LabelKind.ADDRESS: _text,
    LabelKind.PRM: _text,
    LabelKind.DATE: _text,  # unused: a DATE's value is its horodate (see _decode_group)
    LabelKind.STATUS: decode_stge,
    LabelKind.RELAYS: decode_relais,
    LabelKind.DAY_PROFILE: decode_day_profile,
    LabelKind.TARIFF_OPTION: _period_text,
    LabelKind.TARIFF_PERIOD: _period_text,
    LabelKind.TEMPO_TOMORROW: decode_demain,
    LabelKind.HEX_STATUS: _text,
    LabelKind.PHASE_PRESENCE: decode_ppot,
}

_DECODERS: Final[dict[str, _Decoder]] = {
    label: _BY_KIND[spec.kind] for label, spec in LABELS.items()
}
"""Per-label decoding function; labels outside the catalogue use `_text`."""

_DATE_LABELS: Final = frozenset(
    label for label, spec in LABELS.items() if spec.kind is LabelKind.DATE
)

_HISTORIC_REGISTERS: Final = frozenset(
    label for label in IMPORT_REGISTER_LABELS if LABELS[label].mode is TicMode.HISTORIC
)
"""BASE, HCHC, HCHP, EJPHN, EJPHPM, BBRHCJB ... BBRHPJR: their sum is the total import."""
_REGISTER_LABELS: Final = tuple(IMPORT_REGISTER_LABELS)
"""EASF01-10 and the historic index registers, in catalogue order."""

MEMO_SIZE: Final = 2048
"""Bound of the memo; it is emptied when full (cheap, thread-safe, and refills in one frame)."""

type _Decoded = tuple[object, datetime | None]
_memo: dict[tuple[str, str, str | None], _Decoded] = {}


def _decode_group(label: str, data: str, horodate: str | None) -> _Decoded:
    stamp: datetime | None = None
    if horodate is not None:
        parsed = parse_horodate(horodate)
        if parsed is not None:
            stamp = parsed.value
    if label in _DATE_LABELS:
        return (stamp if stamp is not None else _INVALID), stamp
    try:
        value = _DECODERS.get(label, _text)(data)
    except ValueError:
        value = _INVALID
    return value, stamp


def decode_group(label: str, data: str, horodate: str | None = None) -> object | None:
    """The typed value of one group; None when its data is malformed for its label.

    (DEMAIN ``----`` also decodes to None: tomorrow's colour is not known yet.)
    """
    value, _ = _decode_group(label, data, horodate)
    return None if value is _INVALID else value


def clear_memo() -> None:
    """Forget memoized groups (for benchmarks that want a cold decoder)."""
    _memo.clear()


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _str_or_none(value: object) -> str | None:
    return value if type(value) is str and value else None


def _decode_into(
    group: TicGroup, values: dict[str, object], timestamps: dict[str, datetime | None]
) -> None:
    """Put one group's typed value (and horodate) into `values`, or take its label out."""
    label = group.label
    horodate = group.horodate
    key = (label, group.data, horodate)
    decoded = _memo.get(key)
    if decoded is None:
        decoded = _decode_group(label, group.data, horodate)
        if len(_memo) >= MEMO_SIZE:
            _memo.clear()
        _memo[key] = decoded
    value, stamp = decoded
    if value is _INVALID:
        values.pop(label, None)
        timestamps.pop(label, None)
        return
    values[label] = value
    if horodate is not None:
        timestamps[label] = stamp
    else:
        timestamps.pop(label, None)


def _decode_groups(
    groups: tuple[TicGroup, ...],
) -> tuple[dict[str, object], dict[str, datetime | None]]:
    values: dict[str, object] = {}
    timestamps: dict[str, datetime | None] = {}
    for group in groups:
        _decode_into(group, values, timestamps)
    return values, timestamps


def decode_frame(frame: TicFrame, received_at: datetime) -> Reading:
    """Decode a checksum-valid frame into a `Reading`. Never raises.

    `received_at` should be timezone-aware. Standard and historic labels are handled alike
    (a frame is decoded by its labels, not by `frame.mode`). A stream of frames is decoded
    faster by a `FrameDecoder`.
    """
    return _reading(*_decode_groups(frame.groups), received_at)


class FrameDecoder:
    """Decodes the frames of one stream, redoing only the groups that changed.

    The framing parser hands out the very same `TicGroup` object for identical group bytes, so a
    group that is the same object as in the previous frame has the same value and horodate:
    only the groups that moved (clock, powers, the busy index) are decoded again. A frame whose
    shape changed (a label added, gone or moved) is decoded in full.
    """

    __slots__ = ("_groups", "_timestamps", "_values")

    def __init__(self) -> None:
        self._groups: tuple[TicGroup, ...] = ()
        self._values: dict[str, object] = {}
        self._timestamps: dict[str, datetime | None] = {}

    def decode(self, frame: TicFrame, received_at: datetime) -> Reading:
        """Like `decode_frame`, for the next frame of this stream."""
        groups = frame.groups
        previous = self._groups
        if len(groups) == len(previous):
            values = self._values.copy()
            timestamps = self._timestamps.copy()
            # Pairs whose group is not the very object of the previous frame, found at C speed.
            for group, before in compress(
                zip(groups, previous, strict=True), map(is_not, groups, previous)
            ):
                if group.label != before.label:
                    values, timestamps = _decode_groups(groups)
                    break
                _decode_into(group, values, timestamps)
        else:
            values, timestamps = _decode_groups(groups)
        self._groups, self._values, self._timestamps = groups, values, timestamps
        return _reading(values, timestamps, received_at)


def _reading(
    values: dict[str, object], timestamps: dict[str, datetime | None], received_at: datetime
) -> Reading:
    """The Reading of decoded values: the normalized fields are read from the labels."""
    get = values.get
    registers: dict[str, int] = {
        label: wh for label in _REGISTER_LABELS if type(wh := get(label)) is int
    }
    import_energy = _int_or_none(get("EAST"))
    if import_energy is None:
        historic = [wh for label, wh in registers.items() if label in _HISTORIC_REGISTERS]
        import_energy = sum(historic) if historic else None

    import_power = _int_or_none(get("SINSTS"))
    if import_power is None:
        import_power = _int_or_none(get("SINST1"))
        if import_power is None:
            import_power = _int_or_none(get("PAPP"))

    meter_id = _str_or_none(get("ADSC")) or _str_or_none(get("ADCO")) or ""

    tariff_period = _str_or_none(get("LTARF"))
    tariff_index = _int_or_none(get("NTARF"))
    ptec = _str_or_none(get("PTEC"))
    if ptec is not None:
        if tariff_period is None:
            tariff_period = ptec
        if tariff_index is None:
            period = historic_period(ptec)
            if period is not None:
                tariff_index = period.index

    clock = get("DATE")
    return Reading(
        meter_id=meter_id,
        received_at=received_at,
        values=values,
        timestamps=timestamps,
        import_energy_wh=import_energy,
        export_energy_wh=_int_or_none(get("EAIT")),
        import_registers_wh=registers,
        import_power_va=import_power,
        export_power_va=_int_or_none(get("SINSTI")),
        tariff_period=tariff_period,
        tariff_index=tariff_index,
        meter_clock=clock if isinstance(clock, datetime) else None,
    )
