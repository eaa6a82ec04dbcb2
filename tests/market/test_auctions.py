"""Call double auctions (uniform, pay-as-bid, McAfee) and the continuous order book."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.auctions import AuctionResult, Match, OrderBook, Rule, clear_double_auction
from market.errors import MechanismError
from market.orders import AgentId, Order, OrderId, Resource, Side, Trade

E = Resource.ENERGY

# Smith (1962)-style symmetric market: values 325, 300, ..., 75 and costs 75, 100, ..., 325.
SMITH_BIDS = [(325 - 25 * i, 1) for i in range(11)]
SMITH_ASKS = [(75 + 25 * i, 1) for i in range(11)]


def order(i: int, side: Side, price: int, qty: int, owner: int | None = None, resource: Resource = E) -> Order:
    return Order(OrderId(i), AgentId(i if owner is None else owner), side, resource, qty, price)


def test_smith_market_clears_at_the_competitive_equilibrium() -> None:
    for rule in ("uniform", "mcafee"):
        r = clear_double_auction(SMITH_BIDS, SMITH_ASKS, rule)
        assert (r.clearing_price, r.volume, r.surplus, r.operator_revenue) == (200, 6, 750, 0)
    r = clear_double_auction(SMITH_BIDS, SMITH_ASKS, "pay-as-bid")
    assert r.clearing_price is None and r.volume == 6
    assert r.operator_revenue == r.surplus == 750  # buyers pay their bids, sellers get their asks
    assert [(f.buyer_price, f.seller_price) for f in r.fills][:2] == [(325, 75), (300, 100)]


def test_mcafee_reduces_one_trade_when_p0_is_outside_the_marginal_pair() -> None:
    bids = [(400, 1), (350, 1), (300, 1), (250, 1), (230, 1), (210, 1), (195, 1)]
    asks = [(100, 1), (120, 1), (140, 1), (160, 1), (180, 1), (190, 1), (260, 1)]
    # k = 6 (210 >= 190); p0 = (195 + 260) / 2 = 227.5 > b_k = 210: reduce to 5 trades
    r = clear_double_auction(bids, asks, "mcafee")
    assert r.volume == 5 and r.clearing_price is None
    assert {(f.buyer_price, f.seller_price) for f in r.fills} == {(210, 190)}
    assert r.operator_revenue == 5 * 20
    assert sorted(f.bid for f in r.fills) == [0, 1, 2, 3, 4]
    u = clear_double_auction(bids, asks, "uniform")
    assert u.volume == 6 and u.clearing_price == 195 + (210 - 195) // 2  # interval [195, 210]


def test_mcafee_trades_all_at_p0_when_inside() -> None:
    bids = [(10.0, 1), (8.0, 1), (6.0, 1), (4.0, 1)]
    asks = [(1.0, 1), (3.0, 1), (5.0, 1), (7.0, 1)]
    r = clear_double_auction(bids, asks, "mcafee")
    assert r.clearing_price == 5.5 and r.volume == 3  # float prices: exact midpoint of 4 and 7
    r_int = clear_double_auction([(int(p), q) for p, q in bids], [(int(p), q) for p, q in asks], "mcafee")
    assert r_int.clearing_price == 5  # integer prices: midpoint rounded down


def test_partial_fill_and_price_interval_with_quantities() -> None:
    r = clear_double_auction([(10, 5)], [(4, 3)])
    assert r.volume == 3 and r.clearing_price == 10  # the buyer still wants more at any lower price
    r = clear_double_auction([(10, 2), (7, 4)], [(3, 3), (6, 5)])
    # units: bids 10,10,7,7,7,7 vs asks 3,3,3,6,6,6,6,6 -> 6 units cross; next ask 6, no next bid
    assert r.volume == 6 and r.clearing_price == 6
    assert [(f.bid, f.ask, f.quantity) for f in r.fills] == [(0, 0, 2), (1, 0, 1), (1, 1, 3)]


def test_empty_and_non_crossing_books_are_normal_results() -> None:
    for rule in Rule:
        for bids, asks in (([], []), ([(5, 1)], []), ([], [(5, 1)]), ([(4, 3)], [(5, 3)])):
            r = clear_double_auction(bids, asks, rule)
            assert r == AuctionResult(rule, (), (), None, 0, 0, 0)


def test_orders_in_trades_out() -> None:
    bids = [order(1, Side.BUY, 500, 30), order(2, Side.BUY, 420, 50)]
    asks = [order(3, Side.SELL, 300, 40), order(4, Side.SELL, 450, 40)]
    r = clear_double_auction(bids, asks, "uniform", step=7)
    assert r.trades == (
        Trade(7, AgentId(1), AgentId(3), E, 420, 30, OrderId(1), OrderId(3)),
        Trade(7, AgentId(2), AgentId(3), E, 420, 10, OrderId(2), OrderId(3)),
    )
    assert r.clearing_price == 420  # interval [max(300, 420), min(420, 450)]
    pab = clear_double_auction(bids, asks, "pay-as-bid")
    assert [t.price for t in pab.trades] == [300, 300]  # type: ignore[union-attr]  # orders in, Trades out; they carry the seller's price ...
    assert pab.operator_revenue == 30 * 200 + 10 * 120  # ... and the buyers' spread goes to the operator


@pytest.mark.parametrize(
    ("bids", "asks", "rule", "message"),
    [
        ([(1, 1)], [(1, 1)], "vickrey", "unknown auction rule"),
        ([(-1, 1)], [], "uniform", r"bids\[0\]: price"),
        ([(float("nan"), 1)], [], "uniform", "finite"),
        ([], [(1, 1.5)], "uniform", r"asks\[0\]: quantity"),
        ([], [(1, -2)], "uniform", "non-negative integer"),
        ([(True, 1)], [], "uniform", "price"),
        ([(1, 2, 3)], [], "uniform", "pair"),
        ([order(1, Side.SELL, 1, 1)], [], "uniform", "expected buy"),
        ([order(1, Side.BUY, 1, 1), (1, 1)], [], "uniform", "mix"),
        ([order(1, Side.BUY, 1, 1)], [(1, 1)], "uniform", "both be orders"),
        (
            [order(1, Side.BUY, 1, 1)],
            [order(2, Side.SELL, 1, 1, resource=Resource.COMPUTE)],
            "uniform",
            "one resource",
        ),
    ],
)
def test_rejects_bad_books(bids: list, asks: list, rule: str, message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        clear_double_auction(bids, asks, rule)


book_side = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 4)), max_size=8)


def units(side: list[tuple[int, int]], reverse: bool) -> list[int]:
    return sorted((p for p, q in side for _ in range(q)), reverse=reverse)


def max_surplus(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> int:
    return sum(max(b - s, 0) for b, s in zip(units(bids, True), units(asks, False), strict=False))


@given(book_side, book_side, st.sampled_from(list(Rule)))
def test_invariants_of_every_rule(bids: list[tuple[int, int]], asks: list[tuple[int, int]], rule: Rule) -> None:
    r = clear_double_auction(bids, asks, rule)
    assert r.trades == r.fills
    for f in r.fills:
        assert f.quantity > 0
        assert asks[f.ask][0] <= f.seller_price <= f.buyer_price <= bids[f.bid][0]  # IR and no deficit
    for i, (_, q) in enumerate(bids):
        assert sum(f.quantity for f in r.fills if f.bid == i) <= q
    for j, (_, q) in enumerate(asks):
        assert sum(f.quantity for f in r.fills if f.ask == j) <= q
    assert r.volume == sum(f.quantity for f in r.fills)
    assert r.operator_revenue >= 0
    best = max_surplus(bids, asks)
    if rule is Rule.MCAFEE:
        assert best - r.surplus <= max(bids, default=(0, 0))[0]  # at most the marginal unit is lost
    else:
        assert r.surplus == best  # efficient: every unit with value >= cost trades


@given(book_side, book_side)
def test_uniform_price_clears_the_market(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
    r = clear_double_auction(bids, asks, "uniform")
    if r.clearing_price is None:
        assert r.volume == 0
        return
    p = r.clearing_price
    assert r.operator_revenue == 0
    assert sum(q for b, q in bids if b > p) <= r.volume <= sum(q for b, q in bids if b >= p)
    assert sum(q for s, q in asks if s < p) <= r.volume <= sum(q for s, q in asks if s <= p)


unit_prices = st.one_of(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=7),
    st.lists(st.integers(0, 100), min_size=1, max_size=7),  # integer prices: midpoints rounded down
)


def utility(r: AuctionResult, side: Side, index: int, true_value: float) -> float:
    if side is Side.BUY:
        return sum((true_value - f.buyer_price) * f.quantity for f in r.fills if f.bid == index)
    return sum((f.seller_price - true_value) * f.quantity for f in r.fills if f.ask == index)


@given(unit_prices, unit_prices, st.data())
def test_mcafee_is_truthful_for_single_unit_traders(bid_p: list[float], ask_p: list[float], data: st.DataObject) -> None:
    bids = [(p, 1) for p in bid_p]
    asks = [(p, 1) for p in ask_p]
    side = data.draw(st.sampled_from([Side.BUY, Side.SELL]))
    book = bids if side is Side.BUY else asks
    i = data.draw(st.integers(0, len(book) - 1))
    lie = data.draw(st.integers(0, 120) if isinstance(book[i][0], int) else st.floats(0, 120, allow_nan=False))
    truth = clear_double_auction(bids, asks, "mcafee")
    lied_book = [*book[:i], (lie, 1), *book[i + 1 :]]
    lied = clear_double_auction(*((lied_book, asks) if side is Side.BUY else (bids, lied_book)), "mcafee")
    assert utility(lied, side, i, book[i][0]) <= utility(truth, side, i, book[i][0]) + 1e-9


def test_uniform_price_is_manipulable_which_mcafee_prevents() -> None:
    bids = [(10, 1), (8, 1)]
    asks = [(2, 1), (6, 1)]
    honest = clear_double_auction(bids, asks, "uniform")  # both trade; interval [6, 8] -> price 7
    shaded = clear_double_auction([(10, 1), (6, 1)], asks, "uniform")
    assert utility(shaded, Side.BUY, 1, 8) > utility(honest, Side.BUY, 1, 8)


# ---- continuous double auction ----


def test_book_price_time_priority_and_resting_prices() -> None:
    book = OrderBook(E)
    assert book.submit(order(1, Side.SELL, 105, 5)) == []
    assert book.submit(order(2, Side.SELL, 100, 5)) == []
    assert book.submit(order(3, Side.SELL, 100, 5)) == []  # same price, later: behind order 2
    assert (book.best_bid, book.best_ask, len(book)) == (None, 100, 3)
    trades = book.submit(order(4, Side.BUY, 110, 12), step=3)
    assert [(t.sell_order, t.price, t.quantity, t.step) for t in trades] == [(2, 100, 5, 3), (3, 100, 5, 3), (1, 105, 2, 3)]
    assert [(o.order_id, o.quantity) for o in book.resting(Side.SELL)] == [(1, 3)]
    assert book.best_bid is None  # the buy was filled whole
    assert book.submit(order(5, Side.BUY, 104, 4)) == []
    assert book.best_bid == 104 and book.best_ask == 105
    trades = book.submit(order(6, Side.SELL, 90, 10))
    assert [(t.buy_order, t.price, t.quantity) for t in trades] == [(5, 104, 4)]  # at the resting bid's price
    assert [(o.order_id, o.quantity) for o in book.resting(Side.SELL)] == [(6, 6), (1, 3)]


def test_book_skips_own_orders_and_keeps_their_place() -> None:
    book = OrderBook(E)
    book.submit(order(1, Side.SELL, 100, 2, owner=7))
    book.submit(order(2, Side.SELL, 101, 2, owner=8))
    trades = book.submit(order(3, Side.BUY, 101, 3, owner=7))
    assert [(t.seller, t.quantity) for t in trades] == [(8, 2)]
    assert [o.order_id for o in book.resting(Side.SELL)] == [1]
    assert [(o.order_id, o.quantity) for o in book.resting(Side.BUY)] == [(3, 1)]


def test_book_cancel_clear_and_resubmit() -> None:
    book = OrderBook(E)
    book.submit(order(1, Side.BUY, 50, 1))
    assert book.cancel(OrderId(1)) and not book.cancel(OrderId(1))
    assert book.best_bid is None
    book.submit(order(1, Side.BUY, 40, 1))  # the same id again, at a new price
    assert book.best_bid == 40
    assert book.submit(order(2, Side.SELL, 0, 0)) == []  # nothing to do
    book.clear()
    assert len(book) == 0 and book.best_ask is None


def test_book_rejects_bad_orders() -> None:
    book = OrderBook(E)
    book.submit(order(1, Side.BUY, 50, 1))
    with pytest.raises(MechanismError, match="already in the book"):
        book.submit(order(1, Side.BUY, 50, 1))
    with pytest.raises(MechanismError, match="this book trades energy"):
        book.submit(order(2, Side.BUY, 50, 1, resource=Resource.COMPUTE))
    with pytest.raises(MechanismError, match="negative"):
        book.submit(order(3, Side.SELL, -5, 1))


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 30), st.integers(1, 5)), max_size=40))
def test_book_never_crosses_and_conserves_quantity(flow: list[tuple[bool, int, int]]) -> None:
    book = OrderBook(E)
    orders = [order(i, Side.BUY if buy else Side.SELL, p, q) for i, (buy, p, q) in enumerate(flow)]
    trades = [t for o in orders for t in book.submit(o)]
    by_id = {o.order_id: o for o in orders}
    for t in trades:
        assert by_id[t.sell_order].limit_price <= t.price <= by_id[t.buy_order].limit_price
        assert t.buyer != t.seller
    resting = {o.order_id: o.quantity for side in Side for o in book.resting(side)}
    for o in orders:
        traded = sum(t.quantity for t in trades if o.order_id in (t.buy_order, t.sell_order))
        assert traded + resting.get(o.order_id, 0) == o.quantity
    if book.best_bid is not None and book.best_ask is not None:
        assert book.best_bid < book.best_ask


def test_fill_amounts() -> None:
    f = Match(0, 0, 3, 12, 10)
    assert (f.buyer_amount, f.seller_amount) == (36, 30)


def test_numpy_numbers_are_accepted() -> None:
    r = clear_double_auction([(np.int64(10), np.int64(2))], [(np.int64(4), np.int64(2))])  # type: ignore[list-item]  # numpy on purpose
    assert (r.clearing_price, r.volume) == (7, 2) and isinstance(r.clearing_price, int)
