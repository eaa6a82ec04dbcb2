"""``ccei bench replay``: verifying replay against bare ``json.loads``, and replay memory against log size.

Logs are written by the real ledger session (:class:`ledger.session.LedgerSession`) from synthetic
rounds (random buyers and sellers among a fixed population, one buy and one sell order and an
authorization per trade when signed), so they have the shape of a market run's log but can be made a million
entries long in seconds. Timing: replay on the memory back end and a loop of ``json.loads`` over the
same file, alternately, best of ``--repeats``. Memory: each log is replayed in its own process and
that process reports its own peak RSS (``VmHWM``).

Targets (issue 6): replay time <= 3 x json.loads; peak RSS on the large log <= 1.5 x on the small one.
``signed_replay_over_json_loads`` (issue 15) reports the same ratio for a signed, format-3 log as
``ccei run`` writes it: every order's and every operator signature checked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ledger.backends import MemoryBackend
from ledger.keys import operator_private_key
from ledger.replay import replay
from ledger.session import LedgerSession
from ledger.tradelog import TradeLogWriter
from market.orders import AgentId, Order, OrderId, Resource, Side, Trade

DESCRIPTION = "verifying replay against bare json.loads; peak memory of replay on a small and a 1,000,000-entry log"

_AGENTS = 200
_TRADES_PER_ROUND = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small", type=int, default=10_000, help="entries in the small log (default 10,000)")
    parser.add_argument("--large", type=int, default=1_000_000, help="entries in the large log (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, best kept (default 3)")
    parser.add_argument("--no-signed", dest="signed", action="store_false", help="skip timing the signed (format 3) log")


def write_log(path: Path, entries: int, *, seed: int = 1, sign: bool = False) -> int:
    """Writes a replayable log of about ``entries`` lines; returns the lines written.

    ``sign`` writes what ``ccei run`` writes: signed orders in a format-3 log, the operator's
    signatures and Merkle roots included (:mod:`ledger.logsigning`)."""
    rng = np.random.default_rng(seed)
    backend = MemoryBackend(seed, verify_signatures=sign)
    ids = iter(range(1, 1 << 62))
    header: dict[str, Any] = {"scenario": "synthetic", "seed": seed, "signed": sign}
    if sign:
        domain = backend.domain
        header["domain"] = {"chain_id": domain.chain_id, "verifying_contract": domain.verifying_contract}
    with TradeLogWriter(path, header, operator=operator_private_key() if sign else None) as log:
        session = LedgerSession(backend, log, sign=sign)
        session.open_accounts({AgentId(a): 10**15 for a in range(1, _AGENTS + 1)})
        step = 0
        while log.entries < entries:
            step += 1
            pairs = rng.integers(1, _AGENTS + 1, size=(_TRADES_PER_ROUND, 2))
            prices = rng.integers(1, 1_000, size=_TRADES_PER_ROUND)
            qty = rng.integers(1, 100, size=_TRADES_PER_ROUND)
            orders, trades = [], []
            for (buyer, seller), price, q in zip(pairs.tolist(), prices.tolist(), qty.tolist(), strict=True):
                if buyer == seller:
                    continue
                buy = Order(OrderId(next(ids)), AgentId(buyer), Side.BUY, Resource.ENERGY, q, price, step)
                sell = Order(OrderId(next(ids)), AgentId(seller), Side.SELL, Resource.ENERGY, q, price, step)
                orders += [buy, sell]
                trades.append(Trade(step, AgentId(buyer), AgentId(seller), Resource.ENERGY, price, q, buy.order_id, sell.order_id))
            session.settle(step, orders, trades)
        session.close(step)
        return log.entries


def _json_loads_s(path: Path) -> float:
    start = time.perf_counter()
    with open(path, "rb") as handle:
        for line in handle:
            json.loads(line)
    return time.perf_counter() - start


def _replay_s(path: Path) -> float:
    start = time.perf_counter()
    if not replay(path).verified:
        raise SystemExit(f"ccei bench replay: the synthetic log {path} did not verify")
    return time.perf_counter() - start


_CHILD = """
import sys
from ledger.replay import replay
if not replay(sys.argv[1]).verified:
    sys.exit(1)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(line.split()[1])
"""


def _peak_rss_kib(path: Path) -> int:
    """Peak resident memory of a fresh process replaying ``path``, in KiB.

    The child reads its own high-water mark (``VmHWM``): ``ru_maxrss`` from ``wait4`` would carry
    the parent's high-water mark over the fork.
    """
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"ccei bench replay: replaying {path} in a child process failed: {proc.stderr.strip()[-300:]}")
    return int(proc.stdout.split()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not 0 < args.small < args.large or args.repeats < 1:
        raise SystemExit("ccei bench replay: need 0 < --small < --large and --repeats >= 1")
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.jsonl", Path(tmp) / "large.jsonl"
        started = time.perf_counter()
        n_small = write_log(small, args.small)
        n_large = write_log(large, args.large)
        build_s = time.perf_counter() - started
        best_replay = best_json = float("inf")
        for _ in range(args.repeats):
            best_json = min(best_json, _json_loads_s(small))
            best_replay = min(best_replay, _replay_s(small))
        rss_small, rss_large = _peak_rss_kib(small), _peak_rss_kib(large)
        result: dict[str, Any] = {
            "entries_small": n_small,
            "entries_large": n_large,
            "replay_s": round(best_replay, 4),
            "json_loads_s": round(best_json, 4),
            "replay_over_json_loads": round(best_replay / best_json, 3),
            "replay_target": 3.0,
            "replay_entries_per_s": round(n_small / best_replay),
            "peak_rss_small_mib": round(rss_small / 1024, 1),
            "peak_rss_large_mib": round(rss_large / 1024, 1),
            "rss_ratio": round(rss_large / rss_small, 3),
            "rss_target": 1.5,
            "log_build_s": round(build_s, 1),
            "log": "unsigned, format 2 (the signed, format-3 figure: signed_replay_over_json_loads)",
        }
        if args.signed:
            signed = Path(tmp) / "signed.jsonl"
            write_log(signed, args.small, sign=True)
            best_s = best_j = float("inf")
            for _ in range(args.repeats):
                best_j = min(best_j, _json_loads_s(signed))
                best_s = min(best_s, _replay_s(signed))
            result["signed_replay_over_json_loads"] = round(best_s / best_j, 3)
    return result
