"""``ccei bench model`` on tiny sizes, and the frozen heap every run steps in."""

from __future__ import annotations

import gc
import json

import pytest

from experiments.cli import main
from experiments.run import frozen_heap


def test_bench_model_prints_json(capfd: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "model", "--json", "--small", "80", "--large", "160", "--steps", "1", "--repeats", "1"]
    assert main(argv) == 0
    out = json.loads(capfd.readouterr().out)
    assert (out["agents_small"], out["agents_large"]) == (80, 160)
    assert out["ratio_small"] > 0 and out["ratio_large"] > 0 and out["memory_bytes_per_agent"] > 0
    assert out["ratio_target"] == 20 and out["growth_target"] == 1.15
    assert out["fixed_agents"] == {"data_centres": 10, "energy_suppliers": 40, "network_links": 19}


def test_bench_model_rejects_bad_sizes() -> None:
    with pytest.raises(SystemExit, match="0 < --small < --large"):
        main(["bench", "model", "--small", "500", "--large", "100"])


def test_frozen_heap_freezes_for_the_block_and_unfreezes_after() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_frozen_heap_unfreezes_when_the_run_fails() -> None:
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("a step failed")
    assert gc.get_freeze_count() == 0
