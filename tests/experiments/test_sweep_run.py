"""Running sweeps: executors (in-process, worker processes, Dask), failures, resume and the sweep directory."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import experiments.sweep as sweep_module
from experiments.sweep import (
    RECORD_FILE,
    RunStatus,
    SchedulerUnavailable,
    Sweep,
    SweepError,
    load_sweep,
    open_executor,
    read_record,
    run_sweep,
)

SMALL = 'scenario = "posted-price"\nsteps = 4\nseeds = 2\n[grid]\nn_users = [3, 6]\n'


def failing(scenario: str) -> str:
    """A sweep whose ``explode=true`` treatment passes every check but fails when it runs."""
    return f'scenario = "{scenario}"\nseeds = 2\n[grid]\nexplode = [false, true]\n'


def make(tmp_path: Path, text: str = SMALL, **overrides: Any) -> Sweep:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return load_sweep(str(path), **overrides)


def heads(out: Path) -> dict[str, str]:
    runs = pd.read_parquet(out / "runs.parquet")
    return dict(zip(runs["run_id"], runs["log_head"], strict=True))


def test_a_sweep_writes_every_run_its_record_and_the_tables(tmp_path: Path) -> None:
    sweep = make(tmp_path)
    progress: list[tuple[int, int, str | None]] = []
    result = run_sweep(
        sweep, tmp_path / "out", workers=0, on_progress=lambda d, t, r: progress.append((d, t, None if r is None else r.run_id))
    )
    assert result.ok == 4 and result.failed == () and result.skipped == 0
    assert [p[:2] for p in progress] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)] and progress[0][2] is None
    assert {p[2] for p in progress[1:]} == {r.run_id for r in sweep.runs()}
    for spec in sweep.runs():
        run_dir = tmp_path / "out" / "runs" / spec.run_id
        assert {"trades.jsonl", "metrics.csv", "summary.json", RECORD_FILE} <= {p.name for p in run_dir.iterdir()}
        record = read_record(run_dir)
        assert record is not None and record.status is RunStatus.OK and record.seed == spec.seed
        assert json.loads((run_dir / "summary.json").read_text())["seed"] == spec.seed
    plan = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert plan["name"] == "sweep" and plan["grid"] == ["n_users"] and plan["seeds"] == [1, 2]
    assert [t["label"] for t in plan["treatments"]] == ["n_users=3", "n_users=6"]
    assert [p.name for p in result.tables] == ["runs.parquet", "steps.parquet"]


def test_worker_processes_and_the_calling_process_give_identical_runs(tmp_path: Path) -> None:
    sweep = make(tmp_path)
    run_sweep(sweep, tmp_path / "inline", workers=0)
    result = run_sweep(sweep, tmp_path / "pool", workers=2)
    assert result.ok == 4
    assert heads(tmp_path / "pool") == heads(tmp_path / "inline")
    for spec in sweep.runs():
        a = (tmp_path / "inline" / "runs" / spec.run_id / "trades.jsonl").read_bytes()
        assert a == (tmp_path / "pool" / "runs" / spec.run_id / "trades.jsonl").read_bytes()


def test_a_dask_cluster_runs_the_same_sweep(tmp_path: Path) -> None:
    from distributed import LocalCluster

    sweep = make(tmp_path)
    run_sweep(sweep, tmp_path / "inline", workers=0)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        result = run_sweep(sweep, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert result.ok == 4
    assert heads(tmp_path / "dask") == heads(tmp_path / "inline")


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path: Path, exploding: str) -> None:
    sweep = make(tmp_path, failing(exploding))
    result = run_sweep(sweep, tmp_path / "out", workers=0)
    assert result.ok == 2 and len(result.failed) == 2
    assert {r.error_type for r in result.failed} == {"ValueError"}
    assert all(r.error == "cannot run with 3 exploding users" for r in result.failed)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    failed = runs[runs["status"] == "failed"]
    assert list(failed["explode"]) == [True, True]
    assert list(failed["error_type"]) == ["ValueError"] * 2
    assert runs.loc[runs["status"] == "ok", "error"].isna().all()
    steps = pd.read_parquet(tmp_path / "out" / "steps.parquet")
    assert set(steps["run_id"]) == set(runs.loc[runs["status"] == "ok", "run_id"])
    record = read_record(tmp_path / "out" / "runs" / failed["run_id"].iloc[0])
    assert record is not None and record.status is RunStatus.FAILED


def test_a_dying_worker_counts_as_one_failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = make(tmp_path)
    doomed = sweep.runs()[1].run_id
    real = sweep_module.execute_run

    def flaky(spec: Any, runs_dir: str, context: Any) -> Any:
        if spec.run_id == doomed:
            raise MemoryError("worker lost")
        return real(spec, runs_dir, context)

    monkeypatch.setattr(sweep_module, "execute_run", flaky)
    result = run_sweep(sweep, tmp_path / "out", workers=0)
    assert [(r.run_id, r.error_type, r.error) for r in result.failed] == [(doomed, "MemoryError", "worker lost")]
    assert result.ok == 3


def test_resume_skips_finished_runs_and_extends_the_sweep(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_sweep(make(tmp_path), out, workers=0)
    finished = {r.run_id: (out / "runs" / r.run_id / "trades.jsonl").stat().st_mtime_ns for r in first.records}
    again = run_sweep(make(tmp_path), out, workers=0)
    assert again.skipped == 4 and again.ok == 4
    more = run_sweep(make(tmp_path, seeds=3), out, workers=0)
    assert more.skipped == 4 and len(more.records) == 6
    assert {r: (out / "runs" / r / "trades.jsonl").stat().st_mtime_ns for r in finished} == finished
    assert len(pd.read_parquet(out / "runs.parquet")) == 6


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = make(tmp_path)
    run_sweep(sweep, tmp_path / "reference", workers=0)
    real = sweep_module.run
    calls = {"n": 0}

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            kwargs["out"].mkdir(parents=True)
            (kwargs["out"] / "trades.jsonl").write_text("half a log")  # a run cut off mid-way
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path / "out", workers=0)
    assert not (tmp_path / "out" / "runs.parquet").exists()
    monkeypatch.setattr(sweep_module, "run", real)
    result = run_sweep(sweep, tmp_path / "out", workers=0)
    assert result.skipped == 2 and result.ok == 4
    assert heads(tmp_path / "out") == heads(tmp_path / "reference")


def test_failed_runs_are_tried_again_on_resume(tmp_path: Path, exploding: str) -> None:
    out = tmp_path / "out"
    run_sweep(make(tmp_path, failing(exploding)), out, workers=0)
    again = run_sweep(make(tmp_path, failing(exploding)), out, workers=0)
    assert again.skipped == 2 and len(again.failed) == 2


def test_a_finished_run_missing_its_summary_runs_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_sweep(make(tmp_path), out, workers=0)
    (out / "runs" / first.records[0].run_id / "summary.json").unlink()
    again = run_sweep(make(tmp_path), out, workers=0)
    assert again.skipped == 3 and again.ok == 4


def test_the_sweep_directory_is_checked(tmp_path: Path) -> None:
    sweep = make(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(SweepError, match=r"--out .*file: is a file, not a directory"):
        run_sweep(sweep, tmp_path / "file", workers=0)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match=r"--out .*busy: not empty and holds no sweep"):
        run_sweep(sweep, tmp_path / "busy", workers=0)
    run_sweep(sweep, tmp_path / "out", workers=0)
    other = make(tmp_path, SMALL.replace("steps = 4", 'steps = 4\nname = "other"'))
    with pytest.raises(SweepError, match=r"--out .*out: holds sweep 'sweep', not 'other'"):
        run_sweep(other, tmp_path / "out", workers=0)
    with pytest.raises(SweepError, match=r"--out .*cannot write there"):
        run_sweep(sweep, tmp_path / "file" / "below", workers=0)


def test_executor_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=r"--workers -1: must not be negative"):
        run_sweep(make(tmp_path), tmp_path / "out", workers=-1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SchedulerUnavailable, match=rf"--scheduler tcp://127\.0\.0\.1:{port}: cannot connect") as info:
        with open_executor(scheduler=f"tcp://127.0.0.1:{port}", connect_timeout_s=0.5):
            pass
    assert info.value.exit_code == 3
    with pytest.raises(SchedulerUnavailable, match=r"--scheduler nonsense://x: cannot connect"):
        with open_executor(scheduler="nonsense://x", connect_timeout_s=0.5):
            pass


def test_a_run_executed_twice_is_written_once(tmp_path: Path) -> None:
    """A cluster re-runs a task whose worker was lost; the second attempt must not change the first."""
    spec = make(tmp_path).runs()[0]
    runs = tmp_path / "runs"
    first = sweep_module.execute_run(spec, str(runs))
    written = (runs / spec.run_id / "trades.jsonl").stat().st_mtime_ns
    again = sweep_module.execute_run(spec, str(runs))
    assert again == first and (runs / spec.run_id / "trades.jsonl").stat().st_mtime_ns == written
    # an attempt that finishes after another one has published discards its own output
    assert sorted(p.name for p in runs.iterdir()) == [spec.run_id]  # no attempt folder left
    late = runs / f".late{sweep_module.PARTIAL_SUFFIX}"
    late.mkdir(parents=True)
    (late / "trades.jsonl").write_text("another attempt")
    assert sweep_module._publish(late, runs / spec.run_id, first) == first
    assert not late.exists() and (runs / spec.run_id / "trades.jsonl").stat().st_mtime_ns == written


def test_workers_get_the_lab_secret_with_each_task_and_never_print_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []
    monkeypatch.setattr(sweep_module, "run", lambda *a, **k: seen.append(sweep_module.os.environ.get("CCEI_LAB_SECRET")))
    monkeypatch.setenv("CCEI_LAB_SECRET", "client-secret")
    context = sweep_module.worker_context()
    assert "client-secret" not in repr(context) and "client-secret" not in str(context)
    monkeypatch.delenv("CCEI_LAB_SECRET")  # a worker on another machine has none of its own
    sweep_module.execute_run(make(tmp_path).runs()[0], str(tmp_path / "runs"), context)
    assert seen == ["client-secret"] and "CCEI_LAB_SECRET" not in sweep_module.os.environ


def test_workers_sign_with_the_clients_secret_and_never_record_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json as _json

    from ledger.keys import operator_address

    seen: list[str | None] = []
    real = sweep_module.execute_run

    def worker(spec: Any, runs_dir: str, context: Any) -> Any:
        monkeypatch.setenv("CCEI_LAB_SECRET", "a worker's own secret")  # what a remote worker would have
        seen.append(context.lab_secret)
        return real(spec, runs_dir, context)

    monkeypatch.setattr(sweep_module, "execute_run", worker)
    result = run_sweep(make(tmp_path), tmp_path / "out", workers=0)
    assert result.ok == 4 and seen == ["ccei-test-lab-secret"] * 4
    for record in result.records:
        run_dir = tmp_path / "out" / "runs" / record.run_id
        header = _json.loads((run_dir / "trades.jsonl").read_text().splitlines()[0])
        assert header["operator"] == operator_address(b"ccei-test-lab-secret")
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert b"ccei-test-lab-secret" not in path.read_bytes(), path
