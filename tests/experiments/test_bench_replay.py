"""``ccei bench replay`` on tiny logs: the figures the issue names are reported (their targets are
the benchmark's to check on real sizes, not a test's)."""

from __future__ import annotations

import json

import pytest

from experiments.cli import main


def test_bench_replay_reports_unsigned_and_signed_ratios(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "replay", "--json", "--small", "300", "--large", "600", "--repeats", "1"]) == 0
    out = json.loads(capfd.readouterr().out)
    assert out["replay_target"] == 3.0 and out["rss_target"] == 1.5
    assert out["entries_small"] >= 300 and out["entries_large"] >= 600
    assert out["replay_over_json_loads"] > 0 and out["signed_replay_over_json_loads"] > 0


def test_bench_replay_rejects_bad_sizes() -> None:
    with pytest.raises(SystemExit, match="0 < --small < --large"):
        main(["bench", "replay", "--small", "500", "--large", "100"])
