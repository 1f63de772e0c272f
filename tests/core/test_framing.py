"""TicStreamParser on every real capture of ../shared/tic-captures, and on crafted streams.

Counting convention for the capture table of shared/README.md: the table counts every group of a
file, including those of the partial frames at either end. A serial parser never delivers a frame
it did not see start (STX) and end (ETX), so each capture is measured twice:

- "as a stream": the bytes as they are (what a serial line would give);
- "closed": STX + bytes + ETX, so the partial frames at both ends reach the parser too. This is
  the figure the table gives (``.txt`` captures are already wrapped frame by frame by
  `captures.load_capture`, first and last block included).
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from captures import CAPTURES, capture_names, load_capture

from custom_components.energy_ledger.core.tic.checksum import historic_checksum_mode
from custom_components.energy_ledger.core.tic.encode import (
    checksum,
    encode_frame,
    encode_historic_group,
    encode_standard_group,
)
from custom_components.energy_ledger.core.tic.framing import (
    MAX_FRAME_BYTES,
    MAX_GROUP_BYTES,
    REJECT_REASONS,
    TicStreamParser,
)
from custom_components.energy_ledger.core.tic.model import TicFrame, TicGroup, TicMode

pytestmark = pytest.mark.skipif(
    not CAPTURES.is_dir(), reason=f"shared capture directory {CAPTURES} not available"
)

HISTORIC_TEMPO = "historic_mono_tempo__esciara-pyteleinfo__captured_frames.bin"
LEGACY_RAW = "historic_mono_tempo__lains-teleinfo-nom__stream_legacy_raw.bin"
LEGACY_COMPLETE = "historic_mono_tempo__lains-teleinfo-nom__stream_legacy_complete.bin"
HISTORIC_HC = "historic_mono_hc__esciara-pyteleinfo__conftest-VALID_FRAME.bin"
HALLARD = "historic_mono_hc__hallard-teleinfo-test__README.txt"
CBETM = "historic_tri_base__openhab-openhab-addons__cbetm-base-option-1.txt"
STANDARD_RAW = "standard_tri_tempo__lains-teleinfo-nom__stream_standard_raw.bin"
STANDARD_COMPLETE = "standard_tri_tempo__lains-teleinfo-nom__stream_standard_complete.bin"
MESSAGE = "standard_tri_tempo__lains-teleinfo-nom__message_standard.bin"
STANDARD_MONO = "standard_mono_hc-weekend__goteleinfo-fork-unidentified__StandardRawFrame.bin"
PRODUCER = (
    "standard_mono_producer__openhab-openhab-addons__linky-tic-mode-standard-single-phase-prod.txt"
)
NEGATIVE = "NEGATIVE_corrupted_lines__hekmon-linkytic-issues-51-9-11.txt"

# capture -> (valid groups, rejected groups) once closed; the README table's figures, where the
# rejected count is ours (the table says it depends on how a parser splits groups).
TABLE: dict[str, tuple[int, int]] = {
    HISTORIC_TEMPO: (160, 0),
    # 38/39: the last group, "HHPHC A", is truncated. The 1 more reject is the partial group the
    # file starts with ("BBRHCJR 000025098 E" without its LF), a lost group once closed.
    LEGACY_RAW: (38, 2),
    LEGACY_COMPLETE: (20, 0),
    HISTORIC_HC: (11, 0),
    HALLARD: (14, 0),
    CBETM: (17, 0),
    # 474 valid; rejected: the 12 + 3 corrupted groups of the README (two of them lost their CR,
    # and the group after each of those is intact and accepted), plus the partial group the file
    # starts with and the "P" it ends with.
    STANDARD_RAW: (474, 17),
    # 75/76: table figure confirmed for the valid groups. We reject 3: EAST with a corrupted
    # value, EASD01 whose CR is 0x0C (the table merges it with EASD02, which is intact and valid)
    # and the partial group the file starts with (no LF).
    STANDARD_COMPLETE: (75, 3),
    MESSAGE: (55, 0),
    STANDARD_MONO: (38, 0),
    PRODUCER: (67, 1),  # 67/68: the first line, "EP*PREF 03 B", is a corrupted partial group
    NEGATIVE: (0, 6),  # all rejected (see test_negative_capture for each line)
}


def closed(name: str) -> bytes:
    """The capture with every partial frame closed (see the module docstring)."""
    data = load_capture(name)
    return data if name.endswith(".txt") else b"\x02" + data + b"\x03"


def parse(data: bytes, mode: TicMode | None = None) -> tuple[list[TicFrame], TicStreamParser]:
    parser = TicStreamParser(mode)
    return parser.feed(data), parser


def groups_of(frames: list[TicFrame]) -> list[TicGroup]:
    return [group for frame in frames for group in frame.groups]


def values(frame: TicFrame) -> dict[str, TicGroup]:
    return {group.label: group for group in frame.groups}


def wire_bytes(group: TicGroup, mode: TicMode) -> bytes:
    """LF + group + CR as the meter sends it (checksum recomputed; historic mode 1)."""
    if mode is TicMode.STANDARD:
        return encode_standard_group(group.label, group.data, group.horodate)
    return encode_historic_group(group.label, group.data)


def assert_every_group_is_on_the_wire(frames: list[TicFrame], stream: bytes) -> None:
    """Each accepted group, re-encoded with a recomputed checksum, is byte for byte in the stream:
    its checksum was valid and nothing of it was invented or altered."""
    for frame in frames:
        for group in frame.groups:
            assert wire_bytes(group, frame.mode) in stream, group


# ---- the capture table -------------------------------------------------------------------------


def test_every_capture_is_in_the_table() -> None:
    assert set(capture_names()) == set(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_capture_counts_match_the_table(name: str) -> None:
    valid, rejected = TABLE[name]
    frames, parser = parse(closed(name))
    assert parser.groups_valid == valid == len(groups_of(frames))
    assert sum(parser.rejected.values()) == rejected, parser.rejected
    assert parser.frames_valid == len(frames)
    assert parser.rejected["oversize"] == 0
    assert_every_group_is_on_the_wire(frames, closed(name))


@pytest.mark.parametrize(
    ("name", "frames_count", "groups_count"),
    [
        (HISTORIC_TEMPO, 10, 160),
        (LEGACY_RAW, 1, 16),  # starts mid-frame, ends mid-frame: one complete frame
        (LEGACY_COMPLETE, 1, 16),
        (HISTORIC_HC, 1, 11),
        (STANDARD_RAW, 7, 373),
        (STANDARD_COMPLETE, 1, 55),
        (MESSAGE, 0, 0),  # a frame body without STX/ETX: nothing to deliver from a stream
        (STANDARD_MONO, 1, 38),
    ],
)
def test_raw_captures_as_a_serial_stream(name: str, frames_count: int, groups_count: int) -> None:
    frames, parser = parse(load_capture(name))
    assert (len(frames), parser.groups_valid) == (frames_count, groups_count)


@pytest.mark.parametrize("name", sorted(TABLE))
@pytest.mark.parametrize("wrap", [False, True])
def test_one_byte_at_a_time_equals_all_at_once(name: str, wrap: bool) -> None:
    data = closed(name) if wrap else load_capture(name)
    whole, reference = parse(data)
    parser = TicStreamParser()
    frames = [frame for byte in data for frame in parser.feed(bytes((byte,)))]
    assert frames == whole
    assert parser.rejected == reference.rejected
    assert (parser.groups_valid, parser.frames_valid, parser.bytes_received) == (
        reference.groups_valid,
        reference.frames_valid,
        len(data),
    )
    rng = random.Random(name)
    parser = TicStreamParser()
    frames, offset = [], 0
    while offset < len(data):
        size = rng.randint(1, 300)
        frames += parser.feed(data[offset : offset + size])
        offset += size
    assert frames == whole
    assert parser.rejected == reference.rejected


@pytest.mark.parametrize("name", sorted(TABLE))
def test_8n1_adapter_gives_the_same_frames(name: str) -> None:
    """An adapter set to 8N1 delivers the parity bit as bit 7: masked away."""
    data = closed(name)
    frames, reference = parse(data)
    high, parser = parse(bytes(byte | 0x80 for byte in data))
    assert high == frames
    assert parser.rejected == reference.rejected
    assert parser.bytes_received == len(data)


# ---- exact values, capture by capture ----------------------------------------------------------


def test_historic_tempo_values() -> None:
    frames, parser = parse(load_capture(HISTORIC_TEMPO))
    assert parser.mode is TicMode.HISTORIC
    assert all(frame.mode is TicMode.HISTORIC for frame in frames)
    first = values(frames[0])
    assert first["ADCO"] == TicGroup("ADCO", "021861348497")
    assert first["OPTARIF"] == TicGroup("OPTARIF", "BBR(")
    assert first["BBRHCJB"] == TicGroup("BBRHCJB", "018328856")
    assert first["PTEC"].data == "HCJB"
    assert first["DEMAIN"].data == "ROUG"
    assert values(frames[1])["BBRHCJB"].data == "018328857"
    assert [group.label for group in frames[0].groups][:3] == ["ADCO", "OPTARIF", "ISOUSC"]


def test_legacy_raw_values_and_truncated_group() -> None:
    frames, parser = parse(closed(LEGACY_RAW))
    assert [len(frame.groups) for frame in frames] == [8, 16, 14]
    full = values(frames[1])
    assert full["ADCO"].data == "031961098836"
    assert full["PTEC"].data == "HPJB"
    assert full["DEMAIN"].data == "BLEU"
    assert full["PAPP"].data == "00120"
    assert full["HHPHC"].data == "A"
    # The truncated "HHPHC A" of the last frame is not accepted as anything.
    assert "HHPHC" not in values(frames[2])
    assert parser.rejected["checksum"] == 1


def test_legacy_complete_values() -> None:
    frames, _ = parse(closed(LEGACY_COMPLETE))
    assert [len(frame.groups) for frame in frames] == [2, 16, 2]
    assert values(frames[0])["MOTDETAT"].data == "000000"
    assert values(frames[1])["BBRHPJB"].data == "001012295"
    assert values(frames[2])["OPTARIF"].data == "BBR("


def test_historic_hc_space_checksums() -> None:
    data = load_capture(HISTORIC_HC)
    frames, _ = parse(data)
    (frame,) = frames
    assert b"\nPTEC HP..  \r" in data  # checksum char: a space
    assert b"\nIINST 009  \r" in data
    got = values(frame)
    assert got["PTEC"] == TicGroup("PTEC", "HP..")
    assert got["IINST"] == TicGroup("IINST", "009")
    assert got["HCHC"].data == "094939439"
    assert got["HCHP"].data == "127970334"
    assert got["HHPHC"].data == "E"
    assert got["MOTDETAT"].data == "400000"


def test_hallard_text_capture() -> None:
    frames, _ = parse(load_capture(HALLARD))
    (frame,) = frames
    assert len(frame.groups) == 14
    assert frame.groups[0] == TicGroup("PTEC", "HP..")  # space checksum
    got = values(frame)
    assert got["HCHC"] == TicGroup("HCHC", "000723392")  # space checksum
    assert got["ADCO"].data == "021528603314"
    assert got["ISOUSC"].data == "15"


def test_historic_three_phase_values() -> None:
    frames, _ = parse(load_capture(CBETM))
    assert [len(frame.groups) for frame in frames] == [1, 15, 1]
    assert frames[0].groups == (TicGroup("MOTDETAT", "000000"),)
    got = values(frames[1])
    assert got["ADCO"].data == "XXXXXXXXXXXX"  # anonymised, checksum recomputed
    assert got["OPTARIF"].data == "BASE"
    assert got["IINST2"].data == "002"
    assert got["IMAX3"].data == "027"
    assert got["PMAX"].data == "07990"
    assert got["MOTDETAT"].data == "400000"
    assert got["PPOT"].data == "00"


def test_standard_message_values() -> None:
    frames, parser = parse(closed(MESSAGE))
    (frame,) = frames
    assert parser.mode is TicMode.STANDARD
    got = values(frame)
    assert got["ADSC"] == TicGroup("ADSC", "041776199277")
    assert got["DATE"] == TicGroup("DATE", "", "H200214230804")
    assert got["NGTF"].data == "     TEMPO      "  # padding kept
    assert got["LTARF"].data == "   HC  BLANC    "
    assert got["SMAXSN"] == TicGroup("SMAXSN", "10802", "H200214175135")
    assert got["SMAXSN3-1"].label == "SMAXSN3-1"  # a 9-character label
    assert got["SMAXSN-1"] == TicGroup("SMAXSN-1", "09562", "H200213085118")  # space checksum
    assert got["PJOURF+1"].data.startswith("00004001 06004002 22004001 NONUTILE")
    assert got["STGE"].data == "463A0800"


def test_standard_single_phase_values() -> None:
    frames, _ = parse(load_capture(STANDARD_MONO))
    (frame,) = frames
    got = values(frame)
    assert got["NGTF"].data == " HC et Week-End "  # lower case in data
    assert got["DATE"] == TicGroup("DATE", "", "H191203125805")
    assert got["SMAXSN-1"] == TicGroup("SMAXSN-1", "05661", "H191202171658")
    assert got["UMOY1"] == TicGroup("UMOY1", "232", "H191203125000")
    assert got["MSG1"].data == "PAS DE          MESSAGE         "
    assert got["EASF10"].data == "000000000"


def test_producer_values() -> None:
    frames, parser = parse(load_capture(PRODUCER))
    assert [len(frame.groups) for frame in frames] == [18, 46, 3]
    assert parser.rejected["checksum"] == 1  # "EP*PREF\t03\tB", the cut first line
    assert "EP*PREF" not in values(frames[0])
    assert values(frames[0])["SINSTI"].data == "01258"
    full = values(frames[1])
    assert full["EAIT"].data == "000032781"
    assert full["SINSTI"].data == "01253"
    assert full["EASD01"].data == "000000000"  # space checksum
    assert full["SMAXIN-1"] == TicGroup("SMAXIN-1", "01971", "E180715144229")
    assert values(frames[2])["DATE"] == TicGroup("DATE", "", "E180716103424")


# ---- the noisy three-phase stream --------------------------------------------------------------

FULL_FRAME_LABELS = 55

# Found by inspection of the capture (each group's bytes between LF and CR; the two "CR lost"
# ones end with 0x0C, which replaced their CR). None of them may produce an accepted group.
CORRUPTED = [
    b"EAST  0021849106\t.",  # first, partial frame
    b"EASD01\t021849107\t@\x0c",  # CR lost: would merge with EASD02
    b"EASF06\t000706363\t@\x0c",  # CR lost: would merge with EASF07
    b"EASF09\t 00000000\t*",
    b"EASD02\t 00000000\t!",
    b"CC@SN-1\tH200214225000\t00786\t ",
    b"NTARF\t 3\tP",
    b"EASF07\t 00000000\t(",
    b"SMAXSN2-1\tH200213101142\t 3366\t@",
    b"FPM1\t 200215060000\t 0\t_",
    b"@COUP\t30\t\\",
    b"SINSTS1\t0066 \tC",
    b"CC@SN\tH200214230000\t01650\t5",
    b"SMAXSN1\tH200214175135\t 3411\t&",  # last, partial frame
    b"NTARF\t03\t@",  # last, partial frame
]

# The labels missing from each frame of the closed stream (first and last are partial frames).
MISSING = [
    ["ADSC", "VTIC", "DATE", "NGTF", "LTARF", "EAST"],  # cut before LTARF; EAST corrupted
    [],
    ["EASD01"],  # CR lost; EASD02 right after it is intact and accepted
    ["EASF06", "EASF09", "EASD02"],  # EASF06 lost its CR; EASF07 after it is accepted
    ["CCASN-1", "NTARF"],
    ["EASF07", "SMAXSN2-1", "FPM1"],
    ["PCOUP", "SINSTS1", "CCASN"],
    [],
    ["SMAXSN1", "NTARF", "PJOURF+1"],  # PJOURF+1: the capture ends inside it
]


def test_noisy_stream_corrupted_groups_are_in_the_capture() -> None:
    data = load_capture(STANDARD_RAW)
    for raw in CORRUPTED:
        assert b"\n" + raw in data, raw
    assert len(CORRUPTED) == 12 + 3  # README: 12 in the complete frames, 3 in the partial ones


def test_noisy_stream_accepts_no_corrupted_group() -> None:
    data = closed(STANDARD_RAW)
    frames, parser = parse(data)
    assert parser.groups_valid == 474
    reference = [group.label for group in frames[1].groups]
    assert len(reference) == FULL_FRAME_LABELS
    for frame, missing in zip(frames, MISSING, strict=True):
        assert [label for label in reference if label not in values(frame)] == missing
    accepted = {wire_bytes(group, frame.mode)[1:-1] for frame in frames for group in frame.groups}
    for raw in CORRUPTED:
        assert raw not in accepted
    # Every accepted group recomputes to its checksum and is verbatim in the capture.
    assert_every_group_is_on_the_wire(frames, data)
    # The two groups that lost their CR, as whole frames go: not in their own frame.
    assert "EASD01" not in values(frames[2])
    assert values(frames[2])["EASD02"].data == "000000000"
    assert "EASF06" not in values(frames[3])
    assert values(frames[3])["EASF07"].data == "000000000"


def test_noisy_stream_values() -> None:
    frames, _ = parse(load_capture(STANDARD_RAW))
    dates = [values(frame)["DATE"].horodate for frame in frames]
    assert dates == [
        "H200214230804",
        "H200214230806",
        "H200214230807",
        "H200214230809",
        "H200214230810",
        "H200214230812",
        "H200214230814",
    ]
    assert [values(frame)["EAST"].data for frame in frames][:3] == [
        "021849106",
        "021849107",
        "021849107",
    ]
    assert values(frames[0])["SINSTS"] == TicGroup("SINSTS", "02700")
    assert values(frames[1])["EASD02"] == TicGroup("EASD02", "000000000")
    assert values(frames[0])["SMAXSN-1"] == TicGroup("SMAXSN-1", "09562", "H200213085118")


def test_standard_complete_values() -> None:
    frames, parser = parse(closed(STANDARD_COMPLETE))
    assert [len(frame.groups) for frame in frames] == [4, 55, 16]
    assert values(frames[0])["NTARF"].data == "03"
    assert values(frames[1])["EAST"].data == "021849106"
    last = values(frames[2])
    assert "EAST" not in last  # "EAST\t 21849107\t/": corrupted
    assert "EASD01" not in last  # its CR is 0x0C
    assert parser.rejected == {"checksum": 1, "malformed": 2, "interrupted": 0, "oversize": 0}


def test_negative_capture() -> None:
    data = load_capture(NEGATIVE)
    frames, parser = parse(data)
    assert frames == []
    assert parser.groups_valid == 0
    # ADSC and EASD01: bad checksums; PRM (0x0C before its CR), the lone CR after the second STX
    # and "ISOUSC 45 DEL": malformed; "HCHP 019571184 7" has a valid checksum, but an EOT follows
    # it in the real log: the partial frame is dropped.
    assert parser.rejected == {"checksum": 2, "malformed": 3, "interrupted": 1, "oversize": 0}


NEGATIVE_LINES = (CAPTURES / NEGATIVE).read_bytes().split(b"\n") if CAPTURES.is_dir() else []


@pytest.mark.parametrize("line", [line for line in NEGATIVE_LINES if line])
def test_negative_lines_each_alone(line: bytes) -> None:
    """Each bad line of the real logs, alone in its own frame, is rejected."""
    frames, parser = parse(b"\x02\n" + line + b"\r\x03")
    assert frames == []
    assert parser.groups_valid == 0
    assert sum(parser.rejected.values()) >= 1


# ---- crafted streams ---------------------------------------------------------------------------

STANDARD_GROUPS = [
    ("ADSC", "041776199277", None),
    ("DATE", "", "H200214230804"),
    ("NGTF", "     TEMPO      ", None),
    ("EAST", "021849106", None),
    ("SMAXSN", "10802", "H200214175135"),
]
HISTORIC_GROUPS = [("ADCO", "021861348497"), ("PTEC", "HCJB"), ("PAPP", "02840")]


def standard_frame(groups: list[tuple[str, str, str | None]] = STANDARD_GROUPS) -> bytes:
    return encode_frame(encode_standard_group(*group) for group in groups)


def historic_frame(groups: list[tuple[str, str]] = HISTORIC_GROUPS) -> bytes:
    return encode_frame(encode_historic_group(*group) for group in groups)


def expected_standard() -> TicFrame:
    return TicFrame(TicMode.STANDARD, tuple(TicGroup(*group) for group in STANDARD_GROUPS))


def test_crafted_standard_frame_round_trip() -> None:
    frames, parser = parse(standard_frame())
    assert frames == [expected_standard()]
    assert parser.frames_valid == 1
    assert parser.groups_valid == len(STANDARD_GROUPS)
    assert parser.rejected == dict.fromkeys(REJECT_REASONS, 0)


def test_garbage_before_first_stx_and_between_frames_is_ignored() -> None:
    noise = encode_standard_group("EAST", "000000001") + b"\x03\x04garbage\r\n\x00\xff"
    stream = noise + standard_frame() + noise + standard_frame() + b"\n"
    frames, parser = parse(stream)
    assert frames == [expected_standard()] * 2
    assert parser.rejected == dict.fromkeys(REJECT_REASONS, 0)


def test_eot_drops_the_partial_frame() -> None:
    whole = standard_frame()
    cut = whole[: whole.index(b"\nEAST") + 5]  # STX, 3 full groups, and "\nEAST"
    frames, parser = parse(cut + b"\x04" + b"noise" + whole)
    assert frames == [expected_standard()]
    # ADSC, DATE and NGTF were valid, and "EAST" was cut: all counted as interrupted.
    assert parser.rejected["interrupted"] == 4
    assert parser.groups_valid == len(STANDARD_GROUPS)


def test_eot_right_after_a_complete_group() -> None:
    whole = standard_frame()
    cut = whole[: whole.index(b"\nEAST")]
    frames, parser = parse(cut + b"\x04" + whole)
    assert frames == [expected_standard()]
    assert parser.rejected["interrupted"] == 3


def test_stx_inside_a_frame_restarts_it() -> None:
    whole = standard_frame()
    cut = whole[: whole.index(b"\nEAST") + 3]
    frames, parser = parse(cut + whole)
    assert frames == [expected_standard()]
    assert parser.rejected["interrupted"] == 4


def test_a_frame_without_valid_group_is_not_delivered() -> None:
    good = encode_standard_group("EAST", "000000001")
    bad = good[:-2] + bytes(((good[-2] - 0x20 + 1) % 64 + 0x20,)) + b"\r"  # next checksum char
    frames, parser = parse(b"\x02" + bad + b"\x03" + b"\x02\x03")
    assert frames == []
    assert parser.frames_valid == 0
    assert parser.rejected["checksum"] == 1


def test_valid_groups_of_a_damaged_frame_are_delivered() -> None:
    groups = [encode_standard_group(*group) for group in STANDARD_GROUPS]
    groups[3] = groups[3].replace(b"021849106", b"021849107")  # checksum now wrong
    frames, parser = parse(encode_frame(groups))
    expected = [TicGroup(*group) for group in STANDARD_GROUPS]
    del expected[3]
    assert frames == [TicFrame(TicMode.STANDARD, tuple(expected))]
    assert parser.rejected["checksum"] == 1


def test_space_checksum_is_accepted_in_both_modes() -> None:
    # Find data whose checksum is a space (0x20), in each mode.
    standard = next(
        f"{n:09d}" for n in range(1000) if checksum(f"EAST\t{n:09d}\t".encode()) == 0x20
    )
    historic = next(f"{n:09d}" for n in range(1000) if checksum(f"BASE {n:09d}".encode()) == 0x20)
    raw = encode_standard_group("EAST", standard)
    assert raw.endswith(b"\t \r")
    frames, _ = parse(encode_frame([raw]))
    assert frames[0].groups == (TicGroup("EAST", standard),)
    raw = encode_historic_group("BASE", historic)
    assert raw.endswith(b"  \r")
    frames, _ = parse(encode_frame([raw]))
    assert frames[0].groups == (TicGroup("BASE", historic),)


def test_historic_checksum_mode_2_is_accepted() -> None:
    body = b"PAPP 02840 "
    mode2 = b"\n" + body + bytes((checksum(body),)) + b"\r"
    assert mode2 != encode_historic_group("PAPP", "02840")
    frames, parser = parse(b"\x02" + mode2 + b"\x03")
    assert frames == [TicFrame(TicMode.HISTORIC, (TicGroup("PAPP", "02840"),))]
    assert parser.mode is TicMode.HISTORIC


@pytest.mark.parametrize(
    ("group", "variant"),
    [
        (b"PAPP 02840 " + bytes((checksum(b"PAPP 02840"),)), 1),  # every real capture
        (b"PAPP 02840 " + bytes((checksum(b"PAPP 02840 "),)), 2),  # the SP counted too
        (b"PAPP 02841 " + bytes((checksum(b"PAPP 02840"),)), None),  # a digit changed
        (b"P", None),  # no room for a separator and a checksum
        (b"", None),
    ],
)
def test_historic_checksum_variant_of_a_group(group: bytes, variant: int | None) -> None:
    """The variant that validates a historic group (LABEL SP DATA SP CHECKSUM), if any."""
    assert historic_checksum_mode(group) == variant


def test_checksum_invisible_change_is_delivered_as_received() -> None:
    """The limit of a 6-bit checksum: a byte moved by 64 ('0' -> 'p') keeps the sum. The group
    passes, exactly as received; the typed decoder then refuses 'p' in a number."""
    damaged = encode_standard_group("EAST", "021849106").replace(b"0218", b"p218")
    frames, _ = parse(b"\x02" + damaged + b"\x03")
    assert frames[0].groups == (TicGroup("EAST", "p21849106"),)


def test_cr_inside_a_group_can_reveal_a_valid_prefix() -> None:
    """The other 6-bit limit (1 chance in 64): a CR that lands inside a group can end a prefix of
    it whose own checksum holds. What passes is exactly the bytes received up to that CR."""
    horodate = "H200214175135"
    check = chr(checksum(f"SMAXSN\t{horodate}\t".encode()))
    group = encode_standard_group("SMAXSN", check + "0802", horodate)
    cut = group.index(check.encode() + b"0802") + 1
    damaged = group[:cut] + b"\r" + group[cut + 1 :]
    frames, parser = parse(b"\x02" + damaged + b"\x03")
    assert frames[0].groups == (TicGroup("SMAXSN", horodate),)  # the horodate read as data
    assert parser.rejected["malformed"] == 1  # "802\t<checksum>": the rest, without a LF


def test_historic_checksum_variant_is_locked_after_the_first_frame() -> None:
    """Accepting both variants forever would let 'HCJB' arrive as 'HCjB' (a change of 32)."""
    frames, parser = parse(historic_frame())
    assert len(frames) == 1
    # One byte changed by 32, the checksum character left as it was.
    corrupted = encode_historic_group("PTEC", "HCJB").replace(b"HCJB", b"HCjB")
    assert parser.feed(b"\x02" + corrupted + b"\x03") == []
    assert parser.rejected["checksum"] == 1
    # The same bytes are valid for a fresh parser (mode 2): only the lock rejects them.
    fresh, _ = parse(b"\x02" + corrupted + b"\x03")
    assert fresh[0].groups == (TicGroup("PTEC", "HCjB"),)


def test_auto_detect_locks_historic_mode() -> None:
    parser = TicStreamParser()
    assert parser.mode is None
    data = load_capture(HISTORIC_TEMPO)
    parser.feed(data[:100])
    assert parser.mode is None  # no complete frame yet
    frames = parser.feed(data[100:])
    assert parser.mode is TicMode.HISTORIC
    # Locked: a standard frame is now rejected, group by group, as malformed.
    assert parser.feed(standard_frame()) == []
    assert parser.rejected["malformed"] == len(STANDARD_GROUPS)
    assert parser.mode is TicMode.HISTORIC
    assert len(frames) == 10


def test_auto_detect_locks_standard_mode() -> None:
    parser = TicStreamParser()
    frames = parser.feed(closed(STANDARD_COMPLETE))
    assert parser.mode is TicMode.STANDARD
    assert frames[0].mode is TicMode.STANDARD
    before = parser.rejected["malformed"]
    assert parser.feed(historic_frame()) == []
    assert parser.rejected["malformed"] - before == len(HISTORIC_GROUPS)


def test_reset_forgets_detection_and_partial_frame_keeps_counters() -> None:
    parser = TicStreamParser()
    parser.feed(standard_frame())
    parser.feed(standard_frame()[:40])
    counters = (parser.groups_valid, parser.frames_valid, parser.bytes_received)
    parser.reset()
    assert parser.mode is None
    assert (parser.groups_valid, parser.frames_valid, parser.bytes_received) == counters
    # The partial frame is gone: its rest is ignored until the next STX, then historic works.
    frames = parser.feed(standard_frame()[40:] + historic_frame())
    assert [frame.mode for frame in frames] == [TicMode.HISTORIC]
    assert parser.mode is TicMode.HISTORIC


def test_given_mode_is_kept_and_rejects_the_other_mode() -> None:
    parser = TicStreamParser(TicMode.HISTORIC)
    assert parser.mode is TicMode.HISTORIC
    assert parser.feed(standard_frame()) == []
    assert parser.rejected["malformed"] == len(STANDARD_GROUPS)
    parser.reset()
    assert parser.mode is TicMode.HISTORIC
    assert len(parser.feed(historic_frame())) == 1
    parser = TicStreamParser(TicMode.STANDARD)
    assert parser.feed(standard_frame()) == [expected_standard()]


def test_first_frame_mixing_modes_goes_with_the_majority() -> None:
    groups = [encode_standard_group(*group) for group in STANDARD_GROUPS]
    groups.append(encode_historic_group("PAPP", "02840"))
    frames, parser = parse(encode_frame(groups))
    assert frames == [expected_standard()]
    assert parser.rejected["malformed"] == 1


def test_label_length_limit() -> None:
    frames, parser = parse(
        encode_frame(
            [
                encode_standard_group("SMAXSN1-1", "03129", "H200213085118"),  # 9: real
                encode_standard_group("ABCDEFGHIJ", "1"),  # 10: too long
                encode_historic_group("ABCDEFGHIJ", "1"),
            ]
        )
    )
    assert frames[0].groups == (TicGroup("SMAXSN1-1", "03129", "H200213085118"),)
    assert parser.rejected["malformed"] == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"EAST\t0218\x0149106\t.",  # control byte
        b"east\t021849106\t.",  # lower-case label
        b"EAST\t021849106.",  # no HT before the checksum
        b"EAST 021849106\t.",  # mixed separators
        b"\t021849106\t.",  # empty label
        b"SMAXSN\tX200214175135\t10802\t7",  # bad horodate
        b"SMAXSN\tH2002141751\t10802\t7",  # short horodate
        b"",
        b"A",
        b"ADCO",
    ],
)
def test_malformed_groups_are_rejected(raw: bytes) -> None:
    # Give the group a checksum that fits its bytes, so that only its shape can reject it.
    fixed = raw[:-1] + bytes((checksum(raw[:-1]),)) if len(raw) > 1 else raw
    frames, parser = parse(b"\x02\n" + fixed + b"\r\x03")
    assert frames == []
    assert parser.rejected["malformed"] == 1, parser.rejected


@pytest.mark.parametrize("raw", [b"", b"A", b"A\t", b"\t\t", b"ADCO"])
@pytest.mark.parametrize("mode", [TicMode.STANDARD, TicMode.HISTORIC])
def test_short_groups_after_detection_are_malformed(raw: bytes, mode: TicMode) -> None:
    # Once a frame has locked the dialect, the next frames take the memo's fast path: a group
    # too short to hold a label, two separators and a checksum must be counted there like
    # anywhere else (an empty group, LF CR, used to raise IndexError out of feed()).
    label = "EAST" if mode is TicMode.STANDARD else "BASE"
    encode = encode_standard_group if mode is TicMode.STANDARD else encode_historic_group
    first = encode_frame([encode(label, "000000001")])
    parser = TicStreamParser()
    assert [frame.mode for frame in parser.feed(first)] == [mode]
    assert parser.feed(b"\x02\n" + raw + b"\r\x03") == []
    assert parser.rejected == {**dict.fromkeys(REJECT_REASONS, 0), "malformed": 1}
    # and the next frame is delivered as usual
    assert [frame.groups for frame in parser.feed(first)] == [(TicGroup(label, "000000001"),)]


def test_oversize_group_is_rejected() -> None:
    long = "X" * (MAX_GROUP_BYTES - len("MSG1\t\tC"))
    ok, too_long = encode_standard_group("MSG1", long), encode_standard_group("MSG1", long + "Y")
    assert len(ok) - 2 == MAX_GROUP_BYTES
    frames, parser = parse(encode_frame([ok, too_long]))
    assert frames[0].groups == (TicGroup("MSG1", long),)
    assert parser.rejected["oversize"] == 1


def test_buffer_is_bounded_without_etx() -> None:
    parser = TicStreamParser()
    line = encode_standard_group("EAST", "000000001")
    parser.feed(b"\x02")
    for _ in range(2000):
        parser.feed(line)
        assert len(parser._buffer) <= MAX_FRAME_BYTES
    assert parser.rejected["oversize"] >= 1
    # Recovers at the next STX.
    assert parser.feed(standard_frame()) == [expected_standard()]


def test_nothing_is_buffered_without_stx() -> None:
    parser = TicStreamParser()
    chunk = encode_standard_group("EAST", "000000001") * 10 + b"\x03\x04"
    for _ in range(1000):
        assert parser.feed(chunk) == []
    assert len(parser._buffer) == 0
    assert parser.bytes_received == 1000 * len(chunk)


def test_oversize_frame_is_the_same_in_one_piece_or_byte_by_byte() -> None:
    line = encode_standard_group("EAST", "000000001")
    stream = b"\x02" + line * 400 + b"\x03" + standard_frame()
    whole, reference = parse(stream)
    parser = TicStreamParser()
    frames = [frame for byte in stream for frame in parser.feed(bytes((byte,)))]
    assert frames == whole == [expected_standard()]
    assert parser.rejected == reference.rejected
    assert reference.rejected["oversize"] == 1


def test_feed_accepts_bytearray() -> None:
    data = standard_frame()
    assert TicStreamParser().feed(bytearray(data)) == [expected_standard()]
    parser = TicStreamParser()
    frames = [frame for byte in data for frame in parser.feed(bytearray((byte,)))]
    assert frames == [expected_standard()]


# ---- the memo ----------------------------------------------------------------------------------


def test_memo_never_accepts_what_the_check_rejects() -> None:
    parser = TicStreamParser()
    good = standard_frame()
    assert parser.feed(good) == [expected_standard()]
    assert parser.feed(good) == [expected_standard()]  # memo warm
    for index in range(1, len(good) - 1):
        if good[index] in b"\n\r\x02\x03\x04":
            continue
        for value in (good[index] ^ 0x01, good[index] ^ 0x20):
            corrupted = good[:index] + bytes((value,)) + good[index + 1 :]
            frames = parser.feed(corrupted)
            assert frames != [expected_standard()]
            assert_every_group_is_on_the_wire(frames, corrupted)


def test_memo_is_bounded() -> None:
    class SmallMemo(TicStreamParser):
        MEMO_MAX_ENTRIES = 8

    parser = SmallMemo()
    for value in range(100):
        (frame,) = parser.feed(encode_frame([encode_standard_group("EAST", f"{value:09d}")]))
        assert frame.groups == (TicGroup("EAST", f"{value:09d}"),)
        assert all(len(memo) <= 8 for memo in parser._memos.values())


def test_memo_disabled_gives_the_same_results() -> None:
    class NoMemo(TicStreamParser):
        MEMO_MAX_ENTRIES = 0

    data = closed(STANDARD_RAW)
    frames, reference = parse(data)
    parser = NoMemo()
    assert parser.feed(data) == frames
    assert parser.rejected == reference.rejected
    assert not any(parser._memos.values())


def test_irregular_frame_takes_the_general_path_with_the_same_result() -> None:
    """A CR lost inside a frame: the fast path must hand over without double counting."""
    parser = TicStreamParser()
    frame = standard_frame()
    parser.feed(frame)
    damaged = frame.replace(b"\r\n", b"\x0c\n", 1)  # ADSC loses its CR
    (got,) = parser.feed(damaged)
    assert got.groups == expected_standard().groups[1:]
    assert parser.rejected == {"checksum": 0, "malformed": 1, "interrupted": 0, "oversize": 0}
    fresh, reference = parse(frame + damaged)
    assert fresh[1] == got
    assert reference.rejected == parser.rejected


def test_irregular_frame_after_new_invalid_groups_counts_each_once() -> None:
    """The fast path meets a bad checksum, then a lost CR: it must hand over cleanly."""
    groups = [encode_standard_group(*group) for group in STANDARD_GROUPS]
    groups[1] = groups[1][:-2] + b"!\r"  # DATE: wrong checksum (a new, invalid group)
    groups[3] = groups[3].replace(b"\r", b"\x0c")  # EAST loses its CR
    damaged = encode_frame(groups)
    locked = TicStreamParser()
    locked.feed(standard_frame())
    (got,) = locked.feed(damaged)
    fresh, reference = parse(damaged)  # first frame: the general path from the start
    assert fresh == [got]
    assert [group.label for group in got.groups] == ["ADSC", "NGTF", "SMAXSN"]
    assert locked.rejected == reference.rejected
    assert reference.rejected == {"checksum": 1, "malformed": 1, "interrupted": 0, "oversize": 0}


def test_group_pattern_rejects_data_with_control_bytes() -> None:
    for byte in [*range(0x20), 0x7F]:
        if byte in (0x0A, 0x0D, 0x02, 0x03, 0x04, 0x09):
            continue
        raw = f"EAST\t0218{chr(byte)}9106\t".encode()
        frames, parser = parse(b"\x02\n" + raw + bytes((checksum(raw),)) + b"\r\x03")
        assert frames == [], byte
        assert parser.rejected["malformed"] == 1


def test_delivered_frames_and_groups_are_ordinary_frozen_dataclasses() -> None:
    """The parser builds frames and groups without their dataclass __init__ (for speed): what
    it hands out must still be equal to, and as frozen as, the ones the constructors build."""
    stream = encode_frame(
        [
            encode_standard_group("ADSC", "012345678912"),
            encode_standard_group("DATE", "", "H240501120000"),
        ]
    )
    (frame,) = TicStreamParser().feed(stream)
    expected = TicFrame(
        TicMode.STANDARD,
        (TicGroup("ADSC", "012345678912"), TicGroup("DATE", "", "H240501120000")),
    )
    assert type(frame) is TicFrame
    assert all(type(group) is TicGroup for group in frame.groups)
    assert frame == expected
    assert hash(frame) == hash(expected)
    assert repr(frame) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.groups = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.groups[0].data = "0"  # type: ignore[misc]
