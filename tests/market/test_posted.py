"""Posted-price matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import MechanismError
from market.orders import AgentId, Order, OrderId, Resource, Side
from market.posted import match_posted

C = Resource.COMPUTE


def buy(i: int, owner: int, qty: int, limit: int) -> Order:
    return Order(OrderId(i), AgentId(owner), Side.BUY, C, qty, limit)


def sell(i: int, owner: int, qty: int, price: int) -> Order:
    return Order(OrderId(i), AgentId(owner), Side.SELL, C, qty, price)


def test_cheapest_fit_wins_and_whole_requests_only() -> None:
    sells = [sell(1, 100, 10, 5), sell(2, 101, 3, 2)]
    trades = match_posted(0, [buy(10, 1, 3, 9), buy(11, 2, 4, 9), buy(12, 3, 7, 9)], sells)
    assert [(t.buyer, t.seller, t.price, t.quantity) for t in trades] == [(1, 101, 2, 3), (2, 100, 5, 4)]
    # the third buy (7) no longer fits: 6 left at seller 100, 0 at 101


def test_limit_price_respected() -> None:
    assert match_posted(0, [buy(1, 1, 1, 4)], [sell(2, 9, 5, 5)]) == []


def test_no_self_trade_and_other_resources_ignored() -> None:
    energy = Order(OrderId(3), AgentId(9), Side.SELL, Resource.ENERGY, 5, 1)
    assert match_posted(0, [buy(1, 9, 1, 9)], [sell(2, 9, 5, 1), energy]) == []


def test_rejects_negative_and_wrong_side() -> None:
    with pytest.raises(MechanismError, match="negative"):
        match_posted(0, [buy(1, 1, -1, 5)], [])
    with pytest.raises(MechanismError, match="buy orders and sell orders"):
        match_posted(0, [sell(1, 1, 1, 5)], [])


@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 20)), max_size=12),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=5),
)
def test_invariants(buys: list[tuple[int, int]], sells: list[tuple[int, int]]) -> None:
    b = [buy(i, i, q, p) for i, (q, p) in enumerate(buys)]
    s = [sell(1000 + j, 1000 + j, q, p) for j, (q, p) in enumerate(sells)]
    trades = match_posted(0, b, s)
    by_id = {o.order_id: o for o in (*b, *s)}
    for t in trades:
        assert t.quantity == by_id[t.buy_order].quantity  # filled whole
        assert t.price == by_id[t.sell_order].limit_price <= by_id[t.buy_order].limit_price
    for o in s:
        assert sum(t.quantity for t in trades if t.sell_order == o.order_id) <= o.quantity
    assert len({t.buy_order for t in trades}) == len(trades)
