"""``ccei bench model``: cost per agent-step of the east-west model against Mesa's bare Boltzmann model.

Both models are timed in the same process, alternately, so the machine's noise hits both; the
result is their ratio. The east-west model settles on the memory back end with order signing off
and its trade log written to a temporary directory, i.e. as a large sweep would run it; both
models step inside :func:`experiments.run.frozen_heap`, as ``ccei run`` steps every model. Growth is
the exponent ``log(t10k / t1k) / log(agents10k / agents1k)`` of the time per step; memory per
agent is what tracemalloc sees allocated while building and stepping the model, over its agents.

Targets (issue 5): ratio <= 20, exponent <= 1.15.
"""

from __future__ import annotations

import argparse
import functools
import math
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import mesa

from agents.eastwest import ComputeCentre, ComputeUser, EastWestModel, EnergySupplier, NetworkLink
from experiments.run import frozen_heap, open_accounts
from ledger.backends import MemoryBackend
from ledger.session import LedgerSession
from ledger.tradelog import TradeLogWriter

DESCRIPTION = "east-west model cost per agent-step against Mesa's bare Boltzmann model; growth 1k to 10k agents"


class _Wealth(mesa.Agent):
    """The Boltzmann wealth agent of Mesa's tutorial, without space."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.wealth = 1

    def exchange(self) -> None:
        if self.wealth > 0:
            other = self.random.choice(self.model.agent_list)
            other.wealth += 1
            self.wealth -= 1


class BoltzmannWealth(mesa.Model):
    """Mesa's bare Boltzmann wealth model: each agent gives a unit to a random agent each step."""

    def __init__(self, n: int = 1000, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        _Wealth.create_agents(self, n)
        self.agent_list = list(self.agents)

    def step(self) -> None:
        self.agents.shuffle_do("exchange")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model (default 5)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats; the best is kept (default 5)")
    parser.add_argument("--small", type=int, default=1_000, help="agents in the small model (default 1000)")
    parser.add_argument("--large", type=int, default=10_000, help="agents in the large model (default 10000)")


@functools.cache
def _fixed_agents() -> int:
    """Agents of the east-west model that are not users (centres, suppliers, links, platforms)."""
    return len(EastWestModel(n_users=0, seed=1).agents)


def _east_west(agents: int, seed: int, log_dir: Path) -> EastWestModel:
    n_users = max(1, agents - _fixed_agents())
    backend = MemoryBackend(seed, verify_signatures=False, forget_expired=True)  # as open_backend("memory")
    log = TradeLogWriter(log_dir / f"bench-{agents}.jsonl", {"scenario": "east-west", "seed": seed})
    model = EastWestModel(n_users=n_users, seed=seed, settler=LedgerSession(backend, log, sign=False))
    log.durable = False  # the model's cost, not the disk's: a run's per-round fsync is left out
    open_accounts(backend, model)
    return model


def _time_steps(model: mesa.Model, steps: int) -> float:
    """Seconds per step, stepped as ``ccei run`` steps a model (in :func:`experiments.run.frozen_heap`)."""
    with frozen_heap():
        model.step()  # warm-up: caches, first allocation
        start = time.perf_counter()
        for _ in range(steps):
            model.step()
        return (time.perf_counter() - start) / steps


def _memory_per_agent(agents: int, seed: int, log_dir: Path) -> float:
    tracemalloc.start()
    model = _east_west(agents, seed, log_dir)
    model.step()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / len(model.agents)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.steps < 1 or args.repeats < 1 or not 0 < args.small < args.large:
        raise SystemExit("ccei bench model: --steps and --repeats must be positive and 0 < --small < --large")
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for size_name, n in (("small", args.small), ("large", args.large)):
                ew = _east_west(n, seed=1 + repeat, log_dir=Path(tmp))
                t_ew = _time_steps(ew, args.steps) / len(ew.agents)
                bz = BoltzmannWealth(n, seed=1 + repeat)
                # a Boltzmann step takes about a millisecond per 1,000 agents: time enough of them
                # (about 0.2 s) that the machine's noise does not decide its figure
                t_bz = _time_steps(bz, max(args.steps, 200_000 // n)) / n
                counts[size_name] = len(ew.agents)
                for key, value in ((f"east_west_{size_name}", t_ew), (f"boltzmann_{size_name}", t_bz)):
                    best[key] = min(best.get(key, math.inf), value)
        memory = _memory_per_agent(args.small, 1, Path(tmp))
    per_step_small = best["east_west_small"] * counts["small"]
    per_step_large = best["east_west_large"] * counts["large"]
    exponent = math.log(per_step_large / per_step_small) / math.log(counts["large"] / counts["small"])
    ew_agent_types = {"data_centres": ComputeCentre, "energy_suppliers": EnergySupplier, "network_links": NetworkLink, "users": ComputeUser}
    probe = EastWestModel(n_users=1, seed=1)
    return {
        "agents_small": counts["small"],
        "agents_large": counts["large"],
        "east_west_us_per_agent_step_small": round(best["east_west_small"] * 1e6, 2),
        "east_west_us_per_agent_step_large": round(best["east_west_large"] * 1e6, 2),
        "boltzmann_us_per_agent_step_small": round(best["boltzmann_small"] * 1e6, 3),
        "boltzmann_us_per_agent_step_large": round(best["boltzmann_large"] * 1e6, 3),
        "ratio_small": round(best["east_west_small"] / best["boltzmann_small"], 2),
        "ratio_large": round(best["east_west_large"] / best["boltzmann_large"], 2),
        "ratio_target": 20,
        "growth_exponent": round(exponent, 3),
        "growth_target": 1.15,
        "memory_bytes_per_agent": round(memory),
        "fixed_agents": {k: len(probe.agents_by_type[v]) for k, v in ew_agent_types.items() if k != "users"},
        "settlement": "memory back end, signing off, trade log written to disk without the per-round fsync",
        "gc": "start-up heap frozen (experiments.run.frozen_heap), both models",
    }
