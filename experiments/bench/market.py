"""``ccei bench market``: the coupled allocation heuristic's scaling and its gap to the exact MILP.

Timing: :func:`market.allocation.allocate_greedy` on random instances over the ten East-Data-West
clusters (one data centre each, 24 hourly slots) at a small and a large number of tasks. Each
size is run ``--repeats`` times (the small one three times as often), alternately, and the best
is kept. CPU time of this process is the measure (wall time is reported too), because the
machines are shared and CPU time is what other processes disturb least. Growth is the exponent
``log(t_large / t_small) / log(n_large / n_small)``.

Gap: on small instances (30–60 tasks over 6 slots at full load, so a data-centre slot holds
about one task: a lumpy packing), the heuristic against :func:`market.allocation.allocate_milp`;
only instances HiGHS proves optimal within the time limit count. The gap is reported for the
default heuristic (one start, the one timed) and for three starts.

Carbon: at the small size, the same instance allocated with and without its carbon price, to
show what pricing carbon buys (kg CO2, green share) and costs (payments).

Targets (issue 4): growth exponent <= 1.2, gap <= 2 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from typing import Any

import numpy as np

from market.allocation import allocate_greedy, allocate_milp, optimality_gap, random_problem, violations
from market.network import CLUSTERS

DESCRIPTION = "coupled allocation: heuristic time at 1k and 10k tasks over 10 regions, growth exponent, gap to the MILP"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small", type=int, default=1_000, help="tasks in the small instance (default 1000)")
    parser.add_argument("--large", type=int, default=10_000, help="tasks in the large instance (default 10000)")
    parser.add_argument("--regions", type=int, default=10, help="regions, one data centre each (2-10, default 10)")
    parser.add_argument("--slots", type=int, default=24, help="time slots of the timed instances (default 24)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats; the best is kept (default 5)")
    parser.add_argument("--gap-instances", type=int, default=12, help="small instances for the gap (default 12)")
    parser.add_argument("--gap-time-limit", type=float, default=20.0, help="MILP time limit per instance, s (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the instances (default 1)")


def _timed(problem: Any) -> tuple[float, float, Any]:
    """CPU and wall seconds of one heuristic run, and its allocation."""
    cpu, wall = time.process_time(), time.perf_counter()
    allocation = allocate_greedy(problem)
    return time.process_time() - cpu, time.perf_counter() - wall, allocation


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.repeats < 1 or args.gap_instances < 0 or not 0 < args.small < args.large or not 2 <= args.regions <= len(CLUSTERS):
        raise SystemExit("ccei bench market: need 0 < --small < --large, --repeats >= 1, 2 <= --regions <= 10")
    clusters = CLUSTERS[: args.regions]
    sizes = {"small": args.small, "large": args.large}
    problems = {k: random_problem(np.random.default_rng(args.seed), n, slots=args.slots, clusters=clusters) for k, n in sizes.items()}
    cpu: dict[str, float] = {k: math.inf for k in sizes}
    wall: dict[str, float] = {k: math.inf for k in sizes}
    served: dict[str, float] = {}
    for _ in range(args.repeats):
        # the small instance is timed three times per round: its run is short, so noise weighs more
        for key in ("small", "large", "small", "small"):
            problem = problems[key]
            c, w, allocation = _timed(problem)
            cpu[key], wall[key] = min(cpu[key], c), min(wall[key], w)
            served[key] = len(allocation.assignments) / len(problem.tasks)
            if violations(problem, allocation):
                raise SystemExit(f"ccei bench market: the heuristic returned an infeasible allocation at {key} size")
    log_ratio = math.log(args.large / args.small)

    gaps, gaps3, milp_s, heur_s, unsolved = [], [], [], [], 0
    for k in range(args.gap_instances):
        rng = np.random.default_rng([args.seed, k])
        problem = random_problem(rng, int(rng.integers(30, 61)), slots=6, clusters=clusters, load=1.0, bandwidth_share=1.0)
        start = time.process_time()
        exact = allocate_milp(problem, time_limit_s=args.gap_time_limit)
        milp_s.append(time.process_time() - start)
        if not exact.optimal:
            unsolved += 1
            continue
        start = time.process_time()
        heuristic = allocate_greedy(problem)
        heur_s.append(time.process_time() - start)
        gaps.append(optimality_gap(heuristic, exact))
        gaps3.append(optimality_gap(allocate_greedy(problem, starts=3), exact))

    base = problems["small"]
    priced = allocate_greedy(base)
    unpriced = allocate_greedy(dataclasses.replace(base, carbon_price_micro_per_kg=0.0))
    return {
        "regions": args.regions,
        "slots": args.slots,
        "tasks_small": args.small,
        "tasks_large": args.large,
        "cpu_s_small": round(cpu["small"], 3),
        "cpu_s_large": round(cpu["large"], 3),
        "wall_s_small": round(wall["small"], 3),
        "wall_s_large": round(wall["large"], 3),
        "growth_exponent_cpu": round(math.log(cpu["large"] / cpu["small"]) / log_ratio, 3),
        "growth_exponent_wall": round(math.log(wall["large"] / wall["small"]) / log_ratio, 3),
        "growth_target": 1.2,
        "served_share_small": round(served["small"], 4),
        "served_share_large": round(served["large"], 4),
        "gap_instances_solved": len(gaps),
        "gap_instances_unsolved": unsolved,
        "gap_mean_pct": round(100 * float(np.mean(gaps)), 3) if gaps else None,
        "gap_max_pct": round(100 * float(np.max(gaps)), 3) if gaps else None,
        "gap_target_pct": 2.0,
        "gap_mean_pct_3_starts": round(100 * float(np.mean(gaps3)), 3) if gaps3 else None,
        "gap_max_pct_3_starts": round(100 * float(np.max(gaps3)), 3) if gaps3 else None,
        "milp_cpu_s_mean": round(float(np.mean(milp_s)), 3) if milp_s else None,
        "heuristic_cpu_s_mean_on_gap_instances": round(float(np.mean(heur_s)), 4) if heur_s else None,
        "carbon_price_micro_per_kg": base.carbon_price_micro_per_kg,
        "co2_kg_with_carbon_price": round(priced.carbon.co2_kg, 3),
        "co2_kg_without_carbon_price": round(unpriced.carbon.co2_kg, 3),
        "intensity_kg_per_kwh_with_carbon_price": round(priced.carbon.intensity_kg_per_kwh, 4),
        "intensity_kg_per_kwh_without_carbon_price": round(unpriced.carbon.intensity_kg_per_kwh, 4),
        "green_share_with_carbon_price": round(priced.carbon.green_share, 4),
        "green_share_without_carbon_price": round(unpriced.carbon.green_share, 4),
        "served_with_carbon_price": len(priced.assignments),
        "served_without_carbon_price": len(unpriced.assignments),
        "payments_micro_with_carbon_price": priced.payment_micro,
        "payments_micro_without_carbon_price": unpriced.payment_micro,
    }
