"""LedgerSession: signs each round's buy orders with their owners' keys, logs, then settles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.backends import MemoryBackend
from ledger.batch import MAX_BATCH_TRADES, batch_id
from ledger.errors import LedgerError
from ledger.session import LedgerSession
from ledger.signing import recover_signer
from ledger.tradelog import TradeLogWriter
from market.orders import AgentId, Order, OrderId, Resource, Side, Trade

SEED = 5


def buy(order_id: int, owner: int, step: int, quantity: int = 10) -> Order:
    return Order(OrderId(order_id), AgentId(owner), Side.BUY, Resource.COMPUTE, quantity, 100, step)


def fill(order: Order, step: int, seller: int = 9, quantity: int = 10) -> Trade:
    return Trade(step, order.owner, AgentId(seller), order.resource, 80, quantity, order.order_id, OrderId(0))


@pytest.fixture()
def session(tmp_path: Path) -> LedgerSession:
    backend = MemoryBackend(SEED)
    backend.open_accounts({AgentId(a): 10**9 for a in (1, 2, 9)})
    return LedgerSession(backend, TradeLogWriter(tmp_path / "trades.jsonl", {"seed": SEED}))


def _kinds(session: LedgerSession) -> list[str]:
    session.log.sync()
    return [json.loads(line)["kind"] for line in session.log.path.read_text().splitlines()]


def test_orders_are_signed_by_their_owners_and_the_round_settles(session: LedgerSession) -> None:
    a, b = buy(1, 1, 0), buy(2, 2, 0)
    outcome = session.settle(0, [a, b], [fill(a, 0), fill(b, 0, quantity=4)])
    assert (outcome.batch_id, outcome.trades) == (batch_id(0), 2)
    batch = session.last_batch
    assert batch is not None
    for bo in batch.orders:
        so = bo.signed
        assert recover_signer(session.backend.domain, so.order, so.signature) == so.order.owner
    assert session.backend.escrow_balance(AgentId(9)) == 10**9 + 80 * 14
    assert (session.trades, session.volume_micro) == (2, 80 * 14)
    assert _kinds(session).count("trade") == 2 and _kinds(session).count("batch") == 1


def test_a_trade_may_fill_an_order_from_an_earlier_round_until_it_expires(session: LedgerSession) -> None:
    early = buy(1, 1, 0, quantity=20)
    session.settle(0, [early], [fill(early, 0, quantity=5)])
    session.settle(3, [], [fill(early, 3, quantity=5)])
    assert session.backend.filled(session.backend.address(AgentId(1)), 1) == 10
    late = session.ttl_rounds + 1
    with pytest.raises(LedgerError, match="fills buy order 1, which was never placed"):
        session.settle(late, [], [fill(early, late, quantity=5)])


def test_a_round_without_trades_settles_nothing(session: LedgerSession) -> None:
    outcome = session.settle(4, [buy(1, 1, 4)], [])
    assert outcome.trades == 0 and session.last_batch is None and "batch" not in _kinds(session)


def test_a_large_round_settles_as_several_capped_batches(session: LedgerSession) -> None:
    orders = [buy(n, 1 + n % 2, 2, quantity=1) for n in range(1, MAX_BATCH_TRADES + 11)]
    outcome = session.settle(2, orders, [fill(o, 2, quantity=1) for o in orders])
    assert outcome.trades == MAX_BATCH_TRADES + 10
    assert session.last_batch is not None and session.last_batch.batch_id == batch_id(2, 1)
    assert len(session.last_batch.trades) == 10


def test_unsigned_settlement_needs_the_unverified_memory_back_end(tmp_path: Path) -> None:
    log = TradeLogWriter(tmp_path / "trades.jsonl", {})
    with pytest.raises(LedgerError, match="unsigned settlement needs the memory back end without signature checks, not memory"):
        LedgerSession(MemoryBackend(SEED), log, sign=False)
    backend = MemoryBackend(SEED, verify_signatures=False)
    backend.open_accounts({AgentId(1): 10**6, AgentId(9): 0})
    unsigned = LedgerSession(backend, log, sign=False)
    a = buy(1, 1, 0)
    unsigned.settle(0, [a], [fill(a, 0)])
    assert backend.escrow_balance(AgentId(9)) == 800
