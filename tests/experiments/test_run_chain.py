"""A run on the embedded chain: on-chain balances equal what the Python side computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.run import run
from experiments.scenarios import load_scenario


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory: pytest.TempPathFactory):
    return run(load_scenario("posted-price"), out=tmp_path_factory.mktemp("chain"), seed=3, steps=12, chain="eth-tester")


def test_on_chain_balances_equal_the_python_accounting(chain_run) -> None:
    backend, model = chain_run.backend, chain_run.model
    assert chain_run.summary["trades"] > 0
    for agent in model.participants:
        assert backend.escrow_balance(agent.agent_id) == agent.wallet_micro, agent
    supply = backend.total_supply()
    assert supply == sum(a.initial_funds_micro for a in model.participants)
    assert backend.token.balance_of(backend.settlement.address) == supply


def test_chain_and_memory_runs_agree(chain_run, tmp_path: Path) -> None:
    memory = run(load_scenario("posted-price"), out=tmp_path, seed=3, steps=12, chain="memory")
    assert (tmp_path / "trades.jsonl").read_bytes() == (chain_run.out / "trades.jsonl").read_bytes()
    assert memory.summary["balances_digest"] == chain_run.summary["balances_digest"]
    assert memory.summary["balances_micro"] == chain_run.summary["balances_micro"]
    assert chain_run.summary["gas_used"] > 0 and memory.summary["gas_used"] == 0
