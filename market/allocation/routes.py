"""Route tables: the paths of a region graph, their latency, price and carbon per MB, and the
bundle layouts built from them, worked out once per graph and kept in a :class:`RouteCache`.

A model that re-plans every hour over the same backbone poses problems that differ only in their
tasks; their routes and layouts are the same, so the cache keys them by the graph's content.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from market.allocation.problem import AllocationProblem
from market.carbon import emission_factor
from market.metering import network_energy_wh

__all__ = ["Route", "Layout", "RouteTable", "RouteCache", "SHARED_ROUTES"]

#: Layouts a route table keeps (the oldest is dropped first).
_LAYOUTS_KEPT = 64


@dataclass(frozen=True, slots=True)
class Route:
    """A path from an origin to a data centre's region and what a MB costs along it."""

    nodes: tuple[str, ...]
    links: tuple[int, ...]  # edge indices, in ``graph.edges`` order
    latency_ms: float
    price_micro_per_mb: float
    kwh_per_mb: float
    kg_per_mb: float


def _paths(p: AllocationProblem, origin: str, target: str) -> list[list[str]]:
    """Up to ``paths_per_pair`` shortest paths by latency from ``origin`` to ``target``."""
    if origin == target:
        return [[origin]]
    if not nx.has_path(p.graph, origin, target):
        return []
    return list(itertools.islice(nx.shortest_simple_paths(p.graph, origin, target, weight="latency_ms"), p.paths_per_pair))


@dataclass(frozen=True, slots=True)
class Layout:
    """The bundles of some origins over a list of data-centre regions and a number of slots.

    Each origin is a *group*, numbered in ``origins`` order. A group's routes run over the
    centres in order, each centre's routes one after another; bundle ``r * slots + s`` of a group
    is its route ``r`` in slot ``s``. The ``route_*`` tables have one row per group and one column
    per route, the ``bundle_*`` tables one column per bundle; groups with fewer routes than the
    most are padded at the end (``route_real`` is false there, the other tables hold zeros).
    Paths are all groups' routes one after another: ``bundle_path`` and the ``path_*`` arrays
    index them (``route_min_bandwidth``: the narrowest link's bandwidth, inf for none).
    ``resources`` has, per group and bundle, what the bundle uses, numbered as
    :class:`~market.allocation.greedy.Placement` numbers them: data-centre slots first
    (``dc * slots + slot``), then link slots (``n_dc * slots + link * slots + slot``); ``links``
    the link slots among them.
    """

    origins: tuple[str, ...]
    group: dict[str, int]  # origin -> its group
    bundles: list[int]  # per group: its number of bundles
    paths: list[tuple[str, ...]]
    path_links: list[tuple[int, ...]]  # edge indices, in ``graph.edges`` order
    path_latency: np.ndarray
    path_price: np.ndarray  # micro per MB
    path_kwh: np.ndarray  # kWh per MB
    path_kg: np.ndarray  # kg per MB
    route_real: np.ndarray
    route_dc: np.ndarray
    route_latency: np.ndarray
    route_price: np.ndarray
    route_kg: np.ndarray
    route_min_bandwidth: np.ndarray
    bundle_dc: np.ndarray
    bundle_path: np.ndarray
    bundle_slot: np.ndarray
    resources: list[list[tuple[int, ...]]]
    links: list[list[tuple[int, ...]]]


class RouteTable:
    """The routes of one region graph, computed once per (origin, target) and kept.

    Routes depend only on the graph's edges and nodes with their data, ``paths_per_pair`` and the
    network energy per hop; a model that re-plans every hour over the same backbone finds them
    here instead of searching the graph again (see :class:`RouteCache`).
    """

    def __init__(self, p: AllocationProblem) -> None:
        graph = p.graph
        self.node_index = {n: i for i, n in enumerate(graph.nodes)}
        self.edge_id = {frozenset(e): i for i, e in enumerate(graph.edges)}
        self.factor = {n: graph.nodes[n].get("grid_factor_kg_per_kwh", emission_factor()) for n in graph.nodes}
        self.link_bandwidth = np.array([graph.edges[e].get("bandwidth_mb", math.inf) for e in graph.edges], dtype=float)
        self.link_bandwidth.setflags(write=False)
        self._pairs: dict[tuple[str, str], tuple[Route, ...]] = {}
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...], int], Layout] = {}

    def layout(self, p: AllocationProblem, origins: tuple[str, ...], regions: tuple[str, ...], slots: int) -> Layout:
        """The bundles of ``origins`` (in order) over data centres in ``regions`` (in order) and ``slots`` slots.

        The same for every problem over this graph with those origins, centres' regions and
        slots, as a model planning every hour poses, so it is worked out once and kept (the
        ``_LAYOUTS_KEPT`` latest).
        """
        key = (origins, regions, slots)
        found = self._layouts.get(key)
        if found is not None:
            return found
        per_group = [[(k, route) for k, region in enumerate(regions) for route in self.routes(p, origin, region)] for origin in origins]
        width = max(map(len, per_group), default=0)
        shape = (len(origins), width)
        route_real, route_dc = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=np.int64)
        route_path = np.zeros(shape, dtype=np.int64)
        numbers = np.zeros((5, *shape))  # latency, price, kwh, kg, narrowest bandwidth
        routes: list[Route] = []
        resources: list[list[tuple[int, ...]]] = []
        links_from = len(regions) * slots
        for g, found_routes in enumerate(per_group):
            used = []
            for r, (k, route) in enumerate(found_routes):
                route_real[g, r], route_dc[g, r], route_path[g, r] = True, k, len(routes)
                narrowest = min((self.link_bandwidth[i] for i in route.links), default=math.inf)
                numbers[:, g, r] = (route.latency_ms, route.price_micro_per_mb, route.kwh_per_mb, route.kg_per_mb, narrowest)
                routes.append(route)
                used += [(k * slots + s, *(links_from + link * slots + s for link in route.links)) for s in range(slots)]
            resources.append(used)
        path_numbers = np.array([(r.latency_ms, r.price_micro_per_mb, r.kwh_per_mb, r.kg_per_mb) for r in routes], dtype=float).reshape(-1, 4)
        path_latency, path_price, path_kwh, path_kg = path_numbers.T.copy()
        route_latency, route_price, route_kg, route_min_bandwidth = numbers[[0, 1, 3, 4]]
        arrays = {
            "path_latency": path_latency,
            "path_price": path_price,
            "path_kwh": path_kwh,
            "path_kg": path_kg,
            "route_real": route_real,
            "route_dc": route_dc,
            "route_latency": route_latency,
            "route_price": route_price,
            "route_kg": route_kg,
            "route_min_bandwidth": route_min_bandwidth,
            "bundle_dc": np.repeat(route_dc, slots, axis=1),
            "bundle_path": np.repeat(route_path, slots, axis=1),
            "bundle_slot": np.broadcast_to(np.tile(np.arange(slots, dtype=np.int64), width), (len(origins), width * slots)),
        }
        for array in arrays.values():
            array.setflags(write=False)
        if len(self._layouts) >= _LAYOUTS_KEPT:
            del self._layouts[next(iter(self._layouts))]
        found = self._layouts[key] = Layout(
            origins=origins,
            group={o: g for g, o in enumerate(origins)},
            bundles=[len(used) for used in resources],
            paths=[r.nodes for r in routes],
            path_links=[r.links for r in routes],
            resources=resources,
            links=[[used[1:] for used in group] for group in resources],
            **arrays,
        )
        return found

    def routes(self, p: AllocationProblem, origin: str, target: str) -> tuple[Route, ...]:
        found = self._pairs.get((origin, target))
        if found is None:
            found = self._pairs[(origin, target)] = tuple(self._route(p, nodes) for nodes in _paths(p, origin, target))
        return found

    def _route(self, p: AllocationProblem, nodes: list[str]) -> Route:
        graph, factor = p.graph, self.factor
        hops = list(zip(nodes, nodes[1:], strict=False))
        per_mb_kwh = network_energy_wh(1.0, 1, wh_per_gb_hop=p.network_wh_per_gb_hop) / 1000
        return Route(
            nodes=tuple(nodes),
            links=tuple(self.edge_id[frozenset(h)] for h in hops),
            latency_ms=sum(graph.edges[h]["latency_ms"] for h in hops),
            price_micro_per_mb=sum(graph.edges[h].get("price_micro_per_mb", 0) for h in hops),
            kwh_per_mb=per_mb_kwh * len(hops),
            kg_per_mb=per_mb_kwh * sum((factor[a] + factor[b]) / 2 for a, b in hops),
        )


class RouteCache:
    """Route tables by region graph, each shared by every problem over an equal graph.

    The key is the graph's content (nodes and edges in order, with their data) plus the path
    parameters, so an edited graph gets a fresh table; a graph whose data cannot be hashed is
    routed afresh each time. At most ``kept`` tables are kept, oldest dropped first.

    Args:
        kept: How many tables to keep.
    """

    def __init__(self, kept: int = 16) -> None:
        self.kept = kept
        self._tables: dict[object, RouteTable] = {}

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, p: AllocationProblem) -> RouteTable:
        """The route table of ``p``'s graph."""
        try:
            key = (
                tuple((n, tuple(sorted(d.items()))) for n, d in p.graph.nodes(data=True)),
                tuple((a, b, tuple(sorted(d.items()))) for a, b, d in p.graph.edges(data=True)),
                p.paths_per_pair,
                p.network_wh_per_gb_hop,
            )
            table = self._tables.get(key)
        except TypeError:  # unhashable node or edge data
            return RouteTable(p)
        if table is None:
            if len(self._tables) >= self.kept:
                del self._tables[next(iter(self._tables))]
            table = self._tables[key] = RouteTable(p)
        return table

    def clear(self) -> None:
        """Forgets every table."""
        self._tables.clear()


#: The cache :func:`~market.allocation.allocate_greedy` and :func:`~market.allocation.allocate_milp`
#: use when given none: a caller that plans repeatedly over one graph may pass its own instead.
SHARED_ROUTES = RouteCache()
