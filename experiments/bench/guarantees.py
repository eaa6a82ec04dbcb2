"""What guarantee contracts and green certificates cost a market round on a chain: the median wall
time of a default east-west round with them (``guarantees = true``) over the same round without
them, each run on its own fresh chain from the same seed (so both see the same tasks, weather and
outages). Reported by ``ccei bench settlement`` as ``guarantee_round_over_plain_round`` (target <= 2).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.run import open_accounts
from experiments.scenarios import load_scenario
from ledger.backends import open_backend
from ledger.session import LedgerSession
from ledger.tradelog import TradeLogWriter

__all__ = ["round_times", "guarantee_round_ratio"]


def round_times(chain: str, rounds: int, seed: int, *, guarantees: bool, overrides: Mapping[str, Any] | None = None) -> list[float]:
    """Wall seconds of each of ``rounds`` default east-west rounds settled on a fresh ``chain``
    (model step, settlement and, with ``guarantees``, the agreements and certificates);
    ``overrides`` change scenario values (for tests)."""
    scenario = load_scenario("east-west")
    params = {**scenario.params, **(overrides or {}), "guarantees": guarantees}
    backend = open_backend(chain, seed)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="ccei-bench-") as tmp,
            TradeLogWriter(Path(tmp) / "trades.jsonl", {"scenario": "east-west", "seed": seed}) as log,
        ):
            session = LedgerSession(backend, log, terms=Path(tmp) / "terms.jsonl")
            model = scenario.model_class(**params, seed=seed, settler=session)
            open_accounts(session, model)
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                model.step()
                times.append(time.perf_counter() - started)
            return times
    finally:
        backend.close()


def guarantee_round_ratio(chain: str = "eth-tester", rounds: int = 5, seed: int = 1, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The median round with guarantees and certificates over the median round without them."""
    plain = round_times(chain, rounds, seed, guarantees=False, overrides=overrides)
    guaranteed = round_times(chain, rounds, seed, guarantees=True, overrides=overrides)
    plain_s, guaranteed_s = statistics.median(plain), statistics.median(guaranteed)
    return {
        "plain_round_s": round(plain_s, 3),
        "guarantee_round_s": round(guaranteed_s, 3),
        "guarantee_round_over_plain_round": round(guaranteed_s / plain_s, 3),
    }
