"""Weather-driven generation: the turbine curve, Weibull wind and clear-sky solar."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from agents.environment import (
    HOURS_PER_YEAR,
    SolarSite,
    WindSite,
    _turbine_fraction,
    clear_sky_ghi,
    mean_capacity_factor,
    turbine_power_fraction,
)


def test_turbine_curve_by_hand() -> None:
    speeds = np.array([0.0, 2.9, 3.0, 7.5, 12.0, 20.0, 24.9, 25.0, 40.0])
    expected = [0.0, 0.0, 0.0, (7.5**3 - 27) / (12**3 - 27), 1.0, 1.0, 1.0, 0.0, 0.0]
    assert turbine_power_fraction(speeds).tolist() == pytest.approx(expected)


@given(st.floats(min_value=0.0, max_value=60.0, allow_nan=False))
def test_scalar_turbine_curve_equals_the_array_one(speed: float) -> None:
    # to the last bit or so: numpy's vectorised pow may round the cube differently from libm's
    assert _turbine_fraction(speed) == pytest.approx(float(turbine_power_fraction(speed)), rel=1e-12, abs=1e-15)


def test_weibull_wind_has_its_mean_speed_and_capacity_factor() -> None:
    site = WindSite(capacity_w=1_000.0, weibull_shape=2.0, weibull_scale_m_s=8.0)
    rng = np.random.default_rng(5)
    speeds = np.array([site.speed_m_s(rng) for _ in range(40_000)])
    assert speeds.mean() == pytest.approx(8.0 * 0.8862, rel=0.03)  # c * Gamma(1 + 1/k)
    assert float(turbine_power_fraction(speeds).mean()) == pytest.approx(mean_capacity_factor(2.0, 8.0), abs=0.02)
    # hour to hour the speeds are correlated (AR(1) copula), independent with autocorrelation 0
    assert np.corrcoef(speeds[:-1], speeds[1:])[0, 1] > 0.6
    free = WindSite(capacity_w=1_000.0, autocorrelation=0.0)
    loose = np.array([free.speed_m_s(rng) for _ in range(20_000)])
    assert abs(np.corrcoef(loose[:-1], loose[1:])[0, 1]) < 0.05


def test_wind_energy_is_rating_times_the_curve_and_repeats_with_the_seed() -> None:
    def hours(seed: int) -> list[int]:
        site, rng = WindSite(capacity_w=2_000.0), np.random.default_rng(seed)
        return [site.energy_wh(rng) for _ in range(200)]

    out = hours(3)
    assert out == hours(3) and out != hours(4)
    assert all(0 <= e <= 2_000 for e in out) and max(out) == 2_000 and min(out) == 0


def test_clear_sky_is_dark_at_night_and_bright_at_noon() -> None:
    ghi = clear_sky_ghi(40.0, 116.4)  # Beijing: UTC+8, so local noon is 04:00 UTC
    assert ghi.shape == (HOURS_PER_YEAR,) and (ghi >= 0).all()
    june_21 = 171 * 24
    assert ghi[june_21 + 16] == 0.0  # midnight local
    assert 700 < ghi[june_21 + 4] < 1_100
    assert ghi[june_21 + 4] > clear_sky_ghi(40.0, 116.4)[355 * 24 + 4]  # summer noon beats winter noon


def test_solar_energy_stays_under_clear_sky_and_expects_the_mean_cloud() -> None:
    site = SolarSite(40.0, 116.4, capacity_w=10_000.0, cloudiness=0.3)
    rng = np.random.default_rng(9)
    noon = 171 * 24 + 4
    clear = 10_000.0 * 0.8 * clear_sky_ghi(40.0, 116.4)[noon] / 1000
    draws = [site.energy_wh(noon, rng) for _ in range(4_000)]
    assert all(0 <= e <= clear for e in draws)
    assert np.mean(draws) == pytest.approx(site.expected_wh(noon), rel=0.03)
    assert site.expected_wh(noon) == pytest.approx(clear * 0.7)
    assert site.energy_wh(noon + 12, rng) == 0 and site.expected_wh(noon + 12) == 0.0


@pytest.mark.parametrize(("shape", "scale"), [(2.0, 8.0), (2.0, 6.0), (1.6, 9.5)])
def test_mean_capacity_factor_is_the_curve_against_the_weibull_density(shape: float, scale: float) -> None:
    speeds = stats.weibull_min(shape, scale=scale).ppf(np.linspace(0.5, 199_999.5, 200_000) / 200_000)
    assert mean_capacity_factor(shape, scale) == pytest.approx(float(turbine_power_fraction(speeds).mean()), abs=1e-4)
    assert mean_capacity_factor(2.0, 8.0) == pytest.approx(0.3005, abs=1e-4)
    assert WindSite(capacity_w=500.0, weibull_shape=shape, weibull_scale_m_s=scale).expected_wh() == pytest.approx(
        500.0 * mean_capacity_factor(shape, scale)
    )
