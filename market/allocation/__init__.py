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

Modules: :mod:`~market.allocation.problem` (the records, validation and the solution check),
:mod:`~market.allocation.routes` (route tables and their cache), :mod:`~market.allocation.compiled`
(an instance as arrays), :mod:`~market.allocation.greedy`, :mod:`~market.allocation.milp` and
:mod:`~market.allocation.instances` (random instances).
"""

from market.allocation.greedy import allocate_greedy
from market.allocation.instances import random_problem
from market.allocation.milp import allocate_milp
from market.allocation.problem import Allocation, AllocationProblem, Assignment, CentreOffer, TaskDemand, optimality_gap, violations
from market.allocation.routes import RouteCache

__all__ = [
    "TaskDemand",
    "CentreOffer",
    "AllocationProblem",
    "Assignment",
    "Allocation",
    "RouteCache",
    "allocate_greedy",
    "allocate_milp",
    "optimality_gap",
    "violations",
    "random_problem",
]
