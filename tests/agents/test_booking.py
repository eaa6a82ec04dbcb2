"""RoundBook: legs become exact integer trades and one order per agent, side and resource."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.booking import RoundBook
from market.orders import AgentId, Resource, Side

legs = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(5, 8),
        st.sampled_from(list(Resource)),
        st.integers(1, 10_000),
        st.integers(0, 10**9),
    ),
    min_size=1,
    max_size=40,
)


@given(legs, st.integers(1, 100))
def test_trades_pay_each_leg_exactly_and_orders_cover_them(raw: list[tuple[int, int, Resource, int, int]], first_id: int) -> None:
    book = RoundBook(itertools.count(first_id), step=3)
    for buyer, seller, resource, quantity, amount in raw:
        book.add(AgentId(buyer), AgentId(seller), resource, quantity, amount)
    orders, trades = book.close()

    # ids are fresh and consecutive, in order of first appearance: the leg's buyer, then its seller
    assert [o.order_id for o in orders] == list(range(first_id, first_id + len(orders)))
    expected_keys = list(dict.fromkeys(k for b, s, r, _, _ in raw for k in ((b, Side.BUY, r), (s, Side.SELL, r))))
    assert [(o.owner, o.side, o.resource) for o in orders] == expected_keys

    # each leg becomes one or two trades at adjacent integer prices moving exactly its amount
    it = iter(trades)
    for buyer, seller, resource, quantity, amount in raw:
        price, extra = divmod(amount, quantity)
        pieces = [next(it)] + ([next(it)] if extra else [])
        assert sum(t.quantity for t in pieces) == quantity and sum(t.amount for t in pieces) == amount
        assert all((t.buyer, t.seller, t.resource, t.step) == (buyer, seller, resource, 3) for t in pieces)
        assert [t.price for t in pieces] == ([price, price + 1] if extra else [price])
    assert next(it, None) is None

    by_id = {o.order_id: o for o in orders}
    filled: dict[int, int] = defaultdict(int)
    for t in trades:
        buy, sell = by_id[t.buy_order], by_id[t.sell_order]
        assert (buy.owner, buy.side, buy.resource) == (t.buyer, Side.BUY, t.resource) and t.price <= buy.limit_price
        assert (sell.owner, sell.side, sell.resource) == (t.seller, Side.SELL, t.resource) and t.price >= sell.limit_price
        filled[t.buy_order] += t.quantity
        filled[t.sell_order] += t.quantity
    for o in orders:  # each order is exactly filled, its limit the extreme price it trades at
        assert filled[o.order_id] == o.quantity
        prices = [t.price for t in trades if o.order_id in (t.buy_order, t.sell_order)]
        assert o.limit_price == (max(prices) if o.side is Side.BUY else min(prices))


def test_empty_legs_are_dropped_and_an_empty_round_has_nothing() -> None:
    book = RoundBook(itertools.count(1), step=1)
    book.add(AgentId(1), AgentId(2), Resource.ENERGY, 0, 0)
    assert book.close() == ([], [])


@pytest.mark.parametrize(
    ("quantity", "amount", "message"),
    [(-1, 5, "negative leg"), (5, -1, "negative leg"), (0, 7, "for no units")],
)
def test_bad_legs_are_refused(quantity: int, amount: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RoundBook(itertools.count(1), step=1).add(AgentId(1), AgentId(2), Resource.COMPUTE, quantity, amount)
