"""The region graph: data-centre clusters, fibre links between them and the latency floor of light in fibre.

Latency has a physical floor: light in fibre covers about 200 km per millisecond (5 µs per km
one way) and real routes run 1.3–1.6 times the great-circle distance, so no bound below
:func:`fibre_latency_ms` can be met. :data:`CLUSTERS` lists the ten data-centre clusters of the
East-Data-West-Compute programme with their approximate coordinates and regional grids;
:func:`backbone_graph` links each cluster to its nearest neighbours to give a small national
backbone. Links are plain :class:`Link` values or ``networkx`` graph edges with the attributes
``latency_ms``, ``bandwidth_mb`` (capacity per time slot) and ``price_micro_per_mb``; nodes carry
``grid_factor_kg_per_kwh``.

References:
    R. W. Sinnott, "Virtues of the haversine", Sky and Telescope 68(2), p. 159, 1984.
    NDRC and others, the "East-Data-West-Compute" (东数西算) national hub plan, 2022: eight
    hubs and ten data-centre clusters (coordinates and grid regions as in REFERENCES.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from market.carbon import emission_factor
from market.errors import MechanismError

__all__ = [
    "EARTH_RADIUS_KM",
    "FIBRE_MS_PER_KM",
    "haversine_km",
    "fibre_latency_ms",
    "Cluster",
    "CLUSTERS",
    "Link",
    "region_graph",
    "backbone_graph",
]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088
#: One-way propagation delay of light in fibre (refractive index ~1.47): about 5 µs per km.
FIBRE_MS_PER_KM = 0.005


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def fibre_latency_ms(lat1: float, lon1: float, lat2: float, lon2: float, route_factor: float = 1.5) -> float:
    """One-way latency of a fibre route between two points: great-circle km × route factor × 5 µs/km.

    Args:
        lat1: Latitude of the first point, degrees.
        lon1: Longitude of the first point, degrees.
        lat2: Latitude of the second point, degrees.
        lon2: Longitude of the second point, degrees.
        route_factor: Route length over great-circle distance (real routes run 1.3–1.6; 1.0
            gives the absolute floor).

    Returns:
        Milliseconds, one way.

    Raises:
        MechanismError: a coordinate out of range, or a route factor below 1.
    """
    if not (-90 <= lat1 <= 90 and -90 <= lat2 <= 90 and -180 <= lon1 <= 180 and -180 <= lon2 <= 180):
        raise MechanismError(f"coordinates ({lat1}, {lon1}), ({lat2}, {lon2}) are out of range")
    if not route_factor >= 1.0:
        raise MechanismError(f"route factor {route_factor} is below 1: no route is shorter than the great circle")
    return haversine_km(lat1, lon1, lat2, lon2) * route_factor * FIBRE_MS_PER_KM


@dataclass(frozen=True, slots=True)
class Cluster:
    """A data-centre cluster: where it is and which regional grid powers it."""

    name: str
    hub: str
    lat: float
    lon: float
    grid_region: str

    @property
    def grid_factor_kg_per_kwh(self) -> float:
        """Emission factor of its regional grid."""
        return emission_factor(self.grid_region)


#: The ten clusters of the East-Data-West-Compute programme.
CLUSTERS: tuple[Cluster, ...] = (
    Cluster("zhangjiakou", "Beijing-Tianjin-Hebei", 40.77, 114.88, "north"),
    Cluster("yangtze-demo-zone", "Yangtze River Delta", 31.00, 120.90, "east"),
    Cluster("wuhu", "Yangtze River Delta", 31.33, 118.38, "east"),
    Cluster("shaoguan", "Guangdong-HK-Macao", 24.81, 113.60, "south"),
    Cluster("tianfu", "Chengdu-Chongqing", 30.40, 104.07, "southwest"),
    Cluster("chongqing", "Chengdu-Chongqing", 29.56, 106.55, "southwest"),
    Cluster("guian", "Guizhou", 26.40, 106.40, "south"),
    Cluster("helinger", "Inner Mongolia", 40.38, 111.82, "north"),
    Cluster("qingyang", "Gansu", 35.71, 107.64, "northwest"),
    Cluster("zhongwei", "Ningxia", 37.51, 105.19, "northwest"),
)


@dataclass(frozen=True, slots=True)
class Link:
    """A network link between two regions.

    Attributes:
        a: One end (a region name).
        b: The other end.
        latency_ms: One-way latency.
        bandwidth_mb: Data it can carry per time slot, MB (``inf`` for unlimited).
        price_micro_per_mb: Transit price, micro-tokens per MB.
    """

    a: str
    b: str
    latency_ms: float
    bandwidth_mb: float = math.inf
    price_micro_per_mb: int = 0


def region_graph(links: Iterable[Link], grid_factors: dict[str, float] | None = None) -> nx.Graph:
    """Builds the region graph from links.

    Args:
        links: The links; their ends become the nodes.
        grid_factors: Emission factor of each region's grid (kg CO2/kWh); the national average
            for a region not listed.

    Returns:
        An undirected graph with ``latency_ms``, ``bandwidth_mb`` and ``price_micro_per_mb`` on
        every edge and ``grid_factor_kg_per_kwh`` on every node.

    Raises:
        MechanismError: a self-loop, a repeated link, or a negative latency, bandwidth or price.
    """
    graph = nx.Graph()
    for link in links:
        if link.a == link.b:
            raise MechanismError(f"link {link.a}-{link.b} joins a region to itself")
        if graph.has_edge(link.a, link.b):
            raise MechanismError(f"link {link.a}-{link.b} is listed twice")
        if not (link.latency_ms >= 0 and link.bandwidth_mb >= 0 and link.price_micro_per_mb >= 0):
            raise MechanismError(f"link {link.a}-{link.b}: latency, bandwidth and price must be non-negative")
        graph.add_edge(
            link.a,
            link.b,
            latency_ms=float(link.latency_ms),
            bandwidth_mb=float(link.bandwidth_mb),
            price_micro_per_mb=int(link.price_micro_per_mb),
        )
    for node in graph.nodes:
        graph.nodes[node]["grid_factor_kg_per_kwh"] = (grid_factors or {}).get(node, emission_factor())
    return graph


def backbone_graph(
    clusters: Sequence[Cluster] = CLUSTERS,
    *,
    neighbours: int = 3,
    route_factor: float = 1.5,
    bandwidth_mb: float = math.inf,
    price_micro_per_mb: int = 0,
) -> nx.Graph:
    """A backbone linking every cluster to its ``neighbours`` nearest others, latencies from geography.

    Args:
        clusters: The clusters (the ten hub clusters by default).
        neighbours: How many nearest clusters each one links to.
        route_factor: Route length over great-circle distance (see :func:`fibre_latency_ms`).
        bandwidth_mb: Capacity of every link per time slot, MB.
        price_micro_per_mb: Transit price of every link.

    Returns:
        The region graph (see :func:`region_graph`), nodes named after the clusters.

    Raises:
        MechanismError: fewer than two clusters, repeated names, or ``neighbours`` below 1.
    """
    names = [c.name for c in clusters]
    if len(clusters) < 2 or len(set(names)) != len(names):
        raise MechanismError("a backbone needs at least two clusters with distinct names")
    if neighbours < 1:
        raise MechanismError(f"neighbours must be at least 1, got {neighbours}")
    links: dict[frozenset[str], Link] = {}
    for c in clusters:
        others = sorted((haversine_km(c.lat, c.lon, o.lat, o.lon), o.name, o) for o in clusters if o is not c)
        for _, _, o in others[:neighbours]:
            key = frozenset((c.name, o.name))
            if key not in links:
                latency = fibre_latency_ms(c.lat, c.lon, o.lat, o.lon, route_factor)
                links[key] = Link(c.name, o.name, latency, bandwidth_mb, price_micro_per_mb)
    graph = region_graph(links.values(), {c.name: c.grid_factor_kg_per_kwh for c in clusters})
    for c in clusters:
        graph.nodes[c.name].update(lat=c.lat, lon=c.lon, hub=c.hub)
    if not nx.is_connected(graph):
        # Nearest-neighbour links can leave islands; join each to the rest by its shortest gap.
        parts = sorted(nx.connected_components(graph), key=min)
        by_name = {c.name: c for c in clusters}
        for part, rest in zip(parts, parts[1:], strict=False):
            _, a, b = min(
                (haversine_km(by_name[a].lat, by_name[a].lon, by_name[b].lat, by_name[b].lon), a, b)
                for a in part
                for b in rest
            )
            latency = fibre_latency_ms(by_name[a].lat, by_name[a].lon, by_name[b].lat, by_name[b].lon, route_factor)
            graph.add_edge(a, b, latency_ms=latency, bandwidth_mb=float(bandwidth_mb), price_micro_per_mb=price_micro_per_mb)
    return graph
