"""Benchmark of the sweep executors: local parallel efficiency and Dask's per-run overhead.

Parallel efficiency is ``T(1 worker) / (N × T(N workers))`` for the same sweep of runs long enough
(a few seconds each) that starting the worker processes does not dominate; both timings include
everything ``ccei sweep`` does (process start-up, runs, tables). The issue's target is ≥ 85 % for
two workers.

The per-run overhead of each path is measured on warm executors (one worker each, its imports
done by a first run): many short runs are submitted straight to the executor, as ``ccei sweep``
does, and the wall time is divided by their number. ``dask_overhead_per_run_ms`` is what the Dask
path adds per run (scheduling, serialisation, the client's event loop) over the local process pool.

Machines are shared: ``load_1m_before`` is the load average when the benchmark started, and
``machine_efficiency`` is the same ratio for a plain CPU-bound loop in a bare process pool, which
is the most any executor can reach on the machine at that moment; ``relative_efficiency`` is the
executor's efficiency divided by it. ``--repeats N`` keeps the best of N alternating measurements.
Read the figures as ratios measured side by side.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.sweep import RunSpec, Sweep

# experiments.sweep is imported inside the functions: the CLI imports every benchmark module to
# build its parser, and the sweep stack (web3, pandas, scipy) would slow down every ccei command.

DESCRIPTION = "sweep executors: parallel efficiency of N local workers against 1, and Dask's per-run overhead"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=8, help="runs in the efficiency sweep (default 8)")
    parser.add_argument(
        "--steps", type=int, default=4000, help="rounds per run in the efficiency sweep (default 4000: ~3 s)"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers compared against one (default 2)")
    parser.add_argument("--overhead-runs", type=int, default=40, help="short runs for the overhead comparison (default 40)")
    parser.add_argument("--repeats", type=int, default=1, help="keep the best of this many measurements (default 1)")


def bench_sweep(runs: int, steps: int, name: str) -> Sweep:
    """A posted-price sweep on the memory back end: one treatment, ``runs`` seeds."""
    from experiments.sweep import plan_sweep

    # deep pockets, so users keep trading in every round and a run's time grows with its steps
    data = {
        "scenario": "posted-price",
        "steps": steps,
        "seeds": runs,
        "name": name,
        "params": {"initial_funds_micro": 10**13},
    }
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


def per_run_s(executor: Executor, specs: Sequence[RunSpec], runs_dir: Path) -> float:
    """Wall seconds per run for ``specs`` submitted to a warm ``executor``, as a sweep submits them."""
    from experiments.sweep import execute_run

    executor.submit(execute_run, specs[0], str(runs_dir / "warm")).result()  # imports on the worker
    started = time.perf_counter()
    futures = [executor.submit(execute_run, spec, str(runs_dir)) for spec in specs]
    for future in as_completed(futures):
        if future.result().error:
            raise RuntimeError(f"benchmark run failed: {future.result().error}")
    return (time.perf_counter() - started) / len(specs)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import LocalCluster

    from experiments.sweep import SweepError, open_executor

    for option, value, least in (
        ("--runs", args.runs, 1),
        ("--steps", args.steps, 1),
        ("--workers", args.workers, 2),
        ("--overhead-runs", args.overhead_runs, 1),
        ("--repeats", args.repeats, 1),
    ):
        if value < least:
            raise SweepError(f"{option} {value}: must be at least {least}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ccei-bench-sweep-") as tmp:
        root = Path(tmp)
        long_sweep = bench_sweep(args.runs, args.steps, "efficiency")
        serial, parallel, machine = [], [], []
        for i in range(args.repeats):
            serial.append(_timed(long_sweep, root / f"serial{i}", workers=1))
            parallel.append(_timed(long_sweep, root / f"parallel{i}", workers=args.workers))
            machine.append(machine_efficiency(args.workers))
        serial_s, parallel_s = min(serial), min(parallel)

        specs = bench_sweep(args.overhead_runs, 5, "overhead").runs()
        local, dask = [], []
        with (
            open_executor(1) as pool,
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            open_executor(scheduler=cluster.scheduler_address) as client,
        ):
            for _ in range(args.repeats):
                local.append(per_run_s(pool, specs, root / "local"))
                dask.append(per_run_s(client, specs, root / "dask"))
    executor = efficiency(serial_s, parallel_s, args.workers)
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
        "machine_efficiency": round(max(machine), 3),
        "relative_efficiency": round(executor / max(machine), 3),
        "repeats": args.repeats,
        "overhead_runs": args.overhead_runs,
        "local_per_run_ms": round(1000 * min(local), 1),
        "dask_per_run_ms": round(1000 * min(dask), 1),
        "dask_overhead_per_run_ms": round(1000 * (min(dask) - min(local)), 1),
    }
