"""Tidy result tables: columns, agreement with each run's own files, integer types, CSV twins."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.results import ResultsError, build_tables, flatten_params, load_runs, load_steps
from experiments.scenarios import load_scenario
from experiments.sweep import RunRecord, RunSpec, RunStatus, Treatment, load_sweep, run_sweep


def failing_sweep(scenario: str) -> str:
    return f'scenario = "{scenario}"\nsteps = 5\nseeds = 2\n[grid]\nexplode = [false, true]\n'


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory, exploding: str) -> Path:
    root = tmp_path_factory.mktemp("results")
    (root / "sweep.toml").write_text(failing_sweep(exploding))
    run_sweep(load_sweep(str(root / "sweep.toml")), root / "out", workers=0, csv=True)
    return root / "out"


def test_runs_table_has_keys_then_parameters_then_results(sweep_dir: Path) -> None:
    runs = load_runs(sweep_dir)
    assert list(runs.columns[:3]) == ["run_id", "treatment_id", "treatment"]
    params = list(runs.columns[3 : list(runs.columns).index("seed")])
    assert params == ["n_users", "explode"]
    assert {"status", "error", "error_type", "elapsed_s", "trades", "volume_micro", "gas_used", "log_head"} <= set(
        runs.columns
    )
    assert list(runs["seed"]) == [1, 2, 1, 2]
    assert list(runs["status"]) == ["ok", "ok", "failed", "failed"]
    assert "balances_micro" not in runs.columns


def test_run_figures_agree_with_each_runs_own_files(sweep_dir: Path) -> None:
    runs = load_runs(sweep_dir)
    for row in runs[runs["status"] == "ok"].itertuples(index=False):
        summary = json.loads((sweep_dir / "runs" / row.run_id / "summary.json").read_text())
        metrics = pd.read_csv(sweep_dir / "runs" / row.run_id / "metrics.csv")
        assert row.trades == summary["trades"] == metrics["trades"].sum() == row.trades_sum
        assert row.volume_micro == summary["volume_micro"] == row.turnover_micro_sum
        assert row.trades_mean == pytest.approx(metrics.loc[metrics["step"] >= 1, "trades"].mean())
        assert row.log_head == summary["log_head"]


def test_steps_table_is_every_metrics_row_of_every_successful_run(sweep_dir: Path) -> None:
    runs, steps = load_runs(sweep_dir), load_steps(sweep_dir)
    ok = runs[runs["status"] == "ok"]
    assert len(steps) == len(ok) * 6  # the state before round 1, then 5 rounds
    for run_id in ok["run_id"]:
        mine = steps[steps["run_id"] == run_id].reset_index(drop=True)
        metrics = pd.read_csv(sweep_dir / "runs" / run_id / "metrics.csv")
        pd.testing.assert_frame_equal(mine[metrics.columns], metrics, check_dtype=False)
        assert (mine["n_users"] == 3).all() and not mine["explode"].any() and mine["seed"].nunique() == 1


def test_integer_results_stay_integers_next_to_failed_runs(sweep_dir: Path) -> None:
    runs = load_runs(sweep_dir)
    assert str(runs["trades"].dtype) == "Int64" and runs["trades"].isna().sum() == 2
    assert str(runs["n_users"].dtype) == "int64" and str(runs["explode"].dtype) == "bool"
    assert str(runs["trades_mean"].dtype) == "float64"


def test_csv_twins_hold_the_same_rows(sweep_dir: Path) -> None:
    for name in ("runs", "steps"):
        parquet = pd.read_parquet(sweep_dir / f"{name}.parquet")
        csv = pd.read_csv(sweep_dir / f"{name}.csv")
        assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet)
        assert list(csv["run_id"]) == list(parquet["run_id"])


def test_missing_tables(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"no runs\.parquet; run `ccei sweep SWEEP\.toml --out") as info:
        load_runs(tmp_path)
    assert info.value.exit_code == 2
    with pytest.raises(ResultsError, match=r"no steps\.parquet"):
        load_steps(tmp_path)


def test_a_result_named_like_a_parameter_gets_a_prefix(tmp_path: Path) -> None:
    scenario = load_scenario("posted-price")
    treatment = Treatment("t1", "surge=0.5", {"surge": 0.5}, {"surge": 0.5, "trades": 7}, scenario)
    spec = RunSpec("t1-s1", treatment, 1, 2, "memory")
    run_dir = tmp_path / "t1-s1"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(
        json.dumps({"trades": 3, "nested": {"a": 1, "b": [1]}, "balances_micro": {"1": 5}})
    )
    (run_dir / "metrics.csv").write_text("step,trades,label\n0,0,x\n1,2,y\n2,1,z\n")
    runs, steps = build_tables(tmp_path, [spec], [RunRecord("t1-s1", "t1", 1, RunStatus.OK)])
    row = runs.iloc[0]
    assert row["trades"] == 7 and row["result_trades"] == 3
    assert row["trades_sum"] == 3 and row["trades_mean"] == 1.5
    assert row["nested_a"] == 1 and "nested_b" not in runs.columns and "balances_micro" not in runs.columns
    assert "label_mean" not in runs.columns  # text metrics are kept per step, not aggregated
    assert list(steps["result_trades"]) == [0, 2, 1] and list(steps["label"]) == ["x", "y", "z"]
    assert (steps["trades"] == 7).all()


def test_no_successful_run_gives_an_empty_steps_table_with_its_columns(tmp_path: Path) -> None:
    scenario = load_scenario("posted-price")
    treatment = Treatment("t1", "baseline", {}, {"n_users": 2}, scenario)
    runs, steps = build_tables(
        tmp_path,
        [RunSpec("t1-s1", treatment, 1, 2, "memory")],
        [RunRecord("t1-s1", "t1", 1, RunStatus.FAILED, "boom", "RuntimeError")],
    )
    assert list(runs["status"]) == ["failed"] and list(runs["error"]) == ["boom"]
    assert steps.empty and list(steps.columns) == ["run_id", "treatment_id", "treatment", "n_users", "seed", "step"]


params = st.recursive(
    st.one_of(
        st.integers(),
        st.booleans(),
        st.text("pqr", max_size=5),
        st.floats(allow_nan=False),
        st.lists(st.integers(), max_size=3),
    ),
    lambda inner: st.dictionaries(st.text("abc", min_size=1, max_size=3), inner, min_size=1, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text("xyz", min_size=1, max_size=3), params, max_size=4))
def test_flattened_parameters_are_scalars_that_rebuild_the_original(original: dict) -> None:
    flat = flatten_params(original)
    assert all(not isinstance(v, (dict, list, tuple)) for v in flat.values())
    rebuilt: dict = {}
    for key, value in flat.items():
        table = rebuilt
        *parents, leaf = key.split(".")
        for part in parents:
            table = table.setdefault(part, {})
        table[leaf] = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
    assert rebuilt == original
