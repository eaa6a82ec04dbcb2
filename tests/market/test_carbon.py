"""Emission factors and carbon reports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.carbon import (
    GRID_FACTORS,
    NATIONAL_GRID_FACTOR,
    CarbonReport,
    EnergySource,
    emission_factor,
    mixed_factor,
)
from market.errors import MechanismError


def test_factors_from_the_2022_tables() -> None:
    assert emission_factor() == NATIONAL_GRID_FACTOR == 0.5366
    assert emission_factor("North") == 0.6776 and emission_factor("southwest") == 0.2268
    assert emission_factor(source=EnergySource.THERMAL) == 0.8325
    assert emission_factor("north", EnergySource.SOLAR) == 0.0
    assert min(GRID_FACTORS.values()) > 0 and max(GRID_FACTORS.values()) < 0.8325  # every mix is cleaner than coal
    assert EnergySource.WIND.green and not EnergySource.NUCLEAR.green and not EnergySource.GRID.green
    assert {s for s in EnergySource if s.green} == {"solar", "wind", "hydro", "biomass", "geothermal", "microgrid"}
    # every generating source has a factor, and only fossil-fired generation emits directly
    assert {s: emission_factor(source=s) > 0 for s in EnergySource if s is not EnergySource.GRID} == {
        s: s is EnergySource.THERMAL for s in EnergySource if s is not EnergySource.GRID
    }
    with pytest.raises(MechanismError, match="unknown grid region 'mars'"):
        emission_factor("mars")


def test_mixed_supply() -> None:
    assert mixed_factor(0.6, 0.25) == pytest.approx(0.45)
    with pytest.raises(MechanismError, match="green share"):
        mixed_factor(0.6, 1.2)
    with pytest.raises(MechanismError, match="grid factor"):
        mixed_factor(-0.1, 0.5)


def test_report_arithmetic() -> None:
    r = CarbonReport.of(10.0, 0.5, green_share=0.2)
    assert (r.energy_kwh, r.co2_kg, r.green_kwh, r.green_share, r.intensity_kg_per_kwh) == (10.0, 5.0, 2.0, 0.2, 0.5)
    both = r + CarbonReport.of(30.0, 0.1)
    assert both == CarbonReport(40.0, 8.0, 2.0) and both.green_share == 0.05
    assert CarbonReport().green_share == 0.0 and CarbonReport().intensity_kg_per_kwh == 0.0
    with pytest.raises(MechanismError, match="non-negative"):
        CarbonReport.of(-1.0, 0.5)
    with pytest.raises(MechanismError, match="green share"):
        CarbonReport.of(1.0, 0.5, green_share=2.0)


@given(st.lists(st.tuples(st.floats(0, 1e6), st.floats(0, 1), st.floats(0, 1)), max_size=20))
def test_totals_add_up_and_shares_stay_in_range(parts: list[tuple[float, float, float]]) -> None:
    reports = [CarbonReport.of(e, f, g) for e, f, g in parts]
    total = CarbonReport.total(reports)
    assert total.energy_kwh == pytest.approx(sum(e for e, _, _ in parts))
    assert total.co2_kg == pytest.approx(sum(e * f for e, f, _ in parts))
    assert 0.0 <= total.green_share <= 1.0 + 1e-12
