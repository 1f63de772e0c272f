"""Self-consumption saving and injection earnings: hand-worked windows, resets, rounding, props.

Expected money is worked out by hand in the comments (Wh × EUR/kWh / 1000); the property tests
check exactness against `fractions.Fraction`, an arithmetic independent of `decimal`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.energy_ledger.core.power_stats import WindowStats
from custom_components.energy_ledger.core.saving import (
    EnergyCounter,
    SavingTotals,
    WindowEnergy,
    WindowMoney,
    energy_cost,
    energy_from_power,
    pick_energy,
    price_window,
    rate_percent,
    to_cents,
    window_energy,
    window_money,
)
from custom_components.energy_ledger.core.tariff import (
    PlanKind,
    PriceNotFoundError,
    PricePlan,
    PriceSeries,
)

FAST = settings(max_examples=200, deadline=None)
PARIS = ZoneInfo("Europe/Paris")
D = Decimal

# The reference system's prices (domain.md §1); the feed-in change is taken as 1 December 2025.
REFERENCE = PricePlan(
    kind=PlanKind.HC_HP,
    zone=PARIS,
    energy={
        "peak": PriceSeries.of(("2025-02-01", "0.27")),
        "off_peak": PriceSeries.of(("2025-02-01", "0.2068")),
    },
    feed_in=PriceSeries.of(("2024-01-01", "0.1269"), ("2025-12-01", "0.04")),
)


def paris(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS)


def test_reference_two_meter_setup() -> None:
    """Consumption meter (EASF01 HC, EASF02 HP) and production meter (EAIT), November 2025.

    HP window: Δconsumption 150 Wh, Δproduction 400 Wh: self-consumed min = 150 Wh, injected
    400 − 150 = 250 Wh; saving 150 × 0.27 / 1000 = 0.0405 EUR, earnings 250 × 0.1269 / 1000 =
    0.031725 EUR.
    HC window: Δconsumption 300 Wh, Δproduction 120 Wh: self-consumed 120 Wh, injected 0; saving
    120 × 0.2068 / 1000 = 0.024816 EUR.
    Totals: saving 0.065316 -> 0.07 EUR; earnings 0.031725 -> 0.03 EUR; self-consumption rate
    270 / 520 = 51.92 %; self-sufficiency 270 / (150 + 300) = 60 %.
    """
    easf01, easf02, eait = EnergyCounter(), EnergyCounter(), EnergyCounter()
    easf01.update(2_000_000)
    easf02.update(1_000_000)
    eait.update(500_000)
    totals = SavingTotals()

    hp = window_energy(production_wh=eait.update(500_400), grid_import_wh=easf02.update(1_000_150))
    assert hp == WindowEnergy(
        production_wh=D(400),
        self_consumed_wh=D(150),
        injected_wh=D(250),
        export_beyond_production_wh=D(0),
        home_consumption_wh=D(150),
    )
    hp_money = price_window(hp, REFERENCE, "peak", paris(2025, 11, 20, 14, 5))
    assert hp_money == WindowMoney(saving_eur=D("0.0405"), injection_eur=D("0.031725"))
    totals.add("peak", hp, hp_money)

    hc = window_energy(production_wh=eait.update(500_520), grid_import_wh=easf01.update(2_000_300))
    assert (hc.self_consumed_wh, hc.injected_wh) == (D(120), D(0))
    hc_money = price_window(hc, REFERENCE, "off_peak", paris(2025, 11, 20, 23, 5))
    assert hc_money == WindowMoney(saving_eur=D("0.024816"), injection_eur=D(0))
    totals.add("off_peak", hc, hc_money)

    assert totals.self_consumed_wh == {"peak": D(150), "off_peak": D(120)}
    assert totals.total_saving_eur == D("0.065316")
    assert to_cents(totals.total_saving_eur) == D("0.07")
    assert to_cents(totals.injection_eur) == D("0.03")
    rate = totals.self_consumption_rate()
    assert rate is not None
    assert rate.quantize(D("0.01")) == D("51.92")
    assert totals.self_sufficiency() == D(60)


def test_feed_in_price_change_in_december_2025() -> None:
    """250 Wh injected at 23:55 on 30 November earns 0.031725 EUR; at 00:00 on 1 December, 0.01."""
    energy = window_energy(production_wh=400, grid_import_wh=150)
    before = price_window(energy, REFERENCE, "off_peak", paris(2025, 11, 30, 23, 55))
    after = price_window(energy, REFERENCE, "off_peak", paris(2025, 12, 1, 0, 0))
    assert before.injection_eur == D("0.031725")
    assert after.injection_eur == D("0.01")  # 250 × 0.04 / 1000


def test_single_meter_with_production_sensor() -> None:
    """Producer Linky (EASF01 import, EAIT export) plus a PV production sensor.

    Δproduction 1000 Wh, Δexport 350 Wh, Δimport 200 Wh: self-consumed 1000 − 350 = 650 Wh,
    injected 350 Wh, home consumption 200 + 650 = 850 Wh; self-consumption rate 65 %,
    self-sufficiency 650 / 850 = 76.47 %.
    """
    energy = window_energy(production_wh=1000, export_wh=350, grid_import_wh=200)
    assert energy == WindowEnergy(D(1000), D(650), D(350), D(0), D(850))
    totals = SavingTotals()
    totals.add("peak", energy, window_money(energy, price=D("0.27"), feed_in_price=D("0.04")))
    assert totals.saving_eur == {"peak": D("0.1755")}  # 650 × 0.27 / 1000
    assert totals.injection_eur == D("0.014")  # 350 × 0.04 / 1000
    assert totals.self_consumption_rate() == D(65)
    sufficiency = totals.self_sufficiency()
    assert sufficiency is not None
    assert sufficiency.quantize(D("0.01")) == D("76.47")
    # Without grid import, home consumption (and self-sufficiency) is unknown.
    assert window_energy(production_wh=1000, export_wh=350).home_consumption_wh is None


def test_export_beyond_production() -> None:
    """Export 130 Wh against production 100 Wh: nothing self-consumed, 30 Wh unexplained."""
    energy = window_energy(production_wh=100, export_wh=130, grid_import_wh=50)
    assert energy == WindowEnergy(D(100), D(0), D(130), D(30), D(50))
    money = window_money(energy, price=D("0.27"), feed_in_price=D("0.1269"))
    assert money == WindowMoney(D(0), D("0.016497"))  # 130 × 0.1269 / 1000


def test_counter_reset_and_meter_replacement() -> None:
    """A register going backwards gives a zero delta and re-bases, never negative energy."""
    counter = EnergyCounter()
    assert [counter.update(v) for v in (1000, 1500, 20, 80, 80)] == [0, 500, 0, 60, 0]
    assert (counter.last, counter.resets) == (80, 1)
    restored = EnergyCounter.from_dict(json.loads(json.dumps(counter.to_dict())))
    assert (restored.last, restored.resets) == (80, 1)
    assert restored.update(100) == 20

    # Meter replacement mid-window: the production meter goes from 12 345 000 Wh to 15 Wh.
    production, consumption = EnergyCounter(12_345_000), EnergyCounter(800_000)
    energy = window_energy(
        production_wh=production.update(15), grid_import_wh=consumption.update(800_200)
    )
    assert (energy.self_consumed_wh, energy.injected_wh) == (D(0), D(0))
    money = window_money(energy, price=D("0.27"), feed_in_price=D("0.1269"))
    assert money == WindowMoney(D(0), D(0))
    # The next window counts from the new meter's index.
    energy = window_energy(
        production_wh=production.update(115), grid_import_wh=consumption.update(800_260)
    )
    assert (energy.self_consumed_wh, energy.injected_wh) == (D(60), D(40))


def test_rounding_only_at_the_edge() -> None:
    """Half-even to the cent, on running totals only.

    Twelve 5-minute windows each saving 20 Wh × 0.20 EUR/kWh = 0.004 EUR: exactly 0.048 EUR over
    the hour, shown as 0.05. Rounding each window would have given 0.00.
    """
    assert to_cents(D("0.125")) == D("0.12")
    assert to_cents(D("0.135")) == D("0.14")
    assert to_cents(D("0.0449999")) == D("0.04")
    totals = SavingTotals()
    running: list[Decimal] = []
    for _ in range(3):  # three hours
        for _ in range(12):
            energy = window_energy(production_wh=20, export_wh=0)
            money = window_money(energy, price=D("0.20"), feed_in_price=D("0.04"))
            assert to_cents(money.saving_eur) == D(0)
            totals.add("peak", energy, money)
        running.append(to_cents(totals.total_saving_eur))
    # Exact running totals 0.048, 0.096, 0.144 are stored as 0.05, 0.10, 0.14; the hourly
    # increments 0.05, 0.05, 0.04 add up to the rounded total, never drifting.
    assert running == [D("0.05"), D("0.10"), D("0.14")]
    assert totals.total_saving_eur == D("0.144")


def test_a_month_with_a_price_change_in_the_middle() -> None:
    """January 2026: every day 2 kWh self-consumed off-peak (23:30) and 3 kWh at peak (12:00).

    HC 0.2068 -> 0.2100 and HP 0.27 -> 0.28 from 16 January.
    Off-peak: 15 × 2 × 0.2068 + 16 × 2 × 0.2100 = 6.204 + 6.720 = 12.924 EUR.
    Peak: 15 × 3 × 0.27 + 16 × 3 × 0.28 = 12.15 + 13.44 = 25.59 EUR.
    Total 38.514 EUR, shown as 38.51.
    """
    plan = REFERENCE.with_prices("2026-01-16", energy={"off_peak": "0.2100", "peak": "0.28"})
    totals = SavingTotals()
    for day in range(1, 32):
        for hour, period, wh in ((12, "peak", 3000), (23, "off_peak", 2000)):
            energy = window_energy(production_wh=wh, export_wh=0)
            totals.add(
                period, energy, price_window(energy, plan, period, paris(2026, 1, day, hour, 30))
            )
    assert totals.saving_eur == {"peak": D("25.59"), "off_peak": D("12.924")}
    assert totals.total_saving_eur == D("38.514")
    assert to_cents(totals.total_saving_eur) == D("38.51")
    assert totals.self_consumed_wh == {"peak": D(93_000), "off_peak": D(62_000)}


def test_tempo_red_peak_saving() -> None:
    """4 kWh self-consumed on a red day at peak: 4 × 0.6586 = 2.6344 EUR."""
    plan = PricePlan(kind=PlanKind.TEMPO, zone=PARIS, energy={}).with_prices(
        "2025-02-01",
        energy={"peak_red": "0.6586", "off_peak_red": "0.1518"},
        feed_in="0.1269",
    )
    energy = window_energy(production_wh=4000, export_wh=0)
    assert price_window(energy, plan, "peak_red", paris(2026, 1, 14, 10)).saving_eur == D("2.6344")
    with pytest.raises(PriceNotFoundError):
        price_window(energy, plan, "peak_blue", paris(2026, 1, 14, 10))


def _stats(mean: float, covered_s: int) -> WindowStats:
    start = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    return WindowStats(
        start=start,
        end=start + timedelta(minutes=5),
        minimum=mean,
        maximum=mean,
        mean=mean,
        covered=timedelta(seconds=covered_s),
    )


def test_power_average_is_only_a_fallback() -> None:
    """600 W over 5 minutes = 50 Wh; over the 150 s actually covered, 25 Wh."""
    assert energy_from_power(_stats(600.0, 300)) == D(50)
    assert energy_from_power(_stats(600.0, 150)) == D(25)
    assert energy_from_power(_stats(-8.0, 300)) == D(0)  # an inverter's standby draw
    assert energy_from_power(None) is None
    assert pick_energy(12, _stats(600.0, 300)) == D(12)
    assert pick_energy(None, _stats(600.0, 300)) == D(50)
    assert pick_energy(None, None) is None
    # The reference's two-meter computation from power: 1200 VA and 3000 VA over 5 minutes are
    # 100 and 250 VAh: 100 self-consumed, 150 injected.
    energy = window_energy(
        production_wh=pick_energy(None, _stats(3000.0, 300)) or D(0),
        grid_import_wh=pick_energy(None, _stats(1200.0, 300)),
    )
    assert (energy.self_consumed_wh, energy.injected_wh) == (D(100), D(150))


def test_self_sufficiency_compares_like_with_like() -> None:
    """A window without grid import counts in the self-consumption rate, not in self-sufficiency.

    Window 1: production 1000, export 0, import 1000: home 2000, self 1000.
    Window 2: production 500, export 0, import unknown: self 500.
    Self-sufficiency 1000 / 2000 = 50 % (not 1500 / 2000); self-consumption rate 1500 / 1500.
    """
    totals = SavingTotals()
    for energy in (
        window_energy(production_wh=1000, export_wh=0, grid_import_wh=1000),
        window_energy(production_wh=500, export_wh=0),
    ):
        totals.add("base", energy, window_money(energy, price=D("0.2"), feed_in_price=D(0)))
    assert totals.self_sufficiency() == D(50)
    assert totals.self_consumption_rate() == D(100)
    assert SavingTotals().self_consumption_rate() is None
    assert SavingTotals().self_sufficiency() is None
    assert rate_percent(D(1), D(3)) == D("33.33333333333333333333333333")
    restored = SavingTotals.from_dict(json.loads(json.dumps(totals.to_dict())))
    assert restored == totals


def test_invalid_inputs() -> None:
    with pytest.raises(TypeError):
        window_energy(production_wh=1.5, export_wh=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not negative"):
        window_energy(production_wh=-1, export_wh=0)
    with pytest.raises(ValueError, match="must be known"):
        window_energy(production_wh=10)
    with pytest.raises(ValueError, match="not negative"):
        window_money(window_energy(production_wh=1, export_wh=0), price=D(-1), feed_in_price=D(0))
    with pytest.raises(ValueError, match="negative"):
        EnergyCounter().update(-5)
    with pytest.raises(TypeError):
        EnergyCounter().update(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version"):
        SavingTotals.from_dict({})


# ---- Properties ------------------------------------------------------------------------------

registers = st.lists(st.integers(0, 10_000_000), min_size=2, max_size=30)
prices = st.decimals(min_value=0, max_value=2, places=4, allow_nan=False, allow_infinity=False)


@FAST
@given(
    series=st.tuples(registers, registers, registers),
    export_known=st.booleans(),
    tariff=st.tuples(prices, prices),
    power=st.lists(st.floats(-5000, 20000, allow_nan=False), min_size=30, max_size=30),
)
def test_never_negative_whatever_the_counters_do(
    series: tuple[list[int], list[int], list[int]],
    export_known: bool,
    tariff: tuple[Decimal, Decimal],
    power: list[float],
) -> None:
    """Registers jumping up and down at random (resets), power fallbacks of any sign: every
    energy and every amount is >= 0, and money is energy × price / 1000 exactly."""
    production, export, grid_import = series
    price, feed_in = tariff
    counters = EnergyCounter(), EnergyCounter(), EnergyCounter()
    totals = SavingTotals()
    for i, values in enumerate(zip(production, export, grid_import, strict=False)):
        p, e, g = (c.update(v) for c, v in zip(counters, values, strict=True))
        production_wh = pick_energy(p if i % 3 else None, _stats(power[i], 300))
        assert production_wh is not None
        energy = window_energy(
            production_wh=production_wh,
            export_wh=e if export_known else None,
            grid_import_wh=g,
        )
        money = window_money(energy, price=price, feed_in_price=feed_in)
        for value in (
            energy.production_wh,
            energy.self_consumed_wh,
            energy.injected_wh,
            energy.export_beyond_production_wh,
            energy.home_consumption_wh,
            money.saving_eur,
            money.injection_eur,
        ):
            assert value is not None
            assert value >= 0
        assert (
            Fraction(money.saving_eur) == Fraction(energy.self_consumed_wh) * Fraction(price) / 1000
        )
        assert (
            Fraction(money.injection_eur) == Fraction(energy.injected_wh) * Fraction(feed_in) / 1000
        )
        totals.add("peak", energy, money)
    assert totals.total_saving_eur >= 0
    assert totals.injection_eur >= 0


@FAST
@given(
    production=st.integers(0, 10**9),
    share=st.fractions(0, 1),
    grid_import=st.none() | st.integers(0, 10**9),
)
def test_self_consumed_plus_injected_is_production(
    production: int, share: Fraction, grid_import: int | None
) -> None:
    """Production and export known (export <= production): self + injected == production."""
    export = int(production * share)
    energy = window_energy(production_wh=production, export_wh=export, grid_import_wh=grid_import)
    assert energy.self_consumed_wh + energy.injected_wh == production
    assert energy.export_beyond_production_wh == 0


@FAST
@given(
    production=st.integers(0, 10**9),
    export=st.integers(0, 10**9),
    consumption=st.integers(0, 10**9),
)
def test_energy_identities(production: int, export: int, consumption: int) -> None:
    """Any export: self + injected − beyond == production; two-meter: self + injected == prod."""
    first = window_energy(production_wh=production, export_wh=export)
    assert (
        first.self_consumed_wh + first.injected_wh - first.export_beyond_production_wh == production
    )
    assert first.injected_wh == export
    two_meter = window_energy(production_wh=production, grid_import_wh=consumption)
    assert two_meter.self_consumed_wh + two_meter.injected_wh == production
    assert two_meter.self_consumed_wh == min(production, consumption)


@FAST
@given(
    windows=st.lists(
        st.decimals(min_value=0, max_value=5, places=6, allow_nan=False), min_size=1, max_size=60
    ),
    hour_size=st.integers(1, 12),
)
def test_rounded_running_totals_never_drift(windows: list[Decimal], hour_size: int) -> None:
    """Hourly increments of rounded running totals add up to the rounded total, within 0.005."""
    running = D(0)
    stored: list[Decimal] = [D(0)]
    for i, amount in enumerate(windows, start=1):
        running += amount
        if i % hour_size == 0 or i == len(windows):
            stored.append(to_cents(running))
    increments = [b - a for a, b in pairwise(stored)]
    assert sum(increments, D(0)) == to_cents(running) == stored[-1]
    assert abs(to_cents(running) - running) <= D("0.005")


def test_energy_cost_of_grid_import_is_exact() -> None:
    """1234 Wh at 0.2068 EUR/kWh is 0.2551912 EUR exactly; bad input is refused."""
    assert energy_cost(1234, Decimal("0.2068")) == Decimal("0.2551912")
    assert energy_cost(Decimal("0.5"), Decimal("0.27")) == Decimal("0.000135")
    assert energy_cost(0, Decimal("0.27")) == 0
    with pytest.raises(ValueError, match="not negative"):
        energy_cost(-1, Decimal("0.27"))
    with pytest.raises(TypeError):
        energy_cost(1, 0.27)  # type: ignore[arg-type]
