"""The double-auction model reproduces the classic results of Smith, Gode & Sunder and Cliff."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.auction import AuctionModel, QuoteRejected, Trader, convergence, max_surplus
from market.orders import OrderId, SettlementOutcome, Side

SMITH: dict[str, Any] = {
    "buyer_values": [325, 300, 275, 250, 225, 200, 175, 150, 125, 100, 75],
    "seller_costs": [75, 100, 125, 150, 175, 200, 225, 250, 275, 300, 325],
    "price_ceiling": 400,
}


def run(steps: int, **kw) -> AuctionModel:
    model = AuctionModel(**kw)
    for _ in range(steps):
        model.step()
    return model


def test_smiths_alpha_and_mean_absolute_deviation_by_hand() -> None:
    # prices 190, 200, 215 around P0 = 200: deviations -10, 0, 15
    alpha, mad = convergence([190, 200, 215], 200)
    assert alpha == pytest.approx(100 * math.sqrt((100 + 0 + 225) / 3) / 200)
    assert mad == pytest.approx(25 / 3)
    assert convergence([200, 200], 200) == (0.0, 0.0)
    # the deviation is from P0, not from the prices' own mean: constant prices off P0 still count
    assert convergence([210, 210], 200) == pytest.approx((5.0, 10.0))


@pytest.mark.parametrize(("prices", "p0"), [([], 200), ([200], None), ([5], 0)])
def test_convergence_is_undefined_without_trades_or_equilibrium(prices: list[int], p0: int | None) -> None:
    assert all(math.isnan(x) for x in convergence(prices, p0))


def test_alpha_and_deviation_per_period_in_metrics_and_summary() -> None:
    periods: list[list[int]] = []

    class Settler:
        def settle(self, step, orders, trades, *, payments=(), guarantees=None):
            periods.append([t.price for t in trades])
            return SettlementOutcome(step, len(trades))

    model = run(8, seed=3, strategy="zip", shouts_per_period=300, settler=Settler(), **SMITH)
    frame = model.datacollector.get_model_vars_dataframe()
    summary = model.summary_metrics()
    alphas, mads = summary["smith_alpha_by_period"], summary["mad_from_equilibrium_micro_by_period"]
    assert len(alphas) == len(mads) == len(periods) == 8
    assert frame["smith_alpha"].tolist()[1:] == pytest.approx(alphas, abs=1e-6)
    assert frame["mad_from_equilibrium_micro"].tolist()[1:] == pytest.approx(mads, abs=1e-6)
    for prices, alpha, mad in zip(periods, alphas, mads, strict=True):
        assert (alpha, mad) == pytest.approx(convergence(prices, 200), abs=1e-6)
    # ZIP traders converge on Smith's market as his subjects did: alpha falls over the session
    assert alphas[-1] < alphas[0]


def test_summary_has_null_not_nan_for_a_period_without_trades() -> None:
    model = run(2, seed=1, strategy="truthful", buyer_values=[10], seller_costs=[50])
    assert model.summary_metrics()["smith_alpha_by_period"] == [None, None]


def test_max_surplus() -> None:
    assert max_surplus([10, 8, 3], [2, 5, 9]) == 8 + 3
    assert max_surplus([], [1]) == 0


def test_smith_equilibrium_is_known() -> None:
    model = AuctionModel(seed=1, **SMITH)
    assert model.equilibrium_price == 200
    assert model.equilibrium_volume == 6
    assert model.max_period_surplus_micro == sum(v - c for v, c in zip(SMITH["buyer_values"][:6], SMITH["seller_costs"][:6], strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_zip_converges_to_smiths_equilibrium(seed: int) -> None:
    model = run(10, seed=seed, strategy="zip", **SMITH)
    prices = [t.price for t in model.trades]
    assert model.efficiency() > 0.9
    assert abs(float(np.mean(prices)) - 200) <= 15  # last period trades near the equilibrium price


def test_zi_c_beats_zi_u_in_efficiency_gode_sunder() -> None:
    zic = np.mean([run(6, seed=s, strategy="zi-c").efficiency() for s in range(1, 5)])
    ziu = np.mean([run(6, seed=s, strategy="zi-u").efficiency() for s in range(1, 5)])
    assert zic > 0.93
    assert ziu < zic - 0.05


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mcafee"])
def test_truthful_call_markets(mechanism: str) -> None:
    model = run(3, seed=1, strategy="truthful", mechanism=mechanism)
    if mechanism == "mcafee":
        assert 0.8 < model.efficiency() <= 1.0  # trade reduction may give up the least valuable trade
    else:
        assert model.efficiency() == pytest.approx(1.0)


def test_zi_c_traders_never_lose_money() -> None:
    model = run(5, seed=4, strategy="zi-c")
    assert all(t.surplus_micro >= 0 for t in model.agents_by_type[Trader])


def test_money_is_conserved_and_units_are_respected() -> None:
    model = run(5, seed=2, strategy="zi-u")
    traders = list(model.agents_by_type[Trader])
    assert sum(t.wallet_micro for t in traders) == sum(t.initial_funds_micro for t in traders)
    assert all(t.traded <= len(t.limits) for t in traders)


def test_settler_gets_each_period_and_orders_cover_trades() -> None:
    calls = []

    class Settler:
        def settle(self, step, orders, trades, *, payments=(), guarantees=None):
            calls.append((step, orders, trades))
            return SettlementOutcome(step, len(trades))

    run(3, seed=1, settler=Settler())
    assert [c[0] for c in calls] == [1, 2, 3]
    for _, orders, trades in calls:
        ids: set[OrderId] = {o.order_id for o in orders}
        assert all(t.buy_order in ids and t.sell_order in ids for t in trades)
        assert all(o.quantity == 1 for o in orders)


def test_same_seed_same_trades() -> None:
    assert run(3, seed=9).trades == run(3, seed=9).trades


def test_unknown_mechanism() -> None:
    with pytest.raises(ValueError, match="unknown mechanism"):
        AuctionModel(mechanism="barter")


def test_sides() -> None:
    model = AuctionModel(seed=1, n_buyers=2, n_sellers=3)
    sides = [t.side for t in model.agents_by_type[Trader]]
    assert sides.count(Side.BUY) == 2 and sides.count(Side.SELL) == 3


# -- people trading against the agents (classroom mode) ------------------------------------------


def test_add_human_joins_with_sorted_limits_funds_and_new_benchmarks() -> None:
    model = AuctionModel(seed=1, strategy="truthful", **SMITH)
    before = model.max_period_surplus_micro
    buyer = model.add_human(Side.BUY, [150, 390], name="Ada")
    seller = model.add_human(Side.SELL, [10], name="Bo")
    assert model.humans == [buyer, seller]
    assert buyer.limits == [390, 150] and buyer.name == "Ada" and buyer.human
    assert buyer.initial_funds_micro == model.buyer_funds_micro > 0 and seller.initial_funds_micro == 0
    # Ada's 390 against Bo's 10 adds 380 to the best possible surplus; 150 displaces no trade
    assert model.max_period_surplus_micro == before + 380


def test_a_persons_bid_stands_all_period_and_trades_at_its_price() -> None:
    model = AuctionModel(seed=3, strategy="zi-c", **SMITH)
    me = model.add_human(Side.BUY, [390], name="Ada")
    model.submit_quote(me, 380)
    model.step()
    mine = [t for t in model.trades if t.buyer == me.agent_id]
    assert len(mine) == 1
    assert mine[0].price == 380  # an agent's ask accepted the standing bid
    assert me.surplus_micro == me.period_surplus_micro == 390 - 380
    assert me.wallet_micro == me.initial_funds_micro - 380
    assert me.quotes == []  # a quote lasts one period
    model.step()
    assert not [t for t in model.trades if t.buyer == me.agent_id]


def test_a_bid_below_every_cost_never_trades() -> None:
    model = AuctionModel(seed=2, strategy="zi-c", **SMITH)
    me = model.add_human(Side.BUY, [300])
    model.submit_quote(me, 50)  # every seller's cost is at least 75
    model.step()
    assert me.traded == 0 and me.surplus_micro == 0
    assert any(o.owner == me.agent_id and o.limit_price == 50 for o in model.orders)


def test_two_people_who_cross_trade_with_each_other_at_the_standing_quote() -> None:
    # agents that cannot trade: every value is below every cost
    model = AuctionModel(seed=1, strategy="zi-c", buyer_values=[10, 20], seller_costs=[300, 310], price_ceiling=400)
    ada = model.add_human(Side.BUY, [250], name="Ada")
    bo = model.add_human(Side.SELL, [100], name="Bo")
    model.submit_quote(ada, 220)
    model.submit_quote(bo, 140)
    model.step()
    assert [(t.buyer, t.seller, t.price) for t in model.trades] == [(ada.agent_id, bo.agent_id, 220)]
    assert (ada.surplus_micro, bo.surplus_micro) == (30, 120)
    assert model.efficiency() == pytest.approx(1.0)


def test_a_persons_seller_quote_under_a_call_rule() -> None:
    model = AuctionModel(seed=1, strategy="truthful", mechanism="uniform", **SMITH)
    me = model.add_human(Side.SELL, [60, 70], name="Cy")
    model.submit_quote(me, 80)
    model.submit_quote(me, 60)
    model.step()
    sold = [t for t in model.trades if t.seller == me.agent_id]
    assert len(sold) == 2
    price = sold[0].price
    assert me.surplus_micro == (price - 60) + (price - 70)  # the lower ask carries the cheaper unit


def test_efficiency_counts_the_periods_with_people_at_their_own_maximum() -> None:
    model = AuctionModel(seed=1, strategy="truthful", mechanism="uniform", **SMITH)
    model.step()
    first = model.max_period_surplus_micro
    me = model.add_human(Side.BUY, [390])
    model.submit_quote(me, 390)
    model.step()
    assert model.possible_surplus_micro == first + model.max_period_surplus_micro
    assert model.summary_metrics()["max_surplus_micro"] == model.possible_surplus_micro
    assert model.efficiency() == pytest.approx(1.0)


def test_same_quotes_same_trades() -> None:
    def play() -> list:
        model = AuctionModel(seed=5, strategy="zip", **SMITH)
        me = model.add_human(Side.SELL, [120])
        for price in (260, 210, 180):
            model.submit_quote(me, price)
            model.step()
        return model.trades

    assert play() == play()


def test_quote_errors() -> None:
    model = AuctionModel(seed=1, **SMITH)
    agent = next(t for t in model.agents_by_type[Trader] if not t.human)
    with pytest.raises(QuoteRejected, match="only a person's trader takes quotes"):
        model.submit_quote(agent, 100)
    me = model.add_human(Side.BUY, [200], name="Ada")
    with pytest.raises(QuoteRejected, match=r"Ada: price 401 is outside \[1, 400\]"):
        model.submit_quote(me, 401)
    with pytest.raises(QuoteRejected, match=r"price 0 is outside"):
        model.submit_quote(me, 0)
    model.submit_quote(me, 150)
    with pytest.raises(QuoteRejected, match="every one of your 1 units already has a quote"):
        model.submit_quote(me, 160)
    poor = model.add_human(Side.BUY, [200, 200], name="Poor")
    poor.wallet_micro = 250
    model.submit_quote(poor, 200)
    with pytest.raises(QuoteRejected, match="cannot pay 400 with 250 in the wallet"):
        model.submit_quote(poor, 200)
    with pytest.raises(QuoteRejected, match="needs at least one unit"):
        model.add_human(Side.SELL, [])
    with pytest.raises(QuoteRejected, match="must not be negative"):
        model.add_human(Side.SELL, [-1], name="Neg")


@settings(max_examples=25, deadline=None)
@given(
    mechanism=st.sampled_from(["cda", "uniform", "pay-as-bid", "mcafee"]),
    people=st.lists(
        st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 400), st.integers(1, 400)), min_size=1, max_size=4
    ),
    seed=st.integers(0, 50),
)
def test_people_keep_money_units_and_their_limits(mechanism: str, people: list[tuple[Side, int, int]], seed: int) -> None:
    model = AuctionModel(seed=seed, strategy="zi-c", mechanism=mechanism, shouts_per_period=60, **SMITH)
    humans = [(model.add_human(side, [limit]), quote) for side, limit, quote in people]
    for _ in range(2):
        for trader, quote in humans:
            model.submit_quote(trader, quote)
        model.step()
        for trader, quote in humans:
            mine = [t for t in model.trades if trader.agent_id in (t.buyer, t.seller)]
            assert len(mine) <= 1
            for t in mine:  # nobody trades beyond their own quote
                assert t.price <= quote if trader.side is Side.BUY else t.price >= quote
    traders = list(model.agents_by_type[Trader])
    assert sum(t.wallet_micro for t in traders) == sum(t.initial_funds_micro for t in traders)
    assert model.realised_surplus_micro == sum(t.surplus_micro for t in traders)
