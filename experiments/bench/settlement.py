"""Settlement throughput: the same N signed trades settled one transaction each, the ordinary web3
way, against batched with netting, on one chain in one run.

Both paths start from the same chain state (a snapshot): a deployed suite, registered participants
with escrow, and N trades, each filling its own buy order and its own sell order, both signed by
their owners (EIP-712), so the contract checks two signatures per trade on either path. The naive
path sends every trade as its own one-trade ``settleBatch`` through web3's ``transact`` (which
estimates gas first) and waits for each receipt. The batched path packs up to ``--batch-size``
trades per ``settleBatch`` (one balance write per participant per batch) and sends every batch
with explicit gas; on a JSON-RPC node with auto-mining off, so they are mined together. Both must end in the same
balances. Reported: trades per second both ways and their ratio (target: ratio >= 25).

With ``--guarantee-rounds N`` (default 5) it also times N default east-west rounds with guarantee
contracts and green certificates and N without (:mod:`experiments.bench.guarantees`) and reports
``guarantee_round_over_plain_round``, the ratio of the median rounds (target: <= 2).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.bench.guarantees import guarantee_round_ratio
from ledger.batch import (
    MAX_BATCH_TRADES,
    Fill,
    SettlementBatch,
    assemble_batch,
    batch_gas,
)
from ledger.chain import EMBEDDED, Chain, connect
from ledger.contracts import Capacity
from ledger.errors import LedgerError
from ledger.keys import agent_address, agent_signing_key
from ledger.signing import BUY, SELL, SettlementOrder, order_expiry, sign_order
from ledger.suite import Suite, deploy_suite

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = "N signed trades settled one transaction each (web3 transact) vs batched with netting"

_SEED = 2_024
_ESCROW_MICRO = 10**12


class BenchError(LedgerError):
    """The benchmark's arguments or its two paths' results do not make sense."""

    exit_code = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trades", type=int, default=1_000, help="signed trades settled both ways (default 1000)")
    parser.add_argument("--users", type=int, default=40, help="buyers (default 40)")
    parser.add_argument("--suppliers", type=int, default=8, help="sellers (default 8)")
    parser.add_argument(
        "--batch-size", type=int, default=MAX_BATCH_TRADES, help=f"trades per batch (default and most {MAX_BATCH_TRADES})"
    )
    parser.add_argument("--chain", default="eth-tester", help="eth-tester (default) or an http(s):// node URL")
    parser.add_argument("--seed", type=int, default=1, help="seed of the trade generator (default 1)")
    parser.add_argument(
        "--guarantee-rounds",
        type=int,
        default=5,
        help="default east-west rounds timed with and without guarantee contracts and certificates (default 5; 0 skips)",
    )


def _setup(chain: Chain, users: int, suppliers: int) -> tuple[Suite, list[ChecksumAddress], list[ChecksumAddress]]:
    suite = deploy_suite(chain, extras=False)
    op = suite.admin
    buyers = [agent_address(_SEED, n) for n in range(users)]
    sellers = [agent_address(_SEED, users + n) for n in range(suppliers)]
    for start in range(0, len(buyers), MAX_BATCH_TRADES):
        suite.registry.register_many(buyers[start : start + MAX_BATCH_TRADES], Capacity.USER, sender=op)
    suite.registry.register_many(sellers, Capacity.COMPUTE_SUPPLIER, sender=op)
    suite.token.mint(op, _ESCROW_MICRO * users, sender=op)
    suite.token.approve(suite.settlement.address, _ESCROW_MICRO * users, sender=op)
    for buyer in buyers:
        suite.settlement.deposit_for(buyer, _ESCROW_MICRO, sender=op)
    return suite, buyers, sellers


def _fills(suite: Suite, n: int, users: int, suppliers: int, seed: int) -> list[Fill]:
    rng = np.random.default_rng(seed)
    buyer = rng.integers(0, users, n)
    seller = rng.integers(0, suppliers, n)
    limit = rng.integers(300, 500, n)
    price = limit - rng.integers(0, 100, n)
    quantity = rng.integers(100, 3_000, n)
    fills = []
    for i in range(n):
        b, s = int(buyer[i]), users + int(seller[i])
        bid = SettlementOrder(agent_address(_SEED, b), i + 1, BUY, 0, int(limit[i]), int(quantity[i]), order_expiry(0))
        ask = SettlementOrder(agent_address(_SEED, s), n + i + 1, SELL, 0, int(price[i]), int(quantity[i]), order_expiry(0))
        fills.append(
            Fill(
                sign_order(agent_signing_key(_SEED, b), suite.domain, bid),
                sign_order(agent_signing_key(_SEED, s), suite.domain, ask),
                int(price[i]),
                int(quantity[i]),
            )
        )
    return fills


def _naive(suite: Suite, fills: list[Fill]) -> tuple[float, int]:
    """One ``settleBatch`` per trade, sent the ordinary web3 way: gas estimated, receipt awaited."""
    w3, settlement, op = suite.chain.w3, suite.settlement, suite.admin
    gas = 0
    started = time.perf_counter()
    for i, fill in enumerate(fills):
        batch = assemble_batch(i + 1, [fill])
        tx_hash = settlement.function("settleBatch", *batch.call_args()).transact({"from": op})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise BenchError(f"naive settlement of trade {i} failed")
        gas += int(receipt["gasUsed"])
    return time.perf_counter() - started, gas


def _batched(suite: Suite, batches: list[SettlementBatch]) -> tuple[float, int]:
    """Every batch sent with explicit gas. On a node, auto-mining is off and the batches are mined
    together, a block at a time; eth-tester gains nothing from that (it executes a queued
    transaction once when it is sent and again when it is mined, and keeps one queued transaction
    per sender nonce), so there each batch is mined as it is sent."""
    chain, settlement, op = suite.chain, suite.settlement, suite.admin
    started = time.perf_counter()
    if chain.kind == EMBEDDED:
        receipts = [settlement.settle_batch(batch, sender=op) for batch in batches]
    else:
        block_gas = int(chain.w3.eth.get_block("latest")["gasLimit"])
        nonce = chain.w3.eth.get_transaction_count(op)
        hashes = []
        pending_gas = 0
        chain.set_automine(False)
        try:
            for n, batch in enumerate(batches):
                limit = batch_gas(batch)
                if pending_gas + limit > block_gas:
                    chain.mine()
                    pending_gas = 0
                sent = settlement.settle_batch(batch, sender=op, gas=limit, wait=False, nonce=nonce + n)
                hashes.append(sent["transactionHash"])
                pending_gas += limit
            chain.mine()
        finally:
            chain.set_automine(True)
        receipts = [chain.w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    elapsed = time.perf_counter() - started
    if any(r["status"] != 1 for r in receipts):
        raise BenchError("a batched settlement failed")
    return elapsed, sum(int(r["gasUsed"]) for r in receipts)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Settles ``args.trades`` signed trades both ways and reports both throughputs and their ratio.

    Raises:
        BenchError: bad arguments, or the two paths end in different balances.
        ChainUnavailable: ``--chain`` cannot be reached.
    """
    if args.trades < 1 or args.users < 1 or args.suppliers < 1:
        raise BenchError("--trades, --users and --suppliers must be at least 1")
    if args.guarantee_rounds < 0:
        raise BenchError("--guarantee-rounds must not be negative")
    if not 1 <= args.batch_size <= MAX_BATCH_TRADES:
        raise BenchError(f"--batch-size must be between 1 and {MAX_BATCH_TRADES}")
    chain = connect(args.chain)
    suite, buyers, sellers = _setup(chain, args.users, args.suppliers)
    fills = _fills(suite, args.trades, args.users, args.suppliers, args.seed)
    batches = [
        assemble_batch(k + 1, fills[start : start + args.batch_size])
        for k, start in enumerate(range(0, len(fills), args.batch_size))
    ]
    accounts = buyers + sellers
    start = chain.snapshot()
    naive_s, naive_gas = _naive(suite, fills)
    after_naive = [suite.settlement.balance_of(a) for a in accounts]
    chain.revert(start)
    batched_s, batched_gas = _batched(suite, batches)
    after_batched = [suite.settlement.balance_of(a) for a in accounts]
    if after_naive != after_batched:
        raise BenchError("the naive and the batched path ended in different balances")
    naive_tps = args.trades / naive_s
    batched_tps = args.trades / batched_s
    guarantees = guarantee_round_ratio(args.chain, args.guarantee_rounds, args.seed) if args.guarantee_rounds else {}
    return {
        "chain": args.chain,
        "trades": args.trades,
        "participants": len(accounts),
        "batches": len(batches),
        "naive_s": round(naive_s, 3),
        "batched_s": round(batched_s, 3),
        "naive_tps": round(naive_tps, 2),
        "batched_tps": round(batched_tps, 2),
        "ratio": round(batched_tps / naive_tps, 2),
        "signatures_per_trade": 2,
        "naive_gas_per_trade": naive_gas // args.trades,
        "batched_gas_per_trade": batched_gas // args.trades,
        **guarantees,
    }
