"""The exact solution of small instances as a 0/1 programme (HiGHS through ``scipy.optimize.milp``)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from market.allocation.compiled import allocation_of, compile_problem
from market.allocation.problem import Allocation, AllocationProblem
from market.allocation.routes import SHARED_ROUTES, RouteCache
from market.errors import MechanismError

__all__ = ["allocate_milp"]


def _resource_matrix(resources: list[tuple[int, ...]]) -> np.ndarray:
    """A group's ``resources`` (see :class:`~market.allocation.routes.Layout`) as an array: one row per
    bundle, the resources it uses, padded with -1."""
    used = np.full((len(resources), max(map(len, resources), default=0)), -1, dtype=np.int64)
    for k, bundle in enumerate(resources):
        used[k, : len(bundle)] = bundle
    return used


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


def allocate_milp(
    problem: AllocationProblem, *, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4, routes: RouteCache | None = None
) -> Allocation:
    """Solves the allocation exactly as a 0/1 programme with HiGHS (for small instances).

    One binary per (task, bundle) pair the task fits; each task takes at most one bundle; the
    compute of every data centre and the bandwidth of every link are respected in every slot.

    Args:
        problem: The instance.
        time_limit_s: Solver time limit; the best solution found is returned if it is reached
            (with ``optimal=False``).
        mip_rel_gap: Relative gap at which HiGHS stops and calls the solution optimal.
        routes: Where the region graph's routes are kept (default :data:`~market.allocation.routes.SHARED_ROUTES`).

    Returns:
        The allocation; ``optimal`` tells whether HiGHS proved it optimal.

    Raises:
        MechanismError: an invalid instance, or no solution found within the time limit.
    """
    cp = compile_problem(problem, SHARED_ROUTES if routes is None else routes)
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
        # compute) and its link slots (the task's data), numbered as Placement numbers them
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
        return allocation_of(cp, "milp", [-1] * n_tasks, optimal=True)
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
    return allocation_of(cp, "milp", bundle, optimal=res.status == 0)
