"""Signing a round's buy orders and laying the round out as one contract batch."""

from __future__ import annotations

import pytest
from eth_typing import ChecksumAddress

from ledger.batch import (
    UNSIGNED,
    BatchOrder,
    BatchPayment,
    BatchTrade,
    Fill,
    assemble_batch,
    batch_gas,
    build_batch,
    settlement_order,
    settlement_payment,
    sign_orders,
    sign_payments,
)
from ledger.errors import LedgerError
from ledger.keys import address_number, agent_address, agent_signing_key
from ledger.merkle import memo_hash, payment_leaf, trade_leaf
from ledger.signing import BUY, RESOURCE_CODES, SELL, OrderDomain, SignedOrder, order_expiry, recover_payment_signer, recover_signer
from market.orders import AgentId, Order, OrderId, Payment, Resource, Side, Trade

SEED = 4
DOMAIN = OrderDomain(1, agent_address(0, 0))


def address(agent: AgentId) -> ChecksumAddress:
    return agent_address(SEED, int(agent))


def key(agent: AgentId):
    return agent_signing_key(SEED, int(agent))


def buy(order_id: int, owner: int, quantity: int = 10, limit: int = 50, step: int = 2) -> Order:
    return Order(OrderId(order_id), AgentId(owner), Side.BUY, Resource.ENERGY, quantity, limit, step)


def sell(order_id: int, owner: int, quantity: int = 100, limit: int = 30, step: int = 2) -> Order:
    return Order(OrderId(order_id), AgentId(owner), Side.SELL, Resource.ENERGY, quantity, limit, step)


def trade(order: Order, ask: Order, price: int = 40, quantity: int = 5) -> Trade:
    return Trade(order.step, order.owner, ask.owner, order.resource, price, quantity, order.order_id, ask.order_id)


def book(*orders: Order) -> dict[OrderId, Order]:
    return {o.order_id: o for o in orders}


S20, S21 = sell(120, 20), sell(121, 21)


def test_sign_orders_signs_each_filled_order_of_either_side_once_with_its_owner_key() -> None:
    a, b = buy(1, 10), buy(2, 11, step=0)
    trades = [trade(a, S20), trade(a, S21), trade(b, S20)]
    signed = sign_orders(trades, book(a, b, S20, S21), DOMAIN, address, key)
    assert set(signed) == {1, 2, 120, 121}
    assert signed[OrderId(1)].order == settlement_order(a, address(AgentId(10)))
    assert signed[OrderId(1)].order.resource == RESOURCE_CODES[Resource.ENERGY]
    assert (signed[OrderId(1)].order.side, signed[OrderId(120)].order.side) == (BUY, SELL)
    assert signed[OrderId(2)].order.expiry == order_expiry(0)
    for so in signed.values():
        assert recover_signer(DOMAIN, so.order, so.signature) == so.order.owner
    unsigned = sign_orders(trades, book(a, b, S20, S21), DOMAIN, address, None)
    assert {so.signature for so in unsigned.values()} == {UNSIGNED}


def test_sign_orders_refuses_trades_that_do_not_match_their_orders() -> None:
    a = buy(1, 10)
    with pytest.raises(LedgerError, match="fills buy order 1, which was never placed"):
        sign_orders([trade(a, S20)], book(S20), DOMAIN, address, key)
    with pytest.raises(LedgerError, match="fills sell order 120, which was never placed"):
        sign_orders([trade(a, S20)], book(a), DOMAIN, address, key)
    as_sell = Order(OrderId(1), AgentId(10), Side.SELL, Resource.ENERGY, 10, 50, 2)
    with pytest.raises(LedgerError, match="order 1 is not a energy buy order of agent 10"):
        sign_orders([trade(a, S20)], book(as_sell, S20), DOMAIN, address, key)
    other = buy(1, 12)
    with pytest.raises(LedgerError, match="not a energy buy order of agent 10"):
        sign_orders([trade(a, S20)], book(other, S20), DOMAIN, address, key)
    with pytest.raises(LedgerError, match="order 121 is not a energy sell order of agent 20"):
        sign_orders([Trade(2, AgentId(10), AgentId(20), Resource.ENERGY, 40, 5, OrderId(1), OrderId(121))], book(a, S21), DOMAIN, address, key)


def test_sign_payments_signs_each_with_its_payers_key() -> None:
    payments = [Payment(1, AgentId(10), AgentId(20), 500, 3, "nash-bargain"), Payment(2, AgentId(11), AgentId(10), 7, 3, "fee")]
    signed = sign_payments(payments, DOMAIN, address, key)
    assert [sp.payment.payer for sp in signed] == [address(AgentId(10)), address(AgentId(11))]
    assert signed[0].payment == settlement_payment(payments[0], address(AgentId(10)), address(AgentId(20)))
    assert signed[0].payment.memo == memo_hash("nash-bargain") and signed[0].payment.expiry == order_expiry(3)
    for sp in signed:
        assert recover_payment_signer(DOMAIN, sp.payment, sp.signature) == sp.payment.payer
    assert {sp.signature for sp in sign_payments(payments, DOMAIN, address, None)} == {UNSIGNED}


def test_build_batch_sorts_participants_and_indexes_orders_trades_and_payments() -> None:
    a, b = buy(1, 10), buy(2, 11)
    trades = [trade(a, S20, 40, 5), trade(b, S20, 30, 2), trade(a, S21, 45, 5)]
    signed = sign_orders(trades, book(a, b, S20, S21), DOMAIN, address, key)
    (pay,) = sign_payments([Payment(9, AgentId(11), AgentId(30), 70, 2, "fee")], DOMAIN, address, key)
    batch = build_batch(7, trades, signed, address, [pay])
    assert batch.batch_id == 7
    assert list(batch.participants) == sorted({address(AgentId(x)) for x in (10, 11, 20, 21, 30)}, key=lambda s: int(s, 16))
    index = {p: i for i, p in enumerate(batch.participants)}
    assert batch.orders == (
        BatchOrder(signed[OrderId(1)], index[address(AgentId(10))]),
        BatchOrder(signed[OrderId(120)], index[address(AgentId(20))]),
        BatchOrder(signed[OrderId(2)], index[address(AgentId(11))]),
        BatchOrder(signed[OrderId(121)], index[address(AgentId(21))]),
    )
    assert batch.trades == (BatchTrade(0, 1, 40, 5), BatchTrade(2, 1, 30, 2), BatchTrade(0, 3, 45, 5))
    assert batch.payments == (BatchPayment(pay, index[address(AgentId(11))], index[address(AgentId(30))]),)
    assert (batch.volume, batch.paid) == (200 + 60 + 225, 70)
    deltas = dict(zip(batch.participants, batch.deltas(), strict=True))
    assert deltas[address(AgentId(10))] == -425 and deltas[address(AgentId(11))] == -60 - 70
    assert deltas[address(AgentId(20))] == 260 and deltas[address(AgentId(30))] == 70
    assert sum(batch.deltas()) == 0
    batch_id, participants, orders, trade_tuples, payment_tuples = batch.call_args()
    assert (batch_id, participants, trade_tuples[0]) == (7, list(batch.participants), (0, 1, 40, 5))
    assert orders[0][1] == index[address(AgentId(10))] and len(orders[0][3]) == 32
    assert payment_tuples[0][1:3] == (index[address(AgentId(11))], index[address(AgentId(30))])
    # the leaves of the batch root: the trades, then the payments
    leaves = batch.leaf_data()
    assert leaves[0] == trade_leaf(address(AgentId(10)), 1, address(AgentId(20)), 120, RESOURCE_CODES[Resource.ENERGY], 40, 5)
    assert leaves[3] == payment_leaf(address(AgentId(11)), 9, address(AgentId(30)), 70, memo_hash("fee"))
    assert len(leaves) == 4


def test_build_batch_errors() -> None:
    a = buy(1, 10)
    signed = sign_orders([trade(a, S20)], book(a, S20), DOMAIN, address, key)
    with pytest.raises(LedgerError, match="fills order 1, which is not signed"):
        build_batch(1, [trade(a, S20)], {}, address)
    impostor = Trade(2, AgentId(12), AgentId(20), Resource.ENERGY, 40, 5, OrderId(1), OrderId(120))
    with pytest.raises(LedgerError, match="order 1 is signed for .* not the trade's party"):
        build_batch(1, [impostor], signed, address)
    with pytest.raises(LedgerError, match=r"price 18446744073709551616 or quantity 1 is outside 0..2\*\*64-1"):
        assemble_batch(3, [Fill(signed[OrderId(1)], signed[OrderId(120)], 2**64, 1)])


def test_batch_gas_grows_with_the_batch_and_stays_below_the_block_limit() -> None:
    a = buy(1, 10, quantity=10**6)
    signed = sign_orders([trade(a, S20)], book(a, S20), DOMAIN, address, key)
    f = Fill(signed[OrderId(1)], signed[OrderId(120)], 1, 1)
    one = assemble_batch(1, [f])
    many = assemble_batch(1, [f] * 200)
    assert batch_gas(one) < batch_gas(many) <= 29_000_000
    assert batch_gas(assemble_batch(1, [f] * 5_000)) == 29_000_000


def test_equal_signed_orders_share_one_place_and_different_ones_do_not() -> None:
    a = buy(1, 10)
    signed = sign_orders([trade(a, S20)], book(a, S20), DOMAIN, address, key)
    bid, ask = signed[OrderId(1)], signed[OrderId(120)]
    twin = SignedOrder(bid.order, bid.signature)  # equal, another object (as a replay makes)
    other = sign_orders([trade(buy(1, 10, limit=60), S20)], book(buy(1, 10, limit=60), S20), DOMAIN, address, key)[OrderId(1)]
    batch = assemble_batch(1, [Fill(bid, ask, 1, 1), Fill(twin, ask, 1, 1), Fill(other, ask, 1, 1), Fill(twin, ask, 1, 1)])
    assert [bo.signed for bo in batch.orders] == [bid, ask, other]
    assert [(t.bid, t.ask) for t in batch.trades] == [(0, 1), (0, 1), (2, 1), (0, 1)]


def test_address_number_is_the_address_as_a_hex_number() -> None:
    for agent in range(20):
        assert address_number(address(AgentId(agent))) == int(address(AgentId(agent)), 16)
    assert address_number("0x" + "ff" * 20) == 2**160 - 1
    with pytest.raises(ValueError):
        address_number("not an address")
