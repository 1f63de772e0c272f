"""The label catalogue against tic-protocol.md: every label, its unit, its flags."""

from __future__ import annotations

import pytest

from custom_components.energy_ledger.core.tic import LABELS, LabelKind, TicMode, spec_for
from custom_components.energy_ledger.core.tic.labels import (
    IMPORT_REGISTER_LABELS,
    UNITS,
    UNKNOWN_TRANSLATION_KEY,
    RegisterSet,
    is_valid_translation_key,
    translation_key_for,
)


def _series(prefix: str, numbers: range, suffix: str = "", width: int = 1) -> list[str]:
    return [f"{prefix}{n:0{width}d}{suffix}" for n in numbers]


# Transcribed from tic-protocol.md, "Standard-mode labels (chars, unit)".
STANDARD_UNITS: dict[str, str | None] = {
    "ADSC": None,
    "VTIC": None,
    "DATE": None,
    "NGTF": None,
    "LTARF": None,
    "EAST": "Wh",
    **dict.fromkeys(_series("EASF", range(1, 11), width=2), "Wh"),
    **dict.fromkeys(_series("EASD", range(1, 5), width=2), "Wh"),
    "EAIT": "Wh",
    **dict.fromkeys(_series("ERQ", range(1, 5)), "VArh"),
    **dict.fromkeys(_series("IRMS", range(1, 4)), "A"),
    **dict.fromkeys(_series("URMS", range(1, 4)), "V"),
    "PREF": "kVA",
    "PCOUP": "kVA",
    "SINSTS": "VA",
    **dict.fromkeys(_series("SINSTS", range(1, 4)), "VA"),
    "SMAXSN": "VA",
    **dict.fromkeys(_series("SMAXSN", range(1, 4)), "VA"),
    "SMAXSN-1": "VA",
    **dict.fromkeys(_series("SMAXSN", range(1, 4), "-1"), "VA"),
    "SINSTI": "VA",
    "SMAXIN": "VA",
    "SMAXIN-1": "VA",
    "CCASN": "W",
    "CCASN-1": "W",
    "CCAIN": "W",
    "CCAIN-1": "W",
    **dict.fromkeys(_series("UMOY", range(1, 4)), "V"),
    "STGE": None,
    **dict.fromkeys(_series("DPM", range(1, 4)), None),
    **dict.fromkeys(_series("FPM", range(1, 4)), None),
    "MSG1": None,
    "MSG2": None,
    "PRM": None,
    "RELAIS": None,
    "NTARF": None,
    "NJOURF": None,
    "NJOURF+1": None,
    "PJOURF+1": None,
    "PPOINTE": None,
    # "Meter address" section: the pilot meters' names.
    "SINST1": "VA",
    "SMAXN": "VA",
    "SMAXN-1": "VA",
}

# Transcribed from tic-protocol.md, "Historic-mode labels (chars, unit)".
HISTORIC_UNITS: dict[str, str | None] = {
    "ADCO": None,
    "OPTARIF": None,
    "ISOUSC": "A",
    **dict.fromkeys(
        [
            "BASE",
            "HCHC",
            "HCHP",
            "EJPHN",
            "EJPHPM",
            "BBRHCJB",
            "BBRHPJB",
            "BBRHCJW",
            "BBRHPJW",
            "BBRHCJR",
            "BBRHPJR",
        ],
        "Wh",
    ),
    "PEJP": "min",
    "PTEC": None,
    "DEMAIN": None,
    "IINST": "A",
    **dict.fromkeys(_series("IINST", range(1, 4)), "A"),
    "ADPS": "A",
    **dict.fromkeys(_series("ADIR", range(1, 4)), "A"),
    "IMAX": "A",
    **dict.fromkeys(_series("IMAX", range(1, 4)), "A"),
    "PMAX": "W",
    "PAPP": "VA",
    "HHPHC": None,
    "MOTDETAT": None,
    "PPOT": None,
}

# tic-protocol.md, "Horodate": the labels that carry one (plus the pilot SMAXN/SMAXN-1).
HORODATED = {
    "DATE",
    "SMAXSN",
    "SMAXSN1",
    "SMAXSN2",
    "SMAXSN3",
    "SMAXSN-1",
    "SMAXSN1-1",
    "SMAXSN2-1",
    "SMAXSN3-1",
    "SMAXIN",
    "SMAXIN-1",
    "CCASN",
    "CCASN-1",
    "CCAIN",
    "CCAIN-1",
    "UMOY1",
    "UMOY2",
    "UMOY3",
    "DPM1",
    "DPM2",
    "DPM3",
    "FPM1",
    "FPM2",
    "FPM3",
    "SMAXN",
    "SMAXN-1",
}

PRODUCER_ONLY = {
    "EAIT",
    "ERQ1",
    "ERQ2",
    "ERQ3",
    "ERQ4",
    "SINSTI",
    "SMAXIN",
    "SMAXIN-1",
    "CCAIN",
    "CCAIN-1",
}

KIND_UNIT = {
    LabelKind.ENERGY: "Wh",
    LabelKind.REACTIVE_ENERGY: "VArh",
    LabelKind.APPARENT_POWER: "VA",
    LabelKind.ACTIVE_POWER: "W",
    LabelKind.CURRENT: "A",
    LabelKind.VOLTAGE: "V",
    LabelKind.POWER_KVA: "kVA",
    LabelKind.DURATION_MIN: "min",
}


def test_catalogue_is_exactly_the_documented_labels() -> None:
    assert set(STANDARD_UNITS).isdisjoint(HISTORIC_UNITS)
    assert set(LABELS) == set(STANDARD_UNITS) | set(HISTORIC_UNITS)


@pytest.mark.parametrize(("label", "unit"), sorted({**STANDARD_UNITS, **HISTORIC_UNITS}.items()))
def test_documented_label_has_its_unit(label: str, unit: str | None) -> None:
    spec = LABELS[label]
    assert spec.label == label
    assert spec.unit == unit


def test_modes() -> None:
    for label in STANDARD_UNITS:
        assert LABELS[label].mode is TicMode.STANDARD, label
    for label in HISTORIC_UNITS:
        assert LABELS[label].mode is TicMode.HISTORIC, label


def test_units_are_from_the_allowed_set_and_match_the_kind() -> None:
    for spec in LABELS.values():
        assert spec.unit is None or spec.unit in UNITS
        assert spec.unit == KIND_UNIT.get(spec.kind), spec.label


def test_translation_keys_unique_and_valid() -> None:
    keys = [spec.translation_key for spec in LABELS.values()]
    assert len(keys) == len(set(keys))
    for key in keys:
        assert is_valid_translation_key(key), key
    assert UNKNOWN_TRANSLATION_KEY not in keys
    assert is_valid_translation_key(UNKNOWN_TRANSLATION_KEY)


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("EASF01", "easf01"),
        ("EASF10", "easf10"),
        ("SMAXSN-1", "smaxsn_minus_1"),
        ("SMAXSN2-1", "smaxsn2_minus_1"),
        ("SINSTS1", "sinsts1"),
        ("NJOURF+1", "njourf_plus_1"),
        ("PJOURF+1", "pjourf_plus_1"),
        ("BBRHPJR", "bbrhpjr"),
        ("SMAXN-1", "smaxn_minus_1"),
    ],
)
def test_translation_key_examples(label: str, key: str) -> None:
    assert LABELS[label].translation_key == key
    assert translation_key_for(label) == key


def test_invalid_translation_keys_are_rejected() -> None:
    for key in ("", "EAST", "a-b", "_a", "a_", "a__b", "é"):
        assert not is_valid_translation_key(key)


def test_personal_labels() -> None:
    assert {s.label for s in LABELS.values() if s.personal} == {"ADSC", "ADCO", "PRM"}
    assert LABELS["ADSC"].kind is LabelKind.ADDRESS
    assert LABELS["ADCO"].kind is LabelKind.ADDRESS
    assert LABELS["PRM"].kind is LabelKind.PRM


def test_horodate_carriers() -> None:
    assert {s.label for s in LABELS.values() if s.has_horodate} == HORODATED


def test_producer_only() -> None:
    assert {s.label for s in LABELS.values() if s.producer_only} == PRODUCER_ONLY


def test_phases() -> None:
    phased = {s.label: s.phase for s in LABELS.values() if s.phase is not None}
    expected: dict[str, int] = {}
    for n in (1, 2, 3):
        for prefix in ("IRMS", "URMS", "SINSTS", "UMOY", "IINST", "ADIR", "IMAX"):
            expected[f"{prefix}{n}"] = n
        expected[f"SMAXSN{n}"] = n
        expected[f"SMAXSN{n}-1"] = n
    assert phased == expected
    # Phase 1 labels are also sent by single-phase meters; SINSTSn and historic IINSTn are not.
    assert not LABELS["IRMS1"].three_phase_only
    assert LABELS["IRMS2"].three_phase_only
    assert LABELS["SINSTS1"].three_phase_only
    assert LABELS["IINST1"].three_phase_only
    assert LABELS["PMAX"].three_phase_only
    assert LABELS["PPOT"].three_phase_only
    assert not LABELS["IINST"].three_phase_only


def test_register_indexes() -> None:
    for n in range(1, 11):
        spec = LABELS[f"EASF{n:02d}"]
        assert (spec.register_index, spec.register_set) == (n, RegisterSet.SUPPLIER)
    for n in range(1, 5):
        spec = LABELS[f"EASD{n:02d}"]
        assert (spec.register_index, spec.register_set) == (n, RegisterSet.DISTRIBUTOR)
    historic = {
        "BASE": 1,
        "HCHC": 1,
        "HCHP": 2,
        "EJPHN": 1,
        "EJPHPM": 2,
        "BBRHCJB": 1,
        "BBRHPJB": 2,
        "BBRHCJW": 3,
        "BBRHPJW": 4,
        "BBRHCJR": 5,
        "BBRHPJR": 6,
    }
    for label, index in historic.items():
        spec = LABELS[label]
        assert (spec.register_index, spec.register_set) == (index, RegisterSet.SUPPLIER)
    assert LABELS["EAST"].register_index is None
    assert LABELS["EAIT"].register_index is None
    expected_registers = (*(f"EASF{n:02d}" for n in range(1, 11)), *historic)
    assert expected_registers == IMPORT_REGISTER_LABELS


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("EAST", LabelKind.ENERGY),
        ("ERQ1", LabelKind.REACTIVE_ENERGY),
        ("SINSTS", LabelKind.APPARENT_POWER),
        ("SINST1", LabelKind.APPARENT_POWER),
        ("PAPP", LabelKind.APPARENT_POWER),
        ("CCASN", LabelKind.ACTIVE_POWER),
        ("PMAX", LabelKind.ACTIVE_POWER),
        ("PREF", LabelKind.POWER_KVA),
        ("NTARF", LabelKind.TARIFF_INDEX),
        ("PEJP", LabelKind.DURATION_MIN),
        ("DATE", LabelKind.DATE),
        ("STGE", LabelKind.STATUS),
        ("RELAIS", LabelKind.RELAYS),
        ("PJOURF+1", LabelKind.DAY_PROFILE),
        ("PPOINTE", LabelKind.DAY_PROFILE),
        ("DEMAIN", LabelKind.TEMPO_TOMORROW),
        ("PTEC", LabelKind.TARIFF_PERIOD),
        ("LTARF", LabelKind.TARIFF_PERIOD),
        ("OPTARIF", LabelKind.TARIFF_OPTION),
        ("NGTF", LabelKind.TARIFF_OPTION),
        ("MOTDETAT", LabelKind.HEX_STATUS),
        ("PPOT", LabelKind.PHASE_PRESENCE),
        ("MSG1", LabelKind.TEXT),
        ("VTIC", LabelKind.INTEGER),
    ],
)
def test_kinds(label: str, kind: LabelKind) -> None:
    assert LABELS[label].kind is kind


def test_names_are_given() -> None:
    for spec in LABELS.values():
        assert spec.name.strip() == spec.name
        assert spec.name


def test_spec_for_known_and_unknown() -> None:
    assert spec_for("EAST") is LABELS["EAST"]
    unknown = spec_for("NEWLBL")
    assert unknown.label == "NEWLBL"
    assert unknown.kind is LabelKind.TEXT
    assert unknown.unit is None
    assert unknown.translation_key == UNKNOWN_TRANSLATION_KEY
    assert not unknown.personal
    assert "NEWLBL" not in LABELS
    assert spec_for("NEWLBL") == unknown


def test_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        LABELS["EAST"] = LABELS["EAIT"]  # type: ignore[index]
