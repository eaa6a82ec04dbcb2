"""Auditing clearings: budget balance, IR, efficiency, and profitable misreports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.auctions import AuctionResult, Rule, clear_double_auction
from market.audit import audit_double_auction
from market.errors import MechanismError
from market.orders import AgentId, Order, OrderId, Resource, Side

BIDS = [(10, 1), (8, 1)]
ASKS = [(2, 1), (6, 1)]


def test_uniform_price_is_balanced_efficient_but_manipulable() -> None:
    r = audit_double_auction(BIDS, ASKS, "uniform")
    assert r.budget_balanced and r.weakly_budget_balanced and r.individually_rational
    assert (r.surplus, r.optimal_surplus, r.efficiency) == (10, 10, 1.0)
    # price 7 (interval [6, 8]); the buyer valuing 10 bids 7 (shaded 30 %): interval [6, 7], pays 6
    m = r.best_misreport
    assert m is not None and (m.side, m.index, m.true_price, m.reported_price, m.gain) == (Side.BUY, 0, 10, 7, 1)
    assert r.best_misreport_gain == 1


def test_mcafee_trades_efficiency_for_truthfulness() -> None:
    r = audit_double_auction(BIDS, ASKS, "mcafee")
    # k = 2, no (k+1)-th traders: reduce to one trade; buyer pays 8, seller gets 6
    assert r.surplus == 8 and r.efficiency == pytest.approx(0.8)
    assert r.budget_surplus == 2 and not r.budget_balanced and r.weakly_budget_balanced
    assert r.individually_rational and r.best_misreport is None and r.best_misreport_gain == 0.0


def test_pay_as_bid_runs_a_surplus_and_invites_shading() -> None:
    r = audit_double_auction([(10.0, 2)], [(4.0, 2)], "pay-as-bid")
    assert r.budget_surplus == pytest.approx(12.0) and r.individually_rational
    assert r.best_misreport is not None and r.best_misreport.gain > 0


def test_orders_and_custom_clearings_are_audited_too() -> None:
    def order(i: int, side: Side, price: int) -> Order:
        return Order(OrderId(i), AgentId(i), side, Resource.ENERGY, 1, price)

    bids = [order(1, Side.BUY, 10), order(2, Side.BUY, 8)]
    asks = [order(3, Side.SELL, 2), order(4, Side.SELL, 6)]
    assert audit_double_auction(bids, asks, "uniform").best_misreport_gain == 1

    def nothing(b: object, a: object) -> AuctionResult:
        return AuctionResult(Rule.UNIFORM, (), (), None, 0, 0, 0)

    r = audit_double_auction(BIDS, ASKS, nothing)
    assert r.efficiency == 0.0 and r.budget_balanced and r.best_misreport is None
    assert audit_double_auction([], [], "uniform").efficiency == 1.0


def test_rejects_bad_shades_and_rules() -> None:
    with pytest.raises(MechanismError, match="below 1"):
        audit_double_auction(BIDS, ASKS, shades=(0.5, 1.0))
    with pytest.raises(MechanismError, match="unknown auction rule"):
        audit_double_auction(BIDS, ASKS, "dutch")


unit_book = st.lists(st.integers(0, 50), min_size=1, max_size=6)


@given(unit_book, unit_book, st.sampled_from(list(Rule)))
def test_properties_of_each_rule(bid_p: list[int], ask_p: list[int], rule: Rule) -> None:
    bids = [(p, 1) for p in bid_p]
    asks = [(p, 1) for p in ask_p]
    r = audit_double_auction(bids, asks, rule)
    assert r.individually_rational and r.weakly_budget_balanced
    assert 0.0 <= r.efficiency <= 1.0
    assert r.optimal_surplus == clear_double_auction(bids, asks, "uniform").surplus
    if rule is Rule.UNIFORM:
        assert r.budget_balanced and r.efficiency == 1.0
    if rule is Rule.MCAFEE:
        assert r.best_misreport is None  # dominant-strategy truthful for single-unit traders
