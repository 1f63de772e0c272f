"""One value per topic: the Domestik/TeleInfod frames, published the way TeleInfod publishes them.

`teleinfod_messages` plays the bridge: it reads a frame's lines without checking checksums (as
TeleInfod does), publishes each label on ``<base>/<LABEL>``, numbers re-printed by ``atoi`` and
``%u`` (``EASF01 000000802`` -> ``802``), the labels TeleInfod keeps raw as they are (ADSC, VTIC,
DATE, NGTF, LTARF, STGE, MSG1, MSG2, PRM, RELAIS), and a horodate on ``<base>/<LABEL>/h``.
TeleInfod's historic mode publishes nothing in its current source; for the historic frame the
bridge keeps text labels raw and re-prints numbers the same way.

The point: the Reading assembled from the topics is the Reading a serial line gives for the same
frame (`decode_frame` on the bytes of the file), label for label.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from mqtt_samples import TELEINFOD_HISTORIC_FRAME, TELEINFOD_STANDARD_FRAME

from custom_components.energy_ledger.core.mqtt import (
    Problem,
    ProblemKind,
    TopicAccumulator,
    TopicValue,
    decode_topic_value,
)
from custom_components.energy_ledger.core.reading import Reading
from custom_components.energy_ledger.core.tic import TicStreamParser, decode_frame, spec_for
from custom_components.energy_ledger.core.tic.decode import decode_group
from custom_components.energy_ledger.core.tic.labels import LabelKind
from custom_components.energy_ledger.core.tic.stge import TempoColour

BASE = "TeleInfo/LinkyConsommation"
RECEIVED = datetime(2024, 10, 11, 1, 5, 32, tzinfo=UTC)
SUMMER = timezone(timedelta(hours=2))

TELEINFOD_RAW = frozenset({"ADSC", "VTIC", "DATE", "NGTF", "LTARF", "STGE", "MSG1", "MSG2"})
TELEINFOD_RAW |= {"PRM", "RELAIS"}
_TEXT_KINDS = frozenset(
    {
        LabelKind.TEXT,
        LabelKind.ADDRESS,
        LabelKind.TARIFF_OPTION,
        LabelKind.TARIFF_PERIOD,
        LabelKind.HEX_STATUS,
        LabelKind.TEMPO_TOMORROW,
    }
)


def atoi_u(text: str) -> str:
    """C ``atoi`` then ``printf("%u")``: leading blanks and digits, the rest ignored."""
    stripped = text.lstrip(" \t")
    sign = -1 if stripped.startswith("-") else 1
    stripped = stripped.lstrip("+-")
    digits = ""
    for ch in stripped:
        if not ch.isdigit():
            break
        digits += ch
    return str((sign * int(digits or "0")) % 2**32)


def frame_lines(frame: bytes) -> list[tuple[str, str, str | None]]:
    """(label, data, horodate) of every line of a frame, checksums not checked."""
    groups: list[tuple[str, str, str | None]] = []
    for line in frame.strip(b"\x02\x03").decode("ascii").split("\r\n"):
        body = line.strip("\n\r")[:-2]  # separator and checksum
        if "\t" in body:
            parts = body.split("\t")
            if len(parts) == 3:
                groups.append((parts[0], parts[2], parts[1]))
            else:
                groups.append((parts[0], parts[1], None))
        else:
            label, _, data = body.partition(" ")
            groups.append((label, data, None))
    return groups


def teleinfod_messages(base: str, frame: bytes) -> list[tuple[str, bytes]]:
    messages: list[tuple[str, bytes]] = []
    for label, data, horodate in frame_lines(frame):
        topic = f"{base}/{label}"
        if label == "DATE":
            messages.append((topic, (horodate or "").encode()))
            continue
        raw = label in TELEINFOD_RAW or spec_for(label).kind in _TEXT_KINDS
        messages.append((topic, (data if raw else atoi_u(data)).encode()))
        if horodate is not None:
            messages.append((f"{topic}/h", horodate.encode()))
    return messages


def serial_reading(frame: bytes) -> Reading:
    (decoded,) = TicStreamParser().feed(frame)
    return decode_frame(decoded, RECEIVED)


def accumulate(frame: bytes) -> tuple[TopicAccumulator, list[Problem]]:
    accumulator = TopicAccumulator(BASE)
    problems = [
        result
        for topic, payload in teleinfod_messages(BASE, frame)
        if isinstance(result := accumulator.feed(topic, payload), Problem)
    ]
    return accumulator, problems


# ---- Single messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "payload", "expected"),
    [
        ("EASF01", b"802", 802),  # INDEX.md: TeleInfo/LinkyConsommation/EASF01 = 802 (Wh)
        ("EAST", b"802", 802),
        ("EAIT", b"7472722", 7472722),
        ("ERQ3", b"1083341", 1083341),
        ("SINSTS", b"13", 13),  # VA
        ("NTARF", b"1", 1),
        ("VTIC", b"02", 2),
        ("URMS1", b"239", 239),
        ("IRMS1", b"0", 0),
        ("PREF", b"1", 1),
        ("SMAXSN-1", b"136", 136),
        ("LTARF", b" INDEX NON CONSO", "INDEX NON CONSO"),
        ("NGTF", b"   PRODUCTEUR   ", "PRODUCTEUR"),
        ("MSG1", b"PAS DE          MESSAGE         ", "PAS DE MESSAGE"),
        ("PRM", b"19528654014760", "19528654014760"),
        ("ADSC", b"0123456189012", "0123456189012"),
        ("RELAIS", b"000", (False,) * 8),
        ("DATE", b"E241011010531", datetime(2024, 10, 11, 1, 5, 31, tzinfo=SUMMER)),
        ("EASF01", "802\n", 802),  # a str payload, a trailing newline
        ("PTEC", b"HP..", "HP"),  # historic labels too (TeleInfod's converted topics)
        ("HCHC", b"24243439", 24243439),
        ("DEMAIN", b"----", None),  # not yet known: a valid None
        ("DEMAIN", b"ROUG", TempoColour.RED),
        ("XYZ", b" firmware 2 ", "firmware 2"),  # outside the catalogue: text, as on a line
    ],
)
def test_decode_topic_value(label: str, payload: bytes | str, expected: object) -> None:
    result = decode_topic_value(BASE, f"{BASE}/{label}", payload)
    assert result == TopicValue(label, expected)


def test_stge_is_decoded_like_a_serial_line() -> None:
    result = decode_topic_value(BASE, f"{BASE}/STGE", b"003A0101")
    assert isinstance(result, TopicValue)
    assert result.value == decode_group("STGE", "003A0101")


def test_horodate_topics() -> None:
    assert decode_topic_value(BASE, f"{BASE}/SMAXSN/h", b"E241011000639") == TopicValue(
        "SMAXSN", datetime(2024, 10, 11, 0, 6, 39, tzinfo=SUMMER), horodate=True
    )
    assert decode_topic_value(BASE, f"{BASE}/DPM1/h", b" 000000000000") == TopicValue(
        "DPM1", None, horodate=True
    )
    bad = decode_topic_value(BASE, f"{BASE}/SMAXSN/h", b"X241011000639")
    assert bad == Problem(ProblemKind.INVALID_VALUE, "SMAXSN", "not a TIC horodate")


def test_pjourf_mangled_by_atoi_is_reported_not_guessed() -> None:
    result = decode_topic_value(BASE, f"{BASE}/PJOURF+1", atoi_u("00008001 NONUTILE NONUTILE"))
    assert isinstance(result, Problem)
    assert (result.kind, result.field) == (ProblemKind.INVALID_VALUE, "PJOURF+1")


@pytest.mark.parametrize(
    ("topic", "payload", "kind", "field"),
    [
        ("TeleInfo/LinkyProduction/EAST", b"1", ProblemKind.UNKNOWN_TOPIC, ""),
        ("TeleInfo/LinkyConsommationX/EAST", b"1", ProblemKind.UNKNOWN_TOPIC, ""),
        (BASE, b"1", ProblemKind.UNKNOWN_TOPIC, ""),
        (f"{BASE}/values/EAST", b"1", ProblemKind.UNKNOWN_TOPIC, "values/EAST"),
        (f"{BASE}/EAST/h/x", b"1", ProblemKind.UNKNOWN_TOPIC, "EAST/h/x"),
        (f"{BASE}/EAST/t", b"1", ProblemKind.UNKNOWN_TOPIC, "EAST/t"),
        (f"{BASE}/east", b"1", ProblemKind.UNKNOWN_TOPIC, "east"),
        (f"{BASE}/ABCDEFGHIJ", b"1", ProblemKind.UNKNOWN_TOPIC, "ABCDEFGHIJ"),
        (f"{BASE}/", b"1", ProblemKind.UNKNOWN_TOPIC, ""),
        (f"{BASE}/EAST", b"", ProblemKind.INVALID_VALUE, "EAST"),
        (f"{BASE}/EAST", b"\xe9", ProblemKind.INVALID_VALUE, "EAST"),
        (f"{BASE}/MSG1", "é", ProblemKind.INVALID_VALUE, "MSG1"),
        (f"{BASE}/MSG1", b"x" * 300, ProblemKind.INVALID_VALUE, "MSG1"),
        (f"{BASE}/EAST", b"802.5", ProblemKind.WRONG_TYPE, "EAST"),
        (f"{BASE}/EAST", b"+802", ProblemKind.WRONG_TYPE, "EAST"),
        (f"{BASE}/EAST", b"nan", ProblemKind.WRONG_TYPE, "EAST"),
        (f"{BASE}/EAST", b"-1", ProblemKind.NEGATIVE_TOTAL, "EAST"),
        (f"{BASE}/SINSTS", b"-1", ProblemKind.INVALID_VALUE, "SINSTS"),
        (f"{BASE}/DATE", b"E241311010531", ProblemKind.INVALID_VALUE, "DATE"),
        (f"{BASE}/RELAIS", b"256", ProblemKind.INVALID_VALUE, "RELAIS"),
        (f"{BASE}/DEMAIN", b"PINK", ProblemKind.INVALID_VALUE, "DEMAIN"),
    ],
)
def test_bad_messages(topic: str, payload: bytes | str, kind: ProblemKind, field: str) -> None:
    result = decode_topic_value(BASE, topic, payload)
    assert isinstance(result, Problem)
    assert (result.kind, result.field) == (kind, field)


def test_base_topic_with_a_trailing_slash() -> None:
    assert decode_topic_value(BASE + "/", f"{BASE}/EAST", b"802") == TopicValue("EAST", 802)
    assert isinstance(decode_topic_value("", "/EAST", b"802"), Problem)


# ---- Whole frames through the bridge ----------------------------------------------------------


def test_standard_frame_through_teleinfod_equals_the_serial_reading() -> None:
    accumulator, problems = accumulate(TELEINFOD_STANDARD_FRAME)
    # PJOURF+1 does not survive atoi ("00008001 NONUTILE ..." -> "8001"): reported, left out.
    assert [(p.kind, p.field) for p in problems] == [(ProblemKind.INVALID_VALUE, "PJOURF+1")]
    reading = accumulator.reading(RECEIVED)
    assert reading is not None
    serial = serial_reading(TELEINFOD_STANDARD_FRAME)
    # The sample's ADSC was anonymized without fixing its checksum: a serial parser drops the
    # group, TeleInfod (which checks no checksum) publishes it.
    assert "ADSC" not in serial.values
    assert reading.values["ADSC"] == "0123456189012"
    assert reading.meter_id == "0123456189012"
    expected_values = {k: v for k, v in serial.values.items() if k != "PJOURF+1"}
    assert {k: v for k, v in reading.values.items() if k != "ADSC"} == expected_values
    assert reading.timestamps == serial.timestamps
    for field in (
        "import_energy_wh",
        "export_energy_wh",
        "import_registers_wh",
        "import_power_va",
        "export_power_va",
        "tariff_period",
        "tariff_index",
        "meter_clock",
    ):
        assert getattr(reading, field) == getattr(serial, field), field
    # ... and the figures a user checks against the file:
    assert reading.import_energy_wh == 802  # EAST 000000802
    assert reading.import_registers_wh["EASF01"] == 802
    assert reading.import_registers_wh["EASF02"] == 0
    assert reading.export_energy_wh == 7472722  # EAIT 007472722
    assert reading.import_power_va == 13  # SINSTS 00013
    assert reading.export_power_va == 0  # SINSTI 00000
    assert reading.tariff_period == "INDEX NON CONSO"
    assert reading.tariff_index == 1  # NTARF 01
    assert reading.meter_clock == datetime(2024, 10, 11, 1, 5, 31, tzinfo=SUMMER)
    assert reading.values["ERQ2"] == 21342
    assert reading.values["URMS1"] == 239
    assert reading.values["SMAXSN-1"] == 136
    assert reading.values["SMAXIN-1"] == 1592
    assert reading.timestamps["SMAXSN"] == datetime(2024, 10, 11, 0, 6, 39, tzinfo=SUMMER)
    assert reading.timestamps["UMOY1"] == datetime(2024, 10, 11, 1, 0, 0, tzinfo=SUMMER)
    assert reading.received_at == RECEIVED


def test_historic_frame_through_a_bridge_equals_the_serial_reading() -> None:
    accumulator, problems = accumulate(TELEINFOD_HISTORIC_FRAME)
    assert problems == []
    reading = accumulator.reading(RECEIVED)
    assert reading is not None
    serial = serial_reading(TELEINFOD_HISTORIC_FRAME)
    assert {k: v for k, v in reading.values.items() if k != "ADCO"} == serial.values
    assert reading.import_energy_wh == 24243439 + 22032205  # HCHC + HCHP
    assert reading.import_registers_wh == {"HCHC": 24243439, "HCHP": 22032205}
    assert reading.tariff_period == "HP"  # PTEC HP..
    assert reading.tariff_index == 2
    assert reading.import_power_va == 510  # PAPP 00510
    assert reading.values["IINST"] == 2
    assert reading.values["ISOUSC"] == 60
    assert reading.values["OPTARIF"] == "HC"
    assert reading.values["MOTDETAT"] == "000000"
    assert reading.meter_id == "0123456789012"  # ADCO (checksum broken in the sample too)
    assert reading.import_energy_wh == serial.import_energy_wh
    assert reading.tariff_index == serial.tariff_index


def test_teleinfod_converted_consumer_topics() -> None:
    """TeleInfod's ConvCons topics: historic names for standard values (NTARF 1 -> PTEC HC..)."""
    accumulator = TopicAccumulator("TeleInfo/HistConso", meter_id="linky-garage")
    for label, payload in (("HCHP", b"802"), ("HCHC", b"0"), ("PAPP", b"13"), ("PTEC", b"HC..")):
        assert isinstance(accumulator.feed(f"TeleInfo/HistConso/{label}", payload), TopicValue)
    reading = accumulator.reading(RECEIVED)
    assert reading is not None
    assert reading.meter_id == "linky-garage"
    assert reading.import_energy_wh == 802
    assert reading.tariff_index == 1
    assert reading.import_power_va == 13


# ---- Accumulator behaviour --------------------------------------------------------------------


def test_accumulator_keeps_the_latest_good_value() -> None:
    accumulator = TopicAccumulator(BASE)
    assert accumulator.reading(RECEIVED) is None
    assert accumulator.base_topic == BASE
    accumulator.feed(f"{BASE}/EAST", b"802")
    accumulator.feed(f"{BASE}/EAST", b"803")
    problem = accumulator.feed(f"{BASE}/EAST", b"oops")
    assert isinstance(problem, Problem)
    unrelated = accumulator.feed("elsewhere/EAST", b"1")
    assert isinstance(unrelated, Problem)
    reading = accumulator.reading(RECEIVED)
    assert reading is not None
    assert reading.import_energy_wh == 803
    assert reading.meter_id == ""  # no address yet, none configured
    assert accumulator.labels == {"EAST"}
    accumulator.clear()
    assert accumulator.reading(RECEIVED) is None
    assert accumulator.labels == frozenset()


def test_horodate_before_its_value_and_configured_meter_id() -> None:
    accumulator = TopicAccumulator(BASE, meter_id="METER-A")
    accumulator.feed(f"{BASE}/SMAXSN/h", b"E241011000639")
    assert accumulator.reading(RECEIVED) is None  # a horodate alone is no value
    accumulator.feed(f"{BASE}/SMAXSN", b"8")
    accumulator.feed(f"{BASE}/ADSC", b"041776199277")
    reading = accumulator.reading(RECEIVED)
    assert reading is not None
    assert reading.meter_id == "METER-A"
    assert reading.values["ADSC"] == "041776199277"
    assert reading.values["SMAXSN"] == 8
    assert reading.timestamps == {"SMAXSN": datetime(2024, 10, 11, 0, 6, 39, tzinfo=SUMMER)}


def test_date_topic_sets_the_meter_clock() -> None:
    accumulator = TopicAccumulator(BASE)
    accumulator.feed(f"{BASE}/DATE", b"H250115103000")
    reading = accumulator.reading(RECEIVED)
    assert reading is not None
    assert reading.meter_clock == datetime(2025, 1, 15, 10, 30, tzinfo=timezone(timedelta(hours=1)))
