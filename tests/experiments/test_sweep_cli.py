"""``ccei sweep`` and ``ccei report`` from the command line: exit codes, one-line errors, what they print."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main

SWEEP = 'scenario = "posted-price"\nsteps = 3\nseeds = 2\n[grid]\nn_users = [3, 6]\n'


def write(tmp_path: Path, text: str = SWEEP) -> str:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return str(path)


def test_help_lists_sweep_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "sweep" in out and "report" in out


def test_sweep_then_resume_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["sweep", write(tmp_path), "--out", str(out), "--workers", "0", "--csv", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "4 runs: 4 ok, 0 failed, 0 already done" in printed and "runs.csv" in printed
    assert main(["sweep", write(tmp_path), "--out", str(out), "--workers", "0", "-q"]) == 0
    assert "4 runs: 4 ok, 0 failed, 4 already done" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}/report/report.html, {out}/report/report.md and 2 figures" in captured.out
    assert "note: Gas per trade: not drawn" in captured.err
    assert (out / "report" / "price_convergence.png").exists()


def test_default_out_is_runs_slash_the_sweep_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", path, "--workers", "0", "--seeds", "1", "--steps", "2", "-q"]) == 0
    runs = pd.read_parquet(tmp_path / "runs" / "study" / "runs.parquet")
    assert list(runs["seed"]) == [1, 1] and (runs["steps"] == 2).all()


def test_failed_runs_are_listed_and_only_a_sweep_with_no_success_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exploding: str
) -> None:
    mixed = f'scenario = "{exploding}"\nseeds = 2\n[grid]\nexplode = [false, true]\n'
    assert main(["sweep", write(tmp_path, mixed), "--out", str(tmp_path / "mixed"), "--workers", "0", "-q"]) == 0
    captured = capsys.readouterr()
    assert "4 runs: 2 ok, 2 failed" in captured.out
    assert captured.err.count("failed: ") == 2 and "ValueError: cannot run with 3 exploding users" in captured.err
    broken = mixed.replace("explode = [false, true]", "explode = [true]")
    assert main(["sweep", write(tmp_path, broken), "--out", str(tmp_path / "broken"), "--workers", "0", "-q"]) == 1
    assert "2 runs: 0 ok, 2 failed" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "broken")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run succeeded" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "{bad}"], r"bad\.toml: key 'grid\.n_users': expected a non-empty array"),
        (["sweep", "{wrong_type}"], r"wrong\.toml: treatment n_users=many: key 'params\.n_users': expected integer"),
        (["sweep", "nope"], r"unknown sweep 'nope'"),
        (["sweep", "{good}", "--workers", "-2", "--out", "{tmp}/w"], r"--workers -2: must not be negative"),
        (["sweep", "{good}", "--seeds", "0"], r"--seeds 0: must be at least 1"),
        (["sweep", "{good}", "--out", "{tmp}/study.toml"], r"is a file, not a directory"),
        (["report", "{tmp}"], r"no sweep\.json; is this a sweep directory"),
        (["report", "{tmp}/planned"], r"no runs\.parquet; run `ccei sweep"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    files = {
        "good": write(tmp_path),
        "bad": str(tmp_path / "bad.toml"),
        "wrong_type": str(tmp_path / "wrong.toml"),
    }
    (tmp_path / "bad.toml").write_text(SWEEP.replace("[3, 6]", "3"))
    (tmp_path / "wrong.toml").write_text(SWEEP.replace("[3, 6]", '["many"]'))
    (tmp_path / "planned").mkdir()
    (tmp_path / "planned" / "sweep.json").write_text('{"name": "x"}')
    argv = [a.format(tmp=tmp_path, **files) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ccei: error: ")
    assert re.search(message, err), err


def test_report_with_chosen_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    main(["sweep", write(tmp_path), "--out", str(out), "--workers", "0", "-q"])
    assert main(["report", str(out), "--metric", "volume_micro", "--out", str(tmp_path / "rep")]) == 0
    stats = pd.read_csv(tmp_path / "rep" / "treatment_stats.csv")
    assert set(stats["metric"]) == {"volume_micro"}
    capsys.readouterr()
    assert main(["report", str(out), "--metric", "treatment"]) == 2
    assert "--metric treatment: not a numeric column of runs.parquet" in capsys.readouterr().err


def test_ctrl_c_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import experiments.sweep

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments.sweep, "run_sweep", interrupted)
    assert main(["sweep", write(tmp_path), "--out", str(tmp_path / "out"), "-q"]) == 130
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "interrupted; finished runs are kept in" in err
        and "run the same command again to resume" in err
    )
