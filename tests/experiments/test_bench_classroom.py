"""``ccei bench classroom`` on a tiny class: it starts the server, reaches every page and reports its keys."""

from __future__ import annotations

import argparse

import pytest

from experiments.bench import classroom


def test_the_benchmark_reports_cpu_and_latency_for_a_tiny_class() -> None:
    result = classroom.run(argparse.Namespace(sessions=3, steps=2, blocks=1))
    assert result["sessions"] == 3 and result["steps_per_block"] == 2 and result["blocks"] == 1
    assert result["cpu_per_step_1_ms"] > 0 and result["cpu_per_step_n_ms"] > 0
    assert result["cpu_30_over_1"] == pytest.approx(result["cpu_per_step_n_ms"] / result["cpu_per_step_1_ms"], rel=0.05)
    assert 0 < result["step_to_all_pages_s"] <= result["step_to_all_pages_max_s"] < 60


@pytest.mark.parametrize(
    "bad", [{"sessions": 1, "steps": 1, "blocks": 1}, {"sessions": 3, "steps": 0, "blocks": 1}, {"sessions": 3, "steps": 1, "blocks": 0}]
)
def test_the_benchmark_refuses_sizes_it_cannot_measure(bad: dict[str, int]) -> None:
    with pytest.raises(SystemExit, match="ccei bench classroom: --sessions must be at least 2"):
        classroom.run(argparse.Namespace(**bad))
