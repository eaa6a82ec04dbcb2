"""Carbon accounting: emission factors by grid region and energy source, and kWh/CO2/green-share reports.

The factors are China's 2022 figures published by the Ministry of Ecology and Environment with
the National Bureau of Statistics (the source REFERENCES.md records): a national average of
0.5366 kg CO2 per kWh, 0.8325 for fossil-fired generation alone, and one factor per regional grid.
Renewable and nuclear generation count zero direct emissions, as in that location-based
accounting; a data centre's green share is the part of its energy contracted from such sources,
the rest drawn from its regional grid.

References:
    Ministry of Ecology and Environment of the PRC and National Bureau of Statistics, "2022年
    电力二氧化碳排放因子" (2022 electricity CO2 emission factors), announcement, 2024.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import NamedTuple

from market.errors import MechanismError

__all__ = [
    "EnergySource",
    "NATIONAL_GRID_FACTOR",
    "GRID_FACTORS",
    "SOURCE_FACTORS",
    "emission_factor",
    "mixed_factor",
    "CarbonReport",
]

#: China's national average grid emission factor in 2022, kg CO2 per kWh.
NATIONAL_GRID_FACTOR = 0.5366

#: Regional grid emission factors in 2022, kg CO2 per kWh.
GRID_FACTORS: dict[str, float] = {
    "north": 0.6776,
    "northeast": 0.5564,
    "east": 0.5617,
    "central": 0.5395,
    "northwest": 0.5857,
    "south": 0.3869,
    "southwest": 0.2268,
}


class EnergySource(enum.StrEnum):
    """Where a kWh comes from: the one energy-source vocabulary of the project.

    Pricing (:func:`market.pricing.base_price`), carbon accounting, the east-west model's suppliers
    and the ledger's green certificates (``ledger.contracts.CERTIFICATE_SOURCE_CODES`` maps the
    sources the contract certifies to its codes) all name sources with it.
    """

    GRID = "grid"  # a regional grid's mix (its factor depends on the region)
    THERMAL = "thermal"  # fossil-fired (mostly coal in China)
    SOLAR = "solar"
    WIND = "wind"
    HYDRO = "hydro"
    NUCLEAR = "nuclear"
    BIOMASS = "biomass"
    GEOTHERMAL = "geothermal"
    MICROGRID = "microgrid"  # solar and wind behind a battery

    @property
    def green(self) -> bool:
        """Whether the source is renewable."""
        return self in _GREEN


_GREEN = frozenset(
    {EnergySource.SOLAR, EnergySource.WIND, EnergySource.HYDRO, EnergySource.BIOMASS, EnergySource.GEOTHERMAL, EnergySource.MICROGRID}
)

#: Direct emission factor of each generating source, kg CO2 per kWh (fossil-fired: the 2022 national figure).
SOURCE_FACTORS: dict[EnergySource, float] = {
    EnergySource.THERMAL: 0.8325,
    EnergySource.SOLAR: 0.0,
    EnergySource.WIND: 0.0,
    EnergySource.HYDRO: 0.0,
    EnergySource.NUCLEAR: 0.0,
    EnergySource.BIOMASS: 0.0,
    EnergySource.GEOTHERMAL: 0.0,
    EnergySource.MICROGRID: 0.0,
}


def emission_factor(region: str | None = None, source: EnergySource = EnergySource.GRID) -> float:
    """Emission factor in kg CO2 per kWh for a source, or for the grid mix of a region.

    Args:
        region: A regional grid (a key of :data:`GRID_FACTORS`, case-insensitive); ``None`` means
            the national average. Only used for :attr:`EnergySource.GRID`.
        source: The energy source; a generating source has the same factor everywhere.

    Returns:
        kg CO2 per kWh.

    Raises:
        MechanismError: an unknown region.
    """
    if source is not EnergySource.GRID:
        return SOURCE_FACTORS[source]
    if region is None:
        return NATIONAL_GRID_FACTOR
    try:
        return GRID_FACTORS[region.lower()]
    except KeyError:
        raise MechanismError(f"unknown grid region {region!r}; known: {', '.join(GRID_FACTORS)}") from None


def mixed_factor(grid_factor: float, green_share: float) -> float:
    """Factor of a supply that is ``green_share`` renewable and the rest from a grid with ``grid_factor``.

    Raises:
        MechanismError: a negative grid factor or a green share outside [0, 1].
    """
    if not 0.0 <= green_share <= 1.0:
        raise MechanismError(f"green share {green_share} is outside [0, 1]")
    if not grid_factor >= 0:
        raise MechanismError(f"grid factor {grid_factor} must be non-negative")
    return (1.0 - green_share) * grid_factor


class CarbonReport(NamedTuple):
    """Energy used, CO2 emitted and the renewable share of that energy.

    Attributes:
        energy_kwh: Total energy.
        co2_kg: Emissions.
        green_kwh: The renewable part of ``energy_kwh``.
    """

    energy_kwh: float = 0.0
    co2_kg: float = 0.0
    green_kwh: float = 0.0

    @property
    def green_share(self) -> float:
        """Renewable share of the energy (0 when no energy was used)."""
        return self.green_kwh / self.energy_kwh if self.energy_kwh > 0 else 0.0

    @property
    def intensity_kg_per_kwh(self) -> float:
        """Average emission factor of the energy used (0 when none was used)."""
        return self.co2_kg / self.energy_kwh if self.energy_kwh > 0 else 0.0

    def __add__(self, other: CarbonReport) -> CarbonReport:  # type: ignore[override]
        """The two reports summed field by field (not the tuples joined)."""
        return CarbonReport(self.energy_kwh + other.energy_kwh, self.co2_kg + other.co2_kg, self.green_kwh + other.green_kwh)

    @classmethod
    def of(cls, energy_kwh: float, factor_kg_per_kwh: float, green_share: float = 0.0) -> CarbonReport:
        """The report for ``energy_kwh`` drawn at ``factor_kg_per_kwh`` with ``green_share`` renewable.

        Raises:
            MechanismError: negative or non-finite energy or factor, or a share outside [0, 1].
        """
        if not (math.isfinite(energy_kwh) and energy_kwh >= 0 and math.isfinite(factor_kg_per_kwh) and factor_kg_per_kwh >= 0):
            raise MechanismError("carbon report: energy and emission factor must be finite and non-negative")
        if not 0.0 <= green_share <= 1.0:
            raise MechanismError(f"green share {green_share} is outside [0, 1]")
        return cls(energy_kwh, energy_kwh * factor_kg_per_kwh, energy_kwh * green_share)

    @classmethod
    def total(cls, reports: Iterable[CarbonReport]) -> CarbonReport:
        """The sum of several reports."""
        energy = co2 = green = 0.0
        for r in reports:
            energy += r.energy_kwh
            co2 += r.co2_kg
            green += r.green_kwh
        return cls(energy, co2, green)
