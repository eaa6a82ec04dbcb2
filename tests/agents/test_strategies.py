"""Bidding strategies: ZI-U, ZI-C, ZIP and the adaptive markup."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.strategies import ZIC, ZIP, ZIU, AdaptiveMarkup, StrategyName, Truthful, make_strategy
from market.orders import Side


@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_zi_c_never_quotes_at_a_loss(limit: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    zic = ZIC(1, 200)
    assert 1 <= zic.quote(Side.BUY, limit, rng) <= limit
    assert limit <= zic.quote(Side.SELL, limit, rng) <= 200


def test_zi_u_ignores_the_limit_and_covers_the_range() -> None:
    rng = np.random.default_rng(0)
    quotes = [ZIU(1, 200).quote(Side.BUY, 10, rng) for _ in range(2000)]
    assert min(quotes) >= 1 and max(quotes) <= 200
    assert max(quotes) > 150  # bids far above the value of 10: unconstrained


def test_truthful_quotes_the_limit() -> None:
    assert Truthful().quote(Side.SELL, 42, np.random.default_rng(0)) == 42


def test_zip_raises_a_sellers_price_after_a_deal_above_it() -> None:
    zip_ = ZIP(np.random.default_rng(1))
    start = zip_.quote(Side.SELL, 100, np.random.default_rng(0))
    for _ in range(20):
        zip_.observe_shout(Side.SELL, 100, 180, Side.BUY, accepted=True, active=True)
    assert zip_.quote(Side.SELL, 100, np.random.default_rng(0)) > start
    assert zip_.margin(Side.SELL, 100) > 0.5


def test_zip_lowers_a_sellers_price_after_rejected_cheaper_offers_but_never_below_cost() -> None:
    zip_ = ZIP(np.random.default_rng(1))
    for _ in range(200):
        zip_.observe_shout(Side.SELL, 100, 50, Side.SELL, accepted=False, active=True)
    assert zip_.quote(Side.SELL, 100, np.random.default_rng(0)) == 100


def test_zip_buyer_moves_up_after_rejected_higher_bids_but_never_above_value() -> None:
    zip_ = ZIP(np.random.default_rng(2))
    start = zip_.quote(Side.BUY, 100, np.random.default_rng(0))
    for _ in range(200):
        zip_.observe_shout(Side.BUY, 100, 150, Side.BUY, accepted=False, active=True)
    assert start < zip_.quote(Side.BUY, 100, np.random.default_rng(0)) == 100


def test_inactive_zip_trader_does_not_lower_its_margin() -> None:
    zip_ = ZIP(np.random.default_rng(3))
    before = zip_.quote(Side.SELL, 100, np.random.default_rng(0))
    zip_.observe_shout(Side.SELL, 100, 90, Side.SELL, accepted=False, active=False)
    assert zip_.quote(Side.SELL, 100, np.random.default_rng(0)) == before


def test_adaptive_markup_rises_on_fills_and_falls_on_misses() -> None:
    m = AdaptiveMarkup(markup=0.2, rate=0.1, max_markup=0.5)
    rng = np.random.default_rng(0)
    assert m.quote(Side.SELL, 100, rng) == 120
    assert m.quote(Side.BUY, 100, rng) == 80
    for _ in range(50):
        m.observe_round(Side.SELL, filled=True)
    assert m.markup == 0.5
    for _ in range(500):
        m.observe_round(Side.SELL, filled=False)
    assert m.markup == 0.0


@pytest.mark.parametrize("name", [s.value for s in StrategyName])
def test_make_strategy_by_name(name: str) -> None:
    assert make_strategy(name, np.random.default_rng(0)).name == name


def test_make_strategy_unknown() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'x'.*zi-c"):
        make_strategy("x", np.random.default_rng(0))
