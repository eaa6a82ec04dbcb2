"""``ccei bench market`` end to end on tiny sizes: it runs, prints clean JSON and checks its input."""

from __future__ import annotations

import json

import pytest

from experiments.cli import main


def test_bench_market_prints_json(capfd: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "market", "--json", "--small", "60", "--large", "120", "--repeats", "1", "--gap-instances", "2", "--regions", "4"]
    assert main(argv) == 0
    out = json.loads(capfd.readouterr().out)  # capfd sees file descriptor 1: a stray HiGHS line would break this
    assert (out["tasks_small"], out["tasks_large"], out["regions"]) == (60, 120, 4)
    assert out["gap_instances_solved"] + out["gap_instances_unsolved"] == 2
    assert out["gap_instances_solved"] == 0 or out["gap_mean_pct"] >= -0.01
    assert out["cpu_s_small"] > 0 and out["growth_target"] == 1.2


def test_bench_market_rejects_bad_sizes() -> None:
    with pytest.raises(SystemExit, match="--small < --large"):
        main(["bench", "market", "--small", "100", "--large", "50"])
