"""`ccei bench settlement`: both paths settle the same signed trades to the same balances (tiny N here;
the throughput target is the benchmark's business, never a test's)."""

from __future__ import annotations

import argparse
import json

import pytest

from experiments.bench import settlement
from experiments.bench.guarantees import guarantee_round_ratio
from experiments.cli import main


def _args(**changes: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    settlement.add_arguments(parser)
    args = parser.parse_args([])
    for key, value in changes.items():
        setattr(args, key, value)
    return args


def test_cli_reports_both_throughputs_and_their_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "settlement", "--json", "--trades", "5", "--users", "3", "--suppliers", "2", "--batch-size", "2", "--guarantee-rounds", "0"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["trades"], result["batches"], result["participants"]) == (5, 3, 5)
    assert result["naive_tps"] > 0 and result["batched_tps"] > 0
    assert result["ratio"] == pytest.approx(result["batched_tps"] / result["naive_tps"], rel=0.02)
    assert result["batched_gas_per_trade"] < result["naive_gas_per_trade"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trades": 0}, "--trades, --users and --suppliers must be at least 1"),
        ({"batch_size": 0}, "--batch-size must be between 1 and 256"),
        ({"batch_size": 257}, "--batch-size must be between 1 and 256"),
        ({"guarantee_rounds": -1}, "--guarantee-rounds must not be negative"),
    ],
)
def test_bad_arguments_are_one_line_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(settlement.BenchError, match=message):
        settlement.run(_args(**changes))


def test_guarantee_rounds_are_timed_with_and_without_guarantees() -> None:
    result = guarantee_round_ratio("memory", rounds=2, seed=1, overrides={"n_users": 6})
    assert set(result) == {"plain_round_s", "guarantee_round_s", "guarantee_round_over_plain_round"}
    assert result["guarantee_round_over_plain_round"] > 0
