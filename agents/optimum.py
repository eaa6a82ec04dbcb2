"""The east-west economy's perfect-foresight optimum: an upper bound on a run's welfare.

After a run, :func:`welfare_upper_bound` solves the whole run at once with perfect foresight: every
task that arrived, every hour's renewable supply, thermal capacity, outages and grid intensity are
known. It decides which tasks run where and when (within their windows, latency bounds and the
centres' capacities) and where each centre's energy comes from (the region's renewables, its
thermal plants, the grid), maximising the same welfare the run reports (value less generation,
network, operating and carbon costs). It is the LP relaxation of that coupled allocation (tasks may
be split; the links' bandwidth and the microgrids' battery dispatch are taken as they were), so its
optimum bounds the mixed-integer optimum, and so every run's welfare, from above: ``efficiency =
welfare / bound`` is at most 1 (up to the run's rounding of energy to whole Wh).

The solver is HiGHS through ``scipy.optimize.linprog``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

if TYPE_CHECKING:
    from agents.eastwest import EastWestModel

__all__ = ["HourRecord", "RunRecord", "welfare_upper_bound"]


@dataclass(slots=True)
class HourRecord:
    """What the optimum needs to know of one hour (slot ``t``, counted from 1)."""

    renewable_wh: dict[str, int]  # per region: renewable energy available
    thermal_wh: dict[str, int]  # per region: thermal capacity
    online: list[bool]  # per centre, in the model's order


@dataclass(slots=True)
class RunRecord:
    """A run's tasks and hours, collected while it runs (``EastWestModel(track_optimum=True)``)."""

    jobs: list = field(default_factory=list)
    hours: list[HourRecord] = field(default_factory=list)


def welfare_upper_bound(model: EastWestModel, record: RunRecord) -> float:
    """The LP relaxation's optimal welfare of the run ``record`` of ``model``, in micro-tokens.

    Raises:
        RuntimeError: the solver failed (the message says why).
    """
    import networkx as nx

    from agents.eastwest import _THERMAL_KG_PER_KWH
    from market.metering import NETWORK_WH_PER_GB

    n_hours = len(record.hours)
    centres = model.centres
    market, scc = model.market, model.carbon.social_cost_micro_per_kg
    generation, feed_in = market.grid_generation_micro, market.grid_feed_in_micro
    latency = dict(nx.all_pairs_dijkstra_path_length(model.graph, weight="latency_ms"))

    def intensity(region: str, t: int) -> float:
        return model.grid_intensity(region, model.start_hour + t - 1)

    cols_obj: list[float] = []
    task_rows: list[int] = []
    task_cols: list[int] = []
    cap_entries: list[tuple[int, int, float]] = []  # (dc, t) key index, column, coefficient
    bal_entries: list[tuple[int, int, float]] = []
    key_index: dict[tuple[int, int], int] = {}

    def key(d: int, t: int) -> int:
        k = key_index.get((d, t))
        if k is None:
            k = key_index[(d, t)] = len(key_index)
        return k

    for i, job in enumerate(record.jobs):
        last = min(job.deadline, n_hours)
        bound = job.latency_ms if job.latency_ms is not None else float("inf")
        units = job.compute_mcore_h
        net_wh = job.data_mb / 1024 * NETWORK_WH_PER_GB
        for d, dc in enumerate(centres):
            if latency[job.origin][dc.site.name] > bound or dc.capacity_mcore_h < units:
                continue
            busy = dc.marginal_wh(units)
            for t in range(job.arrival, last + 1):
                if not record.hours[t - 1].online[d]:
                    continue
                gain = (job.value_micro - dc.cost_micro) * units - net_wh * generation - net_wh / 1000 * intensity(job.origin, t) * scc
                col = len(cols_obj)
                cols_obj.append(gain)
                task_rows.append(i)
                task_cols.append(col)
                k = key(d, t)
                cap_entries.append((k, col, float(units)))
                bal_entries.append((k, col, busy))
    n_x = len(cols_obj)
    # energy columns per online (centre, hour): renewable, thermal, grid; per (region, hour): thermal to the grid
    online_keys = [(d, t) for t in range(1, n_hours + 1) for d in range(len(centres)) if record.hours[t - 1].online[d]]
    for d, t in online_keys:
        key(d, t)
    n_k = len(key_index)
    keys = sorted(key_index.items(), key=lambda kv: kv[1])
    r0, th0, g0 = n_x, n_x + n_k, n_x + 2 * n_k
    objective = np.zeros(n_x + 3 * n_k)
    objective[:n_x] = cols_obj
    constant = 0.0
    for (d, t), k in keys:
        dc = centres[d]
        region = dc.site.name
        objective[r0 + k] = -feed_in  # a renewable Wh used here is not fed in (its credit forgone)
        objective[th0 + k] = -(model.supply.thermal_cost_micro + _THERMAL_KG_PER_KWH / 1000 * scc)
        objective[g0 + k] = -(generation + intensity(region, t) / 1000 * scc)
    # constants: renewables generate what they have, fed in unless used; each online centre's idle draw
    for hour in record.hours:
        for wh in hour.renewable_wh.values():
            constant += wh * (feed_in - model.supply.renewable_cost_micro)
    # equality: renewable + thermal + grid - busy(x) = idle, per online (centre, hour)
    eq_rows, eq_cols, eq_vals = [], [], []
    for k, col, busy in bal_entries:
        eq_rows.append(k)
        eq_cols.append(col)
        eq_vals.append(-busy)
    idle = np.zeros(n_k)
    for (d, t), k in keys:
        for base in (r0, th0, g0):
            eq_rows.append(k)
            eq_cols.append(base + k)
            eq_vals.append(1.0)
        idle[k] = centres[d].energy_for(0) if record.hours[t - 1].online[d] else 0.0
    a_eq = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(n_k, n_x + 3 * n_k))
    # inequalities: each task at most once; capacity per (centre, hour); renewables and thermal per (region, hour)
    ub_rows, ub_cols, ub_vals, rhs = [], [], [], []
    n_tasks = len(record.jobs)
    ub_rows += task_rows
    ub_cols += task_cols
    ub_vals += [1.0] * len(task_rows)
    rhs += [1.0] * n_tasks
    for k, col, units in cap_entries:
        ub_rows.append(n_tasks + k)
        ub_cols.append(col)
        ub_vals.append(units)
    rhs += [0.0] * n_k
    for (d, _t), k in keys:
        rhs[n_tasks + k] = float(centres[d].capacity_mcore_h)
    row = n_tasks + n_k
    groups: dict[tuple[str, int], list[int]] = {}
    for (d, t), k in keys:
        groups.setdefault((centres[d].site.name, t), []).append(k)
    for (region, t), ks in groups.items():
        hour = record.hours[t - 1]
        for base, limit in ((r0, hour.renewable_wh.get(region, 0)), (th0, hour.thermal_wh.get(region, 0))):
            for k in ks:
                ub_rows.append(row)
                ub_cols.append(base + k)
                ub_vals.append(1.0)
            rhs.append(float(limit))
            row += 1
    a_ub = sparse.csr_matrix((ub_vals, (ub_rows, ub_cols)), shape=(row, n_x + 3 * n_k))
    bounds = [(0.0, 1.0)] * n_x + [(0.0, None)] * (3 * n_k)
    result = linprog(-objective, A_ub=a_ub, b_ub=np.asarray(rhs), A_eq=a_eq, b_eq=idle, bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"welfare upper bound: the LP solver failed ({result.message})")
    return float(-result.fun + constant)

