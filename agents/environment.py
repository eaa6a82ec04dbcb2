"""Weather-driven generation: solar from a clear-sky model with cloud noise, wind from Weibull speeds.

Solar: pvlib's Ineichen clear-sky model with its shipped Linke-turbidity climatology gives the
clear-sky global horizontal irradiance for the site and hour (it works offline for any
coordinates); a cloudiness factor drawn from a Beta distribution scales it; a plant converts
irradiance to power at a performance ratio against its rating at 1000 W/m².

Wind: hourly speeds are Weibull-distributed (shape about 2) and autocorrelated through an AR(1)
Gaussian copula, then go through a turbine power curve (cut-in about 3 m/s, rated about 12 m/s,
cut-out about 25 m/s) with the cubic rise between cut-in and rated.

References:
    Ineichen, P. & Perez, R. (2002), "A new airmass independent formulation for the Linke
    turbidity coefficient", Solar Energy 73(3). Holmgren, Hansen & Mikofski (2018), "pvlib python",
    JOSS 3(29). Justus, Hargraves & Yalcin (1976), "Nationwide assessment of potential output from
    wind-powered generators", J. Applied Meteorology 15 (Weibull wind speeds).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import integrate
from scipy.special import ndtr

__all__ = ["HOURS_PER_YEAR", "clear_sky_ghi", "SolarSite", "WindSite", "turbine_power_fraction", "mean_capacity_factor"]

HOURS_PER_YEAR = 8760
_STC_IRRADIANCE_W_M2 = 1000.0


@lru_cache(maxsize=256)
def clear_sky_ghi(lat: float, lon: float, year: int = 2030) -> np.ndarray:
    """Clear-sky global horizontal irradiance (W/m²) for every hour of ``year`` (UTC), 8760 values.

    Cached per site: the model computes it once and indexes it by hour.
    """
    import pandas as pd
    import pvlib

    times = pd.date_range(dt.datetime(year, 1, 1), periods=HOURS_PER_YEAR, freq="h", tz="UTC")
    location = pvlib.location.Location(lat, lon, tz="UTC")
    with warnings.catch_warnings():
        # pvlib 0.16 still calls DatetimeIndex.dayofyear, which pandas 3 deprecates; not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        ghi = location.get_clearsky(times, model="ineichen")["ghi"].to_numpy(dtype=float)
    ghi = np.clip(np.nan_to_num(ghi), 0.0, None)
    ghi.setflags(write=False)
    return ghi


@dataclass(slots=True)
class SolarSite:
    """A photovoltaic plant.

    Attributes:
        lat: Latitude, degrees.
        lon: Longitude, degrees.
        capacity_w: Rated power at 1000 W/m².
        cloudiness: Mean share of clear-sky irradiance lost to cloud (0 clear, 1 overcast).
        performance_ratio: System losses (inverter, temperature, soiling).
    """

    lat: float
    lon: float
    capacity_w: float
    cloudiness: float = 0.3
    performance_ratio: float = 0.8

    def expected_wh(self, hour_of_year: int) -> float:
        """Expected energy in the hour (Wh): clear-sky output less the mean cloud loss."""
        ghi = clear_sky_ghi(round(self.lat, 2), round(self.lon, 2))[hour_of_year % HOURS_PER_YEAR]
        return self.capacity_w * self.performance_ratio * ghi * (1.0 - self.cloudiness) / _STC_IRRADIANCE_W_M2

    def energy_wh(self, hour_of_year: int, rng: np.random.Generator) -> int:
        """Energy produced in the hour (Wh), with a cloud draw from ``rng``."""
        ghi = clear_sky_ghi(round(self.lat, 2), round(self.lon, 2))[hour_of_year % HOURS_PER_YEAR]
        clear = _beta_clear_share(rng, 1.0 - self.cloudiness)
        return int(self.capacity_w * self.performance_ratio * ghi * clear / _STC_IRRADIANCE_W_M2)


def _beta_clear_share(rng: np.random.Generator, mean: float, concentration: float = 6.0) -> float:
    mean = min(max(mean, 1e-3), 1 - 1e-3)
    return float(rng.beta(mean * concentration, (1.0 - mean) * concentration))


def turbine_power_fraction(
    speed_m_s: np.ndarray | float, cut_in: float = 3.0, rated: float = 12.0, cut_out: float = 25.0
) -> np.ndarray:
    """Share of rated power at hub-height wind ``speed_m_s`` (cubic between cut-in and rated)."""
    v = np.asarray(speed_m_s, dtype=float)
    rising = (v**3 - cut_in**3) / (rated**3 - cut_in**3)
    return np.where((v < cut_in) | (v >= cut_out), 0.0, np.where(v >= rated, 1.0, np.clip(rising, 0.0, 1.0)))


def _turbine_fraction(v: float, cut_in: float = 3.0, rated: float = 12.0, cut_out: float = 25.0) -> float:
    """:func:`turbine_power_fraction` of one speed, without numpy's per-call cost on a scalar."""
    if v < cut_in or v >= cut_out:
        return 0.0
    if v >= rated:
        return 1.0
    return min(max((v**3 - cut_in**3) / (rated**3 - cut_in**3), 0.0), 1.0)


@lru_cache(maxsize=64)
def mean_capacity_factor(weibull_shape: float, weibull_scale_m_s: float) -> float:
    """Long-run share of rated power of a turbine under Weibull(``weibull_shape``, ``weibull_scale_m_s``)
    winds: the power curve integrated against the Weibull density (by quadrature; cached)."""

    def density(v: float) -> float:
        z = v / weibull_scale_m_s
        return weibull_shape / weibull_scale_m_s * z ** (weibull_shape - 1) * np.exp(-(z**weibull_shape))

    value, _ = integrate.quad(lambda v: _turbine_fraction(v) * density(v), 3.0, 25.0, points=[12.0], limit=200)
    return float(value)


@dataclass(slots=True)
class WindSite:
    """A wind farm whose hourly speed follows an autocorrelated Weibull process.

    Attributes:
        capacity_w: Rated power.
        weibull_shape: k, about 2 for most sites.
        weibull_scale_m_s: c, the scale speed; mean speed is about 0.89 c for k = 2.
        autocorrelation: Hour-to-hour correlation of the underlying Gaussian (0 gives independent hours).
    """

    capacity_w: float
    weibull_shape: float = 2.0
    weibull_scale_m_s: float = 8.0
    autocorrelation: float = 0.85
    _z: float = 0.0

    def speed_m_s(self, rng: np.random.Generator) -> float:
        """Draws the next hour's wind speed (m/s)."""
        rho = self.autocorrelation
        self._z = rho * self._z + np.sqrt(1.0 - rho * rho) * float(rng.standard_normal())
        u = min(float(ndtr(self._z)), 1.0 - 1e-12)
        return self.weibull_scale_m_s * (-np.log1p(-u)) ** (1.0 / self.weibull_shape)

    def energy_wh(self, rng: np.random.Generator) -> int:
        """Energy produced in the next hour (Wh)."""
        return int(self.capacity_w * _turbine_fraction(float(self.speed_m_s(rng))))

    def expected_wh(self) -> float:
        """Expected energy in an hour (Wh): rating times the long-run capacity factor."""
        return self.capacity_w * mean_capacity_factor(self.weibull_shape, self.weibull_scale_m_s)
