"""The ccei CLI: subcommands, determinism, and one-line errors with non-zero exits."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from experiments.cli import main


def run_cli(*argv: str) -> int:
    return main(list(argv))


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli("--help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "compile", "scenarios", "bench"):
        assert command in out


def test_same_seed_gives_byte_identical_trade_logs(tmp_path: Path) -> None:
    for name in ("A", "B"):
        assert run_cli("run", "--seed", "1", "--steps", "15", "--chain", "memory", "--out", str(tmp_path / name), "-q") == 0
    a = (tmp_path / "A" / "trades.jsonl").read_bytes()
    assert a == (tmp_path / "B" / "trades.jsonl").read_bytes()
    assert a.count(b'"kind":"trade"') > 10


def test_different_seeds_give_different_logs(tmp_path: Path) -> None:
    run_cli("run", "--seed", "1", "--steps", "10", "--chain", "memory", "--out", str(tmp_path / "A"), "-q")
    run_cli("run", "--seed", "2", "--steps", "10", "--chain", "memory", "--out", str(tmp_path / "B"), "-q")
    assert (tmp_path / "A" / "trades.jsonl").read_bytes() != (tmp_path / "B" / "trades.jsonl").read_bytes()


def test_run_writes_summary_and_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("run", "--steps", "5", "--chain", "memory", "--out", str(tmp_path), "-q") == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 5
    assert summary["log_entries"] == len((tmp_path / "trades.jsonl").read_text().splitlines())
    metrics = (tmp_path / "metrics.csv").read_text().splitlines()
    columns = metrics[0].split(",")
    assert columns[0] == "step"
    for wanted in (
        "compute_price_micro",
        "energy_price_micro",
        "compute_mcore_h",
        "welfare_micro",
        "green_share",
        "kg_co2",
        "qos_violations",
        "sla_breaches",
        "gas_used",
    ):
        assert wanted in columns
    assert len(metrics) == 1 + 6  # header, the initial state and 5 steps
    assert "trades" in capsys.readouterr().out


def test_default_out_dir_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert run_cli("run", "--steps", "2", "--chain", "memory", "-q") == 0
    assert (tmp_path / "runs" / "east-west-seed1" / "trades.jsonl").exists()
    assert (tmp_path / "runs" / "east-west-seed1-2" / "trades.jsonl").exists()


def test_out_dir_holding_a_run_is_refused_and_left_intact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli("run", "--steps", "3", "--chain", "memory", "--out", str(tmp_path), "-q")
    before = (tmp_path / "trades.jsonl").read_bytes()
    capsys.readouterr()
    assert run_cli("run", "--steps", "4", "--chain", "memory", "--out", str(tmp_path), "-q") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a run" in err
    assert (tmp_path / "trades.jsonl").read_bytes() == before
    assert run_cli("run", "--steps", "4", "--chain", "memory", "--out", str(tmp_path), "-q", "--overwrite") == 0


def test_unwritable_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain-file").write_text("")
    assert run_cli("run", "--steps", "1", "--chain", "memory", "--out", str(tmp_path / "plain-file" / "x"), "-q") == 2
    err = capsys.readouterr().err
    assert "cannot write there" in err and err.count("\n") == 1


def test_out_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("keep me")
    assert run_cli("run", "--steps", "1", "--chain", "memory", "--out", str(target), "-q") == 2
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["--scenario", "atlantis"], "unknown scenario 'atlantis'", 2),
        (["--chain", "carrier-pigeon"], "expected 'memory', 'eth-tester', 'revm' or an http(s):// node URL", 3),
        (["--chain", f"http://127.0.0.1:{_free_port()}"], "node not reachable", 3),
        (["--set", "n_users=lots"], "expected integer", 2),
        (["--steps", "0"], "--steps 0: must lie in 1..1,000,000", 2),
        (["--seed", "-1"], "--seed -1: must lie in 0..2**63 - 1", 2),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str, code: int
) -> None:
    assert run_cli("run", "--out", str(tmp_path / "o"), "-q", *argv) == code
    err = capsys.readouterr().err
    assert err.startswith("ccei: error: ") and err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_bad_flag_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli("run", "--steps", "many")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid int value" in err


def test_scenarios_lists_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("scenarios", "--json") == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert "posted-price" in names


def test_compile_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("compile", "--check") == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("guarantees", "reason", "who"),
    [("true", "ERC20InsufficientBalance", "ComputeCentre"), ("false", "InsufficientEscrow", "ComputeUser")],
)
def test_money_running_out_names_the_round_and_the_agent_and_keeps_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], guarantees: str, reason: str, who: str
) -> None:
    # 20 tokens each: a data centre's collateral (guarantees) or a user's escrow (trades) runs out within a day
    argv = ["run", "--steps", "24", "--chain", "memory", "--out", str(tmp_path), "-q", "--set", "initial_funds_micro=20000000"]
    assert run_cli(*argv, "--set", f"guarantees={guarantees}") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ccei: error: round ") and f"settlement rejected: {reason}(" in err
    assert f"({who} in " in err and "ran out of money" in err and "raise initial_funds_micro (now 20,000,000)" in err
    refused = int(err.removeprefix("ccei: error: round ").split(":")[0])
    entries = [json.loads(line) for line in (tmp_path / "trades.jsonl").read_text().splitlines()[1:]]
    # the rounds before the refused one stay in the log (the refused round's lines are its write-ahead
    # record), and no close line claims the run ended
    assert {e["step"] for e in entries if e["kind"] == "batch"} == set(range(1, refused + 1))
    assert all(e["kind"] != "close" for e in entries)
