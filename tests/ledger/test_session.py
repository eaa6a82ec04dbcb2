"""LedgerSession: signs each round's buy orders with their owners' keys, logs, then settles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.backends import MemoryBackend
from ledger.batch import MAX_BATCH_TRADES, batch_id
from ledger.errors import LedgerError, SettlementRejected
from ledger.session import LedgerSession
from ledger.signing import BUY, SELL, recover_payment_signer, recover_signer
from ledger.tradelog import TradeLogWriter
from market.orders import AgentId, Order, OrderId, Payment, Resource, Side, Trade

SEED = 5


def buy(order_id: int, owner: int, step: int, quantity: int = 10) -> Order:
    return Order(OrderId(order_id), AgentId(owner), Side.BUY, Resource.COMPUTE, quantity, 100, step)


def ask(seller: int = 9, step: int = 0, order_id: int = 900) -> Order:
    """The seller's standing ask (order id 900 + seller unless given)."""
    return Order(OrderId(order_id + seller if order_id == 900 else order_id), AgentId(seller), Side.SELL, Resource.COMPUTE, 10**6, 50, step)


def fill(order: Order, step: int, seller: int = 9, quantity: int = 10) -> Trade:
    return Trade(step, order.owner, AgentId(seller), order.resource, 80, quantity, order.order_id, ask(seller).order_id)


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
    outcome = session.settle(0, [a, b, ask()], [fill(a, 0), fill(b, 0, quantity=4)])
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
    session.settle(0, [early, ask()], [fill(early, 0, quantity=5)])
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
    outcome = session.settle(2, [*orders, ask(step=2)], [fill(o, 2, quantity=1) for o in orders])
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
    unsigned.settle(0, [a, ask()], [fill(a, 0)])
    assert backend.escrow_balance(AgentId(9)) == 800


def test_both_sides_are_authorized_in_the_log_and_sign(session: LedgerSession) -> None:
    a = buy(1, 1, 0)
    session.settle(0, [a, ask()], [fill(a, 0)])
    session.log.sync()
    lines = [json.loads(line) for line in session.log.path.read_text().splitlines()]
    authorized = {line["order_id"] for line in lines if line["kind"] == "authorization"}
    assert authorized == {1, 909}
    batch = session.last_batch
    assert batch is not None
    assert {bo.signed.order.side for bo in batch.orders} == {BUY, SELL}
    for bo in batch.orders:
        assert recover_signer(session.backend.domain, bo.signed.order, bo.signed.signature) == bo.signed.order.owner


def test_payments_are_signed_logged_and_settled_in_the_rounds_batch(session: LedgerSession) -> None:
    a = buy(1, 1, 0)
    payments = [Payment(1, AgentId(2), AgentId(9), 1_234, 0, "nash-bargain"), Payment(2, AgentId(9), AgentId(1), 10, 0, "fee")]
    outcome = session.settle(0, [a, ask()], [fill(a, 0)], payments)
    assert outcome.trades == 1
    backend = session.backend
    assert backend.escrow_balance(AgentId(2)) == 10**9 - 1_234
    assert backend.escrow_balance(AgentId(9)) == 10**9 + 800 + 1_234 - 10
    assert backend.escrow_balance(AgentId(1)) == 10**9 - 800 + 10
    batch = session.last_batch
    assert batch is not None and len(batch.payments) == 2 and batch.paid == 1_244
    for bp in batch.payments:
        assert recover_payment_signer(backend.domain, bp.signed.payment, bp.signed.signature) == bp.signed.payment.payer
    session.log.sync()
    lines = [json.loads(line) for line in session.log.path.read_text().splitlines()]
    logged = [line for line in lines if line["kind"] == "payment"]
    assert [(p["payment_id"], p["payer"], p["payee"], p["amount"], p["memo"]) for p in logged] == [
        (1, 2, 9, 1_234, "nash-bargain"),
        (2, 9, 1, 10, "fee"),
    ]
    (batch_line,) = [line for line in lines if line["kind"] == "batch"]
    assert (batch_line["payments"], batch_line["paid"]) == (2, 1_244)
    # a round with payments only settles them in a batch of their own; a payment id pays once
    session.settle(1, [], [], [Payment(3, AgentId(1), AgentId(2), 5, 1, "penalty")])
    assert backend.escrow_balance(AgentId(2)) == 10**9 - 1_234 + 5
    with pytest.raises(SettlementRejected, match="PaymentAlreadySettled"):
        session.settle(2, [], [], [Payment(3, AgentId(1), AgentId(2), 5, 2, "penalty")])


def test_a_log_with_asks_and_payments_replays_verified(tmp_path: Path) -> None:
    from ledger.replay import replay

    backend = MemoryBackend(SEED)
    session = LedgerSession(backend, TradeLogWriter(tmp_path / "trades.jsonl", {"seed": SEED}))
    session.open_accounts({AgentId(a): 10**9 for a in (1, 2, 9)})
    a = buy(1, 1, 0)
    session.settle(0, [a, ask()], [fill(a, 0)], [Payment(1, AgentId(2), AgentId(9), 77, 0, "nash-bargain")])
    session.settle(1, [], [], [Payment(2, AgentId(9), AgentId(1), 5, 1, "fee")])
    session.close(2)
    result = replay(tmp_path / "trades.jsonl")
    assert (result.verified, result.trades, result.batches) == (True, 1, 2)
