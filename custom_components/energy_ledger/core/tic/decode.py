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

from collections.abc import Callable, Collection, Container, Mapping
from datetime import datetime
from itertools import compress
from operator import is_not
from typing import Any, Final

from ..reading import Reading, build_reading
from .horodate import clear_minutes, horodate_value
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
    # Texts are fixed-width fields laid out for the meter's two-line display: MSG1 is
    # "PAS DE          MESSAGE         ", LTARF " HEURE  PLEINE  ". Read as a sentence.
    return " ".join(data.split())


def _period_text(data: str) -> str:
    # PTEC/OPTARIF pad with dots ("HC..", "EJP."); LTARF/NGTF pad with spaces.
    return " ".join(data.strip(" .").split())


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

INTEGER_LABELS: Final = frozenset(label for label, decoder in _DECODERS.items() if decoder is _int)
"""Labels whose value is their data read as an unsigned decimal integer, digits only."""

DATE_LABELS: Final = frozenset(
    label for label, spec in LABELS.items() if spec.kind is LabelKind.DATE
)

_HISTORIC_REGISTERS: Final = frozenset(
    label for label in IMPORT_REGISTER_LABELS if LABELS[label].mode is TicMode.HISTORIC
)
"""BASE, HCHC, HCHP, EJPHN, EJPHPM, BBRHCJB ... BBRHPJR: their sum is the total import."""
_REGISTER_LABELS: Final = tuple(IMPORT_REGISTER_LABELS)
"""EASF01-10 and the historic index registers, in catalogue order. All are energies: their
value is an int, or they are left out of the values (malformed data)."""

MEMO_SIZE: Final = 2048
"""Bound of the memo; it is emptied when full (cheap, thread-safe, and refills in one frame)."""

type _Decoded = tuple[object, datetime | None]
_memo: dict[tuple[str, str, str | None], _Decoded] = {}


def _decode_group(label: str, data: str, horodate: str | None) -> _Decoded:
    stamp = None if horodate is None else horodate_value(horodate)
    if label in DATE_LABELS:
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


type Part = Callable[[_Normalized, _Get], None]
"""A part of the normalized fields: works them out from the labels it reads (`_READS`)."""
type Entry = tuple[str, object, datetime | None, bool, Part | None]
"""What `TicReader` remembers of a valid group: see `decode_entry`."""


def decode_entry(label: str, data: str, horodate: str | None) -> Entry | None:
    """A group as `TicReader` remembers it by its bytes, or None when its data is malformed:
    label, typed value, horodate value, whether it carries a horodate, and the part of the
    normalized fields its label feeds (None: none)."""
    value, stamp = _decode_group(label, data, horodate)
    if value is _INVALID:
        return None
    return label, value, stamp, horodate is not None, PART_OF.get(label)


def normalized_fields(values: Mapping[str, object], sent: Container[str]) -> _Normalized:
    """The normalized fields of `values`, for a frame of the labels in `sent` (see
    `_Normalized`): `TicReader` updates them part by part as `FrameDecoder` does."""
    return _Normalized(values, sent)


def clear_memo() -> None:
    """Forget memoized groups and clock minutes (for benchmarks that want a cold decoder)."""
    _memo.clear()
    clear_minutes()


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _str_or_none(value: object) -> str | None:
    return value if type(value) is str and value else None


def _memoize(key: tuple[str, str, str | None]) -> _Decoded:
    """Decode the group `key` (label, data, horodate) and remember it, within `MEMO_SIZE`."""
    decoded = _decode_group(*key)
    if len(_memo) >= MEMO_SIZE:
        _memo.clear()
    _memo[key] = decoded
    return decoded


def _decode_into(
    group: TicGroup, values: dict[str, object], timestamps: dict[str, datetime | None]
) -> None:
    """Put one group's typed value (and horodate) into `values`, or take its label out."""
    label = group.label
    horodate = group.horodate
    key = (label, group.data, horodate)
    value, stamp = _memo.get(key) or _memoize(key)
    if value is _INVALID:
        values.pop(label, None)
        timestamps.pop(label, None)
        return
    values[label] = value
    if horodate is not None:
        timestamps[label] = stamp
    elif label in timestamps:  # rare: most labels never carry a horodate (cheaper than pop)
        del timestamps[label]


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
    values, timestamps = _decode_groups(frame.groups)
    return _Normalized(values, values).reading(values, timestamps, received_at)


class FrameDecoder:
    """Decodes the frames of one stream, redoing only what the groups that changed affect.

    The framing parser hands out the very same `TicGroup` object for identical group bytes, so a
    group that is the same object as in the previous frame has the same value and horodate:
    only the groups that moved (clock, powers, the busy index) are decoded again, and only the
    normalized fields read from their labels are worked out again. A frame whose shape changed
    (a label added, gone or moved) is decoded in full.

    The dicts a `Reading` gets are never changed afterwards: a frame with changes works on
    copies, and a frame without any shares the previous frame's (read-only) mappings.
    """

    __slots__ = ("_groups", "_normalized", "_timestamps", "_values")

    def __init__(self) -> None:
        self._groups: tuple[TicGroup, ...] = ()
        self._values: dict[str, object] = {}
        self._timestamps: dict[str, datetime | None] = {}
        self._normalized = _Normalized(self._values, ())

    def decode(self, frame: TicFrame, received_at: datetime) -> Reading:
        """Like `decode_frame`, for the next frame of this stream."""
        groups = frame.groups
        previous = self._groups
        normalized = self._normalized
        # Tuples compare their items by identity first: ~2 ns a group when nothing moved.
        if groups == previous:
            return normalized.reading(self._values, self._timestamps, received_at)
        if len(groups) != len(previous):
            return self._decode_in_full(groups, received_at)
        values = self._values.copy()
        timestamps = self._timestamps.copy()
        stale: set[Part] = set()  # the parts of the normalized fields to work out again
        # Pairs whose group is not the very object of the previous frame, found at C speed
        # (the lengths are equal: strict=True would only cost time).
        for group, before in compress(
            zip(groups, previous, strict=False), map(is_not, groups, previous)
        ):
            label = group.label
            if label != before.label:
                return self._decode_in_full(groups, received_at)  # a label moved: a new shape
            _decode_into(group, values, timestamps)
            part = PART_OF.get(label)
            if part is not None:
                stale.add(part)
        get = values.get
        for part in stale:
            part(normalized, get)
        self._groups, self._values, self._timestamps = groups, values, timestamps
        return normalized.reading(values, timestamps, received_at)

    def _decode_in_full(self, groups: tuple[TicGroup, ...], received_at: datetime) -> Reading:
        values, timestamps = _decode_groups(groups)
        self._groups, self._values, self._timestamps = groups, values, timestamps
        self._normalized = normalized = _Normalized(values, {group.label for group in groups})
        return normalized.reading(values, timestamps, received_at)


type _Get = Callable[[str], Any]
"""``values.get``; the parts check the type of what they read."""


class _Normalized:
    """The normalized fields of a `Reading`, read from the decoded values by parts.

    Each ``update_*`` method works out some fields from the few labels it reads (`_READS`), so
    a `FrameDecoder` only redoes the parts whose labels changed: on a real meter most frames
    change the power and at most one register, never the address or the tariff option. The
    registers are looked up among those the frame sends, not among all the catalogue's.
    """

    __slots__ = (
        "_historic_sent",
        "_registers_sent",
        "export_energy_wh",
        "export_power_va",
        "import_energy_wh",
        "import_power_va",
        "import_registers_wh",
        "meter_clock",
        "meter_id",
        "tariff_index",
        "tariff_period",
    )

    def __init__(self, values: Mapping[str, object], sent: Container[str]) -> None:
        """The fields of `values`, decoded from a frame whose labels are in `sent`: the updates
        that follow must be for frames of the same labels."""
        self._registers_sent = tuple(label for label in _REGISTER_LABELS if label in sent)
        self._historic_sent = tuple(
            label for label in self._registers_sent if label in _HISTORIC_REGISTERS
        )
        get = values.get
        for part in _READS:
            part(self, get)

    def update_energy(self, get: _Get) -> None:
        # A register's value is an int, or it is left out (see `_REGISTER_LABELS`).
        registers: dict[str, int] = {
            label: wh for label in self._registers_sent if (wh := get(label)) is not None
        }
        import_energy = get("EAST")
        if type(import_energy) is not int:
            if self._historic_sent == self._registers_sent:
                historic: Collection[int] = registers.values()
            else:
                historic = [registers[label] for label in self._historic_sent if label in registers]
            import_energy = sum(historic) if historic else None
        self.import_registers_wh = registers
        self.import_energy_wh = import_energy

    def update_export_energy(self, get: _Get) -> None:
        self.export_energy_wh = _int_or_none(get("EAIT"))

    def update_import_power(self, get: _Get) -> None:
        import_power = get("SINSTS")
        if type(import_power) is not int:
            import_power = get("SINST1")
            if type(import_power) is not int:
                import_power = _int_or_none(get("PAPP"))
        self.import_power_va = import_power

    def update_export_power(self, get: _Get) -> None:
        self.export_power_va = _int_or_none(get("SINSTI"))

    def update_meter_id(self, get: _Get) -> None:
        self.meter_id = _str_or_none(get("ADSC")) or _str_or_none(get("ADCO")) or ""

    def update_tariff(self, get: _Get) -> None:
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
        self.tariff_period = tariff_period
        self.tariff_index = tariff_index

    def update_meter_clock(self, get: _Get) -> None:
        clock = get("DATE")
        self.meter_clock = clock if isinstance(clock, datetime) else None

    def reading(
        self,
        values: dict[str, object],
        timestamps: dict[str, datetime | None],
        received_at: datetime,
    ) -> Reading:
        """The Reading of these fields and of the values they were read from."""
        return build_reading(
            self.meter_id,
            received_at,
            values,
            timestamps,
            self.import_energy_wh,
            self.export_energy_wh,
            self.import_registers_wh,
            self.import_power_va,
            self.export_power_va,
            self.tariff_period,
            self.tariff_index,
            self.meter_clock,
        )


_READS: Final[dict[Part, tuple[str, ...]]] = {
    _Normalized.update_energy: ("EAST", *_REGISTER_LABELS),
    _Normalized.update_export_energy: ("EAIT",),
    _Normalized.update_import_power: ("SINSTS", "SINST1", "PAPP"),
    _Normalized.update_export_power: ("SINSTI",),
    _Normalized.update_meter_id: ("ADSC", "ADCO"),
    _Normalized.update_tariff: ("LTARF", "NTARF", "PTEC"),
    _Normalized.update_meter_clock: ("DATE",),
}
"""Every part of the normalized fields, with the labels it reads (and only those)."""

PART_OF: Final[dict[str, Part]] = {
    label: part for part, labels in _READS.items() for label in labels
}
