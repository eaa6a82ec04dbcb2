"""The allocation problem's records and their checks: tasks, data centres, an instance, its
solution; :func:`validate` refuses a bad instance with one line, :func:`violations` lists what is
wrong with a solution, :func:`optimality_gap` compares a heuristic's with a proven optimum.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx
import numpy as np

from market.carbon import CarbonReport
from market.errors import MechanismError
from market.metering import NETWORK_WH_PER_GB_HOP, WATTS_PER_CORE

__all__ = [
    "TaskDemand", "CentreOffer", "AllocationProblem", "Assignment", "Allocation", "TaskColumns",
    "green_shares", "validate", "violations", "optimality_gap",
]


class TaskDemand(NamedTuple):
    """A task to place: what it needs and what serving it is worth (the allocation's view of a task).

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


class CentreOffer(NamedTuple):
    """What a data centre in one region offers: compute per slot at a price, and the energy behind it.

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

    tasks: tuple[TaskDemand, ...]
    datacentres: tuple[CentreOffer, ...]
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


@dataclass(frozen=True, slots=True)
class TaskColumns:
    """The tasks' attributes, one list or array per attribute (numbers as floats).

    Read with one list comprehension per attribute, which is faster than one pass making tuples;
    ``last`` is :attr:`TaskDemand.last_slot` written out, as a property call per task costs more than
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
    def of(cls, tasks: Sequence[TaskDemand]) -> TaskColumns:
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
        """Whether every task passes :func:`validate`'s checks, tested on all tasks at once.

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


def green_shares(p: AllocationProblem) -> np.ndarray | None:
    """The centres' green shares, one row per centre and one column per slot.

    ``None`` where a centre's share is not one value or one per slot, each in [0, 1] (then
    :func:`validate` names it). Shares all given alike (all single values, or all tuples of a
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


def validate(p: AllocationProblem, tasks: TaskColumns, green: np.ndarray | None) -> None:
    """Checks an instance and raises one line naming the first problem.

    ``tasks`` and ``green`` are the instance's task columns and :func:`green_shares`: the tasks
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
