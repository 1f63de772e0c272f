"""Decoders of the TIC's structured fields.

Standard mode: the STGE status register, RELAIS, the PJOURF+1/PPOINTE day profiles and the meter
address (ADSC, same layout as the historic ADCO). Historic mode: PTEC periods, the DEMAIN Tempo
colour and PPOT phase presence.

The ``decode_*`` functions raise `ValueError` on malformed data (the frame decoder then leaves the
label out); the ``*_from_*`` helpers and `historic_period` return None instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import Final


class TempoColour(StrEnum):
    """A Tempo day colour (compares equal to its plain string value)."""

    BLUE = "blue"
    WHITE = "white"
    RED = "red"


class CutOffState(StrEnum):
    """STGE bits 1-3: state of the cut-off device (the meter's built-in breaker)."""

    CLOSED = "closed"
    OPEN_OVERPOWER = "open_overpower"
    OPEN_OVERVOLTAGE = "open_overvoltage"
    OPEN_LOAD_SHEDDING = "open_load_shedding"
    OPEN_BY_ORDER = "open_by_order"
    """Opened by a CPL or Euridis order."""
    OPEN_OVERHEATING_ABOVE_MAX = "open_overheating_above_max"
    """Opened by overheating with a current above the maximum current."""
    OPEN_OVERHEATING_BELOW_MAX = "open_overheating_below_max"
    """Opened by overheating with a current below the maximum current."""
    UNKNOWN = "unknown"
    """Value 7, not defined by the specification."""


class EuridisState(StrEnum):
    """STGE bits 19-20: the Euridis (optical port) output."""

    OFF = "off"
    ON_WITHOUT_SECURITY = "on_without_security"
    ON_WITH_SECURITY = "on_with_security"
    UNKNOWN = "unknown"
    """Value 2, not defined by the specification."""


class CplStatus(StrEnum):
    """STGE bits 21-22: the power-line-carrier (CPL) status."""

    NEW_UNLOCK = "new_unlock"
    NEW_LOCK = "new_lock"
    REGISTERED = "registered"
    UNKNOWN = "unknown"
    """Value 3, not defined by the specification."""


_CUT_OFF: Final = tuple(CutOffState)
_EURIDIS: Final = (
    EuridisState.OFF,
    EuridisState.ON_WITHOUT_SECURITY,
    EuridisState.UNKNOWN,
    EuridisState.ON_WITH_SECURITY,
)
_CPL: Final = tuple(CplStatus)
_TEMPO_CODES: Final = (None, TempoColour.BLUE, TempoColour.WHITE, TempoColour.RED)

_HEX8: Final = re.compile(r"[0-9A-Fa-f]{8}")
_HEX2: Final = re.compile(r"[0-9A-Fa-f]{2}")
_PROFILE_BLOCK: Final = re.compile(r"([0-9]{2})([0-9]{2})([0-9A-Fa-f]{4})")


@dataclass(frozen=True, slots=True)
class Stge:
    """The decoded STGE status register (bit 0 = least significant)."""

    raw: int
    """The register as a 32-bit integer."""
    dry_contact_open: bool
    """Bit 0."""
    cut_off_device: CutOffState
    """Bits 1-3."""
    terminal_cover_open: bool
    """Bit 4: distributor terminal cover."""
    overvoltage: bool
    """Bit 6: overvoltage on a phase."""
    reference_power_exceeded: bool
    """Bit 7."""
    producer: bool
    """Bit 8."""
    injecting: bool
    """Bit 9: active energy flows out (negative direction)."""
    supplier_tariff_index: int
    """Bits 10-13, plus one: 1-16, equals NTARF."""
    distributor_tariff_index: int
    """Bits 14-15, plus one: 1-4, the EASDnn register in use."""
    clock_degraded: bool
    """Bit 16."""
    standard_mode: bool
    """Bit 17: the TIC is in standard mode."""
    euridis: EuridisState
    """Bits 19-20."""
    cpl_status: CplStatus
    """Bits 21-22."""
    cpl_synchronised: bool
    """Bit 23."""
    tempo_today: TempoColour | None
    """Bits 24-25; None when the contract has no Tempo colour."""
    tempo_tomorrow: TempoColour | None
    """Bits 26-27; None when not known (yet) or not Tempo."""
    mobile_peak_notice: int | None
    """Bits 28-29: notice of mobile peak PM1-PM3, None when none."""
    mobile_peak_active: int | None
    """Bits 30-31: mobile peak PM1-PM3 in progress, None when none."""


def decode_stge(hex8: str) -> Stge:
    """Decode the 8 hex characters of STGE. Raises ValueError if they are not 8 hex digits."""
    if _HEX8.fullmatch(hex8) is None:
        raise ValueError(f"STGE is not 8 hex digits: {hex8!r}")
    v = int(hex8, 16)
    return Stge(
        raw=v,
        dry_contact_open=bool(v & 1),
        cut_off_device=_CUT_OFF[(v >> 1) & 0x7],
        terminal_cover_open=bool(v >> 4 & 1),
        overvoltage=bool(v >> 6 & 1),
        reference_power_exceeded=bool(v >> 7 & 1),
        producer=bool(v >> 8 & 1),
        injecting=bool(v >> 9 & 1),
        supplier_tariff_index=((v >> 10) & 0xF) + 1,
        distributor_tariff_index=((v >> 14) & 0x3) + 1,
        clock_degraded=bool(v >> 16 & 1),
        standard_mode=bool(v >> 17 & 1),
        euridis=_EURIDIS[(v >> 19) & 0x3],
        cpl_status=_CPL[(v >> 21) & 0x3],
        cpl_synchronised=bool(v >> 23 & 1),
        tempo_today=_TEMPO_CODES[(v >> 24) & 0x3],
        tempo_tomorrow=_TEMPO_CODES[(v >> 26) & 0x3],
        mobile_peak_notice=((v >> 28) & 0x3) or None,
        mobile_peak_active=((v >> 30) & 0x3) or None,
    )


RELAY_COUNT: Final = 8


def decode_relais(data: str) -> tuple[bool, ...]:
    """RELAIS (decimal 0-255) as 8 bools: relay N at index N-1, True = closed.

    Relay 1 is the physical dry contact, relays 2-8 are virtual. Raises ValueError if malformed.
    """
    if not (data.isdigit() and data.isascii()):
        raise ValueError(f"RELAIS is not decimal: {data!r}")
    v = int(data)
    if v > 0xFF:
        raise ValueError(f"RELAIS out of range: {data!r}")
    return tuple(bool(v >> n & 1) for n in range(RELAY_COUNT))


@dataclass(frozen=True, slots=True)
class ProfileBlock:
    """One used block of a day profile (PJOURF+1, PPOINTE): from `start`, do `action`."""

    start: time
    """Local time of the meter at which the block starts."""
    action: int
    """The raw 16-bit action word."""
    tariff_index: int
    """Bits 0-3: supplier tariff index (0 = no change)."""
    virtual_contacts: tuple[bool, ...]
    """Bits 4-10: virtual contacts 1-7 (index 0 = contact 1), True when the bit is set."""
    dry_contact: int
    """Bits 14-15: the dry-contact action code, as sent (0-3)."""


UNUSED_BLOCK: Final = "NONUTILE"
PROFILE_BLOCKS: Final = 11


def decode_day_profile(data: str) -> tuple[ProfileBlock, ...]:
    """PJOURF+1 / PPOINTE: up to 11 blocks ``HHMMSSSS`` or ``NONUTILE``; the used blocks, in order.

    Raises ValueError on a malformed block or more than 11 blocks.
    """
    tokens = data.split()
    if len(tokens) > PROFILE_BLOCKS:
        raise ValueError(f"more than {PROFILE_BLOCKS} profile blocks")
    blocks: list[ProfileBlock] = []
    for token in tokens:
        if token == UNUSED_BLOCK:
            continue
        match = _PROFILE_BLOCK.fullmatch(token)
        if match is None:
            raise ValueError(f"malformed profile block: {token!r}")
        hours, minutes, action_hex = match.groups()
        action = int(action_hex, 16)
        blocks.append(
            ProfileBlock(
                start=time(int(hours), int(minutes)),  # ValueError for 24:00, 12:60...
                action=action,
                tariff_index=action & 0xF,
                virtual_contacts=tuple(bool(action >> n & 1) for n in range(4, 11)),
                dry_contact=(action >> 14) & 0x3,
            )
        )
    return tuple(blocks)


# ---- Meter address ---------------------------------------------------------------------------

# Manufacturer codes of the Enedis list, limited to the entries stated with confidence.
_MANUFACTURERS: Final[dict[str, str]] = {
    "01": "Crouzet / Monetel",
    "02": "Sagem / Sagemcom",
    "03": "Schlumberger / Actaris / Itron",
    "04": "Landis+Gyr / Siemens Metering",
    "05": "Sauter / Stepper Energie France / Zellweger",
    "06": "Itron",
    "07": "MAEC",
    "08": "Matra-Chauvin Arnoux / Enerdis",
    "09": "Faure-Herman",
    "11": "Magnol / Elster / Honeywell",
    "12": "Gaz Thermique",
    "14": "Ghielmetti / Dialog E.S. / Micronique",
    "15": "Mecelec",
    "16": "Legrand / Baco",
    "17": "SERD-Schlumberger",
    "18": "Schneider / Merlin Gerin / Gardy",
    "19": "General Electric / Power Control",
    "20": "Nuovo Pignone / Dresser",
}

# Device types of the Linky family: (model, phases or None when not stated).
_LINKY_TYPES: Final[dict[str, tuple[str, int | None]]] = {
    "61": ("Linky single-phase 60 A, G3, top power input", 1),
    "62": ("Linky single-phase 90 A, G1, bottom power input", 1),
    "63": ("Linky three-phase 60 A, G1, bottom power input", 3),
    "64": ("Linky single-phase 60 A, G3, bottom power input", 1),
    "67": ("Linky pilot meter", None),
    "68": ("Linky pilot meter", None),
    "70": ("Linky single-phase 60 A, G3 development series", 1),
    "71": ("Linky three-phase 60 A, G3 development series", 3),
    "75": ("Linky single-phase 90 A, G3, bottom power input", 1),
    "76": ("Linky three-phase 60 A, G3, bottom power input", 3),
}

PILOT_DEVICE_TYPES: Final = frozenset({"67", "68"})
ADDRESS_LENGTH: Final = 12


@dataclass(frozen=True, slots=True)
class MeterAddress:
    """ADSC/ADCO split into its parts. `serial` identifies a household: never log it."""

    manufacturer_code: str
    manufacturer: str
    """The manufacturer's name, or ``Manufacturer <code>`` when the code is not in our list."""
    year: int
    """Year of manufacture (20xx)."""
    device_type: str
    """Two digits; 61-64, 70, 71, 75, 76 are Linky, 67/68 the pilot series."""
    model: str | None
    """Human-readable device type for the Linky family, else None."""
    phases: int | None
    """1 or 3 when the device type says so, else None."""
    serial: str = field(repr=False)
    """Left out of repr() so that logging the address does not leak it."""

    @property
    def is_linky(self) -> bool:
        return self.device_type in _LINKY_TYPES

    @property
    def is_pilot(self) -> bool:
        """An early pilot Linky (SINST1/SMAXN/SMAXN-1 instead of SINSTS/SMAXSN)."""
        return self.device_type in PILOT_DEVICE_TYPES


def decode_address(adsc: str) -> MeterAddress | None:
    """Split a 12-digit ADSC/ADCO; None if it is not 12 ASCII digits (e.g. anonymised)."""
    if len(adsc) != ADDRESS_LENGTH or not (adsc.isdigit() and adsc.isascii()):
        return None
    code, year, device_type, serial = adsc[0:2], adsc[2:4], adsc[4:6], adsc[6:]
    model, phases = _LINKY_TYPES.get(device_type, (None, None))
    return MeterAddress(
        manufacturer_code=code,
        manufacturer=_MANUFACTURERS.get(code, f"Manufacturer {code}"),
        year=2000 + int(year),
        device_type=device_type,
        model=model,
        phases=phases,
        serial=serial,
    )


# ---- Historic mode ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoricPeriod:
    """What a historic PTEC value means."""

    code: str
    """PTEC stripped of its padding dots: TH, HC, HP, HN, PM, HCJB ... HPJR."""
    key: str
    """Stable snake-case key (base, off_peak, peak, normal, mobile_peak, off_peak_blue ...)."""
    register: str
    """The index register that counts during this period (HCJB -> BBRHCJB)."""
    index: int
    """The register's index within the tariff option (1-based, as NTARF would say)."""
    tempo: TempoColour | None
    """Today's Tempo colour for a Tempo period, else None."""


_B, _W, _R = TempoColour.BLUE, TempoColour.WHITE, TempoColour.RED
_PERIODS: Final[dict[str, HistoricPeriod]] = {
    p.code: p
    for p in (
        HistoricPeriod("TH", "base", "BASE", 1, None),
        HistoricPeriod("HC", "off_peak", "HCHC", 1, None),
        HistoricPeriod("HP", "peak", "HCHP", 2, None),
        HistoricPeriod("HN", "normal", "EJPHN", 1, None),
        HistoricPeriod("PM", "mobile_peak", "EJPHPM", 2, None),
        HistoricPeriod("HCJB", "off_peak_blue", "BBRHCJB", 1, _B),
        HistoricPeriod("HPJB", "peak_blue", "BBRHPJB", 2, _B),
        HistoricPeriod("HCJW", "off_peak_white", "BBRHCJW", 3, _W),
        HistoricPeriod("HPJW", "peak_white", "BBRHPJW", 4, _W),
        HistoricPeriod("HCJR", "off_peak_red", "BBRHCJR", 5, _R),
        HistoricPeriod("HPJR", "peak_red", "BBRHPJR", 6, _R),
    )
}

HISTORIC_PERIODS: Final = tuple(_PERIODS.values())


def historic_period(ptec: str) -> HistoricPeriod | None:
    """The meaning of a PTEC value ("HC.." or "HC", "HCJB"...); None if unknown."""
    return _PERIODS.get(ptec.strip(" ."))


def tempo_from_ptec(ptec: str) -> TempoColour | None:
    """Today's Tempo colour from PTEC (HCJB/HPJB blue, ...W white, ...R red); None otherwise."""
    period = _PERIODS.get(ptec.strip(" ."))
    return None if period is None else period.tempo


_DEMAIN: Final[dict[str, TempoColour | None]] = {
    "----": None,
    "BLEU": TempoColour.BLUE,
    "BLAN": TempoColour.WHITE,
    "ROUG": TempoColour.RED,
}


def tempo_from_demain(data: str) -> TempoColour | None:
    """Tomorrow's Tempo colour from DEMAIN; None for ``----`` (not known yet) or anything else."""
    return _DEMAIN.get(data.strip())


def decode_demain(data: str) -> TempoColour | None:
    """Like `tempo_from_demain`, but raises ValueError for a value outside the four known ones."""
    try:
        return _DEMAIN[data.strip()]
    except KeyError:
        raise ValueError(f"unknown DEMAIN value: {data!r}") from None


def decode_ppot(data: str) -> tuple[bool, bool, bool]:
    """PPOT (2 hex chars, bit n set = phase n absent) as (phase 1, 2, 3) present flags."""
    if _HEX2.fullmatch(data) is None:
        raise ValueError(f"PPOT is not 2 hex digits: {data!r}")
    v = int(data, 16)
    return (not v >> 1 & 1, not v >> 2 & 1, not v >> 3 & 1)
