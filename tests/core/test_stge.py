"""STGE, RELAIS, day profiles, meter address and the historic PTEC/DEMAIN/PPOT helpers."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.energy_ledger.core.tic import LABELS, decode_address, decode_stge
from custom_components.energy_ledger.core.tic.stge import (
    HISTORIC_PERIODS,
    CplStatus,
    CutOffState,
    EuridisState,
    ProfileBlock,
    Stge,
    TempoColour,
    decode_day_profile,
    decode_demain,
    decode_ppot,
    decode_relais,
    historic_period,
    tempo_from_demain,
    tempo_from_ptec,
)

NO_CONTACTS = (False,) * 7


def test_stge_openhab_producer() -> None:
    # standard_mono_producer (openhab): NTARF 01, RELAIS 000, producer injecting.
    assert decode_stge("002A0301") == Stge(
        raw=0x002A0301,
        dry_contact_open=True,
        cut_off_device=CutOffState.CLOSED,
        terminal_cover_open=False,
        overvoltage=False,
        reference_power_exceeded=False,
        producer=True,
        injecting=True,
        supplier_tariff_index=1,
        distributor_tariff_index=1,
        clock_degraded=False,
        standard_mode=True,
        euridis=EuridisState.ON_WITHOUT_SECURITY,
        cpl_status=CplStatus.NEW_LOCK,
        cpl_synchronised=False,
        tempo_today=None,
        tempo_tomorrow=None,
        mobile_peak_notice=None,
        mobile_peak_active=None,
    )


def test_stge_lains_three_phase_tempo() -> None:
    # standard_tri_tempo (lains): LTARF "HC  BLANC", NTARF 03.
    stge = decode_stge("463A0800")
    assert stge.tempo_today == "white"
    assert stge.tempo_tomorrow == "blue"
    assert stge.supplier_tariff_index == 3
    assert stge.distributor_tariff_index == 1
    assert not stge.producer
    assert not stge.injecting
    assert not stge.dry_contact_open
    assert stge.cut_off_device is CutOffState.CLOSED
    assert stge.standard_mode
    assert not stge.clock_degraded
    assert stge.euridis is EuridisState.ON_WITH_SECURITY
    assert stge.cpl_status is CplStatus.NEW_LOCK
    assert not stge.cpl_synchronised
    assert stge.mobile_peak_notice is None
    # Bits 30-31 = 01 in this capture: "PM1 in progress" by the table (see the report).
    assert stge.mobile_peak_active == 1


def test_stge_goteleinfo_hc_weekend() -> None:
    # standard_mono_hc-weekend (goteleinfo): NTARF 01, RELAIS 001 (closed).
    stge = decode_stge("003A8000")
    assert stge.supplier_tariff_index == 1
    assert stge.distributor_tariff_index == 3
    assert not stge.dry_contact_open
    assert stge.tempo_today is None
    assert stge.euridis is EuridisState.ON_WITH_SECURITY


@pytest.mark.parametrize(
    ("bit", "field"),
    [
        (0, "dry_contact_open"),
        (4, "terminal_cover_open"),
        (6, "overvoltage"),
        (7, "reference_power_exceeded"),
        (8, "producer"),
        (9, "injecting"),
        (16, "clock_degraded"),
        (17, "standard_mode"),
        (23, "cpl_synchronised"),
    ],
)
def test_stge_single_bits(bit: int, field: str) -> None:
    assert getattr(decode_stge(f"{1 << bit:08X}"), field) is True
    assert getattr(decode_stge("00000000"), field) is False
    # Every other bit set leaves this one False.
    assert getattr(decode_stge(f"{0xFFFFFFFF ^ (1 << bit):08X}"), field) is False


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (0, "closed"),
        (1, "open_overpower"),
        (2, "open_overvoltage"),
        (3, "open_load_shedding"),
        (4, "open_by_order"),
        (5, "open_overheating_above_max"),
        (6, "open_overheating_below_max"),
        (7, "unknown"),
    ],
)
def test_stge_cut_off_device(value: int, state: str) -> None:
    assert decode_stge(f"{value << 1:08X}").cut_off_device == state


@pytest.mark.parametrize(
    ("bits", "field", "expected"),
    [
        (0b0000 << 10, "supplier_tariff_index", 1),
        (0b1001 << 10, "supplier_tariff_index", 10),
        (0b1111 << 10, "supplier_tariff_index", 16),
        (0b11 << 14, "distributor_tariff_index", 4),
        (0b00 << 19, "euridis", "off"),
        (0b01 << 19, "euridis", "on_without_security"),
        (0b10 << 19, "euridis", "unknown"),
        (0b11 << 19, "euridis", "on_with_security"),
        (0b00 << 21, "cpl_status", "new_unlock"),
        (0b01 << 21, "cpl_status", "new_lock"),
        (0b10 << 21, "cpl_status", "registered"),
        (0b00 << 24, "tempo_today", None),
        (0b01 << 24, "tempo_today", "blue"),
        (0b10 << 24, "tempo_today", "white"),
        (0b11 << 24, "tempo_today", "red"),
        (0b11 << 26, "tempo_tomorrow", "red"),
        (0b01 << 26, "tempo_tomorrow", "blue"),
        (0b10 << 28, "mobile_peak_notice", 2),
        (0b11 << 28, "mobile_peak_notice", 3),
        (0b11 << 30, "mobile_peak_active", 3),
        (0b00 << 30, "mobile_peak_active", None),
    ],
)
def test_stge_fields(bits: int, field: str, expected: object) -> None:
    assert getattr(decode_stge(f"{bits:08X}"), field) == expected


def test_stge_accepts_lower_case_hex() -> None:
    assert decode_stge("463a0800") == decode_stge("463A0800")


@pytest.mark.parametrize(
    "raw",
    ["", "1234567", "123456789", "0x123456", "GGGGGGGG", "+1234567", "1_234567", " 1234567"],
)
def test_stge_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match="STGE"):
        decode_stge(raw)


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_stge_any_value_decodes(value: int) -> None:
    stge = decode_stge(f"{value:08X}")
    assert stge.raw == value
    assert 1 <= stge.supplier_tariff_index <= 16
    assert 1 <= stge.distributor_tariff_index <= 4


@pytest.mark.parametrize(
    ("raw", "closed"),
    [
        ("000", ()),
        ("001", (1,)),
        ("002", (2,)),
        ("128", (8,)),
        ("005", (1, 3)),
        ("255", (1, 2, 3, 4, 5, 6, 7, 8)),
    ],
)
def test_relais(raw: str, closed: tuple[int, ...]) -> None:
    relays = decode_relais(raw)
    assert len(relays) == 8
    assert relays == tuple(n in closed for n in range(1, 9))


@pytest.mark.parametrize("raw", ["256", "", "-01", " 01", "abc", "1.0", "٣"])
def test_relais_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match="RELAIS"):
        decode_relais(raw)


def test_day_profile_lains_tempo() -> None:
    raw = "00004001 06004002 22004001" + " NONUTILE" * 8
    assert decode_day_profile(raw) == (
        ProfileBlock(time(0, 0), 0x4001, 1, NO_CONTACTS, 1),
        ProfileBlock(time(6, 0), 0x4002, 2, NO_CONTACTS, 1),
        ProfileBlock(time(22, 0), 0x4001, 1, NO_CONTACTS, 1),
    )


def test_day_profile_goteleinfo_hc_weekend() -> None:
    raw = "00008002 0256C001 07568002 1156C001 14568002" + " NONUTILE" * 6
    blocks = decode_day_profile(raw)
    assert [b.start for b in blocks] == [
        time(0, 0),
        time(2, 56),
        time(7, 56),
        time(11, 56),
        time(14, 56),
    ]
    assert [b.tariff_index for b in blocks] == [2, 1, 2, 1, 2]
    assert [b.dry_contact for b in blocks] == [2, 3, 2, 3, 2]
    assert [b.action for b in blocks] == [0x8002, 0xC001, 0x8002, 0xC001, 0x8002]


def test_day_profile_virtual_contacts() -> None:
    (block,) = decode_day_profile("12300090")  # 0x0090: contacts 1 and 4, tariff index 0
    assert block.start == time(12, 30)
    assert block.tariff_index == 0
    assert block.virtual_contacts == (True, False, False, True, False, False, False)
    (block,) = decode_day_profile("235907F0")
    assert block.virtual_contacts == (True,) * 7
    assert block.dry_contact == 0


def test_day_profile_all_unused() -> None:
    assert decode_day_profile(" ".join(["NONUTILE"] * 11)) == ()
    assert decode_day_profile("") == ()


@pytest.mark.parametrize(
    "raw",
    [
        "24004001",  # hour 24
        "12604001",  # minute 60
        "1200400",  # 7 chars
        "12004001X",
        "1200G001",
        "NONUTILS",
        " ".join(["00004001"] * 12),  # 12 blocks
    ],
)
def test_day_profile_malformed(raw: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        decode_day_profile(raw)


def test_address_three_phase_linky() -> None:
    address = decode_address("041776199277")  # lains standard_tri_tempo
    assert address is not None
    assert address.manufacturer_code == "04"
    assert address.manufacturer == "Landis+Gyr / Siemens Metering"
    assert address.year == 2017
    assert address.device_type == "76"
    assert address.phases == 3
    assert address.model is not None
    assert "three-phase" in address.model
    assert address.serial == "199277"
    assert address.is_linky
    assert not address.is_pilot


def test_address_single_phase_linky() -> None:
    address = decode_address("021861348497")  # esciara historic Tempo
    assert address is not None
    assert address.manufacturer == "Sagem / Sagemcom"
    assert address.year == 2018
    assert address.device_type == "61"
    assert address.phases == 1


def test_address_not_linky_and_unknown_manufacturer() -> None:
    address = decode_address("991522120078")
    assert address is not None
    assert address.manufacturer == "Manufacturer 99"
    assert address.year == 2015
    assert address.model is None
    assert address.phases is None
    assert not address.is_linky


def test_address_pilot() -> None:
    address = decode_address("031967000001")
    assert address is not None
    assert address.is_pilot
    assert address.is_linky


def test_address_repr_hides_serial() -> None:
    address = decode_address("041776199277")
    assert "199277" not in repr(address)


@pytest.mark.parametrize(
    "raw", ["12345678900", "XXXXXXXXXXXX", "", "0417761992770", "04177619927٣"]
)
def test_address_malformed_is_none(raw: str) -> None:
    assert decode_address(raw) is None


@pytest.mark.parametrize(
    ("ptec", "colour"),
    [
        ("HCJB", "blue"),
        ("HPJB", "blue"),
        ("HCJW", "white"),
        ("HPJW", "white"),
        ("HCJR", "red"),
        ("HPJR", "red"),
        ("HC..", None),
        ("HP", None),
        ("TH..", None),
        ("????", None),
    ],
)
def test_tempo_from_ptec(ptec: str, colour: str | None) -> None:
    assert tempo_from_ptec(ptec) == colour


@pytest.mark.parametrize(
    ("ptec", "key", "register", "index"),
    [
        ("TH..", "base", "BASE", 1),
        ("HC..", "off_peak", "HCHC", 1),
        ("HP..", "peak", "HCHP", 2),
        ("HP", "peak", "HCHP", 2),
        ("HN..", "normal", "EJPHN", 1),
        ("PM..", "mobile_peak", "EJPHPM", 2),
        ("HCJB", "off_peak_blue", "BBRHCJB", 1),
        ("HPJB", "peak_blue", "BBRHPJB", 2),
        ("HCJW", "off_peak_white", "BBRHCJW", 3),
        ("HPJW", "peak_white", "BBRHPJW", 4),
        ("HCJR", "off_peak_red", "BBRHCJR", 5),
        ("HPJR", "peak_red", "BBRHPJR", 6),
    ],
)
def test_historic_period(ptec: str, key: str, register: str, index: int) -> None:
    period = historic_period(ptec)
    assert period is not None
    assert (period.key, period.register, period.index) == (key, register, index)
    assert period.code == ptec.strip(".")


def test_historic_period_unknown() -> None:
    assert historic_period("XX..") is None
    assert historic_period("") is None


def test_historic_periods_agree_with_the_catalogue() -> None:
    for period in HISTORIC_PERIODS:
        assert LABELS[period.register].register_index == period.index


@pytest.mark.parametrize(
    ("raw", "colour"),
    [("----", None), ("BLEU", "blue"), ("BLAN", "white"), ("ROUG", "red")],
)
def test_demain(raw: str, colour: str | None) -> None:
    assert tempo_from_demain(raw) == colour
    assert decode_demain(raw) == colour
    if colour is not None:
        assert isinstance(decode_demain(raw), TempoColour)


def test_demain_unknown() -> None:
    assert tempo_from_demain("VERT") is None
    with pytest.raises(ValueError, match="DEMAIN"):
        decode_demain("VERT")


@pytest.mark.parametrize(
    ("raw", "present"),
    [
        ("00", (True, True, True)),
        ("02", (False, True, True)),
        ("04", (True, False, True)),
        ("08", (True, True, False)),
        ("0E", (False, False, False)),
        ("0A", (False, True, False)),
        ("01", (True, True, True)),
    ],
)
def test_ppot(raw: str, present: tuple[bool, bool, bool]) -> None:
    assert decode_ppot(raw) == present


@pytest.mark.parametrize("raw", ["", "0", "000", "0G", " 0"])
def test_ppot_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match="PPOT"):
        decode_ppot(raw)
