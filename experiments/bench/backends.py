"""``ccei bench backends``: the same signed batches settled on eth-tester, revm and memory, and the
default run on revm against the same signed run on memory.

Settlement: every back end is opened through :func:`ledger.backends.open_backend`, as ``ccei run``
opens it, with the same participants and escrow; the same N trades, each filling a buy order
signed by its owner under the back end's EIP-712 domain (the same domain everywhere, checked),
are settled in ``--batch-size`` batches through :meth:`~ledger.backends.SettlementBackend.settle_batch`,
the call a run makes each round. For a chain that is the wrapper's whole path: ABI encoding, the
transaction through web3, execution, the receipt. All three must end with the same balances.
Reported: trades per second on each and ``revm_over_eth_tester`` (target >= 20).

Run: the default scenario (``east-west``, signed) run with :func:`experiments.run.run` on memory and
on revm, alternately, ``--repeats`` times each, the best wall time of each kept; both runs must write
the same ``trades.jsonl``. Reported: ``revm_run_over_memory_run`` (target <= 1.5).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ledger.backends import SettlementBackend, open_backend
from ledger.batch import MAX_BATCH_TRADES, Fill, SettlementBatch, assemble_batch
from ledger.contracts import Capacity
from ledger.errors import LedgerError
from ledger.keys import agent_signing_key
from ledger.signing import BUY, SELL, SettlementOrder, order_expiry, sign_order
from market.orders import AgentId

__all__ = ["DESCRIPTION", "BenchError", "add_arguments", "run", "signed_batches"]

DESCRIPTION = "the same signed batches settled on eth-tester, revm and memory; the default run on revm vs memory"

BACKENDS = ("eth-tester", "revm", "memory")
_SEED = 2_024
_ESCROW_MICRO = 10**12


class BenchError(LedgerError):
    """The benchmark's arguments make no sense, or the back ends disagree."""

    exit_code = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trades", type=int, default=1_000, help="signed trades settled on each back end (default 1000)")
    parser.add_argument("--users", type=int, default=40, help="buyers (default 40)")
    parser.add_argument("--suppliers", type=int, default=8, help="sellers (default 8)")
    parser.add_argument(
        "--batch-size", type=int, default=MAX_BATCH_TRADES, help=f"trades per batch (default and most {MAX_BATCH_TRADES})"
    )
    parser.add_argument("--scenario", default="east-west", help="scenario of the run comparison (default east-west)")
    parser.add_argument("--steps", type=int, default=None, help="rounds of each run (default: the scenario's)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs on each back end; the best is kept (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the trades and the runs (default 1)")


def _open(spec: str, users: int, suppliers: int) -> SettlementBackend:
    backend = open_backend(spec, _SEED)
    deposits = {AgentId(n): _ESCROW_MICRO if n < users else 0 for n in range(users + suppliers)}
    roles = {AgentId(users + n): Capacity.COMPUTE_SUPPLIER for n in range(suppliers)}
    backend.open_accounts(deposits, roles)
    return backend


def signed_batches(backend: SettlementBackend, trades: int, users: int, suppliers: int, batch_size: int, seed: int) -> list[SettlementBatch]:
    """``trades`` trades, each filling its own buy order signed by one of ``users`` and its own sell
    order signed by one of ``suppliers`` under the back end's domain, laid out in batches of
    ``batch_size``."""
    rng = np.random.default_rng(seed)
    buyer = rng.integers(0, users, trades)
    seller = rng.integers(0, suppliers, trades)
    limit = rng.integers(300, 500, trades)
    price = limit - rng.integers(0, 100, trades)
    quantity = rng.integers(100, 3_000, trades)
    fills = []
    for i in range(trades):
        b, s = AgentId(int(buyer[i])), AgentId(users + int(seller[i]))
        bid = SettlementOrder(backend.address(b), i + 1, BUY, 0, int(limit[i]), int(quantity[i]), order_expiry(0))
        ask = SettlementOrder(backend.address(s), trades + i + 1, SELL, 0, int(price[i]), int(quantity[i]), order_expiry(0))
        signed_bid = sign_order(agent_signing_key(_SEED, int(b)), backend.domain, bid)
        signed_ask = sign_order(agent_signing_key(_SEED, int(s)), backend.domain, ask)
        fills.append(Fill(signed_bid, signed_ask, int(price[i]), int(quantity[i])))
    return [assemble_batch(k + 1, fills[start : start + batch_size]) for k, start in enumerate(range(0, trades, batch_size))]


def _settle(backend: SettlementBackend, batches: list[SettlementBatch]) -> float:
    started = time.perf_counter()
    for batch in batches:
        backend.settle_batch(batch)
    return time.perf_counter() - started


def _settlement(args: argparse.Namespace) -> dict[str, Any]:
    backends = {spec: _open(spec, args.users, args.suppliers) for spec in BACKENDS}
    try:
        domains = {spec: b.domain for spec, b in backends.items()}
        if len(set(domains.values())) != 1:
            raise BenchError(f"the back ends sign under different domains: {domains}")
        batches = signed_batches(backends["memory"], args.trades, args.users, args.suppliers, args.batch_size, args.seed)
        seconds = {spec: _settle(b, batches) for spec, b in backends.items()}
        balances = {spec: b.balances() for spec, b in backends.items()}
    finally:
        for b in backends.values():
            b.close()
    if balances["revm"] != balances["memory"] or balances["eth-tester"] != balances["memory"]:
        raise BenchError("the back ends ended with different balances")
    tps = {spec: args.trades / s for spec, s in seconds.items()}
    return {
        "trades": args.trades,
        "batches": len(batches),
        "eth_tester_s": round(seconds["eth-tester"], 3),
        "revm_s": round(seconds["revm"], 3),
        "memory_s": round(seconds["memory"], 3),
        "eth_tester_tps": round(tps["eth-tester"], 1),
        "revm_tps": round(tps["revm"], 1),
        "memory_tps": round(tps["memory"], 1),
        "revm_over_eth_tester": round(tps["revm"] / tps["eth-tester"], 2),
    }


def _runs(args: argparse.Namespace) -> dict[str, Any]:
    from experiments.run import run
    from experiments.scenarios import load_scenario

    scenario = load_scenario(args.scenario)
    best = {"memory": float("inf"), "revm": float("inf")}
    with tempfile.TemporaryDirectory(prefix="ccei-bench-backends-") as tmp:
        logs: dict[str, bytes] = {}
        for repeat in range(args.repeats):
            for chain, fastest in best.items():
                out = Path(tmp) / f"{chain}-{repeat}"
                started = time.perf_counter()
                run(scenario, out=out, seed=args.seed, steps=args.steps, chain=chain)
                best[chain] = min(fastest, time.perf_counter() - started)
                logs[chain] = (out / "trades.jsonl").read_bytes()
        if logs["revm"] != logs["memory"]:
            raise BenchError(f"{args.scenario}: the revm run wrote another trades.jsonl than the memory run")
    return {
        "run_scenario": scenario.name,
        "memory_run_s": round(best["memory"], 3),
        "revm_run_s": round(best["revm"], 3),
        "revm_run_over_memory_run": round(best["revm"] / best["memory"], 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Settles the same signed batches on each back end, then times the run on revm and memory.

    Raises:
        BenchError: bad arguments, or the back ends disagree (balances or trade logs).
        ChainUnavailable: pyrevm is missing.
    """
    if args.trades < 1 or args.users < 1 or args.suppliers < 1:
        raise BenchError("--trades, --users and --suppliers must be at least 1")
    if not 1 <= args.batch_size <= MAX_BATCH_TRADES:
        raise BenchError(f"--batch-size must be between 1 and {MAX_BATCH_TRADES}")
    if args.repeats < 1:
        raise BenchError("--repeats must be at least 1")
    if args.steps is not None and args.steps < 1:
        raise BenchError("--steps must be at least 1")
    return {**_settlement(args), **_runs(args)}
