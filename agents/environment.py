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

__all__ = [
    "HOURS_PER_YEAR",
    "clear_sky_ghi",
    "SolarSite",
    "WindSite",
    "turbine_power_fraction",
    "mean_capacity_factor",
    "SOLAR_SHARE_2022",
    "grid_intensity_profile",
    "demand_multiplier",
]

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


# -- the grid's hourly carbon intensity and the users' demand profile ----------------------------------

#: Share of each regional grid's 2022 generation that came from solar: an assumption by region around
#: the national share of about 5 % in 2022 (Ember, "China" electricity data, 2023), higher in the
#: sunny northwest and north, lower in the hydro-rich south and southwest (see docs/economy.md).
SOLAR_SHARE_2022: dict[str, float] = {
    "north": 0.06,
    "northeast": 0.05,
    "east": 0.04,
    "central": 0.04,
    "northwest": 0.09,
    "south": 0.03,
    "southwest": 0.02,
}


@lru_cache(maxsize=64)
def grid_intensity_profile(lat: float, lon: float, annual_factor: float, solar_share: float, fossil_factor: float) -> np.ndarray:
    """A regional grid's hourly emission factor (kg CO2/kWh) for each hour of the year, 8760 values.

    The region's generation is split into fossil and non-fossil parts so that the annual mean of
    ``fossil share × fossil_factor`` equals ``annual_factor`` (the 2022 regional factor). Solar is
    the part that moves within the day: its share of the hour's generation follows the site's
    clear-sky irradiance, ``solar_share`` on average over the year, and displaces fossil
    generation, so the grid is cleanest around local noon. Other non-fossil sources (hydro, wind,
    nuclear) are taken as flat. Cached per site.

    Args:
        lat, lon: The region's representative site.
        annual_factor: The region's annual mean factor, kg CO2/kWh.
        solar_share: Solar's share of the region's annual generation.
        fossil_factor: Emission factor of fossil generation, kg CO2/kWh.
    """
    ghi = clear_sky_ghi(round(lat, 2), round(lon, 2))
    solar = solar_share * ghi / float(ghi.mean())
    fossil_mean = annual_factor / fossil_factor
    # the fossil share falls by solar's share in each hour; its annual mean stays fossil_mean
    fossil = np.clip(fossil_mean + solar_share - solar, 0.0, 1.0)
    fossil *= fossil_mean / float(fossil.mean())  # the clip at 0 (never hit with the 2022 figures) would move the mean
    profile = fossil * fossil_factor
    profile.setflags(write=False)
    return profile


#: Users' demand by local hour (UTC+8), as a multiple of the daily mean: a trough before dawn and a
#: broad working-day peak in the afternoon, about 2:1 peak to trough with the default amplitude: an
#: assumption in the range of the diurnal swings of cluster load reported for Google's 2019 Borg
#: trace (Tirmazi et al., "Borg: the next generation", EuroSys 2020). The amplitude and the weekend
#: factor are scenario keys (``diurnal_amplitude``, ``weekend_factor``; see docs/economy.md).
def demand_multiplier(hour_of_year: int, amplitude: float, weekend_factor: float, utc_offset_h: int = 8, year: int = 2030) -> float:
    """Demand in ``hour_of_year`` (UTC) over the mean weekday hour: a cosine peaking at 15:00
    local time with relative ``amplitude``, times ``weekend_factor`` on Saturdays and Sundays."""
    local = hour_of_year + utc_offset_h
    hour = local % 24
    weekday = (dt.date(year, 1, 1).weekday() + local // 24) % 7
    shape = 1.0 + amplitude * float(np.cos(2.0 * np.pi * (hour - 15) / 24.0))
    return shape * (weekend_factor if weekday >= 5 else 1.0)
