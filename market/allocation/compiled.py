"""An allocation instance turned into arrays (every task's cost of every bundle it may take), and
an allocation built back from each task's chosen bundle; shared by the greedy search and the MILP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from market.allocation.problem import Allocation, AllocationProblem, Assignment, TaskColumns, green_shares, validate
from market.allocation.routes import Layout, RouteCache
from market.carbon import CarbonReport
from market.metering import it_energy_wh

__all__ = ["Compiled", "compile_problem", "allocation_of", "sum_in_order"]


@dataclass(slots=True)
class Compiled:
    """An instance turned into arrays: its origins' bundles, capacities and every task's cost of each bundle.

    Bundles are numbered within each origin's group (see :class:`~market.allocation.routes.Layout`); ``cost`` has one row
    per task, in task order, and one column per bundle of its group, padded to the largest group.
    """

    problem: AllocationProblem
    layout: Layout
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


def compile_problem(p: AllocationProblem, routes: RouteCache) -> Compiled:
    """Validates and turns an instance into arrays (routes come from the graph's table in ``routes``)."""
    tasks, green = TaskColumns.of(p.tasks), green_shares(p)
    validate(p, tasks, green)
    assert green is not None  # validate() names the centre whose green share is malformed
    slots, carbon = p.slots, p.carbon_price_micro_per_kg
    table = routes.table(p)

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
    return Compiled(
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


def allocation_of(cp: Compiled, method: str, bundle: Sequence[int] | np.ndarray, optimal: bool) -> Allocation:
    """Builds the allocation from each task's bundle (indexed within its group; -1 where unserved).

    The numbers of the served tasks are worked out as arrays (the same float operations, element
    by element, as one task at a time); the objective and the carbon total are added up in task
    order, one task after another (:func:`sum_in_order`), since another order rounds differently.
    """
    p, layout = cp.problem, cp.layout
    chosen = np.asarray(bundle, dtype=np.int64)
    is_served = chosen >= 0
    served = np.flatnonzero(is_served)
    b, group = chosen[served], cp.group_of[served]
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
    carbon = CarbonReport(sum_in_order(energy), sum_in_order(co2), sum_in_order(green))
    return Allocation(method, tuple(assignments), unserved, sum_in_order(share), optimal, carbon)


def sum_in_order(x: np.ndarray) -> float:
    """``0.0 + x[0] + x[1] + ...`` added one after another, as a Python loop adds.

    ``np.cumsum`` adds one element at a time in order, which ``np.sum`` does not (it adds
    pairwise, which rounds differently).
    """
    return float(np.cumsum(np.concatenate(([0.0], x)))[-1])
