"""Sweep reports end to end: files written, numbers that match the tables, tests chosen by design."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from experiments.reporting import ReportError, build_report, default_metrics
from experiments.sweep import load_sweep, run_sweep

GRID = 'scenario = "posted-price"\nsteps = 5\nseeds = 3\ndescription = "surge by crowd"\n[grid]\nsurge = [0.0, 1.0]\nn_users = [4, 8, 16]\n'


def sweep(root: Path, text: str) -> Path:
    (root / "sweep.toml").write_text(text)
    run_sweep(load_sweep(str(root / "sweep.toml")), root / "out", workers=0)
    return root / "out"


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = sweep(tmp_path_factory.mktemp("grid"), GRID)
    build_report(out)
    return out


def test_report_files(grid: Path) -> None:
    names = {p.name for p in (grid / "report").iterdir()}
    assert {
        "report.html",
        "report.md",
        "treatment_stats.csv",
        "tests.csv",
        "price_convergence.png",
        "supply_demand.png",
    } <= names
    assert not {"welfare_efficiency.png", "gas_per_trade.png"} & names
    md = (grid / "report" / "report.md").read_text()
    assert md.startswith("# Sweep sweep\n\nsurge by crowd\n")
    assert "6 treatments × 3 seeds = 18 runs, 18 succeeded, 0 failed" in md
    for label in ("surge=0, n_users=4", "surge=1, n_users=16"):
        assert f"| {label} | 3/3 |" in md
    assert "### By surge" in md and "### By n_users" in md and "Holm-adjusted" in md
    assert "Not drawn: gas_used is 0 in every run" in md and "![Price convergence](price_convergence.png)" in md


def test_html_and_markdown_carry_the_same_tables(grid: Path) -> None:
    md = (grid / "report" / "report.md").read_text()
    page = (grid / "report" / "report.html").read_text()
    md_rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert page.count("<tr>") == len(md_rows)
    assert page.count("<table>") == sum(line.startswith("|---") for line in md.splitlines())
    assert "<img src='price_convergence.png'" in page and "surge=0, n_users=4" in page


def test_means_and_intervals_match_the_runs_table(grid: Path) -> None:
    runs = pd.read_parquet(grid / "runs.parquet")
    table = pd.read_csv(grid / "report" / "treatment_stats.csv")
    row = table[(table["treatment"] == "surge=1, n_users=16") & (table["metric"] == "mean_price_micro_mean")].iloc[0]
    values = runs.loc[runs["treatment"] == "surge=1, n_users=16", "mean_price_micro_mean"]
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert row["n"] == 3 and row["mean"] == pytest.approx(values.mean())
    assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy's note on the nearly equal reference samples
def test_each_factor_is_tested_at_every_level_of_the_other(grid: Path) -> None:
    runs = pd.read_parquet(grid / "runs.parquet")
    tests = pd.read_csv(grid / "report" / "tests.csv", dtype={"a": str, "b": str})
    price = tests[tests["metric"] == "mean_price_micro_mean"]
    surge = price[price["factor"] == "surge"]
    assert list(surge["context"]) == ["n_users=4", "n_users=8", "n_users=16"]
    assert set(surge["test"]) == {"Welch t-test"} and set(surge["a"]) == {"0"} and set(surge["b"]) == {"1"}
    at16 = runs[runs["n_users"] == 16]
    reference = stats.ttest_ind(
        at16.loc[at16["surge"] == 1.0, "mean_price_micro_mean"],
        at16.loc[at16["surge"] == 0.0, "mean_price_micro_mean"],
        equal_var=False,
    )
    assert surge.iloc[2]["p_value"] == pytest.approx(reference.pvalue)
    crowd = price[price["factor"] == "n_users"]
    omnibus = crowd[crowd["test"] == "Kruskal–Wallis H-test"]
    assert list(omnibus["context"]) == ["surge=0", "surge=1"]
    assert len(crowd[crowd["test"] == "Welch t-test"]) == 6  # three pairs at each surge, Holm-adjusted
    assert (crowd["p_holm"].dropna() >= crowd.loc[crowd["p_holm"].notna(), "p_value"]).all()


def test_a_sampled_sweep_compares_its_treatments(tmp_path: Path) -> None:
    text = (
        'scenario = "posted-price"\nsteps = 4\nseeds = 2\n[sample]\nn = 3\nseed = 2\n'
        "[sample.params]\nn_users = { choice = [4, 9, 16] }\nsurge = { uniform = [0.5, 1.0] }\n"
    )
    out = sweep(tmp_path, text)
    report = build_report(out, out=tmp_path / "elsewhere")
    assert report.out == tmp_path / "elsewhere" and report.markdown.exists()
    tests = pd.read_csv(report.out / "tests.csv")
    assert set(tests["factor"]) == {"treatment"}


def test_default_metrics_leave_out_what_treatments_cannot_move() -> None:
    runs = pd.DataFrame(
        {
            "run_id": ["a1", "a2", "b1", "b2"],
            "treatment": ["a", "a", "b", "b"],
            "seed": [1, 2, 1, 2],
            "n_users": [1, 1, 2, 2],
            "steps": [5, 5, 5, 5],
            "status": ["ok"] * 4,
            "moved": [1.0, 2.0, 3.0, 5.0],
            "drawn_from_seed": [7.0, 9.0, 7.0, 9.0],
            "constant": [0, 0, 0, 0],
            "trades": [3, 4, 5, 6],
            "trades_mean": [0.6, 0.8, 1.0, 1.2],
            "volume_mean": [1.0, 2.0, 3.0, 4.0],
            "volume_sum": [5.0, 10.0, 15.0, 20.0],
            "label": ["x", "y", "z", "w"],
        }
    )
    plan = {"treatments": [{"params": {"n_users": 1}}, {"params": {"n_users": 2}}]}
    metrics, left_out = default_metrics(runs, plan)
    assert metrics == ["moved", "trades", "volume_mean"]
    assert left_out == ["drawn_from_seed", "constant"]


def test_unwritable_report_directory(grid: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ReportError, match=r"--out .*file/report: cannot write there") as info:
        build_report(grid, out=tmp_path / "file" / "report")
    assert info.value.exit_code == 2


def test_unknown_metric_lists_the_available_ones(grid: Path) -> None:
    with pytest.raises(ReportError, match=r"--metric wings: not a numeric column of runs\.parquet \(e\.g\. .*volume_micro"):
        build_report(grid, metrics=["wings"])
