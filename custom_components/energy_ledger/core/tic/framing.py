"""Byte-level TIC framing: a serial byte stream in, checksum-valid frames out.

`TicStreamParser.feed()` takes whatever the serial line delivered (any chunking: one byte at a
time gives exactly the same frames and counters as the whole stream at once) and returns the
frames it completed. The rules (see ``docs/tic-protocol.md``):

- every byte is masked to 7 bits, so an adapter configured 8N1 reads like a 7E1 one;
- everything before the first STX is discarded (a stream starts mid-frame), and so is anything
  between ETX and the next STX;
- a frame is STX ... ETX; EOT drops the partial frame, and so does a STX inside a frame (which
  also starts the next frame): the valid groups of a dropped frame, and the group it cut, are
  counted as ``interrupted``;
- a group is LF ... CR; a LF before the CR ends the current group (rejected as ``malformed``)
  and starts a new one, so a group whose CR was corrupted loses only itself; bytes between a CR
  and the next LF are a lost group (``malformed``);
- standard group ``LABEL HT [HORODATE HT] DATA HT CHECKSUM``, historic group
  ``LABEL SP DATA SP CHECKSUM`` (checksum mode 1 or 2). Labels are 1 to `MAX_LABEL_CHARS` of
  ``A-Z 0-9 + -``, a horodate is ``[HhEe ]`` + 12 digits, data is printable ASCII (no HT), the
  checksum character is in 0x20-0x5F and may be a space: groups are never stripped;
- a rejected group is counted by reason (`REJECT_REASONS`) and left out; a frame is delivered
  with its valid groups, unless it has none.

Detection: with ``mode=None`` each group's dialect is told by its separator (a standard group
always holds a HT, a historic one never does) and by the checksum that validates it (standard,
historic mode 1 or historic mode 2). The first complete frame with valid groups locks the dialect
its groups agree on (majority; groups of another dialect in that frame are rejected: ``malformed``
for the other mode, ``checksum`` for the other historic variant) and `mode` with it. Locking the
historic variant too matters: accepting both variants forever would let any change of a byte by
32 through (``HCJB`` read as ``HCjB``), where one variant only lets changes by 64 through. A
parser built with a mode keeps it and only detects the historic variant. `reset()` unlocks.

Memory is bounded: a frame is dropped (one ``oversize``) as soon as more than `MAX_FRAME_BYTES`
of it are buffered, so the buffer never holds more than that plus one chunk, and nothing is
buffered outside a frame.

Speed: whole chunks are handled with C-level bytes methods. A group's validation depends on its
bytes only, so every group that validated is memoized (raw bytes -> `TicGroup`, one memo per
dialect, cleared once it holds more than `MEMO_MAX_ENTRIES`): on a real meter most groups repeat
from frame to frame and are accepted by one dict lookup. Only bytes that passed the full check of
a dialect are ever stored in that dialect's memo, and a locked parser consults only its own, so
the memo cannot accept anything the check would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any, ClassVar, Final, cast

from .checksum import checksum_standard, historic_checksum_mode
from .model import TicFrame, TicGroup, TicMode

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_GROUP_BYTES",
    "MAX_LABEL_CHARS",
    "REJECT_REASONS",
    "TicStreamParser",
]

# Byte values as ints: `int in bytes` and `bytes.find(int)` are the fastest tests CPython has.
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
LF: Final = 0x0A
CR: Final = 0x0D
HT: Final = 0x09
SP: Final = 0x20

CHECKSUM: Final = "checksum"
MALFORMED: Final = "malformed"
INTERRUPTED: Final = "interrupted"
OVERSIZE: Final = "oversize"
REJECT_REASONS: Final = (CHECKSUM, MALFORMED, INTERRUPTED, OVERSIZE)
"""Why groups are rejected; the keys of `TicStreamParser.rejected`."""

MAX_LABEL_CHARS: Final = 9
"""Longest label accepted. The protocol notes say 8, but real three-phase standard frames carry
SMAXSN1-1, SMAXSN2-1 and SMAXSN3-1 (9 characters, checksum-valid in the captures)."""
MAX_GROUP_BYTES: Final = 128
"""Longest group accepted, LF and CR excluded (longer: ``oversize``). The longest real groups
(PJOURF+1, PPOINTE: 8-char label + 98 data chars) are 110 bytes."""
MAX_FRAME_BYTES: Final = 4096
"""Longest frame buffered, STX and ETX excluded (longer: dropped, one ``oversize``). A standard
three-phase producer frame with every optional group is about 2 kB (three-phase: 1.3 kB)."""

# Dialects: a mode plus, in historic mode, the checksum variant.
_STANDARD: Final = "standard"
_HISTORIC_1: Final = "historic mode 1"
_HISTORIC_2: Final = "historic mode 2"
_MODE_OF: Final = {
    _STANDARD: TicMode.STANDARD,
    _HISTORIC_1: TicMode.HISTORIC,
    _HISTORIC_2: TicMode.HISTORIC,
}

_MASK_7BIT: Final = bytes(b & 0x7F for b in range(256))
# Used with fullmatch on the group's text (bytes decoded one to one): printable ASCII only, no HT
# inside the data, checksum character in 0x20-0x5F. Matching the text rather than the bytes
# hands back the fields already decoded.
_LABEL: Final = rf"([A-Z0-9+\-]{{1,{MAX_LABEL_CHARS}}})"
_STANDARD_GROUP: Final = re.compile(_LABEL + "\t(?:([HhEe ][0-9]{12})\t)?([ -~]*)\t[ -_]")
_HISTORIC_GROUP: Final = re.compile(_LABEL + " ([ -~]*) [ -_]")
_PRINTABLE_OR_HT: Final = b"\t" + bytes(range(0x20, 0x7F))


class _UnfrozenGroup:
    """A `TicGroup`'s slots without its frozen ``__setattr__`` (see `_make_group_factory`)."""

    __slots__ = tuple(field.name for field in fields(TicGroup))


def _make_group_factory() -> Callable[[str, str, str | None], TicGroup]:
    """A `TicGroup` constructor that skips the frozen dataclass ``__init__`` when it can.

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``, about half of what building a group costs. An `_UnfrozenGroup` has
    the very same slots, filled by plain attribute stores (which CPython specializes), and then
    becomes a `TicGroup` by ``__class__`` assignment, which CPython allows between classes of
    identical slots (as `reading.build_reading` does): the very same, still frozen, object.
    Any other layout of `TicGroup` gets the plain constructor.
    """
    if getattr(TicGroup, "__slots__", None) != _UnfrozenGroup.__slots__:
        return TicGroup  # pragma: no cover - model.py changed shape
    new = object.__new__

    def make(label: str, data: str, horodate: str | None) -> TicGroup:
        group: Any = new(_UnfrozenGroup)
        group.label = label
        group.data = data
        group.horodate = horodate
        group.__class__ = TicGroup
        return cast(TicGroup, group)

    return make


_new_group: Final = _make_group_factory()


def _make_frame_factory() -> Callable[[TicMode, tuple[TicGroup, ...]], TicFrame]:
    """A `TicFrame` constructor that skips the frozen dataclass ``__init__``, like
    `_make_group_factory` (once per frame, it saves a third of a microsecond)."""
    if getattr(TicFrame, "__slots__", None) != ("mode", "groups"):
        return TicFrame  # pragma: no cover - model.py changed shape
    new = object.__new__
    set_mode = TicFrame.__dict__["mode"].__set__
    set_groups = TicFrame.__dict__["groups"].__set__

    def make(mode: TicMode, groups: tuple[TicGroup, ...]) -> TicFrame:
        frame = new(TicFrame)
        set_mode(frame, mode)
        set_groups(frame, groups)
        return frame

    return make


_new_frame: Final = _make_frame_factory()


_MIN_STANDARD_BYTES: Final = 4
"""Shortest standard group: a 1-character label, HT, HT, checksum."""

type GroupFields = tuple[str, str, str | None]
"""A valid group's label, data and horodate, before they become a `TicGroup` (or, in
`TicReader`, a decoded entry)."""


def _standard_sum_ok(raw: bytes) -> bool:
    """The standard checksum of the group in `raw` holds (length within bounds)."""
    # The checksum of label...last HT, written out: the sum of the whole group minus its last
    # byte saves the slice and the call of checksum_standard() on the path of every new group.
    if not _MIN_STANDARD_BYTES <= len(raw) <= MAX_GROUP_BYTES:
        return False
    check = raw[-1]
    return ((sum(raw) - check) & 0x3F) + 0x20 == check


def _standard_fields(raw: bytes) -> GroupFields | None:
    """The fields of the standard group in `raw` (the bytes between LF and CR), or None if it
    is not valid."""
    if not _standard_sum_ok(raw):
        return None
    match = _STANDARD_GROUP.fullmatch(raw.decode("latin-1"))
    if match is None:
        return None
    label, horodate, data = match.groups()
    return label, data, horodate


_MIN_HISTORIC_BYTES: Final = 4
"""Shortest historic group: a 1-character label, SP, SP, checksum."""


# The two variants of `historic_checksum_mode`, written out: a new group is checked by one call.
def _historic_1_sum_ok(raw: bytes) -> bool:
    """The historic mode 1 checksum of the group in `raw` holds (length within bounds)."""
    if not _MIN_HISTORIC_BYTES <= len(raw) <= MAX_GROUP_BYTES:
        return False
    check = raw[-1]
    return ((sum(raw) - check - raw[-2]) & 0x3F) + 0x20 == check


def _historic_2_sum_ok(raw: bytes) -> bool:
    """The historic mode 2 checksum of the group in `raw` holds (length within bounds)."""
    if not _MIN_HISTORIC_BYTES <= len(raw) <= MAX_GROUP_BYTES:
        return False
    check = raw[-1]
    mode1 = ((sum(raw) - check - raw[-2]) & 0x3F) + 0x20
    return (mode1 & 0x3F) + 0x20 == check


def _historic_fields(raw: bytes) -> GroupFields | None:
    """The fields of the historic group in `raw`, whose checksum holds, or None if its shape
    is wrong."""
    match = _HISTORIC_GROUP.fullmatch(raw.decode("latin-1"))
    if match is None:
        return None
    label, data = match.groups()
    return label, data, None


def _historic_1_fields(raw: bytes) -> GroupFields | None:
    """The fields of the historic group in `raw` if it is valid with checksum mode 1."""
    return _historic_fields(raw) if _historic_1_sum_ok(raw) else None


def _historic_2_fields(raw: bytes) -> GroupFields | None:
    """The fields of the historic group in `raw` if it is valid with checksum mode 2."""
    return _historic_fields(raw) if _historic_2_sum_ok(raw) else None


SEPARATOR: Final = {_STANDARD: HT, _HISTORIC_1: SP, _HISTORIC_2: SP}
"""The byte between the fields of a group, in each dialect."""
SEPARATOR_SUMMED: Final = {_STANDARD: True, _HISTORIC_1: False, _HISTORIC_2: True}
"""Whether the checksum covers the separator before it (the checksums above: all the bytes
before the checksum character, that separator excepted in historic mode 1)."""

FIELDS_OF: Final[dict[str, Callable[[bytes], GroupFields | None]]] = {
    _STANDARD: _standard_fields,
    _HISTORIC_1: _historic_1_fields,
    _HISTORIC_2: _historic_2_fields,
}
"""The full check of each dialect: a group's bytes (between LF and CR) -> its fields, or None
when they are not a valid group of that dialect."""


def _group_check(
    fields_of: Callable[[bytes], GroupFields | None],
) -> Callable[[bytes], TicGroup | None]:
    """The check of a dialect that hands out a `TicGroup`, for the memo."""

    def check(raw: bytes) -> TicGroup | None:
        found = fields_of(raw)
        return None if found is None else _new_group(*found)

    return check


_CHECKS: Final[dict[str, Callable[[bytes], TicGroup | None]]] = {
    dialect: _group_check(fields_of) for dialect, fields_of in FIELDS_OF.items()
}


def _dialects_for(raw: bytes) -> tuple[str, ...]:
    """The dialects `raw` could be valid in: a standard group always holds a HT, a historic one
    never does (the two group patterns exclude each other)."""
    return (_STANDARD,) if HT in raw else (_HISTORIC_1, _HISTORIC_2)


def _classify(raw: bytes) -> tuple[str, TicGroup] | None:
    """The one dialect `raw` is valid in, with its group; None if it is valid in none."""
    for dialect in _dialects_for(raw):
        group = _CHECKS[dialect](raw)
        if group is not None:
            return dialect, group
    return None


def _reject_reason(raw: bytes) -> str:
    """Why `raw`, valid in no dialect, is rejected."""
    if len(raw) > MAX_GROUP_BYTES:
        return OVERSIZE
    standard = HT in raw
    if len(raw) < 3 or raw[-2] != (HT if standard else SP) or raw.translate(None, _PRINTABLE_OR_HT):
        return MALFORMED
    # Printable, with a separator before the last character: if the checksum fails, call it a
    # checksum error (the usual line noise); if it holds, the shape is wrong (label, horodate...).
    if standard:
        sum_ok = checksum_standard(raw[:-1]) == raw[-1]
    else:
        sum_ok = historic_checksum_mode(raw) is not None
    return MALFORMED if sum_ok else CHECKSUM


def _mismatch_reason(dialect: str, frame_dialect: str) -> str:
    """Why a group valid in `dialect` is rejected from a frame of `frame_dialect`."""
    if _MODE_OF[dialect] is _MODE_OF[frame_dialect]:
        return CHECKSUM  # the other historic checksum variant
    return MALFORMED  # the other mode


def _reason_in(raw: bytes, frame_dialect: str) -> str:
    """Why `raw` is rejected from a frame of `frame_dialect` (whose check it failed)."""
    found = _classify(raw)
    if found is not None:
        return _mismatch_reason(found[0], frame_dialect)
    return _reject_reason(raw)


class _IrregularFrameError(Exception):
    """A group the memo was asked about holds a stray CR or LF: the frame is not regular."""


class _Memo(dict[bytes, TicGroup]):
    """The validated groups of one dialect, by their raw bytes, that checks what it misses.

    ``memo[raw]`` returns the memoized group; for bytes it does not know, `__missing__` runs
    the full check of the dialect, memoizes the group if it is valid, and otherwise returns
    None (so ``memo[raw]`` is really ``TicGroup | None``) and notes the bytes in `invalid`
    for the parser to count. ``map(memo.__getitem__, raw_groups)`` thus checks a whole frame,
    at C speed for the groups that repeat. Only valid groups are ever stored.
    """

    def __init__(self, check: Callable[[bytes], TicGroup | None]) -> None:
        super().__init__()
        self.check = check
        self.invalid: list[bytes] = []

    def __missing__(self, raw: bytes) -> TicGroup | None:
        if CR in raw or LF in raw:
            raise _IrregularFrameError
        group = self.check(raw)
        if group is None:
            self.invalid.append(raw)
        else:
            self[raw] = group
        return group


class TicStreamParser:
    """Incremental TIC parser: `feed()` bytes, get complete frames of checksum-valid groups.

    Counters (kept by `reset()`): `bytes_received`, `frames_valid` (frames delivered),
    `groups_valid` (groups delivered) and `rejected` (reason -> groups, see `REJECT_REASONS`).
    """

    MEMO_MAX_ENTRIES: ClassVar[int] = 4096
    """Validated groups remembered per dialect: a memo that holds more after a frame is cleared
    (0 disables memoization, every group is then checked: the benchmark's worst case)."""

    def __init__(self, mode: TicMode | None = None) -> None:
        self._configured_mode = mode
        self._mode = mode
        self._dialect = _STANDARD if mode is TicMode.STANDARD else None
        self._in_frame = False
        self._buffer = bytearray()
        self._memos = {dialect: _Memo(check) for dialect, check in _CHECKS.items()}
        self.bytes_received = 0
        self.frames_valid = 0
        self.groups_valid = 0
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)

    @property
    def mode(self) -> TicMode | None:
        """The mode given, or the one detected from the first complete frame (None until then)."""
        return self._mode

    def reset(self) -> None:
        """Forget the partial frame and what was detected (a given mode stays); keep counters.

        The memo is kept: it depends only on the bytes of each group, not on the stream.
        """
        self._mode = self._configured_mode
        self._dialect = _STANDARD if self._mode is TicMode.STANDARD else None
        self._in_frame = False
        self._buffer.clear()

    def feed(self, data: bytes) -> list[TicFrame]:
        """Consume `data` (any chunk of the stream); return the frames it completed, in order."""
        self.bytes_received += len(data)
        if not data.isascii():
            data = data.translate(_MASK_7BIT)
        # Fast exits for the most common chunks: the middle of a frame, or noise before a STX.
        if self._in_frame:
            if ETX not in data and STX not in data and EOT not in data:
                buffer = self._buffer
                buffer += data
                if len(buffer) > MAX_FRAME_BYTES:
                    self._drop_oversize()
                return []
        elif STX not in data:
            return []  # nothing is kept outside a frame
        return self._scan(bytes(data))  # bytes(bytes) is no copy; no bytearray for memo keys

    def _scan(self, data: bytes) -> list[TicFrame]:
        """`feed()` for a chunk holding at least one frame control byte."""
        frames: list[TicFrame] = []
        buffer = self._buffer
        size = len(data)
        pos = 0
        while True:
            if not self._in_frame:
                start = data.find(STX, pos)
                if start < 0:
                    return frames  # nothing is kept outside a frame
                self._in_frame = True
                pos = start + 1
            # The first frame control byte (ETX, EOT or STX) at or after pos, else size.
            stop = data.find(ETX, pos)
            if stop < 0:
                stop = size
            other = data.find(STX, pos, stop)
            if other >= 0:
                stop = other
            other = data.find(EOT, pos, stop)
            if other >= 0:
                stop = other
            if stop == size:
                buffer += data[pos:]
                if len(buffer) > MAX_FRAME_BYTES:
                    self._drop_oversize()
                return frames
            if buffer:
                buffer += data[pos:stop]
                body = bytes(buffer)
                buffer.clear()
            else:
                body = data[pos:stop]
            code = data[stop]
            pos = stop + 1
            if len(body) > MAX_FRAME_BYTES:
                self._drop_oversize()
                self._in_frame = code == STX
            elif code == ETX:
                self._in_frame = False
                frame = self._complete_frame(body)
                if frame is not None:
                    frames.append(frame)
            else:  # EOT, or a STX that restarts the frame
                self._in_frame = code == STX
                self._interrupt_frame(body)

    # -- frames ---------------------------------------------------------------------------------

    def _drop_oversize(self) -> None:
        self.rejected[OVERSIZE] += 1
        self._buffer.clear()
        self._in_frame = False

    def _complete_frame(self, body: bytes) -> TicFrame | None:
        """Build the frame ended by ETX, or None when none of its groups is valid."""
        dialect = self._dialect
        if dialect is not None and body[:1] == b"\n" and body[-1:] == b"\r":
            # Fast path for the regular shape LF g1 CR LF g2 CR ... LF gn CR: splitting on CRLF
            # yields the groups, provided none of them holds a stray CR or LF. A memoized group
            # holds none, so only the groups the memo does not know need that check (_Memo
            # does it); if one fails, the frame takes the general path below.
            memo = self._memos[dialect]
            try:
                found: tuple[TicGroup | None, ...] = tuple(
                    map(memo.__getitem__, body[1:-1].split(b"\r\n"))
                )
            except _IrregularFrameError:
                memo.invalid.clear()  # nothing counted yet: the general path does it all
            else:
                if len(memo) > self.MEMO_MAX_ENTRIES:  # the only memo the fast path fills
                    memo.clear()
                if not memo.invalid:
                    return self._deliver(dialect, cast(tuple[TicGroup, ...], found))
                for raw in memo.invalid:
                    self.rejected[_reason_in(raw, dialect)] += 1
                memo.invalid.clear()
                return self._deliver(dialect, tuple(filter(None, found)))
        candidates = self._split_groups(body, interrupted=False)
        self._trim_memos()
        if dialect is None:
            dialect = self._detect(candidates)
        kept: list[TicGroup] = []
        for group_dialect, group in candidates:
            if group_dialect == dialect:
                kept.append(group)
            else:
                self.rejected[_mismatch_reason(group_dialect, dialect)] += 1
        return self._deliver(dialect, tuple(kept))

    def _detect(self, candidates: list[tuple[str, TicGroup]]) -> str:
        """The dialect most valid groups of the first frame agree on (ties: standard, mode 1)."""
        mode = self._mode
        if mode is None:
            standard = sum(1 for dialect, _group in candidates if dialect == _STANDARD)
            mode = TicMode.STANDARD if standard * 2 >= len(candidates) else TicMode.HISTORIC
        if mode is TicMode.STANDARD:
            return _STANDARD
        variant_2 = sum(1 for dialect, _group in candidates if dialect == _HISTORIC_2)
        variant_1 = sum(1 for dialect, _group in candidates if dialect == _HISTORIC_1)
        return _HISTORIC_2 if variant_2 > variant_1 else _HISTORIC_1

    def _deliver(self, dialect: str, groups: tuple[TicGroup, ...]) -> TicFrame | None:
        if not groups:
            return None
        self._dialect = dialect
        self._mode = mode = _MODE_OF[dialect]
        self.frames_valid += 1
        self.groups_valid += len(groups)
        return _new_frame(mode, groups)

    def _interrupt_frame(self, body: bytes) -> None:
        """Drop a partial frame (EOT, or STX before ETX): its valid groups count as interrupted."""
        candidates = self._split_groups(body, interrupted=True)
        self._trim_memos()
        self.rejected[INTERRUPTED] += len(candidates)

    def _trim_memos(self) -> None:
        """Clear a memo that holds more than `MEMO_MAX_ENTRIES` (after a frame: while a frame
        is being built, its groups may be in the memo only)."""
        for memo in self._memos.values():
            if len(memo) > self.MEMO_MAX_ENTRIES:
                memo.clear()

    # -- groups ---------------------------------------------------------------------------------

    def _split_groups(self, body: bytes, *, interrupted: bool) -> list[tuple[str, TicGroup]]:
        """The valid groups of a frame body (any shape) with their dialect; counts the rest.

        A LF starts a group and a CR ends it; bytes outside LF...CR are a lost group (malformed);
        a LF before the CR ends the group without a CR (malformed) and starts the next one. The
        group still open when the frame ends is malformed, or interrupted if the frame is.
        """
        valid: list[tuple[str, TicGroup]] = []
        rejected = self.rejected
        pieces = body.split(b"\n")
        if pieces[0]:
            rejected[MALFORMED] += 1  # bytes before the first LF
        last = len(pieces) - 1
        for index in range(1, last + 1):
            piece = pieces[index]
            cr = piece.find(CR)
            if cr < 0:
                if index == last and interrupted:
                    if piece:
                        rejected[INTERRUPTED] += 1
                elif piece or index < last:
                    rejected[MALFORMED] += 1  # a group that never saw its CR
                continue
            raw = piece[:cr]
            found = self._lookup(raw)
            if found is None:
                rejected[_reject_reason(raw)] += 1
            else:
                valid.append(found)
            if cr + 1 < len(piece):
                rejected[MALFORMED] += 1  # bytes between a CR and the next LF
        return valid

    def _lookup(self, raw: bytes) -> tuple[str, TicGroup] | None:
        """`_classify(raw)` through the memos (general path), memoizing what validates."""
        for dialect in _dialects_for(raw):
            group = self._memos[dialect].get(raw)
            if group is not None:
                return dialect, group
        found = _classify(raw)
        if found is not None:
            self._memos[found[0]][raw] = found[1]
        return found
