"""Random but plausible allocation instances over the East-Data-West-Compute clusters (for
benchmarks and tests)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from market.allocation.problem import AllocationProblem, CentreOffer, TaskDemand
from market.errors import MechanismError
from market.network import CLUSTERS, Cluster, backbone_graph

__all__ = ["random_problem"]


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
            CentreOffer(
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
        TaskDemand(
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
