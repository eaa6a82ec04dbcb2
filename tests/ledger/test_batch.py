"""Signing a round's buy orders and laying the round out as one contract batch."""

from __future__ import annotations

import pytest

from ledger.batch import (
    UNSIGNED,
    BatchOrder,
    BatchTrade,
    Fill,
    assemble_batch,
    batch_gas,
    build_batch,
    settlement_order,
    sign_orders,
)
from ledger.errors import LedgerError
from ledger.keys import address_number, agent_address, agent_signing_key
from ledger.signing import RESOURCE_CODES, OrderDomain, SignedOrder, order_expiry, recover_signer
from market.orders import AgentId, Order, OrderId, Resource, Side, Trade

SEED = 4
DOMAIN = OrderDomain(1, agent_address(0, 0))


def address(agent: AgentId) -> str:
    return agent_address(SEED, int(agent))


def key(agent: AgentId):  # type: ignore[no-untyped-def]
    return agent_signing_key(SEED, int(agent))


def buy(order_id: int, owner: int, quantity: int = 10, limit: int = 50, step: int = 2) -> Order:
    return Order(OrderId(order_id), AgentId(owner), Side.BUY, Resource.ENERGY, quantity, limit, step)


def trade(order: Order, seller: int, price: int = 40, quantity: int = 5) -> Trade:
    return Trade(order.step, order.owner, AgentId(seller), order.resource, price, quantity, order.order_id, OrderId(999))


def test_sign_orders_signs_each_filled_buy_order_once_with_its_owner_key() -> None:
    a, b = buy(1, 10), buy(2, 11, step=0)
    trades = [trade(a, 20), trade(a, 21), trade(b, 20)]
    signed = sign_orders(trades, {a.order_id: a, b.order_id: b}, DOMAIN, address, key)
    assert set(signed) == {1, 2}
    assert signed[OrderId(1)].order == settlement_order(a, address(AgentId(10)))
    assert signed[OrderId(1)].order.resource == RESOURCE_CODES[Resource.ENERGY]
    assert signed[OrderId(2)].order.expiry == order_expiry(0)
    for so in signed.values():
        assert recover_signer(DOMAIN, so.order, so.signature) == so.order.owner
    unsigned = sign_orders(trades, {a.order_id: a, b.order_id: b}, DOMAIN, address, None)
    assert {so.signature for so in unsigned.values()} == {UNSIGNED}


def test_sign_orders_refuses_trades_that_do_not_match_their_order() -> None:
    a = buy(1, 10)
    with pytest.raises(LedgerError, match="fills buy order 1, which was never placed"):
        sign_orders([trade(a, 20)], {}, DOMAIN, address, key)
    sell = Order(OrderId(1), AgentId(10), Side.SELL, Resource.ENERGY, 10, 50, 2)
    with pytest.raises(LedgerError, match="order 1 is not a energy buy order of agent 10"):
        sign_orders([trade(a, 20)], {sell.order_id: sell}, DOMAIN, address, key)
    other = buy(1, 12)
    with pytest.raises(LedgerError, match="not a energy buy order of agent 10"):
        sign_orders([trade(a, 20)], {other.order_id: other}, DOMAIN, address, key)


def test_build_batch_sorts_participants_and_indexes_orders_and_trades() -> None:
    a, b = buy(1, 10), buy(2, 11)
    trades = [trade(a, 20, 40, 5), trade(b, 10, 30, 2), trade(a, 21, 45, 5)]
    signed = sign_orders(trades, {a.order_id: a, b.order_id: b}, DOMAIN, address, key)
    batch = build_batch(7, trades, signed, address)
    assert batch.batch_id == 7
    assert list(batch.participants) == sorted({address(AgentId(x)) for x in (10, 11, 20, 21)}, key=lambda s: int(s, 16))
    index = {p: i for i, p in enumerate(batch.participants)}
    assert batch.orders == (
        BatchOrder(signed[OrderId(1)], index[address(AgentId(10))]),
        BatchOrder(signed[OrderId(2)], index[address(AgentId(11))]),
    )
    assert batch.trades == (
        BatchTrade(0, index[address(AgentId(20))], 40, 5),
        BatchTrade(1, index[address(AgentId(10))], 30, 2),
        BatchTrade(0, index[address(AgentId(21))], 45, 5),
    )
    assert batch.volume == 200 + 60 + 225
    deltas = dict(zip(batch.participants, batch.deltas(), strict=True))
    assert deltas[address(AgentId(10))] == -425 + 60 and deltas[address(AgentId(11))] == -60
    assert sum(batch.deltas()) == 0
    batch_id, participants, orders, trade_tuples = batch.call_args()
    assert (batch_id, participants, trade_tuples[0]) == (7, list(batch.participants), (0, index[address(AgentId(20))], 40, 5))
    assert orders[0][1] == index[address(AgentId(10))] and len(orders[0][3]) == 32


def test_build_batch_errors() -> None:
    a = buy(1, 10)
    signed = sign_orders([trade(a, 20)], {a.order_id: a}, DOMAIN, address, key)
    with pytest.raises(LedgerError, match="fills buy order 1, which is not signed"):
        build_batch(1, [trade(a, 20)], {}, address)
    impostor = Trade(2, AgentId(12), AgentId(20), Resource.ENERGY, 40, 5, OrderId(1), OrderId(9))
    with pytest.raises(LedgerError, match="buy order 1 is signed for .* not the buyer"):
        build_batch(1, [impostor], signed, address)
    with pytest.raises(LedgerError, match=r"price 18446744073709551616 or quantity 1 is outside 0..2\*\*64-1"):
        assemble_batch(3, [Fill(signed[OrderId(1)], address(AgentId(20)), 2**64, 1)])


def test_batch_gas_grows_with_the_batch_and_stays_below_the_block_limit() -> None:
    a = buy(1, 10, quantity=10**6)
    signed = sign_orders([trade(a, 20)], {a.order_id: a}, DOMAIN, address, key)
    one = assemble_batch(1, [Fill(signed[OrderId(1)], address(AgentId(20)), 1, 1)])
    many = assemble_batch(1, [Fill(signed[OrderId(1)], address(AgentId(20)), 1, 1)] * 200)
    assert batch_gas(one) < batch_gas(many) <= 29_000_000
    huge = assemble_batch(1, [Fill(signed[OrderId(1)], address(AgentId(20)), 1, 1)] * 5_000)
    assert batch_gas(huge) == 29_000_000


def test_equal_signed_orders_share_one_place_and_different_ones_do_not() -> None:
    a = buy(1, 10)
    signed = sign_orders([trade(a, 20)], {a.order_id: a}, DOMAIN, address, key)[OrderId(1)]
    twin = SignedOrder(signed.order, signed.signature)  # equal, another object (as a replay makes)
    other = sign_orders([trade(buy(1, 10, limit=60), 20)], {a.order_id: buy(1, 10, limit=60)}, DOMAIN, address, key)[OrderId(1)]
    seller = address(AgentId(20))
    batch = assemble_batch(1, [Fill(signed, seller, 1, 1), Fill(twin, seller, 1, 1), Fill(other, seller, 1, 1), Fill(twin, seller, 1, 1)])
    assert [bo.signed for bo in batch.orders] == [signed, other]
    assert [t.order for t in batch.trades] == [0, 0, 1, 0]


def test_address_number_is_the_address_as_a_hex_number() -> None:
    for agent in range(20):
        assert address_number(address(AgentId(agent))) == int(address(AgentId(agent)), 16)
    assert address_number("0x" + "ff" * 20) == 2**160 - 1
    with pytest.raises(ValueError):
        address_number("not an address")
