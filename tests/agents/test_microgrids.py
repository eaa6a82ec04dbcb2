"""The microgrid model: day-ahead plans, the three mechanisms, exact money and energy accounting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agents.booking import RoundBook
from agents.microgrids import EnergyPlatform, Grid, MicrogridAgent, MicrogridModel, daily_load_shape
from market.bargaining import DayPlan
from market.orders import AgentId, Order, OrderId, Payment, Resource, SettlementOutcome, exact_price_split


def run(mechanism: str, steps: int = 24, **kw) -> MicrogridModel:
    model = MicrogridModel(seed=kw.pop("seed", 1), mechanism=mechanism, **kw)
    for _ in range(steps):
        model.step()
    return model


def plan_of(model: MicrogridModel) -> DayPlan:
    """The model's day plan (a nash model has one once it has run)."""
    assert model.plan is not None
    return model.plan


@pytest.fixture(scope="module")
def runs() -> dict[str, MicrogridModel]:
    return {m: run(m) for m in ("grid", "sdr", "nash")}


def test_load_shape_peaks_in_the_evening_and_averages_about_one() -> None:
    shape = [daily_load_shape(h) for h in range(24)]
    assert float(np.mean(shape)) == pytest.approx(1.0)
    local_peak = (int(np.argmax(shape)) + 8) % 24
    assert 17 <= local_peak <= 21


def test_money_is_conserved(runs: dict[str, MicrogridModel]) -> None:
    for model in runs.values():
        assert sum(a.wallet_micro for a in model.agents) == sum(a.initial_funds_micro for a in model.agents)


def test_trading_never_costs_more_than_the_grid_alone_over_a_day(runs: dict[str, MicrogridModel]) -> None:
    grid = runs["grid"].summary_metrics()
    assert grid["saving_micro"] == 0 and grid["traded_wh"] == 0
    for name in ("sdr", "nash"):
        summary = runs[name].summary_metrics()
        assert summary["baseline_cost_micro"] == grid["cost_micro"]  # the same day, each microgrid alone
        assert summary["cost_micro"] <= summary["baseline_cost_micro"] and summary["traded_wh"] > 0
        frame = runs[name].datacollector.get_model_vars_dataframe()
        assert frame["saving_micro_total"].iloc[-1] == summary["saving_micro"]


def test_same_weather_for_every_mechanism(runs: dict[str, MicrogridModel]) -> None:
    loads = [runs[m].datacollector.get_model_vars_dataframe()["load_wh"].tolist()[1:] for m in runs]
    assert loads[0] == loads[1] == loads[2]


def test_nash_is_individually_rational_per_microgrid_to_the_micro_token(runs: dict[str, MicrogridModel]) -> None:
    nash, grid = runs["nash"], runs["grid"]  # one whole day: every microgrid against operating alone
    for a, b in zip(nash.agents_by_type[MicrogridAgent], grid.agents_by_type[MicrogridAgent], strict=True):
        assert a.wallet_micro >= b.wallet_micro
    gained = sum(a.wallet_micro - b.wallet_micro for a, b in zip(nash.microgrids, grid.microgrids, strict=True))
    assert gained == nash.summary_metrics()["saving_micro"] > 0


def test_nash_payments_settle_as_payments_when_the_day_is_agreed() -> None:
    calls: list[tuple[int, int, list[Payment]]] = []

    class Settler:
        def settle(self, step, orders, trades, *, payments=(), guarantees=None):
            calls.append((step, len(trades), list(payments)))
            return SettlementOutcome(step, len(trades))

    model = run("nash", steps=26, settler=Settler())
    with_payments = [(step, p) for step, _, p in calls if p]
    assert [step for step, _ in with_payments] == [1, 25]  # the first hour of each day
    members = {int(name) for name in plan_of(model).members}
    for _, payments in with_payments:
        assert all(p.amount > 0 and p.payer != p.payee for p in payments)
        assert len({p.payment_id for p in payments}) == len(payments)
    assert all({p.payer, p.payee} <= members for p in with_payments[-1][1])
    # no 1-Wh trade stands in for a payment any more: every trade moves energy a microgrid needed
    assert all(t.quantity > 1 or t.price in (300, 550, 800) for t in model.trades)


def test_a_microgrid_that_exchanges_nothing_gets_nothing() -> None:
    alone = run("nash", steps=24, n_microgrids=1)
    grid = run("grid", steps=24, n_microgrids=1)
    assert plan_of(alone).members == () and alone.summary_metrics()["payments_micro"] == 0
    assert alone.microgrids[0].wallet_micro == grid.microgrids[0].wallet_micro
    model = run("nash", steps=24)
    for i, g in enumerate(model.microgrids):
        if str(g.agent_id) not in plan_of(model).members:
            assert plan_of(model).share_micro[i] == plan_of(model).payment_micro[i] == 0


def test_energy_weights_follow_the_energy_exchanged(runs: dict[str, MicrogridModel]) -> None:
    energy = run("nash", nash_weights="energy")
    equal = runs["nash"]
    assert plan_of(energy).share_micro != plan_of(equal).share_micro
    assert sum(plan_of(energy).share_micro) == sum(plan_of(equal).share_micro)
    exchanged = {name: 0 for name in plan_of(energy).members}
    for t in plan_of(energy).transfers:
        exchanged[t.seller] += int(t.energy_wh)
        exchanged[t.buyer] += int(t.energy_wh)
    ranked = sorted(exchanged, key=exchanged.__getitem__)
    share = {name: plan_of(energy).share_micro[plan_of(energy).names.index(name)] for name in exchanged}
    assert share[ranked[0]] <= share[ranked[-1]]


def test_sdr_prices_lie_between_the_tariffs(runs: dict[str, MicrogridModel]) -> None:
    frame = runs["sdr"].datacollector.get_model_vars_dataframe().dropna(subset=["buy_price_micro"])
    assert len(frame) > 0
    assert (frame["sell_price_micro"] >= 300 - 1e-9).all() and (frame["buy_price_micro"] <= 800 + 1e-9).all()
    assert (frame["sell_price_micro"] <= frame["buy_price_micro"] + 1e-9).all()


def test_platform_balances_with_the_grid_under_sdr(runs: dict[str, MicrogridModel]) -> None:
    platform = next(iter(runs["sdr"].agents_by_type[EnergyPlatform]))
    assert platform.wallet_micro == platform.initial_funds_micro


def test_every_trade_is_covered_by_its_orders(runs: dict[str, MicrogridModel]) -> None:
    for model in runs.values():
        orders = {o.order_id: o for o in model.orders}
        filled: dict[OrderId, int] = {}
        for t in model.trades:
            buy, sell = orders[t.buy_order], orders[t.sell_order]
            assert buy.owner == t.buyer and sell.owner == t.seller
            assert t.price <= buy.limit_price and t.price >= sell.limit_price
            filled[buy.order_id] = filled.get(buy.order_id, 0) + t.quantity
            filled[sell.order_id] = filled.get(sell.order_id, 0) + t.quantity
        assert all(filled[k] <= orders[k].quantity for k in filled)


def test_microgrids_bid_their_shortfall_at_retail_and_offer_their_surplus_at_feed_in(runs: dict[str, MicrogridModel]) -> None:
    model = runs["nash"]
    by_owner: dict[AgentId, list[Order]] = {}
    for o in model.orders:
        by_owner.setdefault(o.owner, []).append(o)
    for g in model.microgrids:
        mine = by_owner.get(g.agent_id, [])
        if g.net_wh < 0:
            assert [(o.side, o.quantity, o.limit_price) for o in mine] == [("buy", -g.net_wh, 800)]
        elif g.net_wh > 0:
            assert [(o.side, o.quantity, o.limit_price) for o in mine] == [("sell", g.net_wh, 300)]
        else:
            assert mine == []


def test_battery_stays_within_its_bounds() -> None:
    model = run("grid", steps=24)
    for g in model.agents_by_type[MicrogridAgent]:
        assert 0 <= g.soc_wh <= g.battery_wh


def test_the_grid_is_a_participant() -> None:
    model = MicrogridModel(seed=1)
    assert len(model.agents_by_type[Grid]) == 1 and len(model.agents_by_type[MicrogridAgent]) == 6


def test_unknown_mechanism_and_weights() -> None:
    with pytest.raises(ValueError, match="unknown mechanism 'barter'"):
        MicrogridModel(mechanism="barter")
    with pytest.raises(ValueError, match="unknown nash_weights 'power'"):
        MicrogridModel(nash_weights="power")
    params = {"mechanism": "nash", "nash_weights": "power", "grid_sell_price_micro": 1, "grid_buy_price_micro": 2}
    params |= {"battery_efficiency": 0.9, "cloudiness": 0.3, "site": "zhangjiakou"}
    assert MicrogridModel.validate_params(params) == [("nash_weights", "unknown weights 'power' (one of: equal, energy)")]


@pytest.mark.parametrize(("quantity", "amount"), [(7, 100), (5, 25), (3, 0), (1, 9), (1000, 999)])
def test_exact_price_split(quantity: int, amount: int) -> None:
    legs = exact_price_split(quantity, amount)
    assert sum(p * q for p, q in legs) == amount and sum(q for _, q in legs) == quantity
    assert len(legs) <= 2 and all(q > 0 for _, q in legs)


def test_exact_price_split_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="cannot split"):
        exact_price_split(0, 5)


def test_round_book_rejects_money_without_units() -> None:
    book = RoundBook(itertools.count(1), 0)
    with pytest.raises(ValueError, match="for no units"):
        book.add(AgentId(1), AgentId(2), Resource.ENERGY, 0, 5)
    with pytest.raises(ValueError, match="negative leg"):
        book.add(AgentId(1), AgentId(2), Resource.ENERGY, -1, 5)
