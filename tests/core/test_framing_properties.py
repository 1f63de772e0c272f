"""Property tests of TicStreamParser (hypothesis), against frames built with encode.py.

What is asserted, precisely:

1. Any byte stream, cut anywhere: `feed()` never raises; the counters add up (bytes received,
   frames and groups delivered, rejects by the four reasons); chunking changes nothing; every
   delivered group is verbatim on the wire (re-encoded with its checksum it is a substring of
   the masked stream); every memo entry is exactly what the full check gives for its bytes.
2. Any frame of random groups (labels of ``A-Z 0-9 + -``, printable data without the mode's
   separator, optional horodate in standard mode, either historic checksum variant) decodes to
   exactly its groups, whatever the chunking and the 8N1 high bit.
3. One byte of one group's content (strictly between its LF and CR) replaced by any other 7-bit
   byte that is not a frame or group delimiter (STX, ETX, EOT, LF, CR): every other group is
   delivered unchanged and in order, and the damaged group is rejected (one more reject) --
   unless the change is invisible to the 6-bit TIC checksum, i.e. the byte moved by a multiple
   of 64 (of 32 in a historic frame before the checksum variant is locked, as both variants are
   then accepted). In that case, and only then, a group may be delivered in its place, and it is
   byte for byte the damaged group as it was on the wire: never an invented mix.
4. A group's LF or CR replaced by another (non-control) byte, or a content byte replaced by LF or
   CR (groups split or merged): every other group is delivered unchanged and in order; in place
   of the damaged group there is nothing, or one group whose bytes LF...CR are a verbatim part of
   the damaged group's bytes (a checksum collision on a piece of it, 1 chance in 64).
5. A byte of a group replaced by STX, ETX or EOT: STX restarts the frame (the groups before it
   are dropped and counted as interrupted, the groups after it delivered), ETX ends it (the
   groups before it delivered, the rest discarded until the next STX), EOT drops it; the next
   clean frame is delivered intact in every case.
"""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from custom_components.energy_ledger.core.tic import framing
from custom_components.energy_ledger.core.tic.encode import (
    checksum,
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)
from custom_components.energy_ledger.core.tic.framing import (
    MAX_LABEL_CHARS,
    REJECT_REASONS,
    TicStreamParser,
)
from custom_components.energy_ledger.core.tic.model import TicFrame, TicGroup, TicMode

FAST = settings(max_examples=200, deadline=None)

STX, ETX, EOT, LF, CR = 0x02, 0x03, 0x04, 0x0A, 0x0D
DELIMITERS = frozenset((STX, ETX, EOT, LF, CR))

labels = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-", min_size=1, max_size=MAX_LABEL_CHARS)
standard_data = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
historic_data = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=24)
horodates = st.builds(
    str.__add__, st.sampled_from("HEhe "), st.text("0123456789", min_size=12, max_size=12)
)
standard_groups = st.builds(TicGroup, labels, standard_data, st.none() | horodates)
historic_groups = st.builds(TicGroup, labels, historic_data)


def encode_group(group: TicGroup, mode: TicMode, variant: int = 1) -> bytes:
    """LF + group + CR; historic `variant` 2 puts the SP before the checksum into the sum."""
    if mode is TicMode.STANDARD:
        return encode_standard_group(group.label, group.data, group.horodate)
    if variant == 1:
        return encode_historic_group(group.label, group.data)
    body = f"{group.label} {group.data} ".encode("ascii")
    return b"\n" + body + bytes((checksum(body),)) + b"\r"


def on_the_wire(group: TicGroup, mode: TicMode, stream: bytes) -> bool:
    variants = (1,) if mode is TicMode.STANDARD else (1, 2)
    return any(encode_group(group, mode, variant) in stream for variant in variants)


@st.composite
def frames_of_groups(draw: st.DrawFn) -> tuple[TicMode, int, list[TicGroup]]:
    mode = draw(st.sampled_from(TicMode))
    variant = draw(st.sampled_from((1, 2))) if mode is TicMode.HISTORIC else 1
    strategy = standard_groups if mode is TicMode.STANDARD else historic_groups
    return mode, variant, draw(st.lists(strategy, min_size=1, max_size=10))


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    pieces, offset = [], 0
    for size in cuts:
        pieces.append(data[offset : offset + size])
        offset += size
    pieces.append(data[offset:])
    return pieces


def feed_all(parser: TicStreamParser, pieces: list[bytes]) -> list[TicFrame]:
    return [frame for piece in pieces for frame in parser.feed(piece)]


def locked_parser(mode: TicMode, variant: int, groups: list[TicGroup]) -> TicStreamParser:
    """A parser that has seen one clean frame of these groups (mode and variant locked)."""
    parser = TicStreamParser()
    (frame,) = parser.feed(encode_frame(encode_group(g, mode, variant) for g in groups))
    assert frame.groups == tuple(groups)
    return parser


def delivered(frames: list[TicFrame]) -> list[TicGroup]:
    return [group for frame in frames for group in frame.groups]


def assert_memo_sound(parser: TicStreamParser) -> None:
    """Every memo entry is exactly what the full check of its dialect gives for its bytes."""
    for dialect, memo in parser._memos.items():
        for raw, group in memo.items():
            assert framing._CHECKS[dialect](raw) == group, raw


# ---- 1. any stream ---------------------------------------------------------------------------

TOKENS = [
    b"\x02",
    b"\x03",
    b"\x04",
    b"\n",
    b"\r",
    b"\t",
    b" ",
    b"\x82",
    b"\x83",
    b"\x8a",
    b"\x8d",
    encode_standard_group("EAST", "021849106"),
    encode_standard_group("DATE", "", "H200214230804"),
    encode_historic_group("PAPP", "02840"),
    encode_historic_group("PTEC", "HP.."),
    b"\nPAPP 02840 " + bytes((checksum(b"PAPP 02840 "),)) + b"\r",  # historic checksum mode 2
]
streams = st.lists(st.one_of(st.binary(max_size=16), st.sampled_from(TOKENS)), max_size=40).map(
    b"".join
)


@FAST
@given(stream=streams, cuts=st.lists(st.integers(0, 40), max_size=20))
def test_any_stream_is_safe_and_counts_add_up(stream: bytes, cuts: list[int]) -> None:
    whole_parser = TicStreamParser()
    whole = whole_parser.feed(stream)
    parser = TicStreamParser()
    frames = feed_all(parser, chunks(stream, cuts))
    assert frames == whole
    assert parser.rejected == whole_parser.rejected
    assert set(parser.rejected) == set(REJECT_REASONS)
    assert all(count >= 0 for count in parser.rejected.values())
    assert parser.bytes_received == len(stream)
    assert parser.frames_valid == len(frames)
    assert parser.groups_valid == len(delivered(frames))
    assert all(frame.groups and frame.mode is parser.mode for frame in frames)
    masked = bytes(byte & 0x7F for byte in stream)
    for frame in frames:
        for group in frame.groups:
            assert on_the_wire(group, frame.mode, masked)
    assert_memo_sound(parser)


@FAST
@given(stream=streams)
def test_given_mode_never_delivers_the_other_mode(stream: bytes) -> None:
    for mode in TicMode:
        parser = TicStreamParser(mode)
        assert all(frame.mode is mode for frame in parser.feed(stream))
        assert parser.mode is mode


# ---- 2. round trip ---------------------------------------------------------------------------


@FAST
@given(
    frame=frames_of_groups(),
    given_mode=st.booleans(),
    cuts=st.lists(st.integers(0, 64), max_size=30),
    high_bits=st.booleans(),
)
def test_encoded_frames_decode_to_their_groups(
    frame: tuple[TicMode, int, list[TicGroup]], given_mode: bool, cuts: list[int], high_bits: bool
) -> None:
    mode, variant, groups = frame
    data = encode_frame(encode_group(group, mode, variant) for group in groups)
    stream = b"noise\r\n" + data + data
    if high_bits:
        stream = bytes(byte | 0x80 for byte in stream)
    parser = TicStreamParser(mode if given_mode else None)
    frames = feed_all(parser, chunks(stream, cuts))
    assert frames == [TicFrame(mode, tuple(groups))] * 2
    assert parser.mode is mode
    assert parser.rejected == dict.fromkeys(REJECT_REASONS, 0)


# ---- 3. one corrupted byte inside a group ----------------------------------------------------


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[TicMode, int, list[TicGroup], list[bytes], int, bytes]:
    mode, variant, groups = draw(frames_of_groups())
    encoded = [encode_group(group, mode, variant) for group in groups]
    index = draw(st.integers(0, len(groups) - 1))
    original = encoded[index]
    return mode, variant, groups, encoded, index, original


@FAST
@given(case=corruptions(), data=st.data(), locked=st.booleans())
def test_one_corrupted_content_byte_rejects_only_its_group(
    case: tuple, data: st.DataObject, locked: bool
) -> None:
    mode, variant, groups, encoded, index, original = case
    position = data.draw(st.integers(1, len(original) - 2))  # strictly between LF and CR
    old = original[position]
    new = data.draw(
        st.integers(0, 0x7F).filter(lambda byte: byte != old and byte not in DELIMITERS)
    )
    damaged = original[:position] + bytes((new,)) + original[position + 1 :]
    stream = encode_frame([*encoded[:index], damaged, *encoded[index + 1 :]])
    parser = locked_parser(mode, variant, groups) if locked else TicStreamParser()
    rejects_before = sum(parser.rejected.values())
    frames = parser.feed(stream)
    got = delivered(frames)
    others = groups[:index] + groups[index + 1 :]
    step = new - old
    both_variants = mode is TicMode.HISTORIC and not locked  # both historic variants accepted
    if step % 64 and not (both_variants and step % 32 == 0):
        assert got == others
        assert sum(parser.rejected.values()) == rejects_before + 1
    else:
        event("checksum-invisible change")
        # Checksum-invisible: a group may stand in the damaged one's place, and it is exactly
        # the damaged bytes. (Unlocked historic frames of two groups can also be read in the
        # damaged group's variant, so there only "nothing invented" holds.)
        for frame in frames:
            for group in frame.groups:
                assert on_the_wire(group, frame.mode, stream)
        if got != others and not both_variants:
            assert got[:index] + got[index + 1 :] == others
            assert on_the_wire(got[index], mode, damaged)
    assert_memo_sound(parser)
    if locked:  # a clean frame after it goes through untouched
        assert delivered(parser.feed(encode_frame(encoded))) == groups


# ---- 4. LF/CR hit: groups split or merged ----------------------------------------------------


@FAST
@given(case=corruptions(), data=st.data())
def test_split_or_merged_groups_invent_nothing(case: tuple, data: st.DataObject) -> None:
    mode, variant, groups, encoded, index, original = case
    kind = data.draw(st.sampled_from(["LF lost", "CR lost", "LF inside", "CR inside"]))
    if kind in ("LF lost", "CR lost"):
        position = 0 if kind == "LF lost" else len(original) - 1
        new = data.draw(st.integers(0, 0x7F).filter(lambda byte: byte not in DELIMITERS))
    else:
        position = data.draw(st.integers(1, len(original) - 2))
        new = LF if kind == "LF inside" else CR
    damaged = original[:position] + bytes((new,)) + original[position + 1 :]
    stream = encode_frame([*encoded[:index], damaged, *encoded[index + 1 :]])
    parser = locked_parser(mode, variant, groups)
    got = delivered(parser.feed(stream))
    before, after = groups[:index], groups[index + 1 :]
    assert got[: len(before)] == before
    assert got[len(got) - len(after) :] == after
    extra = got[len(before) : len(got) - len(after)]
    assert len(extra) <= 1
    if extra:
        event("a piece of the damaged group passed its checksum")
    for group in extra:
        assert encode_group(group, mode, variant) in damaged
    assert_memo_sound(parser)


# ---- 5. a frame control byte inside a group --------------------------------------------------


@FAST
@given(case=corruptions(), data=st.data(), control=st.sampled_from([STX, ETX, EOT]))
def test_frame_control_byte_inside_a_group(case: tuple, data: st.DataObject, control: int) -> None:
    mode, variant, groups, encoded, index, original = case
    position = data.draw(st.integers(0, len(original) - 1))  # LF, content or CR
    damaged = original[:position] + bytes((control,)) + original[position + 1 :]
    clean = encode_frame(encoded)
    stream = encode_frame([*encoded[:index], damaged, *encoded[index + 1 :]])
    parser = locked_parser(mode, variant, groups)
    interrupted_before = parser.rejected["interrupted"]
    got = delivered(parser.feed(stream))
    cut_group = 1 if position >= 2 else 0  # bytes of the group already received, LF excluded
    if control == STX:
        assert got == groups[index + 1 :]
        assert parser.rejected["interrupted"] - interrupted_before == index + cut_group
    elif control == ETX:
        assert got == groups[:index]
    else:
        assert got == []
        assert parser.rejected["interrupted"] - interrupted_before == index + cut_group
    assert delivered(parser.feed(clean)) == groups
    assert_memo_sound(parser)
