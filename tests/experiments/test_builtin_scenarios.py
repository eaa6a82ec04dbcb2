"""Every built-in scenario steps, settles and reproduces; a golden hash pins each one's trade log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.run import run
from experiments.scenarios import builtin_scenarios, load_scenario

SMOKE_STEPS = 3


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_smoke_every_builtin_scenario(name: str, tmp_path: Path) -> None:
    result = run(load_scenario(name), out=tmp_path, seed=7, steps=SMOKE_STEPS, chain="memory")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == SMOKE_STEPS
    assert summary["trades"] > 0, f"{name} made no trade in {SMOKE_STEPS} steps"
    lines = (tmp_path / "trades.jsonl").read_text().splitlines()
    assert len(lines) == summary["log_entries"]
    assert json.loads(lines[0])["scenario"] == name
    model = result.model
    assert sum(p.wallet_micro for p in model.participants) == sum(p.initial_funds_micro for p in model.participants)
    assert summary["balances_micro"] == {str(p.agent_id): p.wallet_micro for p in model.participants}
