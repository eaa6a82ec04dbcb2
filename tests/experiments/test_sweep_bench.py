"""``ccei bench sweep``: its arithmetic, its option checks, and (slow) a whole small run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from experiments.bench import available, load
from experiments.cli import main
from experiments.sweep import open_executor, plan_sweep

bench = load("sweep")


def args(**overrides: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    namespace = parser.parse_args([])
    for key, value in overrides.items():
        setattr(namespace, key, value)
    return namespace


def test_the_benchmark_is_registered_with_its_defaults() -> None:
    assert "sweep" in available() and bench.DESCRIPTION
    defaults = args()
    assert (defaults.runs, defaults.steps, defaults.workers, defaults.overhead_runs, defaults.repeats) == (8, 4000, 2, 40, 1)


def test_efficiency() -> None:
    assert bench.efficiency(10.0, 5.0, 2) == 1.0
    assert bench.efficiency(10.0, 6.25, 2) == 0.8


def test_per_run_time_on_a_warm_executor(tmp_path: Path, exploding: str) -> None:
    specs = bench.bench_sweep(3, 2, "x").runs()
    with open_executor(0) as executor:
        assert bench.per_run_s(executor, specs, tmp_path) > 0
    assert {p.name for p in tmp_path.iterdir()} == {"warm", *(s.run_id for s in specs)}
    broken = plan_sweep({"scenario": exploding, "seeds": 2, "params": {"explode": True}}, "broken").runs()
    with (
        open_executor(0) as executor,
        pytest.raises(RuntimeError, match=r"benchmark run failed: cannot run with 3 exploding"),
    ):
        bench.per_run_s(executor, broken, tmp_path / "broken")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("runs", 0, r"--runs 0: must be at least 1"),
        ("workers", 1, r"--workers 1: must be at least 2"),
        ("overhead_runs", 0, r"--overhead-runs 0"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(option: str, value: int, message: str) -> None:
    from experiments.sweep import SweepError

    with pytest.raises(SweepError, match=message):
        bench.run(args(**{option: value}))


@pytest.mark.slow
def test_a_small_benchmark_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "sweep", "--json", "--runs", "2", "--steps", "20", "--overhead-runs", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["workers"] == 2 and result["target_efficiency"] == 0.85
    for key in (
        "parallel_efficiency",
        "machine_efficiency",
        "relative_efficiency",
        "speedup",
        "local_per_run_ms",
        "dask_per_run_ms",
        "dask_overhead_per_run_ms",
    ):
        assert isinstance(result[key], float)
    assert result["serial_s"] > 0 and result["parallel_s"] > 0
