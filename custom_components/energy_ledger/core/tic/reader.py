"""Bytes in, `Reading`s out: what a TIC source runs on every chunk the serial line delivers.

`TicReader` does what `TicStreamParser`, short-frame completion and a `FrameDecoder` do one
after the other, with the very same results and counters, at a fraction of the cost on a live
meter. Three things make the difference:

- **Chunks wait for a frame control byte.** A chunk is only appended until one holds a STX,
  ETX or EOT (or enough bytes pile up to drop an oversize frame), then everything gathered is
  framed at once. The parser gives the same frames and counters for any chunking, so this
  changes nothing but the cost of the chunks in the middle of a frame.
- **A frame is compared with the previous one as raw bytes.** A meter sends the same labels
  in the same order every time and only a few values move, so the groups of a regular frame
  (``LF group CR`` repeated) are compared position by position with those of the previous
  frame, at C speed, and only the groups whose bytes differ are looked at: each one is
  validated, decoded and remembered once per distinct bytes (`Entry`), and only the
  normalized fields its label feeds are worked out again. No `TicGroup` or `TicFrame` is
  built for such a frame.
- **A moved group is checked against its own past.** Most groups that move are integers (an
  index, a power) or the meter clock, at the place they had, with the same label and layout:
  the new bytes are checked to keep that label, separators and a checksum that holds, with
  digits (or a valid horodate) where the value goes, which is what the text pattern and the
  decoding would find, for a third of their cost (`_new_entry`).

Anything else takes the general path, group by group: the first frame, a frame whose length
or labels changed, a group that fails its checksum, holds a stray CR or LF, or whose data do
not decode, a historic three-phase short frame. The general path is `TicStreamParser`'s own
framing followed by `complete_short_frame` and a `FrameDecoder`, and a regular frame it
delivers becomes the reference the next frames are compared with.

Only bytes that passed the full check of the locked dialect are remembered, and the comparison
is made only within that dialect, so the fast path accepts exactly what the general one would.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from itertools import compress
from operator import ne
from typing import Final

from ..reading import Reading
from .decode import (
    DATE_LABELS,
    INTEGER_LABELS,
    PART_OF,
    Entry,
    FrameDecoder,
    Part,
    decode_entry,
    normalized_fields,
)
from .framing import (
    FIELDS_OF,
    MAX_FRAME_BYTES,
    MAX_GROUP_BYTES,
    SEPARATOR,
    SEPARATOR_SUMMED,
    TicStreamParser,
)
from .horodate import HORODATE_LENGTH, horodate_value
from .model import TicFrame, TicGroup, TicMode
from .short_frames import complete_short_frame, is_short_frame

__all__ = ["RECENT_FRAMES", "TicReader"]

STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
HT: Final = 0x09
_MASK_7BIT: Final = bytes(b & 0x7F for b in range(256))

RECENT_FRAMES: Final = 5
"""Raw frames kept for diagnostics."""

_NOTHING: Final[list[Reading]] = []
"""What `read` returns for a chunk that completes no frame (shared: never to be changed)."""

_NOT_YET: Final = datetime(1970, 1, 1, tzinfo=UTC)

type _Shape = tuple[bool, bytes, int, str, Part | None, int]
"""How a group of the reference moves: whether it is a date (else an integer), its bytes up
to the moving part (label and separator), their length, its label, the part of the normalized
fields it feeds, and what its fixed bytes (all but the moving part) add to the checksum's sum."""


def _shape_of(group: TicGroup, dialect: str) -> _Shape | None:
    """The shape of `group` if it is an integer without horodate or a date; else None."""
    separator = SEPARATOR[dialect]
    prefix = f"{group.label}{chr(separator)}".encode()
    part = PART_OF.get(group.label)
    last_separator = separator if SEPARATOR_SUMMED[dialect] else 0
    if group.label in INTEGER_LABELS and group.horodate is None:
        # label SEP digits SEP checksum
        summed = sum(prefix) + last_separator
        return False, prefix, len(prefix), group.label, part, summed
    if group.label in DATE_LABELS and group.horodate is not None and not group.data:
        # label SEP horodate SEP (no data) SEP checksum
        summed = sum(prefix) + separator + last_separator
        return True, prefix, len(prefix), group.label, part, summed
    return None


class TicReader(TicStreamParser):
    """Incremental TIC reader: `read()` bytes, get one `Reading` per complete frame.

    Counters and detection are `TicStreamParser`'s (same values for the same bytes).
    """

    def __init__(self, mode: TicMode | None = None) -> None:
        self._pending = bytearray()
        """Bytes read but not framed yet: they hold no frame control byte."""
        self._framed_bytes = 0
        super().__init__(mode)
        self._room = MAX_FRAME_BYTES
        """Bytes `_pending` may hold before the frame being built is oversize."""
        self._received_at = _NOT_YET
        self._readings: list[Reading] = []
        self._decoder = FrameDecoder()
        self._recent: deque[bytes] = deque(maxlen=RECENT_FRAMES)
        self._last_long_body: bytes | None = None
        self._last_long_frame: TicFrame | None = None
        # The reference frame of the fast path (see the module docstring).
        self._reference_dialect: str | None = None
        self._raws: list[bytes] = []
        self._labels: list[str] = []
        self._stamped: frozenset[str] = frozenset()
        self._shapes: list[_Shape | None] = []
        """The shape of each reference group whose moves `_new_entry` checks in place."""
        self._separator = HT
        self._values: dict[str, object] = {}
        self._timestamps: dict[str, datetime | None] = {}
        self._fields = normalized_fields({}, ())
        self._entries: dict[bytes, Entry] = {}
        self._entries_dialect: str | None = None

    @property
    def bytes_received(self) -> int:
        """Bytes read so far (those held back included)."""
        return self._framed_bytes + len(self._pending)

    @bytes_received.setter
    def bytes_received(self, value: int) -> None:
        self._framed_bytes = value - len(self._pending)

    def reset(self) -> None:
        """Forget the partial frame, what was detected and the reference frame; keep counters."""
        self._framed_bytes += len(self._pending)
        self._pending.clear()
        super().reset()
        self._room = MAX_FRAME_BYTES
        self._reference_dialect = None

    def read(self, data: bytes, clock: Callable[[], datetime]) -> list[Reading]:
        """Consume `data` (any chunk of the stream); return the readings of the frames it
        completed, in order. They are received at `clock()`, asked only when a frame may have
        ended (not for every chunk in the middle of one)."""
        pending = self._pending
        pending += data
        # The middle of a frame: the cheapest tests first (a byte with its 8th bit set may be
        # a masked control byte, so it is framed at once).
        if (
            ETX not in data
            and STX not in data
            and EOT not in data
            and len(pending) <= self._room
            and data.isascii()
        ):
            return _NOTHING
        chunk = bytes(pending)
        pending.clear()
        self._framed_bytes += len(chunk)
        if not chunk.isascii():
            chunk = chunk.translate(_MASK_7BIT)
        self._received_at = clock()
        readings: list[Reading] = []
        self._readings = readings
        self._scan(chunk)  # frames come back through _complete_frame, as readings
        self._room = MAX_FRAME_BYTES - len(self._buffer)
        return readings

    def read_frame(self, frame: TicFrame, received_at: datetime) -> Reading:
        """The reading of a frame framed elsewhere (the one detection found), in this stream."""
        return self._decode(frame, None, received_at)

    def recent_frames(self) -> list[TicFrame]:
        """The last frames read, as the meter sent them (framed again: for diagnostics)."""
        return self._frame_again(self._recent)

    # -- frames -----------------------------------------------------------------------------

    def _complete_frame(self, body: bytes) -> TicFrame | None:
        """Turn the frame ended by ETX into a reading (kept for `read`); never a TicFrame."""
        dialect = self._dialect
        if (
            dialect is not None
            and dialect == self._reference_dialect
            and body[:1] == b"\n"
            and body[-1:] == b"\r"
        ):
            reading = self._read_like_reference(body[1:-1].split(b"\r\n"), dialect)
            if reading is not None:
                self._recent.append(body)
                self._last_long_body = body
                self._last_long_frame = None
                self._readings.append(reading)
                return None
        frame = super()._complete_frame(body)
        if frame is not None:
            self._recent.append(body)
            self._readings.append(self._decode(frame, body, self._received_at))
        return None

    def _read_like_reference(self, raws: list[bytes], dialect: str) -> Reading | None:
        """The reading of a regular frame of the reference's shape; None if it is not one
        (nothing is counted or changed then: the general path does it all)."""
        reference = self._raws
        if len(raws) != len(reference):
            return None
        labels = self._labels
        entries = self._entries
        values = self._values.copy()
        timestamps = self._timestamps
        stamped = self._stamped
        parts: set[Part] = set()
        for index in compress(range(len(raws)), map(ne, raws, reference)):
            raw = raws[index]
            entry = entries.get(raw) or self._new_entry(raw, index, dialect)
            if entry is None:
                return None
            label, value, stamp, has_horodate, part = entry
            if label != labels[index]:
                return None  # a label moved: a new shape
            values[label] = value
            if has_horodate:
                if label not in stamped:
                    return None  # a horodate came
                if timestamps is self._timestamps:
                    timestamps = timestamps.copy()
                timestamps[label] = stamp
            elif label in stamped:
                return None  # a horodate went
            if part is not None:
                parts.add(part)
        if len(entries) > self.MEMO_MAX_ENTRIES:
            entries.clear()
        fields = self._fields
        get = values.get
        for part in parts:
            part(fields, get)
        self._raws = raws
        self._values = values
        self._timestamps = timestamps
        self.frames_valid += 1
        self.groups_valid += len(raws)
        return fields.reading(values, timestamps, self._received_at)

    def _new_entry(self, raw: bytes, index: int, dialect: str) -> Entry | None:
        """Check and decode the bytes of the group at `index` never seen before; remember
        them if valid."""
        entry: Entry | None = None
        shape = self._shapes[index]
        if shape is not None and raw.startswith(shape[1]) and len(raw) <= MAX_GROUP_BYTES:
            # The label, the separators and the layout of the reference group, with new digits
            # or a new clock, and the checksum summed over those only (the fixed bytes' share is
            # in the shape): what the full check and decoding would find, for a third of their
            # cost. Anything else is left to them.
            is_clock, _prefix, start, label, part, summed = shape
            separator = self._separator
            if is_clock:
                end = start + HORODATE_LENGTH
                moving = raw[start:end]
                if (
                    len(raw) == end + 3
                    and raw[end] == separator
                    and raw[-2] == separator
                    and ((summed + sum(moving)) & 0x3F) + 0x20 == raw[-1]
                    and (stamp := horodate_value(moving.decode("latin-1"))) is not None
                ):
                    entry = (label, stamp, stamp, True, part)
            else:
                moving = raw[start:-2]
                if (
                    raw[-2] == separator
                    and moving.isdigit()
                    and ((summed + sum(moving)) & 0x3F) + 0x20 == raw[-1]
                ):
                    entry = (label, int(moving), None, False, part)
        if entry is None:
            found = FIELDS_OF[dialect](raw)  # a stray CR or LF fails it too
            if found is None:
                return None
            entry = decode_entry(*found)
            if entry is None:
                return None
        self._entries[raw] = entry
        return entry

    def _decode(self, frame: TicFrame, body: bytes | None, received_at: datetime) -> Reading:
        """The general path: complete a short frame, decode, and take a regular long frame
        whose groups are all valid and decodable as the new reference."""
        if is_short_frame(frame):
            last_long = self.last_long_frame()
            if last_long is not None:
                frame = complete_short_frame(frame, last_long)
            return self._decoder.decode(frame, received_at)
        self._last_long_frame = frame
        self._last_long_body = None
        reading = self._decoder.decode(frame, received_at)
        self._reference_dialect = None
        if body is None or body[:1] != b"\n" or body[-1:] != b"\r":
            return reading
        raws = body[1:-1].split(b"\r\n")
        labels = [group.label for group in frame.groups]
        values = reading.values
        if len(raws) != len(labels) or len(values) != len(labels):
            return reading  # a group was rejected or did not decode, or a label came twice
        dialect = self._dialect
        if dialect is None:  # pragma: no cover - a delivered frame locked the dialect
            return reading
        if self._entries_dialect != dialect:
            self._entries.clear()
            self._entries_dialect = dialect
        self._raws = raws
        self._labels = labels
        self._stamped = frozenset(
            group.label for group in frame.groups if group.horodate is not None
        )
        self._separator = SEPARATOR[dialect]
        self._shapes = [_shape_of(group, dialect) for group in frame.groups]
        self._values = dict(values)
        self._timestamps = dict(reading.timestamps)
        self._fields = normalized_fields(values, labels)
        self._reference_dialect = dialect
        return reading

    def last_long_frame(self) -> TicFrame | None:
        """The last frame that was not a short frame (what completes short frames, and tells
        what the meter is in diagnostics), framed again if it came by the fast path."""
        if self._last_long_frame is None and self._last_long_body is not None:
            frames = self._frame_again((self._last_long_body,))
            self._last_long_frame = frames[0] if frames else None
        return self._last_long_frame

    def _frame_again(self, bodies: Iterable[bytes]) -> list[TicFrame]:
        """The frames of bodies this reader delivered, framed again in its dialect, without
        touching its counters."""
        parser = TicStreamParser(self.mode)
        parser._dialect = self._dialect  # the same framing, same dialect
        return [frame for body in bodies for frame in parser.feed(b"\x02" + body + b"\x03")]
