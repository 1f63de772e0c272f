"""The TIC simulator sends frames a real parser must accept, with physics a ledger can trust.

Frames are checked by a small checker written here from the protocol notes (not by the project's
parser, so a parser bug cannot hide a simulator bug and vice versa).
"""

from __future__ import annotations

import os
import random
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m`: make `tools` importable
    sys.path.insert(0, str(ROOT))

from tools.tic_simulator import (  # noqa: E402
    MeterModel,
    PtyOutput,
    corrupt,
    interrupt,
    transmission_seconds,
)

PARIS = ZoneInfo("Europe/Paris")
STX, ETX, EOT = 0x02, 0x03, 0x04
HORODATE = re.compile(r"^[EH]\d{12}$")
REGISTERS = (
    "EAST",
    *(f"EASF{i:02d}" for i in range(1, 11)),
    *(f"EASD{i:02d}" for i in range(1, 5)),
    "EAIT",
    "ERQ1",
    "ERQ2",
    "ERQ3",
    "ERQ4",
)


# --------------------------------------------------------------------------------------------------
# An independent checker


class ChecksumError(AssertionError):
    pass


@dataclass(frozen=True)
class Group:
    label: str
    data: str
    horodate: str | None = None


def _checksum(covered: bytes) -> int:
    return (sum(covered) & 0x3F) + 0x20


def parse_frame(frame: bytes, mode: str = "standard") -> dict[str, Group]:
    """Groups of one STX..ETX frame by label; raises if a checksum or the layout is wrong."""
    assert frame[0] == STX, frame[:20]
    assert frame[-1] == ETX, frame[-20:]
    body = frame[1:-1]
    assert body.startswith(b"\n")
    assert body.endswith(b"\r")
    groups: dict[str, Group] = {}
    for raw in body[1:-1].split(b"\r\n"):
        group = _parse_standard(raw) if mode == "standard" else _parse_historic(raw)
        assert group.label not in groups, f"{group.label} twice"
        groups[group.label] = group
    return groups


def _parse_standard(raw: bytes) -> Group:
    covered, check = raw[:-1], raw[-1]
    if not covered.endswith(b"\t") or _checksum(covered) != check:
        raise ChecksumError(raw)
    fields = covered[:-1].decode("ascii").split("\t")
    if len(fields) == 3:
        return Group(fields[0], fields[2], fields[1])
    assert len(fields) == 2, raw
    return Group(fields[0], fields[1])


def _parse_historic(raw: bytes) -> Group:
    assert b"\t" not in raw, raw
    assert raw[-2:-1] == b" ", raw
    covered, check = raw[:-2], raw[-1]
    if _checksum(covered) != check:  # mode 1: the SP before the checksum is not covered
        raise ChecksumError(raw)
    label, data = covered.decode("ascii").split(" ")
    return Group(label, data)


def horodate_local(text: str) -> tuple[str, datetime]:
    """(season letter, naive local time) of a SAAMMJJhhmmss horodate."""
    assert HORODATE.match(text), text
    return text[0], datetime.strptime(text[1:], "%y%m%d%H%M%S")


def horodate_utc(text: str) -> datetime:
    """The instant of a horodate: E is UTC+2, H is UTC+1."""
    letter, local = horodate_local(text)
    return (local - timedelta(hours=2 if letter == "E" else 1)).replace(tzinfo=UTC)


def frames_every(model: MeterModel, start: datetime, step: float, end: datetime) -> Iterator[bytes]:
    t = start
    while t <= end:
        yield model.frame_at(t)
        t += timedelta(seconds=step)


# --------------------------------------------------------------------------------------------------
# A simulated summer day, every 10 s, of a three-phase producer


SUMMER_DAY = datetime(2026, 6, 21, tzinfo=PARIS)
STEP = 10.0


@pytest.fixture(scope="module")
def day_model() -> MeterModel:
    """The meter after the day: its power model is a pure function of time, to check against."""
    return MeterModel("standard", phases=3, producer=True, seed=1, start=SUMMER_DAY)


@pytest.fixture(scope="module")
def summer_day(day_model: MeterModel) -> list[dict[str, Group]]:
    end = SUMMER_DAY + timedelta(days=1)
    return [parse_frame(frame) for frame in frames_every(day_model, SUMMER_DAY, STEP, end)]


def test_every_group_has_the_layout_of_the_specification(
    summer_day: list[dict[str, Group]],
) -> None:
    widths = {"ADSC": 12, "VTIC": 2, "NGTF": 16, "LTARF": 16, "PRM": 14, "MSG1": 32, "PJOURF+1": 98}
    widths |= dict.fromkeys(REGISTERS, 9)
    widths |= {f"IRMS{p}": 3 for p in (1, 2, 3)} | {f"URMS{p}": 3 for p in (1, 2, 3)}
    widths |= {"SINSTS": 5, "SINSTS1": 5, "SINSTS2": 5, "SINSTS3": 5, "SINSTI": 5, "SMAXSN": 5}
    widths |= {"STGE": 8, "RELAIS": 3, "NTARF": 2, "PREF": 2, "PCOUP": 2}
    for groups in summer_day[:: 6 * 30]:  # every 30 minutes
        for label, width in widths.items():
            assert len(groups[label].data) == width, (label, groups[label].data)
        assert groups["DATE"].data == ""
        assert groups["ADSC"].data.isdigit()
        assert groups["ADSC"].data[:2] == "02"
        assert groups["VTIC"].data == "02"
        for group in groups.values():
            if group.horodate is not None:
                horodate_local(group.horodate)
        assert {"IRMS3", "URMS3", "SINSTS3", "SMAXSN3-1", "EAIT", "SINSTI", "SMAXIN"} <= set(groups)


def test_registers_never_decrease_and_add_up(summer_day: list[dict[str, Group]]) -> None:
    previous: dict[str, int] = {}
    for groups in summer_day:
        values = {label: int(groups[label].data) for label in REGISTERS}
        for label, value in previous.items():
            assert values[label] >= value, (label, groups["DATE"].horodate)
        assert values["EAST"] == sum(values[f"EASF{i:02d}"] for i in range(1, 11))
        assert values["EAST"] == sum(values[f"EASD{i:02d}"] for i in range(1, 5))
        previous = values


def test_registers_integrate_the_power(
    summer_day: list[dict[str, Group]], day_model: MeterModel
) -> None:
    # Integrate the household's net power second by second, independently of the meter's grid.
    start = SUMMER_DAY.timestamp()
    imported = exported = 0.0
    for second in range(86400):
        net = day_model.sample(start + second + 0.5).net()
        imported += max(net, 0.0) / 3600.0
        exported += max(-net, 0.0) / 3600.0
    first, last = summer_day[0], summer_day[-1]
    east = int(last["EAST"].data) - int(first["EAST"].data)
    eait = int(last["EAIT"].data) - int(first["EAIT"].data)
    assert 3_000 < east < 60_000  # Wh in a summer day
    assert eait > 1_000  # a sunny day in June
    assert east == pytest.approx(imported, rel=0.03)
    assert eait == pytest.approx(exported, rel=0.03)


def test_injection_only_while_producing_more_than_consuming(
    summer_day: list[dict[str, Group]], day_model: MeterModel
) -> None:
    consuming_intervals = 0
    start = SUMMER_DAY.timestamp()
    for index, (before, after) in enumerate(pairwise(summer_day)):
        t = start + index * STEP
        sinsts, sinsti = int(after["SINSTS"].data), int(after["SINSTI"].data)
        assert sinsts == 0 or sinsti == 0
        assert (sinsti > 0) == (day_model.sample(t + STEP).net() < 0)  # SINSTI when exporting
        stge = int(after["STGE"].data, 16)
        assert stge & 1 << 8  # producer
        assert bool(stge & 1 << 9) == (sinsti > 0)  # energy flowing out
        grew = int(after["EAIT"].data) - int(before["EAIT"].data)
        _, local = horodate_local(after["DATE"].horodate or "")
        if local.hour < 5 or local.hour >= 23:  # the sun is down
            assert grew == 0, local
        nets = [day_model.sample(t + dt).net() for dt in (0.0, STEP / 2, STEP)]
        if min(nets) > 30.0:  # clearly consuming over the whole interval
            assert grew == 0, local
            consuming_intervals += 1
    assert consuming_intervals > 1000


def test_maxima_of_the_day(summer_day: list[dict[str, Group]]) -> None:
    for groups in summer_day:
        date_letter, now = horodate_local(groups["DATE"].horodate or "")
        _, at = horodate_local(groups["SMAXSN"].horodate or "")
        assert at <= now
        assert at.date() == now.date()
        assert int(groups["SMAXSN"].data) >= int(groups["SINSTS"].data)
        assert int(groups["SMAXIN"].data) >= int(groups["SINSTI"].data)
        _, yesterday = horodate_local(groups["SMAXSN-1"].horodate or "")
        assert yesterday.date() == now.date() - timedelta(days=1)
        assert date_letter == "E"
    last_of_day, next_day = summer_day[-2], summer_day[-1]
    assert int(next_day["SMAXSN-1"].data) >= int(last_of_day["SMAXSN"].data)


def _tariff_switches(frames: list[dict[str, Group]]) -> list[tuple[str, int]]:
    switches = []
    for before, after in pairwise(frames):
        if before["NTARF"].data != after["NTARF"].data:
            _, local = horodate_local(after["DATE"].horodate or "")
            switches.append((f"{local:%H:%M:%S}", int(after["NTARF"].data)))
    return switches


def _check_tariff_groups(groups: dict[str, Group]) -> None:
    ntarf = int(groups["NTARF"].data)
    stge = int(groups["STGE"].data, 16)
    assert (stge >> 10) & 0xF == ntarf - 1
    assert groups["LTARF"].data == {1: " HEURE  CREUSE  ", 2: " HEURE  PLEINE  "}[ntarf]
    relay_closed = ntarf == 1  # the water heater contact closes in off-peak hours
    assert groups["RELAIS"].data == ("001" if relay_closed else "000")
    assert bool(stge & 1) != relay_closed  # STGE bit 0: dry contact open


def test_tariff_switches_at_22_00_and_06_00_local_time_in_summer(
    summer_day: list[dict[str, Group]],
) -> None:
    assert summer_day[0]["NTARF"].data == "01"
    assert _tariff_switches(summer_day) == [("06:00:00", 2), ("22:00:00", 1)]
    for groups in summer_day[::60]:
        _check_tariff_groups(groups)
        assert groups["PJOURF+1"].data.startswith("00004001 06004002 22004001 NONUTILE")


def test_tariff_switches_and_registers_in_winter() -> None:
    start = datetime(2026, 1, 15, tzinfo=PARIS)
    model = MeterModel("standard", phases=1, producer=False, seed=5, start=start)
    frames = [parse_frame(f) for f in frames_every(model, start, 60.0, start + timedelta(days=1))]
    assert _tariff_switches(frames) == [("06:00:00", 2), ("22:00:00", 1)]
    for before, after in pairwise(frames):
        _check_tariff_groups(after)
        hc_grew = int(after["EASF01"].data) - int(before["EASF01"].data)
        hp_grew = int(after["EASF02"].data) - int(before["EASF02"].data)
        if before["NTARF"].data == after["NTARF"].data == "01":
            assert hp_grew == 0
        if before["NTARF"].data == after["NTARF"].data == "02":
            assert hc_grew == 0
        assert "EAIT" not in after
        assert "IRMS2" not in after
        assert horodate_local(after["DATE"].horodate or "")[0] == "H"
    total_hc = int(frames[-1]["EASF01"].data) - int(frames[0]["EASF01"].data)
    assert total_hc > 2_000  # the water heater runs on off-peak hours


# --------------------------------------------------------------------------------------------------
# Clock changes


@pytest.mark.parametrize(
    ("day", "summer_before"),
    [
        pytest.param(datetime(2026, 3, 29, tzinfo=UTC), False, id="spring-forward"),
        pytest.param(datetime(2026, 10, 25, tzinfo=UTC), True, id="fall-back"),
    ],
)
def test_season_letter_and_local_time_across_dst(day: datetime, summer_before: bool) -> None:
    # Both changes happen at 01:00 UTC: 02:00 CET -> 03:00 CEST in March, 03:00 -> 02:00 in October.
    start = day - timedelta(hours=2)
    model = MeterModel("standard", phases=3, producer=True, seed=2, start=start)
    seen_local: list[str] = []
    for minutes in range(0, 9 * 60, 5):
        utc = start + timedelta(minutes=minutes)
        groups = parse_frame(model.frame_at(utc))
        summer = summer_before if utc < day + timedelta(hours=1) else not summer_before
        expected_local = (utc + timedelta(hours=2 if summer else 1)).replace(tzinfo=None)
        letter, local = horodate_local(groups["DATE"].horodate or "")
        assert (letter, local) == ("E" if summer else "H", expected_local), utc
        seen_local.append(f"{letter}{local:%H:%M}")
        # Off-peak until 06:00 on the wall clock, whichever offset that is.
        assert groups["NTARF"].data == ("01" if local.hour < 6 or local.hour >= 22 else "02")
        for group in groups.values():
            if group.horodate is not None:  # maxima, load curve, UMOY: never in the future
                assert horodate_utc(group.horodate) <= utc, group
    if summer_before:  # the hour from 02:00 to 03:00 happens twice, once in each season
        assert "E02:30" in seen_local
        assert "H02:30" in seen_local
    else:  # and in spring it does not happen at all
        assert not any(text[1:3] == "02" for text in seen_local)
        assert "H01:55" in seen_local
        assert "E03:00" in seen_local


# --------------------------------------------------------------------------------------------------
# Historic mode


HISTORIC_MONO = [
    "ADCO",
    "OPTARIF",
    "ISOUSC",
    "HCHC",
    "HCHP",
    "PTEC",
    "IINST",
    "IMAX",
    "PAPP",
    "HHPHC",
    "MOTDETAT",
]
HISTORIC_TRI = [
    "ADCO",
    "OPTARIF",
    "ISOUSC",
    "HCHC",
    "HCHP",
    "PTEC",
    "IINST1",
    "IINST2",
    "IINST3",
    "IMAX1",
    "IMAX2",
    "IMAX3",
    "PMAX",
    "PAPP",
    "HHPHC",
    "MOTDETAT",
    "PPOT",
]


@pytest.mark.parametrize(("phases", "labels"), [(1, HISTORIC_MONO), (3, HISTORIC_TRI)])
def test_historic_frames_look_like_the_captures(phases: int, labels: list[str]) -> None:
    start = datetime(2026, 2, 10, 21, 0, tzinfo=PARIS)
    model = MeterModel("historic", phases=phases, seed=3, start=start)
    assert model.baudrate == 1200
    previous: tuple[int, int, str] = (0, 0, "")
    ptec_seen = set()
    for frame in frames_every(model, start, 60.0, start + timedelta(hours=10)):
        # Like the real historic captures: "LABEL SP DATA SP CHECKSUM", checksum mode 1.
        assert re.fullmatch(rb"\x02(\n[A-Z0-9]{1,8} [^ \t\r\n]+ [\x20-\x5f]\r)+\x03", frame)
        groups = parse_frame(frame, "historic")
        assert [label for label in groups if label != "ADPS"] == labels
        assert groups["OPTARIF"].data == "HC.."
        assert groups["MOTDETAT"].data == "000000"
        assert re.fullmatch(r"\d{12}", groups["ADCO"].data)
        assert re.fullmatch(r"\d{5}", groups["PAPP"].data)
        ptec = groups["PTEC"].data
        ptec_seen.add(ptec)
        index = (int(groups["HCHC"].data), int(groups["HCHP"].data), ptec)
        assert index[0] >= previous[0]
        assert index[1] >= previous[1]
        if previous[2] == ptec == "HP..":
            assert index[0] == previous[0]  # HC does not count in peak hours
        if previous[2] == ptec == "HC..":
            assert index[1] == previous[1]
        previous = index
    assert ptec_seen == {"HC..", "HP.."}
    assert previous[0] > 0


def test_historic_checksum_is_mode_1_not_mode_2() -> None:
    model = MeterModel("historic", phases=1, seed=0, start=datetime(2026, 5, 1, tzinfo=PARIS))
    frame = model.frame()
    for raw in frame[2:-2].split(b"\r\n"):
        mode_2 = _checksum(raw[:-1])  # would include the separating SP
        assert raw[-1] != mode_2  # (the two always differ by 0x20 modulo 0x40)
        assert raw[-1] == _checksum(raw[:-2])


# --------------------------------------------------------------------------------------------------
# Library properties


def test_same_seed_same_bytes_and_registers_independent_of_sampling() -> None:
    start = datetime(2026, 4, 2, 7, 0, tzinfo=PARIS)
    end = start + timedelta(hours=6)
    a = MeterModel(seed=9, start=start)
    b = MeterModel(seed=9, start=start)
    other = MeterModel(seed=10, start=start)
    assert a.frame_at(start + timedelta(seconds=30)) == b.frame_at(start + timedelta(seconds=30))
    assert a.frame_at(end) == b.frame_at(end)
    assert other.frame_at(end) != a.frame()
    sparse = MeterModel(seed=9, start=start)
    sparse.advance_to(end)
    dense = MeterModel(seed=9, start=start)
    for _ in range(int(6 * 3600 / 13.7)):
        dense.advance(13.7)
    dense.advance_to(end)
    for label, value in sparse.registers().items():
        assert abs(dense.registers()[label] - value) <= 1, label
    with pytest.raises(ValueError, match="forward"):
        sparse.advance_to(start)


def test_noise_and_eot_damage_frames() -> None:
    model = MeterModel(seed=4, start=datetime(2026, 7, 1, 12, tzinfo=PARIS))
    frame = model.frame()
    assert corrupt(frame, 0.0, random.Random(1)) == frame
    damaged = corrupt(frame, 0.02, random.Random(1))
    assert damaged != frame
    assert len(damaged) == len(frame)
    groups = len(parse_frame(frame))
    intact = 0
    for raw in damaged.split(b"\r\n"):
        try:
            _parse_standard(raw.removeprefix(b"\x02\n"))
        except (ChecksumError, AssertionError, IndexError, UnicodeDecodeError):
            continue
        intact += 1
    assert 0 < intact < groups  # some groups are rejected, the others still readable
    cut = interrupt(frame, random.Random(2))
    assert cut[-1] == EOT
    assert ETX not in cut
    assert frame.startswith(cut[:-1])


def test_cli_writes_frames_to_stdout() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.tic_simulator",
            "--stdout",
            "--count",
            "3",
            "--no-pacing",
            "--quiet",
            "--mode",
            "historic",
            "--start",
            "2026-06-21T12:00",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    frames = re.findall(rb"\x02[^\x02\x03]*\x03", result.stdout)
    assert len(frames) == 3
    assert result.stdout == b"".join(frames)
    for frame in frames:
        assert "PTEC" in parse_frame(frame, "historic")


# --------------------------------------------------------------------------------------------------
# The pseudo-terminal


def test_pty_delivers_frames_at_the_speed_of_the_line(tmp_path: Path) -> None:
    link = tmp_path / "tic-standard"
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.tic_simulator", "--pty", str(link), "--count", "2"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not link.is_symlink():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the simulator never created its pty"
            time.sleep(0.01)
        assert os.readlink(link).startswith("/dev/pts/")
        fd = os.open(link, os.O_RDONLY | os.O_NOCTTY)
        arrivals: list[tuple[float, bytes]] = []
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if not ready:
                    if process.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the simulator closed the master
                    break
                if not chunk:
                    break
                arrivals.append((time.monotonic(), chunk))
        finally:
            os.close(fd)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()

    stream = b"".join(chunk for _, chunk in arrivals)
    # The simulator holds the slave open, so what it wrote before we opened the port waited there.
    frames = re.findall(rb"\x02[^\x02\x03]*\x03", stream)
    assert len(frames) == 2
    for frame in frames:
        parse_frame(frame)  # raw pty: no CR->LF translation, no echo, every checksum right

    # Pacing: find when the last frame's STX and ETX arrived.
    last_stx, offset, stx_at = stream.rindex(b"\x02"), 0, None
    for at, chunk in arrivals:
        if stx_at is None and offset + len(chunk) > last_stx:
            stx_at = at
        offset += len(chunk)
    assert stx_at is not None
    etx_at = arrivals[-1][0]
    nominal = transmission_seconds(len(frames[-1]), 9600)
    assert nominal > 1.0  # ~1.4 kB at 9600 baud, 10 bits a character
    print(f"{len(frames[-1])} bytes in {etx_at - stx_at:.3f} s, nominal {nominal:.3f} s")
    assert etx_at - stx_at > 0.5  # generous: only "not sent in one burst"
    assert not link.exists()  # the link is removed on exit


def test_pty_link_replaces_a_stale_link_but_never_a_file(tmp_path: Path) -> None:
    stale = tmp_path / "tic"
    stale.symlink_to("/dev/pts/999999")
    output = PtyOutput(stale)
    try:
        assert os.readlink(stale) == output.device
    finally:
        output.close()
    assert not stale.exists()
    assert not stale.is_symlink()
    regular = tmp_path / "file"
    regular.write_text("keep me")
    with pytest.raises(FileExistsError):
        PtyOutput(regular)
    assert regular.read_text() == "keep me"
