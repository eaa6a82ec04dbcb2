"""East-Data-West-Compute (东数西算) geography: the 8 hubs and 10 data-centre clusters.

Coordinates are approximate cluster centres; grid emission factors are the 2022 regional figures
published by China's Ministry of Ecology and Environment with the National Bureau of Statistics
(kg CO2 per kWh); PUE targets are the programme's (east <= 1.25, west <= 1.2). Source: the project's
``shared/REFERENCES.md``, which collects them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Cluster", "CLUSTERS", "REGIONAL_GRID_FACTOR", "NATIONAL_GRID_FACTOR", "FOSSIL_GRID_FACTOR", "cluster"]

#: 2022 regional grid emission factors, kg CO2 / kWh (MEE & NBS).
REGIONAL_GRID_FACTOR: dict[str, float] = {
    "north": 0.6776,
    "northwest": 0.5857,
    "east": 0.5617,
    "northeast": 0.5564,
    "central": 0.5395,
    "south": 0.3869,
    "southwest": 0.2268,
}
NATIONAL_GRID_FACTOR = 0.5366
#: Fossil-fired generation only, kg CO2 / kWh (MEE & NBS 2022).
FOSSIL_GRID_FACTOR = 0.8325


@dataclass(frozen=True, slots=True)
class Cluster:
    """A national data-centre cluster of the East-Data-West-Compute programme.

    Attributes:
        key: Short identifier used in scenarios and logs.
        hub: The national computing hub it belongs to.
        name: The cluster's name.
        lat: Latitude, degrees.
        lon: Longitude, degrees.
        grid: Regional grid whose emission factor applies.
        east: True for eastern (demand-side) hubs, False for western (resource-side) hubs.
    """

    key: str
    hub: str
    name: str
    lat: float
    lon: float
    grid: str
    east: bool

    @property
    def grid_factor_kg_per_kwh(self) -> float:
        return REGIONAL_GRID_FACTOR[self.grid]

    @property
    def pue_target(self) -> float:
        return 1.25 if self.east else 1.2


CLUSTERS: tuple[Cluster, ...] = (
    Cluster("zhangjiakou", "Beijing-Tianjin-Hebei", "Zhangjiakou", 40.77, 114.88, "north", True),
    Cluster("yrd-eco", "Yangtze River Delta", "Eco-green demo zone", 31.00, 120.90, "east", True),
    Cluster("wuhu", "Yangtze River Delta", "Wuhu", 31.33, 118.38, "east", True),
    Cluster("shaoguan", "Guangdong-HK-Macao", "Shaoguan", 24.81, 113.60, "south", True),
    Cluster("tianfu", "Chengdu-Chongqing", "Tianfu", 30.40, 104.07, "southwest", True),
    Cluster("chongqing", "Chengdu-Chongqing", "Chongqing", 29.56, 106.55, "southwest", True),
    Cluster("guian", "Guizhou", "Gui'an", 26.40, 106.40, "south", False),
    Cluster("helinger", "Inner Mongolia", "Helinger", 40.38, 111.82, "north", False),
    Cluster("qingyang", "Gansu", "Qingyang", 35.71, 107.64, "northwest", False),
    Cluster("zhongwei", "Ningxia", "Zhongwei", 37.51, 105.19, "northwest", False),
)

_BY_KEY = {c.key: c for c in CLUSTERS}


def cluster(key: str) -> Cluster:
    """The cluster with ``key``.

    Raises:
        KeyError: no such cluster (the message lists the keys).
    """
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown cluster {key!r} (one of: {', '.join(_BY_KEY)})") from None
