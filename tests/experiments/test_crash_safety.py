"""Crash safety: a run killed with SIGKILL, or whose node dies, resumes to the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from web3.types import Wei

from experiments.cli import main
from ledger.chain import AnvilNode
from ledger.compiler import REPO_ROOT


def ccei(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for_lines(path: Path, lines: int, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= lines:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before writing {lines} lines: {proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    pytest.fail(f"no {lines} lines in {path} after {timeout_s} s")


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    argv = ["run", "--scenario", "posted-price", "--steps", "60", "--seed", "4", "--chain", "eth-tester", "-q"]
    victim = tmp_path / "killed"
    proc = ccei(*argv, "--out", str(victim))
    wait_for_lines(victim / "trades.jsonl", 300, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (victim / "summary.json").exists()
    assert main(["run", "--resume", "--out", str(victim), "-q"]) == 0
    whole = tmp_path / "whole"
    assert main([*argv, "--out", str(whole)]) == 0
    assert (victim / "trades.jsonl").read_bytes() == (whole / "trades.jsonl").read_bytes()
    assert summary(victim)["balances_digest"] == summary(whole)["balances_digest"]
    settled = [json.loads(line)["batch_id"] for line in (victim / "settlements.jsonl").read_text().splitlines()]
    assert len(settled) == len(set(settled))  # nothing settled twice


def test_resume_of_a_finished_run_reproduces_it(tmp_path: Path) -> None:
    assert main(["run", "--scenario", "posted-price", "--steps", "5", "--chain", "memory", "--out", str(tmp_path), "-q"]) == 0
    before = (tmp_path / "trades.jsonl").read_bytes()
    assert main(["run", "--resume", "--out", str(tmp_path), "-q"]) == 0
    assert (tmp_path / "trades.jsonl").read_bytes() == before


def test_resume_refuses_a_log_edited_before_the_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--scenario", "posted-price", "--steps", "5", "--chain", "memory", "--out", str(tmp_path), "-q"]) == 0
    log = tmp_path / "trades.jsonl"
    rows = log.read_text().splitlines(keepends=True)
    i = next(i for i, r in enumerate(rows) if '"kind":"trade"' in r)
    rows[i] = rows[i].replace('"price":', '"price":7', 1)
    log.write_text("".join(rows[: i + 3]))
    capsys.readouterr()
    assert main(["run", "--resume", "--out", str(tmp_path), "-q"]) == 4
    assert f"trades.jsonl:{i + 1}: field 'hash'" in capsys.readouterr().err


@pytest.fixture()
def anvil(start_anvil: Callable[..., AnvilNode]) -> AnvilNode:
    return start_anvil()


def test_run_and_replay_on_anvil(anvil: AnvilNode, tmp_path: Path) -> None:
    url = anvil.url
    assert main(["run", "--scenario", "posted-price", "--steps", "6", "--chain", url, "--out", str(tmp_path / "a"), "-q"]) == 0
    mem = tmp_path / "m"
    assert main(["run", "--scenario", "posted-price", "--steps", "6", "--chain", "memory", "--out", str(mem), "-q"]) == 0
    assert summary(tmp_path / "a")["balances_digest"] == summary(mem)["balances_digest"]
    assert summary(tmp_path / "a")["gas_used"] > 0
    settlement = json.loads((tmp_path / "a" / "settlements.jsonl").read_text().splitlines()[0])
    assert settlement["tx_hash"].startswith("0x") and settlement["block"] > 0


def test_killed_anvil_stops_the_run_with_one_line_and_resume_finishes(
    start_anvil: Callable[..., AnvilNode], anvil: AnvilNode, tmp_path: Path
) -> None:
    url = anvil.url
    out = tmp_path / "run"
    proc = ccei("run", "--scenario", "posted-price", "--steps", "120", "--chain", url, "--out", str(out), "-q")
    wait_for_lines(out / "trades.jsonl", 200, proc)
    anvil.kill()  # its own process group, SIGKILLed as a whole: a node dying under a run
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    message = err.decode().strip().splitlines()
    assert len(message) == 1 and "the node stopped answering" in message[0] and "--resume" in message[0]
    start_anvil(anvil.port)  # a fresh node on the same port, stopped by the fixture
    assert main(["run", "--resume", "--out", str(out), "-q"]) == 0
    assert summary(out)["steps"] == 120
    mem = tmp_path / "mem"
    assert main(["run", "--scenario", "posted-price", "--steps", "120", "--chain", "memory", "--out", str(mem), "-q"]) == 0
    assert summary(out)["balances_digest"] == summary(mem)["balances_digest"]


def test_a_run_killed_while_its_node_stays_up_resumes_on_its_own_contracts(
    start_anvil: Callable[..., AnvilNode], anvil: AnvilNode, tmp_path: Path
) -> None:
    url = anvil.url
    out = tmp_path / "run"
    argv = ["run", "--scenario", "posted-price", "--steps", "20", "--seed", "5"]
    proc = ccei(*argv, "--chain", url, "--out", str(out), "-q")
    settled = out / "settlements.jsonl"
    deadline = time.monotonic() + 120
    while not (settled.exists() and settled.read_bytes().count(b"\n") >= 3):  # some batches landed on the node
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the run ended or stalled before three batches landed: {proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # the run dies; its node and what landed there stay
    proc.communicate()
    assert not (out / "summary.json").exists()  # killed mid-run
    landed_before = {r["batch_id"]: r["tx_hash"] for r in map(json.loads, settled.read_text().splitlines())}
    assert main(["run", "--resume", "--out", str(out), "-q"]) == 0
    records = [json.loads(line) for line in settled.read_text().splitlines()]
    batch_lines = [json.loads(line)["batch_id"] for line in (out / "trades.jsonl").read_text().splitlines() if '"kind":"batch"' in line]
    assert [r["batch_id"] for r in records] == batch_lines  # every batch once, in the log's order
    assert all(r["tx_hash"] and r["block"] for r in records)
    # the batches that had landed were found on the node (their own transactions), not sent again
    assert {r["batch_id"]: r["tx_hash"] for r in records[: len(landed_before)]} == landed_before
    whole = tmp_path / "whole"  # the same run uninterrupted, on a fresh node of its own
    assert main([*argv, "--chain", start_anvil().url, "--out", str(whole), "-q"]) == 0
    assert (out / "trades.jsonl").read_bytes() == (whole / "trades.jsonl").read_bytes()
    assert summary(out)["balances_digest"] == summary(whole)["balances_digest"]
    assert [r["tx_hash"] is not None for r in records] == [True] * len(records)
    assert main(["replay", str(out / "trades.jsonl")]) == 0
    assert main(["replay", str(out / "trades.jsonl"), "--against", url]) == 0  # every batch on the node, once, as logged


def test_resume_refuses_a_node_where_the_runs_contract_is_gone_and_cannot_land_again(
    start_anvil: Callable[..., AnvilNode], anvil: AnvilNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["run", "--scenario", "posted-price", "--steps", "3", "--chain", anvil.url, "--out", str(out), "-q"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    port = anvil.port
    anvil.stop()
    node = start_anvil(port)  # a fresh node on the same port, whose first account then sends a transaction
    from ledger.chain import connect

    w3 = connect(node.url).w3
    accounts = list(w3.eth.accounts)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": accounts[0], "to": accounts[1], "value": Wei(1)}))
    capsys.readouterr()
    assert main(["run", "--resume", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not there and cannot be deployed there again" in err and "nothing was changed" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
