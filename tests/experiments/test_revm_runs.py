"""Runs, replays and sweeps on ``--chain revm``: the same trade log and balances as on memory,
and a log written on eth-tester verifies on revm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from experiments.run import run
from experiments.scenarios import builtin_scenarios, load_scenario
from ledger.compiler import REPO_ROOT

STEPS = 6


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_revm_and_memory_write_the_same_log_and_balances_for_every_builtin_scenario(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name)
    on_memory = run(scenario, out=tmp_path / "memory", seed=7, steps=STEPS, chain="memory")
    on_revm = run(scenario, out=tmp_path / "revm", seed=7, steps=STEPS, chain="revm")
    assert on_memory.summary["trades"] > 0
    assert (tmp_path / "revm" / "trades.jsonl").read_bytes() == (tmp_path / "memory" / "trades.jsonl").read_bytes()
    assert on_revm.summary["balances_digest"] == on_memory.summary["balances_digest"]
    assert on_revm.summary["balances_micro"] == on_memory.summary["balances_micro"]
    assert on_revm.summary["gas_used"] > 0 and on_revm.summary["transactions"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_full_length_runs_agree_between_revm_and_memory(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name)
    on_memory = run(scenario, out=tmp_path / "memory", seed=1, chain="memory")
    on_revm = run(scenario, out=tmp_path / "revm", seed=1, chain="revm")
    assert (tmp_path / "revm" / "trades.jsonl").read_bytes() == (tmp_path / "memory" / "trades.jsonl").read_bytes()
    assert on_revm.summary["balances_digest"] == on_memory.summary["balances_digest"]


def test_ccei_run_on_revm_records_where_each_batch_landed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", "--chain", "revm", "--scenario", "posted-price", "--steps", "4", "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chain"] == "revm"
    settlements = [json.loads(line) for line in (out / "settlements.jsonl").read_text().splitlines()]
    assert settlements and all(s["tx_hash"].startswith("0x") and s["gas_used"] > 0 and s["block"] > 0 for s in settlements)
    assert sum(s["gas_used"] for s in settlements) == summary["gas_used"]


def test_a_log_written_on_eth_tester_verifies_on_revm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", "--chain", "eth-tester", "--scenario", "east-west", "--steps", "3", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["replay", str(out / "trades.jsonl"), "--chain", "revm", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] is True and result["trades"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert result["balances_digest"] == summary["balances_digest"]


def test_an_edited_log_is_refused_on_revm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", "--chain", "memory", "--scenario", "posted-price", "--steps", "3", "--out", str(out), "-q"]) == 0
    log = out / "trades.jsonl"
    lines = log.read_text().splitlines()
    trade = next(i for i, line in enumerate(lines) if '"kind":"trade"' in line)
    lines[trade] = lines[trade].replace('"price":', '"price":1', 1)
    log.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["replay", str(log), "--chain", "revm"]) != 0
    assert "ccei: error:" in capsys.readouterr().err


def test_a_sweep_runs_on_revm_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "study.toml"
    sweep.write_text('scenario = "posted-price"\nsteps = 3\nseeds = 1\n[grid]\nn_users = [3, 6]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--chain", "revm", "--out", str(out), "--workers", "0", "-q"]) == 0
    assert "2 runs: 2 ok, 0 failed" in capsys.readouterr().out
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs["chain"]) == {"revm"} and (runs["gas_used"] > 0).all()


def test_an_unknown_chain_is_one_line_naming_revm_among_the_choices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--chain", "revmm", "--steps", "1", "--out", str(tmp_path / "x"), "-q"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'revm'" in err and "revmm" in err


def test_a_run_on_revm_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    argv = ["run", "--scenario", "posted-price", "--steps", "400", "--seed", "4", "--chain", "revm", "-q"]
    victim = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", *argv, "--out", str(victim)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        log = victim / "trades.jsonl"
        deadline = time.monotonic() + 120
        while not (log.exists() and log.read_bytes().count(b"\n") >= 300):
            assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read().decode()[-300:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no 300 lines in two minutes"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (victim / "summary.json").exists()
    assert main(["run", "--resume", "--out", str(victim), "-q"]) == 0
    whole = tmp_path / "whole"
    assert main([*argv, "--out", str(whole)]) == 0
    assert (victim / "trades.jsonl").read_bytes() == (whole / "trades.jsonl").read_bytes()
    assert json.loads((victim / "summary.json").read_text())["balances_digest"] == json.loads((whole / "summary.json").read_text())["balances_digest"]
