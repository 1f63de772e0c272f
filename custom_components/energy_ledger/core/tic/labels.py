"""The TIC label catalogue: what every label means, its unit, kind, mode and phase.

One `LabelSpec` per label of Enedis-NOI-CPT_54E (standard mode) and NOI-CPT_02E (historic mode),
plus the names used by the early "pilot" Linky meters (SINST1, SMAXN, SMAXN-1). The decoder picks
its per-label decoding function from `kind`; the Home Assistant side builds its entity descriptions
from the same specs (`translation_key`, `unit`, `phase`, `producer_only`...).

A label that is not in the catalogue is still decoded (as stripped text): `spec_for()` returns a
generic TEXT spec for it, so a meter firmware that adds a label never loses data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from .model import TicMode


class LabelKind(StrEnum):
    """What a label's data is, which decides how it is decoded and shown."""

    ENERGY = "energy"
    """Active energy index, integer Wh (EAST, EASFxx, EASDxx, EAIT, historic index registers)."""
    REACTIVE_ENERGY = "reactive_energy"
    """Reactive energy index, integer VArh (ERQ1-4)."""
    APPARENT_POWER = "apparent_power"
    """Apparent power, integer VA (SINSTS*, SMAXSN*, SINSTI, SMAXIN*, PAPP, pilot SINST1/SMAXN*)."""
    ACTIVE_POWER = "active_power"
    """Active power, integer W (CCASN*, CCAIN*, historic PMAX)."""
    CURRENT = "current"
    """Current, integer A (IRMSx, IINST*, IMAX*, ADIRx, ADPS, ISOUSC)."""
    VOLTAGE = "voltage"
    """Voltage, integer V (URMSx, UMOYx)."""
    POWER_KVA = "power_kva"
    """Contract apparent power, integer kVA (PREF, PCOUP)."""
    DURATION_MIN = "duration_min"
    """Duration in minutes, integer (PEJP: EJP notice)."""
    INTEGER = "integer"
    """A plain number without unit (VTIC, NJOURF, NJOURF+1, DPMx/FPMx)."""
    TARIFF_INDEX = "tariff_index"
    """Index (1-10) of the active supplier register (NTARF)."""
    TEXT = "text"
    """Free text, its padding and runs of spaces reduced to single spaces (MSG1, MSG2, HHPHC,
    unknown labels)."""
    ADDRESS = "address"
    """Meter address ADSC/ADCO, a 12-digit string. Personal data."""
    PRM = "prm"
    """Delivery point number, a 14-digit string. Personal data."""
    DATE = "date"
    """The meter clock: the value is the horodate as a timezone-aware datetime (DATE)."""
    STATUS = "status"
    """The STGE status register, decoded to `stge.Stge`."""
    RELAYS = "relays"
    """RELAIS: a tuple of 8 bools, relay N at index N-1, True = closed."""
    DAY_PROFILE = "day_profile"
    """PJOURF+1 / PPOINTE: a tuple of `stge.ProfileBlock` (the used blocks only)."""
    TARIFF_OPTION = "tariff_option"
    """The contract's tariff option or calendar name (OPTARIF, NGTF), text as for TEXT."""
    TARIFF_PERIOD = "tariff_period"
    """The current tariff period (PTEC, LTARF), text as for TEXT without padding dots."""
    TEMPO_TOMORROW = "tempo_tomorrow"
    """Historic DEMAIN: `stge.TempoColour` or None while not yet known ("----")."""
    HEX_STATUS = "hex_status"
    """Historic MOTDETAT: the meter status word as sent (6 hex characters, a str)."""
    PHASE_PRESENCE = "phase_presence"
    """Historic PPOT: a tuple of 3 bools, True = the phase's voltage is present."""


class RegisterSet(StrEnum):
    """Which set of index registers an ENERGY label belongs to."""

    SUPPLIER = "supplier"
    """The supplier's registers (EASF01-10, and the historic BASE/HC/EJP/Tempo registers)."""
    DISTRIBUTOR = "distributor"
    """The distributor's registers (EASD01-04)."""


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """Everything known about one TIC label."""

    label: str
    kind: LabelKind
    name: str
    """Short English name (the source of the en translation)."""
    translation_key: str
    """Lower-case snake case, [a-z0-9_], unique in `LABELS`."""
    unit: str | None = None
    """One of "Wh", "VArh", "VA", "W", "A", "V", "kVA", "min", or None."""
    mode: TicMode | None = None
    """The TIC mode that sends this label; None for both."""
    phase: int | None = None
    """1-3 for a per-phase value, else None."""
    three_phase_only: bool = False
    """Only sent by three-phase meters."""
    producer_only: bool = False
    """Only sent by meters configured as producers."""
    has_horodate: bool = False
    """Standard-mode group carrying a horodate (the decoder reads any horodate it gets)."""
    register_index: int | None = None
    """1-based index of an energy register within its set (EASF01 -> 1, BBRHPJR -> 6)."""
    register_set: RegisterSet | None = None
    personal: bool = False
    """Identifies a household (ADSC, ADCO, PRM): redact in diagnostics and logs."""


UNITS: Final = frozenset({"Wh", "VArh", "VA", "W", "A", "V", "kVA", "min"})

UNKNOWN_TRANSLATION_KEY: Final = "unknown_label"
"""The translation key of every label outside the catalogue (name it with a placeholder)."""

_TRANSLATION_KEY_RE: Final = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def translation_key_for(label: str) -> str:
    """Lower-case snake key of a label: SMAXSN-1 -> smaxsn_minus_1, NJOURF+1 -> njourf_plus_1."""
    key = label.lower().replace("-", "_minus_").replace("+", "_plus_")
    return re.sub(r"[^a-z0-9]+", "_", key).strip("_")


def is_valid_translation_key(key: str) -> bool:
    """True for a key Home Assistant accepts: [a-z0-9_], no leading/trailing/double underscore."""
    return _TRANSLATION_KEY_RE.fullmatch(key) is not None


_STD: Final = TicMode.STANDARD
_HIS: Final = TicMode.HISTORIC

_K = LabelKind


def _build() -> dict[str, LabelSpec]:
    specs: list[LabelSpec] = []

    def add(
        label: str,
        kind: LabelKind,
        name: str,
        unit: str | None = None,
        *,
        mode: TicMode | None,
        phase: int | None = None,
        three_phase_only: bool = False,
        producer_only: bool = False,
        has_horodate: bool = False,
        register_index: int | None = None,
        register_set: RegisterSet | None = None,
        personal: bool = False,
    ) -> None:
        specs.append(
            LabelSpec(
                label=label,
                kind=kind,
                name=name,
                translation_key=translation_key_for(label),
                unit=unit,
                mode=mode,
                phase=phase,
                three_phase_only=three_phase_only,
                producer_only=producer_only,
                has_horodate=has_horodate,
                register_index=register_index,
                register_set=register_set,
                personal=personal,
            )
        )

    # ---- Standard mode (Enedis-NOI-CPT_54E) -------------------------------------------------
    add("ADSC", _K.ADDRESS, "Meter address", mode=_STD, personal=True)
    add("VTIC", _K.INTEGER, "TIC version", mode=_STD)
    add("DATE", _K.DATE, "Meter clock", mode=_STD, has_horodate=True)
    add("NGTF", _K.TARIFF_OPTION, "Supplier tariff calendar", mode=_STD)
    add("LTARF", _K.TARIFF_PERIOD, "Current tariff period", mode=_STD)
    add("EAST", _K.ENERGY, "Imported energy", "Wh", mode=_STD)
    for n in range(1, 11):
        add(
            f"EASF{n:02d}",
            _K.ENERGY,
            f"Imported energy, supplier register {n}",
            "Wh",
            mode=_STD,
            register_index=n,
            register_set=RegisterSet.SUPPLIER,
        )
    for n in range(1, 5):
        add(
            f"EASD{n:02d}",
            _K.ENERGY,
            f"Imported energy, distributor register {n}",
            "Wh",
            mode=_STD,
            register_index=n,
            register_set=RegisterSet.DISTRIBUTOR,
        )
    add("EAIT", _K.ENERGY, "Exported energy", "Wh", mode=_STD, producer_only=True)
    for n in range(1, 5):
        add(
            f"ERQ{n}",
            _K.REACTIVE_ENERGY,
            f"Reactive energy Q{n}",
            "VArh",
            mode=_STD,
            producer_only=True,
        )
    for n in range(1, 4):
        add(
            f"IRMS{n}",
            _K.CURRENT,
            f"Current phase {n}",
            "A",
            mode=_STD,
            phase=n,
            three_phase_only=n > 1,
        )
    for n in range(1, 4):
        add(
            f"URMS{n}",
            _K.VOLTAGE,
            f"Voltage phase {n}",
            "V",
            mode=_STD,
            phase=n,
            three_phase_only=n > 1,
        )
    add("PREF", _K.POWER_KVA, "Reference power", "kVA", mode=_STD)
    add("PCOUP", _K.POWER_KVA, "Cut-off power", "kVA", mode=_STD)
    add("SINSTS", _K.APPARENT_POWER, "Imported apparent power", "VA", mode=_STD)
    for n in range(1, 4):
        add(
            f"SINSTS{n}",
            _K.APPARENT_POWER,
            f"Imported apparent power phase {n}",
            "VA",
            mode=_STD,
            phase=n,
            three_phase_only=True,
        )
    add(
        "SMAXSN",
        _K.APPARENT_POWER,
        "Maximum imported apparent power today",
        "VA",
        mode=_STD,
        has_horodate=True,
    )
    for n in range(1, 4):
        add(
            f"SMAXSN{n}",
            _K.APPARENT_POWER,
            f"Maximum imported apparent power today phase {n}",
            "VA",
            mode=_STD,
            phase=n,
            three_phase_only=True,
            has_horodate=True,
        )
    add(
        "SMAXSN-1",
        _K.APPARENT_POWER,
        "Maximum imported apparent power yesterday",
        "VA",
        mode=_STD,
        has_horodate=True,
    )
    for n in range(1, 4):
        add(
            f"SMAXSN{n}-1",
            _K.APPARENT_POWER,
            f"Maximum imported apparent power yesterday phase {n}",
            "VA",
            mode=_STD,
            phase=n,
            three_phase_only=True,
            has_horodate=True,
        )
    add(
        "SINSTI",
        _K.APPARENT_POWER,
        "Exported apparent power",
        "VA",
        mode=_STD,
        producer_only=True,
    )
    add(
        "SMAXIN",
        _K.APPARENT_POWER,
        "Maximum exported apparent power today",
        "VA",
        mode=_STD,
        producer_only=True,
        has_horodate=True,
    )
    add(
        "SMAXIN-1",
        _K.APPARENT_POWER,
        "Maximum exported apparent power yesterday",
        "VA",
        mode=_STD,
        producer_only=True,
        has_horodate=True,
    )
    add(
        "CCASN",
        _K.ACTIVE_POWER,
        "Imported active power, current load-curve point",
        "W",
        mode=_STD,
        has_horodate=True,
    )
    add(
        "CCASN-1",
        _K.ACTIVE_POWER,
        "Imported active power, previous load-curve point",
        "W",
        mode=_STD,
        has_horodate=True,
    )
    add(
        "CCAIN",
        _K.ACTIVE_POWER,
        "Exported active power, current load-curve point",
        "W",
        mode=_STD,
        producer_only=True,
        has_horodate=True,
    )
    add(
        "CCAIN-1",
        _K.ACTIVE_POWER,
        "Exported active power, previous load-curve point",
        "W",
        mode=_STD,
        producer_only=True,
        has_horodate=True,
    )
    for n in range(1, 4):
        add(
            f"UMOY{n}",
            _K.VOLTAGE,
            f"Average voltage phase {n}",
            "V",
            mode=_STD,
            phase=n,
            three_phase_only=n > 1,
            has_horodate=True,
        )
    add("STGE", _K.STATUS, "Status register", mode=_STD)
    for n in range(1, 4):
        add(f"DPM{n}", _K.INTEGER, f"Mobile peak {n} start", mode=_STD, has_horodate=True)
        add(f"FPM{n}", _K.INTEGER, f"Mobile peak {n} end", mode=_STD, has_horodate=True)
    add("MSG1", _K.TEXT, "Message", mode=_STD)
    add("MSG2", _K.TEXT, "Short message", mode=_STD)
    add("PRM", _K.PRM, "Delivery point (PRM)", mode=_STD, personal=True)
    add("RELAIS", _K.RELAYS, "Relays", mode=_STD)
    add("NTARF", _K.TARIFF_INDEX, "Current tariff index", mode=_STD)
    add("NJOURF", _K.INTEGER, "Supplier calendar day today", mode=_STD)
    add("NJOURF+1", _K.INTEGER, "Supplier calendar day tomorrow", mode=_STD)
    add("PJOURF+1", _K.DAY_PROFILE, "Tomorrow's day profile", mode=_STD)
    add("PPOINTE", _K.DAY_PROFILE, "Next peak day profile", mode=_STD)
    # Early "pilot" Linky meters (device types 67/68) use these names instead of SINSTS/SMAXSN.
    add("SINST1", _K.APPARENT_POWER, "Imported apparent power (pilot meter)", "VA", mode=_STD)
    add(
        "SMAXN",
        _K.APPARENT_POWER,
        "Maximum imported apparent power today (pilot meter)",
        "VA",
        mode=_STD,
        has_horodate=True,
    )
    add(
        "SMAXN-1",
        _K.APPARENT_POWER,
        "Maximum imported apparent power yesterday (pilot meter)",
        "VA",
        mode=_STD,
        has_horodate=True,
    )

    # ---- Historic mode (NOI-CPT_02E) --------------------------------------------------------
    add("ADCO", _K.ADDRESS, "Meter address", mode=_HIS, personal=True)
    add("OPTARIF", _K.TARIFF_OPTION, "Tariff option", mode=_HIS)
    add("ISOUSC", _K.CURRENT, "Subscribed current", "A", mode=_HIS)
    # Historic index registers, with the index their standard-mode twin (EASFnn) has.
    for label, name, index in (
        ("BASE", "Imported energy, base", 1),
        ("HCHC", "Imported energy, off-peak", 1),
        ("HCHP", "Imported energy, peak", 2),
        ("EJPHN", "Imported energy, EJP normal", 1),
        ("EJPHPM", "Imported energy, EJP mobile peak", 2),
        ("BBRHCJB", "Imported energy, Tempo blue off-peak", 1),
        ("BBRHPJB", "Imported energy, Tempo blue peak", 2),
        ("BBRHCJW", "Imported energy, Tempo white off-peak", 3),
        ("BBRHPJW", "Imported energy, Tempo white peak", 4),
        ("BBRHCJR", "Imported energy, Tempo red off-peak", 5),
        ("BBRHPJR", "Imported energy, Tempo red peak", 6),
    ):
        add(
            label,
            _K.ENERGY,
            name,
            "Wh",
            mode=_HIS,
            register_index=index,
            register_set=RegisterSet.SUPPLIER,
        )
    add("PEJP", _K.DURATION_MIN, "EJP notice", "min", mode=_HIS)
    add("PTEC", _K.TARIFF_PERIOD, "Current tariff period", mode=_HIS)
    add("DEMAIN", _K.TEMPO_TOMORROW, "Tempo colour tomorrow", mode=_HIS)
    add("IINST", _K.CURRENT, "Current", "A", mode=_HIS)
    for n in range(1, 4):
        add(
            f"IINST{n}",
            _K.CURRENT,
            f"Current phase {n}",
            "A",
            mode=_HIS,
            phase=n,
            three_phase_only=True,
        )
    add("ADPS", _K.CURRENT, "Subscribed current exceeded", "A", mode=_HIS)
    for n in range(1, 4):
        add(
            f"ADIR{n}",
            _K.CURRENT,
            f"Subscribed current exceeded phase {n}",
            "A",
            mode=_HIS,
            phase=n,
            three_phase_only=True,
        )
    add("IMAX", _K.CURRENT, "Maximum current", "A", mode=_HIS)
    for n in range(1, 4):
        add(
            f"IMAX{n}",
            _K.CURRENT,
            f"Maximum current phase {n}",
            "A",
            mode=_HIS,
            phase=n,
            three_phase_only=True,
        )
    add("PMAX", _K.ACTIVE_POWER, "Maximum power", "W", mode=_HIS, three_phase_only=True)
    add("PAPP", _K.APPARENT_POWER, "Apparent power", "VA", mode=_HIS)
    add("HHPHC", _K.TEXT, "Peak/off-peak schedule", mode=_HIS)
    add("MOTDETAT", _K.HEX_STATUS, "Meter status word", mode=_HIS)
    add("PPOT", _K.PHASE_PRESENCE, "Phase presence", mode=_HIS, three_phase_only=True)

    catalogue: dict[str, LabelSpec] = {}
    for spec in specs:
        if spec.label in catalogue:  # pragma: no cover - guarded by the tests
            raise ValueError(f"duplicate label {spec.label}")
        catalogue[spec.label] = spec
    return catalogue


LABELS: Final[Mapping[str, LabelSpec]] = MappingProxyType(_build())
"""Every known label, standard and historic, keyed by label."""

IMPORT_REGISTER_LABELS: Final[tuple[str, ...]] = tuple(
    spec.label for spec in LABELS.values() if spec.register_set is RegisterSet.SUPPLIER
)
"""Supplier import registers, standard (EASF01-10) then historic (BASE ... BBRHPJR)."""


@lru_cache(maxsize=256)
def _unknown_spec(label: str) -> LabelSpec:
    return LabelSpec(
        label=label,
        kind=LabelKind.TEXT,
        name=label,
        translation_key=UNKNOWN_TRANSLATION_KEY,
    )


def spec_for(label: str) -> LabelSpec:
    """The catalogue spec of `label`, or a generic TEXT spec for a label the catalogue lacks."""
    spec = LABELS.get(label)
    if spec is not None:
        return spec
    return _unknown_spec(label)
