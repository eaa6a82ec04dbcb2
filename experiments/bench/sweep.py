"""Benchmark of the sweep executors: local parallel efficiency and Dask's per-run overhead.

Parallel efficiency is ``T(1 worker) / (N × T(N workers))`` for the same sweep of runs long enough
(a few seconds each) that starting the worker processes does not dominate; both timings include
everything ``ccei sweep`` does (process start-up, runs, tables). The issue's target is ≥ 85 % for
two workers.

The per-run overhead of each path is the slope of sweep time against the number of runs, from two
sweeps of short runs (``--overhead-runs`` and four times as many): the slope leaves out what a
sweep pays once (process start-up, the Dask cluster), so ``dask_overhead_per_run_ms`` is what the
Dask path adds per run (scheduling, serialisation) over the local process pool, one worker each.

Machines are shared: ``load_1m_before`` is the load average when the benchmark started, and
``machine_efficiency`` is the same ratio for a plain CPU-bound loop in a bare process pool, which
is the most any executor can reach on the machine at that moment; ``relative_efficiency`` is the
executor's efficiency divided by it. Read the figures as ratios measured side by side.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.sweep import Sweep

# experiments.sweep is imported inside the functions: the CLI imports every benchmark module to
# build its parser, and the sweep stack (web3, pandas, scipy) would slow down every ccei command.

DESCRIPTION = "sweep executors: parallel efficiency of N local workers against 1, and Dask's per-run overhead"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=8, help="runs in the efficiency sweep (default 8)")
    parser.add_argument("--steps", type=int, default=4000, help="rounds per run in the efficiency sweep (default 4000: ~3 s)")
    parser.add_argument("--workers", type=int, default=2, help="workers compared against one (default 2)")
    parser.add_argument("--overhead-runs", type=int, default=10, help="short runs in the smaller overhead sweep (default 10)")


def bench_sweep(runs: int, steps: int, name: str) -> Sweep:
    """A posted-price sweep on the memory back end: one treatment, ``runs`` seeds."""
    from experiments.sweep import plan_sweep

    # deep pockets, so users keep trading in every round and a run's time grows with its steps
    data = {"scenario": "posted-price", "steps": steps, "seeds": runs, "name": name, "params": {"initial_funds_micro": 10**13}}
    return plan_sweep(data, f"bench {name}")


def _timed(sweep: Sweep, out: Path, **executor: Any) -> float:
    from experiments.sweep import run_sweep

    started = time.perf_counter()
    result = run_sweep(sweep, out, **executor)
    elapsed = time.perf_counter() - started
    if len(result.failed):
        raise RuntimeError(f"benchmark run failed: {result.failed[0].error}")
    return elapsed


def _spin(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i
    return total


def machine_efficiency(workers: int, tasks: int = 4, iterations: int = 10_000_000) -> float:
    """Parallel efficiency of a CPU-bound loop in a bare spawn pool: what the machine allows now."""
    timings = []
    for n in (1, workers):
        with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_spin, [1] * n))  # start the workers before timing
            started = time.perf_counter()
            list(pool.map(_spin, [iterations] * tasks))
            timings.append(time.perf_counter() - started)
    return efficiency(timings[0], timings[1], workers)


def efficiency(serial_s: float, parallel_s: float, workers: int) -> float:
    """Parallel efficiency: the speed-up over one worker divided by the number of workers."""
    return serial_s / (workers * parallel_s)


def slope(small: tuple[int, float], large: tuple[int, float]) -> float:
    """Seconds per run between two (runs, seconds) measurements."""
    return (large[1] - small[1]) / (large[0] - small[0])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import LocalCluster

    from experiments.sweep import SweepError

    for option, value, least in (("--runs", args.runs, 1), ("--steps", args.steps, 1), ("--workers", args.workers, 2), ("--overhead-runs", args.overhead_runs, 1)):
        if value < least:
            raise SweepError(f"{option} {value}: must be at least {least}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ccei-bench-sweep-") as tmp:
        root = Path(tmp)
        long_sweep = bench_sweep(args.runs, args.steps, "efficiency")
        serial_s = _timed(long_sweep, root / "serial", workers=1)
        parallel_s = _timed(long_sweep, root / "parallel", workers=args.workers)

        small, large = args.overhead_runs, 4 * args.overhead_runs
        local = [(n, _timed(bench_sweep(n, 5, f"local{n}"), root / f"local{n}", workers=1)) for n in (small, large)]
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            address = cluster.scheduler_address
            _timed(bench_sweep(1, 5, "warm"), root / "warm", scheduler=address)  # imports on the worker
            dask = [(n, _timed(bench_sweep(n, 5, f"dask{n}"), root / f"dask{n}", scheduler=address)) for n in (small, large)]
    machine = machine_efficiency(args.workers)
    executor = efficiency(serial_s, parallel_s, args.workers)
    local_per_run = slope(*local)
    dask_per_run = slope(*dask)
    return {
        "cpus": os.cpu_count(),
        "load_1m_before": round(load_before, 2),
        "efficiency_runs": args.runs,
        "efficiency_steps": args.steps,
        "workers": args.workers,
        "serial_s": round(serial_s, 2),
        "parallel_s": round(parallel_s, 2),
        "speedup": round(serial_s / parallel_s, 3),
        "parallel_efficiency": round(executor, 3),
        "target_efficiency": 0.85,
        "machine_efficiency": round(machine, 3),
        "relative_efficiency": round(executor / machine, 3),
        "overhead_runs": [small, large],
        "local_per_run_ms": round(1000 * local_per_run, 1),
        "dask_per_run_ms": round(1000 * dask_per_run, 1),
        "dask_overhead_per_run_ms": round(1000 * (dask_per_run - local_per_run), 1),
    }
