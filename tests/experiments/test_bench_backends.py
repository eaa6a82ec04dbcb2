"""`ccei bench backends`: the three back ends settle the same signed batches to the same balances and
the two runs write the same log (tiny sizes here; the targets are the benchmark's business)."""

from __future__ import annotations

import argparse
import json

import pytest

from experiments.bench import backends
from experiments.cli import main
from ledger.backends import open_backend


def _args(**changes: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    backends.add_arguments(parser)
    args = parser.parse_args([])
    for key, value in changes.items():
        setattr(args, key, value)
    return args


def test_cli_reports_each_back_end_and_both_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "backends", "--json", "--trades", "6", "--users", "3", "--suppliers", "2", "--batch-size", "4"]
    assert main([*argv, "--scenario", "posted-price", "--steps", "2", "--repeats", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["trades"], result["batches"], result["run_scenario"]) == (6, 2, "posted-price")
    assert all(result[key] > 0 for key in ("eth_tester_tps", "revm_tps", "memory_tps", "memory_run_s", "revm_run_s"))
    assert result["revm_over_eth_tester"] == pytest.approx(result["revm_tps"] / result["eth_tester_tps"], rel=0.02)
    assert result["revm_run_over_memory_run"] == pytest.approx(result["revm_run_s"] / result["memory_run_s"], rel=0.02)


def test_the_batches_are_signed_under_the_shared_domain_and_settle_alike() -> None:
    memory = backends._open("memory", 3, 2)
    revm = backends._open("revm", 3, 2)
    batches = backends.signed_batches(memory, 7, 3, 2, 3, seed=5)
    assert [len(b.trades) for b in batches] == [3, 3, 1]
    for backend in (memory, revm):
        for batch in batches:
            backend.settle_batch(batch)
    assert memory.balances() == revm.balances() and sum(memory.balances().values()) == 3 * backends._ESCROW_MICRO
    assert open_backend("revm", 1).domain == memory.domain


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trades": 0}, "--trades, --users and --suppliers must be at least 1"),
        ({"suppliers": 0}, "--trades, --users and --suppliers must be at least 1"),
        ({"batch_size": 0}, "--batch-size must be between 1 and 256"),
        ({"batch_size": 257}, "--batch-size must be between 1 and 256"),
        ({"repeats": 0}, "--repeats must be at least 1"),
        ({"steps": 0}, "--steps must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(backends.BenchError, match=message):
        backends.run(_args(**changes))


def test_bad_arguments_exit_2_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "backends", "--trades", "0"]) == 2
    assert capsys.readouterr().err.strip() == "ccei: error: --trades, --users and --suppliers must be at least 1"
