"""Coupled compute–network–energy allocation (whitepaper §3.3): tasks to (data centre, path, slot) bundles.

Every task comes from an origin region with a compute demand, a data volume to move, a latency
bound, a window of time slots it may run in, and a value (what it is worth to its user). A
*bundle* is a data centre, a network path from the origin to it (latency summed along the
``networkx`` path) and a time slot. A task fits a bundle if the path's latency is within its
bound and the slot within its window; the data centres' compute per slot and the links'
bandwidth per slot are shared by all tasks. A bundle's cost weighs price against carbon:

    cost = compute × (price per mcore-h + carbon price × kg CO2 per mcore-h at that centre and slot)
         + data × (transit price per MB + carbon price × kg CO2 per MB along the path)

where a data centre's carbon depends on its PUE and its green share in that slot, so deferrable
tasks (a window of several slots) shift in time to greener hours and tasks with loose latency
bounds shift in space to greener regions (Wiesner et al., 2021; Radovanovic et al., 2023). The
objective is the total cost of the tasks served plus the value of the tasks left unserved, i.e.
welfare maximisation written as a cost.

:func:`allocate_milp` solves it exactly as a 0/1 programme (HiGHS through ``scipy.optimize.milp``)
for small instances. :func:`allocate_greedy` is the fast heuristic for large ones. Costs of all
(task, bundle) pairs, each task against the bundles reachable from its origin, are computed in one
vectorised pass; tasks are then placed in decreasing order of regret (how much worse their
next-best option, or being left unserved, is than their best: Martello and Toth's rule for the
generalised assignment problem) on their cheapest bundle with room; a bounded local search with
ejection chains of length one or two (Yagiura, Ibaraki and Glover, 2004) then moves tasks to
cheaper bundles, making room by moving or dropping a resident, and serves unserved tasks by
clearing a data-centre slot. Every search step examines a bounded number of alternatives, so the
time grows about linearly with the number of tasks.

References:
    S. Martello and P. Toth, *Knapsack Problems: Algorithms and Computer Implementations*,
    Wiley, 1990, ch. 7 (the generalised assignment problem and its regret heuristic).
    M. Yagiura, T. Ibaraki and F. Glover, "An ejection chain approach for the generalized
    assignment problem", INFORMS Journal on Computing 16(2), pp. 133–151, 2004.
    P. Wiesner, I. Behnke, D. Scheinert, K. Gontarska and L. Thamsen, "Let's wait awhile: how
    temporal workload shifting can reduce carbon emissions in the cloud", Middleware 2021.
    A. Radovanovic et al., "Carbon-aware computing for datacenters", IEEE Transactions on Power
    Systems 38(2), 2023.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import numbers
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from market.carbon import CarbonReport, emission_factor
from market.errors import MechanismError
from market.metering import NETWORK_WH_PER_GB_HOP, WATTS_PER_CORE, it_energy_wh, network_energy_wh
from market.network import CLUSTERS, Cluster, backbone_graph

__all__ = [
    "Task",
    "DataCentre",
    "AllocationProblem",
    "Assignment",
    "Allocation",
    "allocate_greedy",
    "allocate_milp",
    "optimality_gap",
    "violations",
    "random_problem",
]


class Task(NamedTuple):
    """A task to place.

    Attributes:
        task_id: Unique within a problem.
        origin: Region its user and data are in (a node of the region graph).
        compute_mcore_h: Compute it needs in its slot, milli-core-hours.
        data_mb: Data moved from the origin to the data centre, MB.
        value_micro: What serving it is worth to its user; it is left unserved where every
            feasible bundle costs more.
        max_latency_ms: Bound on the path's one-way latency.
        release: First slot it may run in.
        deadline: Last slot it may run in; ``None`` means ``release`` (not deferrable).
    """

    task_id: int
    origin: str
    compute_mcore_h: int
    data_mb: int
    value_micro: int
    max_latency_ms: float = math.inf
    release: int = 0
    deadline: int | None = None

    @property
    def last_slot(self) -> int:
        """The last slot it may run in."""
        return self.release if self.deadline is None else self.deadline


class DataCentre(NamedTuple):
    """A data centre selling compute in one region.

    Attributes:
        name: Unique within a problem.
        region: A node of the region graph.
        capacity_mcore_h: Compute it can sell per slot.
        price_micro_per_mcore_h: Its price.
        pue: Power usage effectiveness (at least 1).
        green_share: Renewable share of its energy, one value or one per slot.
        watts_per_core: Power per busy core.
    """

    name: str
    region: str
    capacity_mcore_h: int
    price_micro_per_mcore_h: int
    pue: float = 1.2
    green_share: float | tuple[float, ...] = 0.0
    watts_per_core: float = WATTS_PER_CORE


@dataclass(frozen=True, slots=True)
class AllocationProblem:
    """One allocation instance.

    Attributes:
        tasks: The tasks.
        datacentres: The data centres.
        graph: Region graph: edges need ``latency_ms`` and may have ``bandwidth_mb`` (per slot,
            unlimited when missing) and ``price_micro_per_mb``; nodes may have
            ``grid_factor_kg_per_kwh`` (national average when missing). See :mod:`market.network`.
        slots: Number of time slots.
        carbon_price_micro_per_kg: Weight of carbon against price.
        network_wh_per_gb_hop: Network energy per GB per hop.
        paths_per_pair: How many shortest paths (by latency) to offer per origin and data centre.
    """

    tasks: tuple[Task, ...]
    datacentres: tuple[DataCentre, ...]
    graph: nx.Graph = field(compare=False)
    slots: int = 1
    carbon_price_micro_per_kg: float = 0.0
    network_wh_per_gb_hop: float = NETWORK_WH_PER_GB_HOP
    paths_per_pair: int = 1


class Assignment(NamedTuple):
    """Where and when a task runs and what that costs.

    Attributes:
        task_id: The task.
        datacentre: Name of the data centre.
        path: Regions from the origin to the data centre.
        slot: Time slot.
        latency_ms: The path's latency.
        payment_micro: What the user pays: compute at the centre's price plus transit.
        cost_micro: The objective's cost: payment plus carbon at the carbon price.
        carbon: Energy, emissions and green share of running it.
    """

    task_id: int
    datacentre: str
    path: tuple[str, ...]
    slot: int
    latency_ms: float
    payment_micro: int
    cost_micro: float
    carbon: CarbonReport


@dataclass(frozen=True, slots=True)
class Allocation:
    """A solution.

    Attributes:
        method: ``"greedy"`` or ``"milp"``.
        assignments: The tasks served, in task order.
        unserved: Ids of the tasks left unserved.
        objective_micro: Cost of the tasks served plus value of those unserved.
        optimal: Whether the solution is proven optimal (a MILP solved to optimality).
        carbon: Energy, emissions and green share of everything served.
    """

    method: str
    assignments: tuple[Assignment, ...]
    unserved: tuple[int, ...]
    objective_micro: float
    optimal: bool
    carbon: CarbonReport

    @property
    def payment_micro(self) -> int:
        """What the served users pay in total."""
        return sum(a.payment_micro for a in self.assignments)


@dataclass(slots=True)
class _Compiled:
    """An instance turned into arrays: its origins' bundles, capacities and every task's cost of each bundle.

    Bundles are numbered within each origin's group (see :class:`_Layout`); ``cost`` has one row
    per task, in task order, and one column per bundle of its group, padded to the largest group.
    """

    problem: AllocationProblem
    layout: _Layout
    dc_capacity: np.ndarray
    dc_kwh: np.ndarray  # facility kWh per mcore-h
    dc_kg: np.ndarray  # (dc, slot) kg per mcore-h
    dc_green: np.ndarray  # (dc, slot) green share
    link_bandwidth: np.ndarray
    compute: np.ndarray
    data: np.ndarray
    value: np.ndarray
    ids: list[int]  # per task: its id
    group_of: np.ndarray  # per task: its origin's group in ``layout``
    cost: np.ndarray  # (task, bundle of its group); inf where it does not fit the bundle and past its group's bundles


@dataclass(frozen=True, slots=True)
class _TaskColumns:
    """The tasks' attributes, one list or array per attribute (numbers as floats).

    Read with one list comprehension per attribute, which is faster than one pass making tuples;
    ``last`` is :attr:`Task.last_slot` written out, as a property call per task costs more than
    reading the attributes.
    """

    ids: list[int]
    origins: list[str]
    compute: np.ndarray
    data: np.ndarray
    value: np.ndarray
    max_latency: np.ndarray
    release: np.ndarray
    last: np.ndarray

    @classmethod
    def of(cls, tasks: Sequence[Task]) -> _TaskColumns:
        return cls(
            [t.task_id for t in tasks],
            [t.origin for t in tasks],
            _numbers([t.compute_mcore_h for t in tasks]),
            _numbers([t.data_mb for t in tasks]),
            _numbers([t.value_micro for t in tasks]),
            _numbers([t.max_latency_ms for t in tasks]),
            _numbers([t.release for t in tasks]),
            _numbers([t.release if t.deadline is None else t.deadline for t in tasks]),
        )

    def plainly_valid(self, p: AllocationProblem) -> bool:
        """Whether every task passes :func:`_validate`'s checks, tested on all tasks at once.

        ``True`` only if the checks one task at a time would pass; ``False`` may also mean values
        that do not compare as numbers (the checks one at a time then decide).
        """
        try:
            return all(o in p.graph for o in set(self.origins)) and not np.any(
                ~(self.compute >= 0)  # written so that NaN, a value that is no number, fails too
                | ~(self.data >= 0)
                | ~(self.value >= 0)
                | ~(self.max_latency >= 0)
                | ~((0 <= self.release) & (self.release <= self.last) & (self.last < p.slots))
            )
        except TypeError:  # an unhashable origin
            return False


def _numbers(values: list[Any]) -> np.ndarray:
    """``values`` as floats, NaN for any that is no number (``None``, a string ...: ``np.array``
    with ``dtype=float`` would read ``"5"`` as 5.0 and ``None`` as NaN), so validation refuses it."""
    column = np.array(values)
    if column.dtype.kind in "biuf":
        return column.astype(float)
    return np.array([v if isinstance(v, numbers.Real) else math.nan for v in values], dtype=float)


def _green_shares(p: AllocationProblem) -> np.ndarray | None:
    """The centres' green shares, one row per centre and one column per slot.

    ``None`` where a centre's share is not one value or one per slot, each in [0, 1] (then
    :func:`_validate` names it). Shares all given alike (all single values, or all tuples of a
    length) are converted in one go, a mix one centre at a time.
    """
    if p.slots < 1:
        return None
    try:
        shares = np.array([d.green_share for d in p.datacentres], dtype=float)
        if shares.ndim == 1:
            shares = shares[:, None]
    except ValueError:  # not alike
        try:
            shares = np.array([np.broadcast_to(np.asarray(d.green_share, dtype=float), (p.slots,)) for d in p.datacentres])
        except ValueError:
            return None
    if shares.ndim != 2 or shares.shape[1] not in (1, p.slots) or not np.all((shares >= 0) & (shares <= 1)):
        return None
    return np.broadcast_to(shares, (len(p.datacentres), p.slots))


def _validate(p: AllocationProblem, tasks: _TaskColumns, green: np.ndarray | None) -> None:
    """Checks an instance and raises one line naming the first problem.

    ``tasks`` and ``green`` are the instance's task columns and :func:`_green_shares`: the tasks
    are checked one at a time, and a centre's green share on its own, only where the checks on
    all at once found something to name.
    """
    if p.slots < 1:
        raise MechanismError(f"allocation: slots must be at least 1, got {p.slots}")
    if p.carbon_price_micro_per_kg < 0 or p.network_wh_per_gb_hop < 0 or p.paths_per_pair < 1:
        raise MechanismError("allocation: carbon price and network energy must be non-negative, paths_per_pair >= 1")
    for a, b, d in p.graph.edges(data=True):
        if not d.get("latency_ms", -1) >= 0 or not d.get("bandwidth_mb", 0) >= 0 or not d.get("price_micro_per_mb", 0) >= 0:
            raise MechanismError(f"allocation: link {a}-{b} needs latency_ms >= 0 and non-negative bandwidth and price")
    names = [d.name for d in p.datacentres]
    if len(set(names)) != len(names):
        raise MechanismError("allocation: data centre names must be unique")
    for d in p.datacentres:
        if d.region not in p.graph:
            raise MechanismError(f"data centre {d.name}: region {d.region!r} is not in the region graph")
        if d.capacity_mcore_h < 0 or d.price_micro_per_mcore_h < 0 or d.watts_per_core < 0 or not d.pue >= 1:
            raise MechanismError(f"data centre {d.name}: capacity, price and power must be non-negative and PUE >= 1")
        if green is None:
            g = np.atleast_1d(np.asarray(d.green_share, dtype=float))
            if g.shape not in ((1,), (p.slots,)) or np.any(~(g >= 0) | (g > 1)):
                raise MechanismError(f"data centre {d.name}: green_share needs one value or {p.slots} values in [0, 1]")
    if len(set(tasks.ids)) != len(tasks.ids):
        raise MechanismError("allocation: task ids must be unique")
    if tasks.plainly_valid(p):
        return
    for t in p.tasks:
        if t.origin not in p.graph:
            raise MechanismError(f"task {t.task_id}: origin {t.origin!r} is not in the region graph")
        if not all(isinstance(x, numbers.Real) and x >= 0 for x in (t.compute_mcore_h, t.data_mb, t.value_micro, t.max_latency_ms)):
            raise MechanismError(f"task {t.task_id}: compute, data, value and latency bound must be non-negative numbers")
        if not (isinstance(t.release, numbers.Real) and isinstance(t.last_slot, numbers.Real) and 0 <= t.release <= t.last_slot < p.slots):
            raise MechanismError(f"task {t.task_id}: window {t.release}..{t.last_slot} is not within slots 0..{p.slots - 1}")


@dataclass(frozen=True, slots=True)
class _Route:
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
class _Layout:
    """The bundles of some origins over a list of data-centre regions and a number of slots.

    Each origin is a *group*, numbered in ``origins`` order. A group's routes run over the
    centres in order, each centre's routes one after another; bundle ``r * slots + s`` of a group
    is its route ``r`` in slot ``s``. The ``route_*`` tables have one row per group and one column
    per route, the ``bundle_*`` tables one column per bundle; groups with fewer routes than the
    most are padded at the end (``route_real`` is false there, the other tables hold zeros).
    Paths are all groups' routes one after another: ``bundle_path`` and the ``path_*`` arrays
    index them (``route_min_bandwidth``: the narrowest link's bandwidth, inf for none).
    ``resources`` has, per group and bundle, what the bundle uses, numbered as
    :class:`_Placement` numbers them: data-centre slots first (``dc * slots + slot``), then link
    slots (``n_dc * slots + link * slots + slot``); ``links`` the link slots among them.
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


class _RouteTable:
    """The routes of one region graph, computed once per (origin, target) and kept.

    Routes depend only on the graph's edges and nodes with their data, ``paths_per_pair`` and the
    network energy per hop; a model that re-plans every hour over the same backbone finds them
    here instead of searching the graph again (see :func:`_routes_for`).
    """

    def __init__(self, p: AllocationProblem) -> None:
        graph = p.graph
        self.node_index = {n: i for i, n in enumerate(graph.nodes)}
        self.edge_id = {frozenset(e): i for i, e in enumerate(graph.edges)}
        self.factor = {n: graph.nodes[n].get("grid_factor_kg_per_kwh", emission_factor()) for n in graph.nodes}
        self.link_bandwidth = np.array([graph.edges[e].get("bandwidth_mb", math.inf) for e in graph.edges], dtype=float)
        self.link_bandwidth.setflags(write=False)
        self._pairs: dict[tuple[str, str], tuple[_Route, ...]] = {}
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...], int], _Layout] = {}

    def layout(self, p: AllocationProblem, origins: tuple[str, ...], regions: tuple[str, ...], slots: int) -> _Layout:
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
        routes: list[_Route] = []
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
        arrays = [
            *path_numbers.T.copy(),
            route_real,
            route_dc,
            *numbers[[0, 1, 3, 4]],
            np.repeat(route_dc, slots, axis=1),
            np.repeat(route_path, slots, axis=1),
            np.broadcast_to(np.tile(np.arange(slots, dtype=np.int64), width), (len(origins), width * slots)),
        ]
        for array in arrays:
            array.setflags(write=False)
        if len(self._layouts) >= _LAYOUTS_KEPT:
            del self._layouts[next(iter(self._layouts))]
        found = self._layouts[key] = _Layout(
            origins,
            {o: g for g, o in enumerate(origins)},
            [len(used) for used in resources],
            [r.nodes for r in routes],
            [r.links for r in routes],
            *arrays,
            resources,
            [[used[1:] for used in group] for group in resources],
        )
        return found

    def routes(self, p: AllocationProblem, origin: str, target: str) -> tuple[_Route, ...]:
        found = self._pairs.get((origin, target))
        if found is None:
            found = self._pairs[(origin, target)] = tuple(self._route(p, nodes) for nodes in _paths(p, origin, target))
        return found

    def _route(self, p: AllocationProblem, nodes: list[str]) -> _Route:
        graph, factor = p.graph, self.factor
        hops = list(zip(nodes, nodes[1:], strict=False))
        per_mb_kwh = network_energy_wh(1.0, 1, wh_per_gb_hop=p.network_wh_per_gb_hop) / 1000
        return _Route(
            nodes=tuple(nodes),
            links=tuple(self.edge_id[frozenset(h)] for h in hops),
            latency_ms=sum(graph.edges[h]["latency_ms"] for h in hops),
            price_micro_per_mb=sum(graph.edges[h].get("price_micro_per_mb", 0) for h in hops),
            kwh_per_mb=per_mb_kwh * len(hops),
            kg_per_mb=per_mb_kwh * sum((factor[a] + factor[b]) / 2 for a, b in hops),
        )


_ROUTE_TABLES: dict[object, _RouteTable] = {}
_ROUTE_TABLES_KEPT = 16
_LAYOUTS_KEPT = 64


def _routes_for(p: AllocationProblem) -> _RouteTable:
    """The route table of ``p``'s graph, shared by every problem over an equal graph.

    The key is the graph's content (nodes and edges in order, with their data) plus the path
    parameters, so an edited graph gets a fresh table; a graph whose data cannot be hashed is
    routed afresh each time. At most ``_ROUTE_TABLES_KEPT`` tables are kept, oldest dropped first.
    """
    try:
        key = (
            tuple((n, tuple(sorted(d.items()))) for n, d in p.graph.nodes(data=True)),
            tuple((a, b, tuple(sorted(d.items()))) for a, b, d in p.graph.edges(data=True)),
            p.paths_per_pair,
            p.network_wh_per_gb_hop,
        )
        table = _ROUTE_TABLES.get(key)
    except TypeError:  # unhashable node or edge data
        return _RouteTable(p)
    if table is None:
        if len(_ROUTE_TABLES) >= _ROUTE_TABLES_KEPT:
            del _ROUTE_TABLES[next(iter(_ROUTE_TABLES))]
        table = _ROUTE_TABLES[key] = _RouteTable(p)
    return table


def _compile(p: AllocationProblem) -> _Compiled:
    """Validates and turns an instance into arrays (routes come from the graph's route table)."""
    tasks, green = _TaskColumns.of(p.tasks), _green_shares(p)
    _validate(p, tasks, green)
    slots, carbon = p.slots, p.carbon_price_micro_per_kg
    table = _routes_for(p)

    dc_capacity = np.array([d.capacity_mcore_h for d in p.datacentres], dtype=float)
    dc_price = np.array([d.price_micro_per_mcore_h for d in p.datacentres], dtype=float)
    dc_kwh = np.array([it_energy_wh(1.0, watts_per_core=d.watts_per_core) * d.pue / 1000 for d in p.datacentres])
    dc_grid = np.array([table.factor[d.region] for d in p.datacentres])
    dc_kg = dc_kwh[:, None] * (1.0 - green) * dc_grid[:, None]

    # one group per origin, in the graph's order of nodes: calls over the same origins share a layout
    # whatever order their tasks come in
    origins = tuple(sorted(set(tasks.origins), key=table.node_index.__getitem__))
    layout = table.layout(p, origins, tuple(d.region for d in p.datacentres), slots)
    group_of = np.fromiter(map(layout.group.__getitem__, tasks.origins), np.int64, len(tasks.origins))
    n, width = len(group_of), layout.route_dc.shape[1]
    c, dt = tasks.compute[:, None], tasks.data[:, None]
    # all tasks at once: each row gathers its group's per-bundle prices; a bundle costs, per
    # mcore-h, its centre's price and carbon in its slot and, per MB, its route's (route-major,
    # so the route part is broadcast over slots)
    per_mcore = (dc_price[:, None] + carbon * dc_kg)[layout.bundle_dc, layout.bundle_slot]
    per_mb = layout.route_price + carbon * layout.route_kg
    cost = (c * per_mcore[group_of]).reshape(n, width, slots) + (dt * per_mb[group_of])[:, :, None]
    # whether a task may take a bundle splits into a part that depends on the route (latency,
    # centre capacity, bandwidth) and one on the slot (window): each is tested on its smaller
    # table, then combined over the bundles
    on_route = (
        layout.route_real[group_of]
        & (layout.route_latency[group_of] <= tasks.max_latency[:, None])
        & (dc_capacity[layout.route_dc][group_of] >= c)
        & (layout.route_min_bandwidth[group_of] >= dt)
    )
    slot_ids = np.arange(slots)
    in_window = (slot_ids >= tasks.release[:, None]) & (slot_ids <= tasks.last[:, None])
    fits = on_route[:, :, None] & in_window[:, None, :] & (cost <= tasks.value[:, None, None])
    return _Compiled(
        p,
        layout,
        dc_capacity=dc_capacity,
        dc_kwh=dc_kwh,
        dc_kg=dc_kg,
        dc_green=green,
        link_bandwidth=table.link_bandwidth,
        compute=tasks.compute,
        data=tasks.data,
        value=tasks.value,
        ids=tasks.ids,
        group_of=group_of,
        cost=np.where(fits, cost, np.inf).reshape(n, width * slots),
    )


def _result(cp: _Compiled, method: str, bundle: Sequence[int], optimal: bool) -> Allocation:
    """Builds the allocation from each task's bundle (indexed within its group; -1 where unserved).

    The numbers of the served tasks are worked out as arrays (the same float operations, element
    by element, as one task at a time); the objective and the carbon total are added up in task
    order, one task after another (:func:`_sum_in_order`), since another order rounds differently.
    """
    p, layout = cp.problem, cp.layout
    bundle = np.asarray(bundle, dtype=np.int64)
    is_served = bundle >= 0
    served = np.flatnonzero(is_served)
    b, group = bundle[served], cp.group_of[served]
    dc, path, slot, cost = layout.bundle_dc[group, b], layout.bundle_path[group, b], layout.bundle_slot[group, b], cp.cost[served, b]
    compute, data = cp.compute[served], cp.data[served]
    it_kwh = compute * cp.dc_kwh[dc]
    energy = it_kwh + data * layout.path_kwh[path]
    co2 = compute * cp.dc_kg[dc, slot] + data * layout.path_kg[path]
    green = it_kwh * cp.dc_green[dc, slot]
    reports = list(map(CarbonReport, energy.tolist(), co2.tolist(), green.tolist()))
    names = [d.name for d in p.datacentres]
    prices = [d.price_micro_per_mcore_h for d in p.datacentres]
    paths, latency, path_price = layout.paths, layout.path_latency.tolist(), [int(x) for x in layout.path_price.tolist()]
    tasks = p.tasks
    assignments = [
        Assignment(t.task_id, names[k], paths[q], s, latency[q], t.compute_mcore_h * prices[k] + t.data_mb * path_price[q], c, report)
        for t, k, q, s, c, report in zip(
            [tasks[i] for i in served.tolist()], dc.tolist(), path.tolist(), slot.tolist(), cost.tolist(), reports, strict=True
        )
    ]
    share = cp.value.copy()  # each task's part of the objective: its value if unserved ...
    share[served] = cost  # ... its cost if served
    ids = cp.ids
    unserved = tuple([ids[i] for i in np.flatnonzero(~is_served).tolist()])
    carbon = CarbonReport(_sum_in_order(energy), _sum_in_order(co2), _sum_in_order(green))
    return Allocation(method, tuple(assignments), unserved, _sum_in_order(share), optimal, carbon)


def _sum_in_order(x: np.ndarray) -> float:
    """``0.0 + x[0] + x[1] + ...`` added one after another, as a Python loop adds.

    ``np.cumsum`` adds one element at a time in order, which ``np.sum`` does not (it adds
    pairwise, which rounds differently).
    """
    return float(np.cumsum(np.concatenate(([0.0], x)))[-1])


def _resource_matrix(resources: list[tuple[int, ...]]) -> np.ndarray:
    """A group's ``resources`` (see :class:`_Layout`) as an array: one row per bundle, the resources it uses, padded with -1."""
    used = np.full((len(resources), max(map(len, resources), default=0)), -1, dtype=np.int64)
    for k, bundle in enumerate(resources):
        used[k, : len(bundle)] = bundle
    return used


#: Bundles of a task's ranking the construction reads at a time.
_CHUNK = 16

#: A move: (task index, bundle it leaves or -1, bundle it takes or -1), bundles indexed within the task's group.
_Move = tuple[int, int, int]


class _Placement:
    """Greedy construction and local search over (task, bundle) choices with exact capacity bookkeeping.

    Resources are numbered data-centre slots first, then link slots; ``rem`` holds what is left
    of each. Each task keeps its full ranking of bundles (for construction) and, when prepared
    for the local search, its ``k`` cheapest (``cand``) and the residents of every resource.
    """

    def __init__(self, cp: _Compiled, k: int, *, search: bool = True) -> None:
        self.cp = cp
        self.search = search
        n, slots = len(cp.problem.tasks), cp.problem.slots
        self.n_dc_slots = len(cp.problem.datacentres) * slots
        self.rem: list[float] = [*np.repeat(cp.dc_capacity, slots).tolist(), *np.repeat(cp.link_bandwidth, slots).tolist()]
        self.compute: list[float] = cp.compute.tolist()
        self.data: list[float] = cp.data.tolist()
        self.value: list[float] = cp.value.tolist()
        self.group: list[int] = cp.group_of.tolist()
        self.resources = cp.layout.resources  # per group, per bundle: resources used (DC slot first)
        self.links = cp.layout.links  # per group, per bundle: the link slots among them
        self.ranking = np.argsort(cp.cost, axis=1, kind="stable")  # per task: bundles by cost, feasible first
        self.ranking_head: list[list[int]] = self.ranking[:, :_CHUNK].tolist()  # per task: the first _CHUNK
        self.feasible: list[int] = np.count_nonzero(np.isfinite(cp.cost), axis=1).tolist()
        self.where: list[int] = [-1] * n
        self.cost_now: list[float] = [0.0] * n  # kept by apply() only: the local search reads it
        rows, width = np.arange(n), cp.cost.shape[1]
        self.cheapest = cp.cost[rows, self.ranking[:, 0]] if width > 0 else np.full(n, np.inf)
        second = cp.cost[rows, self.ranking[:, 1]] if width > 1 else np.full(n, np.inf)
        # Leaving a task unserved costs its value: that is the fallback its regret is measured against.
        with np.errstate(invalid="ignore"):  # inf - inf where a task fits nothing; its regret is 0
            self.regret = np.where(np.isfinite(self.cheapest), np.minimum(second, cp.value) - self.cheapest, 0.0)
        # per resource: (amount, task), sorted; only the local search reads it
        self.residents: dict[int, list[tuple[float, int]]] = {}
        self.cand: list[list[int]] = []  # per task, for the local search: its k cheapest feasible bundles
        self.cand_cost: list[list[float]] = []
        if search:
            top = self.ranking[:, :k]
            self.cand = [order[:count] for order, count in zip(top.tolist(), self.feasible, strict=True)]
            top_cost = np.take_along_axis(cp.cost, top, axis=1).tolist()
            self.cand_cost = [costs[:count] for costs, count in zip(top_cost, self.feasible, strict=True)]

    def _amount(self, i: int, r: int) -> float:
        return self.compute[i] if r < self.n_dc_slots else self.data[i]

    def fits(self, moves: Sequence[_Move]) -> bool:
        """Whether all ``moves`` together keep every resource within capacity."""
        nd, rem = self.n_dc_slots, self.rem
        if len(moves) == 1:
            i, old, new = moves[0]
            res = self.resources[self.group[i]]
            held = res[old] if old >= 0 else ()
            c, d = self.compute[i], self.data[i]
            return all(r in held or rem[r] >= (c if r < nd else d) for r in res[new])
        delta: dict[int, float] = {}
        for i, old, new in moves:
            res = self.resources[self.group[i]]
            c, d = self.compute[i], self.data[i]
            if old >= 0:
                for r in res[old]:
                    delta[r] = delta.get(r, 0.0) - (c if r < nd else d)
            if new >= 0:
                for r in res[new]:
                    delta[r] = delta.get(r, 0.0) + (c if r < nd else d)
        return all(x <= 0 or rem[r] >= x for r, x in delta.items())

    def _may_take(self, v: int, nb: int, freed: tuple[int, ...]) -> bool:
        """Cheap necessary test that ``v`` could move to ``nb`` once the resources in ``freed`` are released."""
        nd, rem = self.n_dc_slots, self.rem
        c, d = self.compute[v], self.data[v]
        return all(r in freed or rem[r] >= (c if r < nd else d) for r in self.resources[self.group[v]][nb])

    def apply(self, moves: Sequence[_Move]) -> None:
        """Carries out ``moves`` (which must fit)."""
        nd, rem, track = self.n_dc_slots, self.rem, self.search
        for i, old, new in moves:
            res = self.resources[self.group[i]]
            c, d = self.compute[i], self.data[i]
            if old >= 0:
                for r in res[old]:
                    amount = c if r < nd else d
                    rem[r] += amount
                    if track:
                        lst = self.residents[r]
                        del lst[bisect.bisect_left(lst, (amount, i))]
            if new >= 0:
                for r in res[new]:
                    amount = c if r < nd else d
                    rem[r] -= amount
                    if track:
                        bisect.insort(self.residents.setdefault(r, []), (amount, i))
                self.cost_now[i] = float(self.cp.cost[i, new])
            self.where[i] = new

    def construct(self, key: np.ndarray) -> None:
        """Places tasks by increasing ``key``, each on its cheapest bundle that still has room.

        The loop body runs once per task and call, so the search for the bundle and (without the
        local search's bookkeeping) apply() are written out here over local names, which saves a
        method call and a dozen attribute lookups per task.
        """
        rem, where, group, compute, data = self.rem, self.where, self.group, self.compute, self.data
        feasible, head, resources, links = self.feasible, self.ranking_head, self.resources, self.links
        for i in np.argsort(key, kind="stable").tolist():
            gi, c, d, n = group[i], compute[i], data[i], feasible[i]
            # the task's feasible bundles, cheapest first: most tasks fit one of their first few, so
            # only the first _CHUNK of each ranking are lists in advance
            ranked = head[i][:n] if n <= _CHUNK else head[i] + self.ranking[i, _CHUNK:n].tolist()
            res, lnk = resources[gi], links[gi]
            chosen = -1
            for b in ranked:
                if rem[res[b][0]] >= c:
                    for r in lnk[b]:
                        if not rem[r] >= d:  # not "<": infinite data on an unlimited link leaves NaN, which has no room
                            break
                    else:
                        chosen = b
                        break
            if chosen < 0:
                continue
            if self.search:
                self.apply(((i, -1, chosen),))
            else:
                rem[res[chosen][0]] -= c
                for r in lnk[chosen]:
                    rem[r] -= d
                where[i] = chosen

    def _blocking(self, i: int, b: int) -> tuple[int, float]:
        """The resource that most blocks task ``i`` from bundle ``b`` and by how much (its own usage freed)."""
        res = self.resources[self.group[i]]
        own = set(res[self.where[i]]) if self.where[i] >= 0 else set()
        worst, short = -1, 0.0
        for r in res[b]:
            need = self._amount(i, r) - self.rem[r] - (self._amount(i, r) if r in own else 0.0)
            if need > short:
                worst, short = r, need
        return worst, short

    def _improve(self, i: int, residents_tried: int, budget: int) -> bool:
        """Finds the best cheaper place for task ``i`` (served or not) and takes it; returns whether it moved.

        A place is one of the task's candidate bundles, taken directly if it has room, or after
        moving one resident of its most-blocked resource to another of that resident's candidate
        bundles, or after leaving that resident unserved. At most ``budget`` such resident moves
        are examined, which bounds the work per task whatever the instance's size.
        """
        old = self.where[i]
        base = self.cost_now[i] if old >= 0 else self.value[i]
        held = self.resources[self.group[i]][old] if old >= 0 else ()
        best_gain, best_moves = -1e-9, None
        for b, c in zip(self.cand[i], self.cand_cost[i], strict=True):
            gain_i = c - base
            if gain_i >= best_gain:
                break
            if b == old:
                continue
            if self.fits(((i, old, b),)):
                best_gain, best_moves = gain_i, ((i, old, b),)
                break
            r, short = self._blocking(i, b)
            if r < 0:
                continue
            lst = self.residents.get(r, [])
            start = bisect.bisect_left(lst, (short, -1))
            near = [v for _, v in lst[start : start + residents_tried + 1] if v != i][:residents_tried]
            for v in near:
                if budget <= 0:
                    break
                bv = self.where[v]
                freed = self.resources[self.group[v]][bv] + held
                for nb, cv in zip(self.cand[v], self.cand_cost[v], strict=True):
                    gain = gain_i + cv - self.cost_now[v]
                    if gain >= best_gain or budget <= 0:
                        break
                    budget -= 1
                    if (
                        nb != bv
                        and r not in self.resources[self.group[v]][nb]
                        and self._may_take(v, nb, freed)
                        and self.fits(((v, bv, nb), (i, old, b)))
                    ):
                        best_gain, best_moves = gain, ((v, bv, nb), (i, old, b))
                        break
                gain = gain_i + self.value[v] - self.cost_now[v]
                if gain < best_gain and self.fits(((v, bv, -1), (i, old, b))):
                    best_gain, best_moves = gain, ((v, bv, -1), (i, old, b))
        if best_moves is None:
            return False
        self.apply(best_moves)
        return True

    def _objective_of(self, i: int) -> float:
        """Task ``i``'s share of the objective: its cost where it is, or its value if unserved."""
        return self.cost_now[i] if self.where[i] >= 0 else self.value[i]

    def _make_room(self, u: int, targets: int, most: int) -> bool:
        """Serves unserved task ``u`` by clearing room on one of its cheapest bundles.

        For each of its ``targets`` cheapest bundles, the residents of the blocking resource are
        taken out, largest first, until ``u`` fits (at most ``most`` of them); ``u`` goes in and
        each resident taken out goes to the cheapest of its candidate bundles that has room, or
        stays unserved. The first such chain that lowers the objective is kept, others undone.
        """
        for b in self.cand[u][:targets]:
            r, short = self._blocking(u, b)
            if r < 0:
                continue
            out: list[int] = []
            freed = 0.0
            for amount, v in reversed(self.residents.get(r, [])):
                if freed >= short or len(out) == most:
                    break
                out.append(v)
                freed += amount
            if freed < short:
                continue
            before = self._objective_of(u) + sum(self._objective_of(v) for v in out)
            done: list[_Move] = []
            for v in out:
                done.append((v, self.where[v], -1))
                self.apply((done[-1],))
            if self.fits(((u, -1, b),)):
                done.append((u, -1, b))
                self.apply((done[-1],))
                for v in out:
                    for nb in self.cand[v]:
                        if self.fits(((v, -1, nb),)):
                            done.append((v, -1, nb))
                            self.apply((done[-1],))
                            break
                if self._objective_of(u) + sum(self._objective_of(v) for v in out) < before - 1e-9:
                    return True
            for i, old, new in reversed(done):
                self.apply(((i, new, old),))
        return False

    def improve(self, passes: int, residents_tried: int, budget: int) -> None:
        """Local search until nothing improves: cheaper places for every task, then room-making for unserved ones."""
        for _ in range(passes):
            changed = False
            for i in range(len(self.where)):
                if self.cand[i] and self.cand_cost[i][0] < self._objective_of(i) - 1e-9:
                    changed |= self._improve(i, residents_tried, budget)
            unserved = [u for u, b in enumerate(self.where) if b < 0 and self.cand[u]]
            unserved.sort(key=lambda u: self.cand_cost[u][0] - self.value[u])
            for u in unserved:
                if self.where[u] < 0:
                    changed |= self._make_room(u, targets=3, most=3)
            if not changed:
                break


def allocate_greedy(
    problem: AllocationProblem,
    *,
    starts: int = 1,
    candidates: int = 8,
    passes: int = 2,
    residents_tried: int = 6,
    budget: int = 40,
) -> Allocation:
    """Regret-ordered greedy placement followed by a bounded local search (see the module docstring).

    Construction places tasks in decreasing order of regret on their cheapest bundle with room.
    Each local-search pass then tries every task that is not on its cheapest bundle (or not
    served) on its ``candidates`` cheapest bundles: directly, by moving one of at most
    ``residents_tried`` residents of the blocking resource to another of its candidates (at most
    ``budget`` such moves per task), or by leaving that resident unserved; and it tries to serve
    each unserved task by clearing up to three residents out of one of its three cheapest bundles.
    Improving moves are kept; each pass costs time linear in the number of tasks.

    With ``starts`` of 2 or 3 the construction and search are repeated from other orders (by
    profit per mcore-h, then by size, largest first) and the best result is kept: a few tenths of
    a percent better on lumpy instances, at that many times the time.

    Args:
        problem: The instance.
        starts: Construction orders to try, 1 to 3.
        candidates: Bundles per task the local search considers (its cheapest feasible ones).
        passes: Local-search passes at most (0 keeps the greedy construction).
        residents_tried: Residents examined per blocked bundle.
        budget: Resident moves examined per task and pass.

    Returns:
        A feasible allocation (``optimal`` is ``False``).

    Raises:
        MechanismError: an invalid instance (unknown regions, bad windows, negative data ...),
            or search parameters out of range.
    """
    if not 1 <= starts <= 3 or candidates < 1 or passes < 0 or residents_tried < 0 or budget < 0:
        raise MechanismError("allocate_greedy: starts must be 1-3, candidates positive, the other limits non-negative")
    cp = _compile(problem)
    found = []
    for start in range(starts):
        placement = _Placement(cp, candidates, search=passes > 0)
        if start == 0:
            key = -placement.regret
        elif start == 1:
            cheapest = placement.cheapest
            key = -np.where(np.isfinite(cheapest), cp.value - cheapest, -1.0) / np.maximum(cp.compute, 1.0)
        else:
            key = -cp.compute
        placement.construct(key)
        placement.improve(passes, residents_tried, budget)
        found.append(_result(cp, "greedy", placement.where, optimal=False))
    return min(found, key=lambda a: a.objective_micro)  # the first of equals: the regret order's


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silences file descriptor 1 for a while.

    HiGHS 1.12 prints a stray debug line ("HighsMipSolverData::transformNewIntegerFeasibleSolution
    tmpSolver.run();") from C++ straight to standard output whatever its logging options
    (ERGO-Code/HiGHS#2783), which would corrupt ``ccei bench --json``.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def allocate_milp(problem: AllocationProblem, *, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4) -> Allocation:
    """Solves the allocation exactly as a 0/1 programme with HiGHS (for small instances).

    One binary per (task, bundle) pair the task fits; each task takes at most one bundle; the
    compute of every data centre and the bandwidth of every link are respected in every slot.

    Args:
        problem: The instance.
        time_limit_s: Solver time limit; the best solution found is returned if it is reached
            (with ``optimal=False``).

    Returns:
        The allocation; ``optimal`` tells whether HiGHS proved it optimal.

    Raises:
        MechanismError: an invalid instance, or no solution found within the time limit.
    """
    cp = _compile(problem)
    slots = problem.slots
    n_tasks = len(problem.tasks)
    n_dc_slots = len(problem.datacentres) * slots
    var_task, var_bundle, costs, rows, cols, vals = [], [], [], [], [], []
    offset = 0
    # variables by origin group, groups in order of first appearance (HiGHS may pick another of
    # equal optima if the variables come in another order), a group's tasks in task order
    for gi in dict.fromkeys(cp.group_of.tolist()):
        members = np.flatnonzero(cp.group_of == gi)
        cost = cp.cost[members, : cp.layout.bundles[gi]]
        r, b = np.nonzero(np.isfinite(cost))
        if not len(r):
            continue
        idx = offset + np.arange(len(r))
        tasks = members[r]
        # each task takes one bundle at most; a bundle uses its data-centre slot (the task's
        # compute) and its link slots (the task's data), numbered as _Placement numbers them
        used = _resource_matrix(cp.layout.resources[gi])[b]
        amount = np.where(used < n_dc_slots, cp.compute[tasks][:, None], cp.data[tasks][:, None])
        on = used >= 0
        rows += [tasks, n_tasks + used[on]]
        cols += [idx, np.broadcast_to(idx[:, None], used.shape)[on]]
        vals += [np.ones(len(r)), amount[on]]
        var_task.append(tasks)
        var_bundle.append(b)
        costs.append(cost[r, b] - cp.value[tasks])
        offset += len(r)
    if offset == 0:
        return _result(cp, "milp", [-1] * n_tasks, optimal=True)
    n_rows = n_tasks + n_dc_slots + len(cp.link_bandwidth) * slots
    a = sparse.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, offset))
    upper = np.concatenate([np.ones(n_tasks), np.repeat(cp.dc_capacity, slots), np.repeat(cp.link_bandwidth, slots)])
    keep = np.isfinite(upper)
    with _quiet_stdout():
        res = milp(
            np.concatenate(costs),
            integrality=np.ones(offset),
            bounds=Bounds(0, 1),
            constraints=LinearConstraint(a[np.flatnonzero(keep)], -np.inf, upper[keep]),
            options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap},
        )
    if res.x is None:
        raise MechanismError(f"allocation MILP found no solution: {res.message}")
    ts, bs = np.concatenate(var_task), np.concatenate(var_bundle)
    picked = np.flatnonzero(res.x > 0.5)
    bundle = np.full(n_tasks, -1, dtype=np.int64)
    for v in picked:
        bundle[ts[v]] = bs[v]
    return _result(cp, "milp", bundle, optimal=res.status == 0)


def optimality_gap(heuristic: Allocation, exact: Allocation) -> float:
    """Relative excess of the heuristic's objective over the exact one: ``(h - e) / e``.

    Raises:
        MechanismError: ``exact`` is not a proven optimum.
    """
    if not exact.optimal:
        raise MechanismError("optimality_gap needs an allocation proven optimal")
    if exact.objective_micro == 0:
        return 0.0 if heuristic.objective_micro == 0 else math.inf
    return (heuristic.objective_micro - exact.objective_micro) / exact.objective_micro


def violations(problem: AllocationProblem, allocation: Allocation) -> list[str]:
    """Everything wrong with an allocation for ``problem``, one line each (empty when feasible).

    Checks from the problem's own data, independently of how the allocation was found: known
    tasks placed at most once, windows, latency bounds along the path, each path a real path from
    the origin to the data centre's region, compute per data centre and slot, bandwidth per link
    and slot, and the objective.
    """
    graph = problem.graph
    tasks = {t.task_id: t for t in problem.tasks}
    dcs = {d.name: d for d in problem.datacentres}
    out: list[str] = []
    used_dc: dict[tuple[str, int], int] = {}
    used_link: dict[tuple[frozenset[str], int], int] = {}
    seen: set[int] = set()
    for a in allocation.assignments:
        t = tasks.get(a.task_id)
        if t is None or a.task_id in seen or a.datacentre not in dcs:
            out.append(f"task {a.task_id}: unknown, repeated, or placed at an unknown data centre")
            continue
        seen.add(a.task_id)
        dc = dcs[a.datacentre]
        if not t.release <= a.slot <= t.last_slot:
            out.append(f"task {t.task_id}: slot {a.slot} outside its window {t.release}..{t.last_slot}")
        if a.path[0] != t.origin or a.path[-1] != dc.region or not all(graph.has_edge(x, y) for x, y in zip(a.path, a.path[1:], strict=False)):
            out.append(f"task {t.task_id}: {a.path} is not a path from {t.origin} to {dc.region}")
            continue
        latency = sum(graph.edges[x, y]["latency_ms"] for x, y in zip(a.path, a.path[1:], strict=False))
        if latency > t.max_latency_ms + 1e-9:
            out.append(f"task {t.task_id}: latency {latency:.3f} ms over its bound {t.max_latency_ms} ms")
        used_dc[(dc.name, a.slot)] = used_dc.get((dc.name, a.slot), 0) + t.compute_mcore_h
        for x, y in zip(a.path, a.path[1:], strict=False):
            key = (frozenset((x, y)), a.slot)
            used_link[key] = used_link.get(key, 0) + t.data_mb
    for (name, slot), used in used_dc.items():
        if used > dcs[name].capacity_mcore_h:
            out.append(f"data centre {name}: {used} mcore-h in slot {slot} over capacity {dcs[name].capacity_mcore_h}")
    for (edge, slot), used in used_link.items():
        cap = graph.edges[tuple(edge)].get("bandwidth_mb", math.inf)
        if used > cap:
            out.append(f"link {'-'.join(sorted(edge))}: {used} MB in slot {slot} over bandwidth {cap}")
    unserved_value = sum(t.value_micro for i, t in tasks.items() if i not in seen)
    objective = unserved_value + sum(a.cost_micro for a in allocation.assignments)
    if not math.isclose(objective, allocation.objective_micro, rel_tol=1e-9, abs_tol=1e-6):
        out.append(f"objective {allocation.objective_micro} does not match its parts {objective}")
    return out


def _solar_profile(slots: int, peak: float, base: float, rng: np.random.Generator) -> tuple[float, ...]:
    """A day-shaped green share: ``base`` plus a midday bump of height ``peak``, with some noise."""
    hour = (np.arange(slots) + 0.5) * 24.0 / slots
    bump = np.clip(np.sin(np.pi * (hour - 6.0) / 12.0), 0.0, None)
    share = base + peak * bump + rng.normal(0.0, 0.03, slots)
    return tuple(float(x) for x in np.clip(share, 0.0, 1.0))


def random_problem(
    rng: np.random.Generator,
    n_tasks: int,
    *,
    slots: int = 24,
    clusters: Sequence[Cluster] = CLUSTERS,
    load: float = 0.8,
    carbon_price_micro_per_kg: float = 2e7,
    deferrable_share: float = 0.5,
    latency_bound_share: float = 0.4,
    bandwidth_share: float = 0.5,
) -> AllocationProblem:
    """A random but plausible instance over the East-Data-West-Compute clusters.

    One data centre per cluster: western clusters are cheaper and greener (solar-shaped green
    share), eastern ones are near the users (origins are drawn three times as often in the east
    and south). Capacities per slot are sized so that demand fills ``load`` of them on average;
    link bandwidth per slot so that ``bandwidth_share`` of all data could cross the busiest links.

    Args:
        rng: The random generator (the only source of randomness).
        n_tasks: Number of tasks.
        slots: Time slots (24 for hours of a day).
        clusters: Regions and data centres.
        load: Average share of compute capacity the tasks demand.
        carbon_price_micro_per_kg: Carbon weight in the objective.
        deferrable_share: Share of tasks with a window of up to 8 slots.
        latency_bound_share: Share of tasks with a latency bound (between 4 and 12 ms).
        bandwidth_share: Scales link bandwidth (smaller binds harder).

    Returns:
        The instance.

    Raises:
        MechanismError: non-positive task count, slots or load.
    """
    if n_tasks < 1 or slots < 1 or not load > 0:
        raise MechanismError("random_problem: n_tasks, slots and load must be positive")
    names = [c.name for c in clusters]
    east = np.array([c.lon > 110 or c.lat < 27 for c in clusters])
    origin_weight = np.where(east, 3.0, 1.0)
    origin_weight /= origin_weight.sum()
    origins = rng.choice(len(clusters), size=n_tasks, p=origin_weight)
    compute = np.maximum(1, rng.lognormal(np.log(2_000), 0.6, n_tasks)).astype(np.int64)
    data = np.maximum(1, rng.lognormal(np.log(400), 0.8, n_tasks)).astype(np.int64)
    release = rng.integers(0, slots, n_tasks)
    window = np.where(rng.random(n_tasks) < deferrable_share, rng.integers(1, 9, n_tasks), 0)
    deadline = np.minimum(release + window, slots - 1)
    bounded = rng.random(n_tasks) < latency_bound_share
    latency = np.where(bounded, rng.uniform(4.0, 12.0, n_tasks), np.inf)
    value = (compute * rng.uniform(380, 900, n_tasks) + data * 20).astype(np.int64)

    per_dc_slot = compute.sum() / (len(clusters) * slots * load)
    datacentres = []
    for k, c in enumerate(clusters):
        west = not east[k]
        datacentres.append(
            DataCentre(
                name=f"dc-{c.name}",
                region=c.name,
                capacity_mcore_h=int(per_dc_slot * rng.uniform(0.6, 1.4)),
                price_micro_per_mcore_h=int(rng.uniform(200, 300) if west else rng.uniform(300, 420)),
                pue=1.2 if west else 1.25,
                green_share=_solar_profile(slots, peak=0.6 if west else 0.3, base=0.2 if west else 0.05, rng=rng),
            )
        )
    bandwidth = max(float(data.sum()) / slots * bandwidth_share / 3, float(data.max()))
    graph = backbone_graph(clusters, bandwidth_mb=bandwidth, price_micro_per_mb=2)
    tasks = tuple(
        Task(
            task_id=i,
            origin=names[origins[i]],
            compute_mcore_h=int(compute[i]),
            data_mb=int(data[i]),
            value_micro=int(value[i]),
            max_latency_ms=float(latency[i]),
            release=int(release[i]),
            deadline=int(deadline[i]),
        )
        for i in range(n_tasks)
    )
    return AllocationProblem(tasks, tuple(datacentres), graph, slots, carbon_price_micro_per_kg)
