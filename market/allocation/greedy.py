"""The fast heuristic: regret-ordered greedy construction and a bounded local search with ejection
chains (see :mod:`market.allocation` for the method and its references).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from market.allocation.compiled import Compiled, allocation_of, compile_problem
from market.allocation.problem import Allocation, AllocationProblem
from market.allocation.routes import SHARED_ROUTES, RouteCache
from market.errors import MechanismError

__all__ = ["Placement", "allocate_greedy"]


#: Bundles of a task's ranking the construction reads at a time.
_CHUNK = 16


#: A move: (task index, bundle it leaves or -1, bundle it takes or -1), bundles indexed within the task's group.
_Move = tuple[int, int, int]


class Placement:
    """Greedy construction and local search over (task, bundle) choices with exact capacity bookkeeping.

    Resources are numbered data-centre slots first, then link slots; ``rem`` holds what is left
    of each. Each task keeps its full ranking of bundles (for construction) and, when prepared
    for the local search, its ``k`` cheapest (``cand``) and the residents of every resource.
    """

    def __init__(self, cp: Compiled, k: int, *, search: bool = True) -> None:
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
        best_moves: tuple[tuple[int, int, int], ...] | None
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
    routes: RouteCache | None = None,
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
        routes: Where the region graph's routes are kept (default :data:`~market.allocation.routes.SHARED_ROUTES`).

    Returns:
        A feasible allocation (``optimal`` is ``False``).

    Raises:
        MechanismError: an invalid instance (unknown regions, bad windows, negative data ...),
            or search parameters out of range.
    """
    if not 1 <= starts <= 3 or candidates < 1 or passes < 0 or residents_tried < 0 or budget < 0:
        raise MechanismError("allocate_greedy: starts must be 1-3, candidates positive, the other limits non-negative")
    cp = compile_problem(problem, SHARED_ROUTES if routes is None else routes)
    found = []
    for start in range(starts):
        placement = Placement(cp, candidates, search=passes > 0)
        if start == 0:
            key = -placement.regret
        elif start == 1:
            cheapest = placement.cheapest
            key = -np.where(np.isfinite(cheapest), cp.value - cheapest, -1.0) / np.maximum(cp.compute, 1.0)
        else:
            key = -cp.compute
        placement.construct(key)
        placement.improve(passes, residents_tried, budget)
        found.append(allocation_of(cp, "greedy", placement.where, optimal=False))
    return min(found, key=lambda a: a.objective_micro)  # the first of equals: the regret order's
