"""Byte-level TIC framing: a serial byte stream in, checksum-valid frames out.

`TicStreamParser.feed()` takes whatever the serial line delivered (any chunking: one byte at a
time gives exactly the same frames and counters as the whole stream at once) and returns the
frames it completed. The rules (see ``docs/tic-protocol.md``):

- every byte is masked to 7 bits, so an adapter configured 8N1 reads like a 7E1 one;
- everything before the first STX is discarded (a stream starts mid-frame), and so is anything
  between ETX and the next STX;
- a frame is STX ... ETX; EOT drops the partial frame, and so does a STX inside a frame (which
  also starts the next frame): the groups of a dropped frame are counted as ``interrupted``;
- a group is LF ... CR; a LF before the CR ends the current group (which is rejected as
  ``malformed``) and starts a new one, so a group whose CR was corrupted loses only itself;
- standard group ``LABEL HT [HORODATE HT] DATA HT CHECKSUM``, historic group
  ``LABEL SP DATA SP CHECKSUM`` (checksum mode 1 or 2). The checksum character may be a space:
  groups are never stripped;
- a rejected group is counted by reason (`REJECT_REASONS`) and left out; a frame is delivered
  with its valid groups, unless it has none.

Mode detection: with ``mode=None`` each group's dialect is told by its separator (a standard group
always has a HT, a historic group never does) and by the checksum that validates it; the first
complete frame with valid groups locks `mode` to its dialect (the majority of its valid groups;
groups of the other dialect in that frame are rejected as ``malformed``). From then on groups of
the other dialect are rejected as ``malformed`` until `reset()`.

Memory is bounded: at most `MAX_FRAME_BYTES` of a frame are buffered (a longer frame is dropped
and counted as ``oversize``) and nothing is buffered outside a frame.

Speed: whole chunks are handled with C-level bytes methods. A group's validation depends on its
bytes only, so every group that validated is memoized (raw bytes -> `TicGroup`, one memo per
dialect, cleared when it exceeds `MEMO_MAX_ENTRIES`): on a real meter most groups repeat from
frame to frame and are accepted by one dict lookup. Only bytes that passed the full check are
ever stored, so the memo cannot accept anything the check would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, Final, cast

from .checksum import checksum_standard, historic_checksum_ok
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
"""Longest group accepted, LF and CR excluded. The longest real groups (PJOURF+1, PPOINTE:
8-char label + 98 data chars) are 110 bytes."""
MAX_FRAME_BYTES: Final = 4096
"""Longest frame buffered, STX and ETX excluded: a standard three-phase producer frame with every
optional group is about 2 kB (three-phase consumer: 1.3 kB)."""

_MASK_7BIT: Final = bytes(b & 0x7F for b in range(256))
_LABEL: Final = rb"([A-Z0-9+\-]{1,%d})" % MAX_LABEL_CHARS
_STANDARD_GROUP: Final = re.compile(
    _LABEL + rb"\t(?:([HhEe ][0-9]{12})\t)?([ -~]*)\t[ -_]"
)  # fullmatch; printable ASCII only, no HT inside the data, checksum char in 0x20-0x5F
_HISTORIC_GROUP: Final = re.compile(_LABEL + rb" ([ -~]*) [ -_]")
_PRINTABLE_OR_HT: Final = b"\t" + bytes(range(0x20, 0x7F))


def _make_group_factory() -> Callable[[str, str, str | None], TicGroup]:
    """A `TicGroup` constructor that skips the frozen dataclass ``__init__`` when it can.

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__`` (about 0.9 µs); writing the three slots directly gives the very same
    object in about half the time. Validation builds one group per new value on a live meter,
    so this is worth it; any other layout of `TicGroup` falls back to the constructor.
    """
    if getattr(TicGroup, "__slots__", None) != ("label", "data", "horodate"):
        return TicGroup  # pragma: no cover - model.py changed shape
    new = object.__new__
    set_label = TicGroup.__dict__["label"].__set__
    set_data = TicGroup.__dict__["data"].__set__
    set_horodate = TicGroup.__dict__["horodate"].__set__

    def make(label: str, data: str, horodate: str | None) -> TicGroup:
        group = new(TicGroup)
        set_label(group, label)
        set_data(group, data)
        set_horodate(group, horodate)
        return group

    return make


_new_group: Final = _make_group_factory()


def _check_standard(raw: bytes) -> TicGroup | None:
    """The standard group in `raw` (the bytes between LF and CR), or None if it is not valid."""
    if len(raw) > MAX_GROUP_BYTES:
        return None
    match = _STANDARD_GROUP.fullmatch(raw)
    if match is None or checksum_standard(raw[:-1]) != raw[-1]:
        return None
    label, horodate, data = match.groups()
    return _new_group(
        label.decode("ascii"),
        data.decode("ascii"),
        None if horodate is None else horodate.decode("ascii"),
    )


def _check_historic(raw: bytes) -> TicGroup | None:
    """The historic group in `raw` (the bytes between LF and CR), or None if it is not valid."""
    if len(raw) > MAX_GROUP_BYTES:
        return None
    match = _HISTORIC_GROUP.fullmatch(raw)
    if match is None or not historic_checksum_ok(raw[:-2], raw[-1]):
        return None
    label, data = match.groups()
    return _new_group(label.decode("ascii"), data.decode("ascii"), None)


_CHECKS: Final[dict[TicMode, Callable[[bytes], TicGroup | None]]] = {
    TicMode.STANDARD: _check_standard,
    TicMode.HISTORIC: _check_historic,
}


def _group_mode(raw: bytes) -> TicMode:
    """The only dialect `raw` can be valid in: a standard group always holds a HT, a historic
    group never does (the two group patterns exclude each other)."""
    return TicMode.STANDARD if HT in raw else TicMode.HISTORIC


def _reject_reason(raw: bytes) -> str:
    """Why `raw`, which failed the check of its dialect, is rejected."""
    if len(raw) > MAX_GROUP_BYTES:
        return OVERSIZE
    standard = HT in raw
    separator = HT if standard else SP
    if len(raw) < 3 or raw[-2] != separator or raw.translate(None, _PRINTABLE_OR_HT):
        return MALFORMED
    # Printable, with a separator before the last character: if the checksum fails, call it a
    # checksum error (the usual line noise); if it holds, the shape is wrong (label, horodate...).
    if standard:
        sum_ok = checksum_standard(raw[:-1]) == raw[-1]
    else:
        sum_ok = historic_checksum_ok(raw[:-2], raw[-1])
    return MALFORMED if sum_ok else CHECKSUM


def _reason_in(raw: bytes, mode: TicMode) -> str:
    """Why `raw` is rejected from a frame of dialect `mode` (whose check it failed)."""
    own = _group_mode(raw)
    if own is not mode and _CHECKS[own](raw) is not None:
        return MALFORMED  # a valid group, but of the other dialect
    return _reject_reason(raw)


class TicStreamParser:
    """Incremental TIC parser: `feed()` bytes, get complete frames of checksum-valid groups.

    Counters (kept by `reset()`): `bytes_received`, `frames_valid` (frames delivered),
    `groups_valid` (groups delivered) and `rejected` (reason -> groups, see `REJECT_REASONS`).
    """

    MEMO_MAX_ENTRIES: ClassVar[int] = 4096
    """Validated groups remembered per dialect; the memo is cleared when it would exceed this
    (0 disables memoization, every group is then checked: the benchmark's worst case)."""

    def __init__(self, mode: TicMode | None = None) -> None:
        self._configured_mode = mode
        self._mode = mode
        self._in_frame = False
        self._buffer = bytearray()
        self._memos: dict[TicMode, dict[bytes, TicGroup]] = {
            TicMode.STANDARD: {},
            TicMode.HISTORIC: {},
        }
        self.bytes_received = 0
        self.frames_valid = 0
        self.groups_valid = 0
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)

    @property
    def mode(self) -> TicMode | None:
        """The dialect: the one given, or the one detected from the first complete frame."""
        return self._mode

    def reset(self) -> None:
        """Forget the partial frame and the detected mode (a configured mode stays); keep counters.

        The memo is kept: it depends only on the bytes of each group, not on the stream.
        """
        self._mode = self._configured_mode
        self._in_frame = False
        self._buffer.clear()

    def feed(self, data: bytes) -> list[TicFrame]:
        """Consume `data` (any chunk of the stream); return the frames it completed, in order."""
        if type(data) is not bytes:
            data = bytes(data)  # a bytearray or memoryview would end up as memo keys
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
        return self._scan(data)

    def _scan(self, data: bytes) -> list[TicFrame]:
        """`feed()` for a chunk holding at least one frame control byte (or starting a frame)."""
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
        mode = self._mode
        if mode is not None and body[:1] == b"\n" and body[-1:] == b"\r":
            # Fast path for the regular shape LF g1 CR LF g2 CR ... LF gn CR: splitting on CRLF
            # yields the groups, provided none of them holds a stray CR or LF. A memoized group
            # holds none, so only the groups the memo does not know need that check; if one
            # fails, the frame takes the general path below.
            raw_groups = body[1:-1].split(b"\r\n")
            found = list(map(self._memos[mode].get, raw_groups))
            if all(found):
                return self._deliver(mode, cast(tuple[TicGroup, ...], tuple(found)))
            if self._check_misses(raw_groups, found, mode):
                return self._deliver(mode, tuple(filter(None, found)))
        candidates = self._split_groups(body, interrupted=False)
        if mode is None:
            standard = sum(1 for group_mode, _group in candidates if group_mode is TicMode.STANDARD)
            mode = TicMode.STANDARD if standard * 2 >= len(candidates) else TicMode.HISTORIC
        groups: list[TicGroup] = []
        for group_mode, group in candidates:
            if group_mode is mode:
                groups.append(group)
            else:
                self.rejected[MALFORMED] += 1  # the other dialect
        return self._deliver(mode, tuple(groups))

    def _deliver(self, mode: TicMode, groups: tuple[TicGroup, ...]) -> TicFrame | None:
        if not groups:
            return None
        self._mode = mode
        self.frames_valid += 1
        self.groups_valid += len(groups)
        return TicFrame(mode, groups)

    def _interrupt_frame(self, body: bytes) -> None:
        """Drop a partial frame (EOT, or STX before ETX): its valid groups count as interrupted."""
        candidates = self._split_groups(body, interrupted=True)
        self.rejected[INTERRUPTED] += len(candidates)

    # -- groups ---------------------------------------------------------------------------------

    def _check_misses(
        self, raw_groups: list[bytes], found: list[TicGroup | None], mode: TicMode
    ) -> bool:
        """Fast path: fully check the groups the memo did not know, in place in `found`.

        Returns False, having counted nothing, if one of them holds a stray CR or LF (the frame
        then takes the general path). Valid groups memoized before that are still valid.
        """
        check = _CHECKS[mode]
        memo = self._memos[mode]
        limit = self.MEMO_MAX_ENTRIES
        invalid: list[bytes] = []
        for index, known in enumerate(found):
            if known is None:
                raw = raw_groups[index]
                if CR in raw or LF in raw:
                    return False
                group = check(raw)
                if group is None:
                    invalid.append(raw)
                    continue
                if limit:
                    if len(memo) >= limit:
                        memo.clear()
                    memo[raw] = group
                found[index] = group
        for raw in invalid:
            self.rejected[_reason_in(raw, mode)] += 1
        return True

    def _split_groups(self, body: bytes, *, interrupted: bool) -> list[tuple[TicMode, TicGroup]]:
        """The valid groups of a frame body (any shape), counting everything else as rejected.

        A LF starts a group and a CR ends it; bytes outside LF...CR are a lost group (malformed);
        a LF before the CR ends the group without a CR (malformed) and starts the next one. The
        group still open when the frame ends is malformed, or interrupted if the frame is.
        """
        valid: list[tuple[TicMode, TicGroup]] = []
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
            group_mode = _group_mode(raw)
            group = self._memos[group_mode].get(raw) or self._check(group_mode, raw)
            if group is None:
                rejected[_reject_reason(raw)] += 1
            else:
                valid.append((group_mode, group))
            if cr + 1 < len(piece):
                rejected[MALFORMED] += 1  # bytes between a CR and the next LF
        return valid

    def _check(self, mode: TicMode, raw: bytes) -> TicGroup | None:
        """Fully check `raw` in `mode` and memoize it if valid."""
        group = _CHECKS[mode](raw)
        if group is not None and (limit := self.MEMO_MAX_ENTRIES):
            memo = self._memos[mode]
            if len(memo) >= limit:
                memo.clear()
            memo[raw] = group
        return group
