"""The greedy allocation's all-tasks-at-once paths against their plain forms.

The compiled instance holds every task's costs in one matrix padded to the largest origin group,
its layouts are kept between calls, and the result adds its totals with numpy: each is checked
here against the plain computation it replaces.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from market.allocation import RouteCache, allocate_greedy, random_problem
from market.allocation.compiled import compile_problem, sum_in_order
from market.allocation.greedy import Placement
from market.carbon import CarbonReport
from market.network import CLUSTERS

numbers = st.one_of(
    st.floats(0, 1e12, allow_subnormal=True),
    st.integers(0, 2**60),
    st.sampled_from([0.0, -0.0, math.inf, 1e-300, 2.0**53 + 1]),
)


@given(st.lists(numbers, max_size=50))
def test_sum_in_order_adds_as_a_python_loop(xs: list[float]) -> None:
    total = 0.0
    for x in xs:
        total += x
    got = sum_in_order(np.array(xs, dtype=float))
    assert got == total and math.copysign(1.0, got) == math.copysign(1.0, total)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 120), st.integers(1, 5), st.integers(1, 2), st.integers(3, 10))
def test_padded_ranking_is_each_groups_own_ranking(seed: int, n: int, slots: int, paths: int, regions: int) -> None:
    """Groups with fewer routes are padded with inf costs: a task's feasible bundles rank as in its group's own matrix."""
    p = dataclasses.replace(random_problem(np.random.default_rng(seed), max(n, 1), slots=slots, clusters=CLUSTERS[:regions]), paths_per_pair=paths)
    p = dataclasses.replace(p, tasks=p.tasks[:n])
    cp = compile_problem(p, RouteCache())
    placement = Placement(cp, 8)
    for i in range(n):
        own = cp.cost[i, : cp.layout.bundles[cp.group_of[i]]]
        order = np.argsort(own, kind="stable")[: placement.feasible[i]]
        assert placement.ranking[i, : placement.feasible[i]].tolist() == order.tolist()
        assert placement.cand[i] == order[:8].tolist() and placement.cand_cost[i] == own[order[:8]].tolist()
        assert np.count_nonzero(np.isfinite(own)) == placement.feasible[i]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 150), st.integers(1, 6), st.integers(0, 2))
def test_result_totals_are_the_task_by_task_sums(seed: int, n: int, slots: int, passes: int) -> None:
    p = random_problem(np.random.default_rng(seed), n, slots=slots, load=1.2)
    a = allocate_greedy(p, passes=passes)
    cost = {x.task_id: x.cost_micro for x in a.assignments}
    objective = 0.0
    for t in p.tasks:
        objective += cost.get(t.task_id, t.value_micro)
    assert a.objective_micro == objective
    assert a.carbon == CarbonReport.total(x.carbon for x in a.assignments)
    assert a.unserved == tuple(t.task_id for t in p.tasks if t.task_id not in cost)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 80), st.integers(1, 4))
def test_a_kept_layout_allocates_as_a_fresh_one(seed: int, n: int, slots: int) -> None:
    """Layouts are kept per set of origins, whatever order their tasks come in (here: made for the reversed tasks first)."""
    p = random_problem(np.random.default_rng(seed), n, slots=slots)
    fresh = allocate_greedy(p, passes=1, routes=RouteCache())
    routes = RouteCache()
    allocate_greedy(dataclasses.replace(p, tasks=p.tasks[::-1]), passes=1, routes=routes)
    assert allocate_greedy(p, passes=1, routes=routes) == fresh


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 200), st.integers(1, 6), st.sampled_from([0.3, 1.2, 3.0]))
def test_construction_places_each_task_on_its_cheapest_bundle_with_room(seed: int, n: int, slots: int, bandwidth: float) -> None:
    """The construction's inlined search against a plain one over each task's whole stable ranking."""
    p = random_problem(np.random.default_rng(seed), n, slots=slots, load=1.2, bandwidth_share=bandwidth)
    cp = compile_problem(p, RouteCache())
    placement = Placement(cp, 8, search=False)
    placement.construct(-placement.regret)
    rem = [*np.repeat(cp.dc_capacity, slots).tolist(), *np.repeat(cp.link_bandwidth, slots).tolist()]
    n_dc_slots = len(p.datacentres) * slots
    where = [-1] * n
    for i in np.argsort(-placement.regret, kind="stable").tolist():
        used = cp.layout.resources[cp.group_of[i]]
        amount = {r: cp.compute[i] if r < n_dc_slots else cp.data[i] for b in range(len(used)) for r in used[b]}
        for b in np.argsort(cp.cost[i], kind="stable").tolist():
            if math.isfinite(cp.cost[i, b]) and all(rem[r] >= amount[r] for r in used[b]):
                for r in used[b]:
                    rem[r] -= amount[r]
                where[i] = b
                break
    assert placement.where == where and placement.rem == rem


def test_a_route_cache_shares_a_table_per_graph_content_and_keeps_the_latest() -> None:
    p = random_problem(np.random.default_rng(1), 5, slots=2)
    routes = RouteCache(kept=2)
    table = routes.table(p)
    same_content = dataclasses.replace(p, graph=p.graph.copy())
    assert routes.table(same_content) is table and len(routes) == 1
    edited = p.graph.copy()
    next(iter(edited.edges.values()))["latency_ms"] += 1.0
    assert routes.table(dataclasses.replace(p, graph=edited)) is not table and len(routes) == 2
    fewer = p.graph.subgraph(list(p.graph.nodes)[:-1]).copy()
    routes.table(dataclasses.replace(p, graph=fewer))
    assert len(routes) == 2 and routes.table(p) is not table  # the oldest was dropped
    unhashable = p.graph.copy()
    next(iter(unhashable.nodes.values()))["note"] = ["a list"]
    q = dataclasses.replace(p, graph=unhashable)
    assert routes.table(q) is not routes.table(q)  # routed afresh each time, never kept
    routes.clear()
    assert len(routes) == 0
