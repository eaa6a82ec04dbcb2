"""The microgrid model: storage dispatch, the three mechanisms, exact money and energy accounting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agents.booking import RoundBook
from agents.microgrids import EnergyPlatform, Grid, MicrogridAgent, MicrogridModel, daily_load_shape
from market.orders import Resource, exact_price_split


def run(mechanism: str, steps: int = 12, **kw) -> MicrogridModel:  # type: ignore[no-untyped-def]
    model = MicrogridModel(seed=kw.pop("seed", 1), mechanism=mechanism, **kw)
    for _ in range(steps):
        model.step()
    return model


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


def test_trading_never_costs_more_than_the_grid_alone(runs: dict[str, MicrogridModel]) -> None:
    for name in ("sdr", "nash"):
        frame = runs[name].datacollector.get_model_vars_dataframe().dropna(subset=["cost_micro"])
        assert (frame["saving_micro"] >= 0).all()
        assert (frame["cost_micro"] <= frame["baseline_cost_micro"]).all()
    grid = runs["grid"].datacollector.get_model_vars_dataframe().dropna(subset=["cost_micro"])
    assert (grid["saving_micro"] == 0).all()


def test_same_weather_for_every_mechanism(runs: dict[str, MicrogridModel]) -> None:
    loads = [runs[m].datacollector.get_model_vars_dataframe()["load_wh"].tolist()[1:] for m in runs]
    assert loads[0] == loads[1] == loads[2]


def test_nash_is_individually_rational_per_microgrid(runs: dict[str, MicrogridModel]) -> None:
    nash, grid = runs["nash"], runs["grid"]
    for a, b in zip(nash.agents_by_type[MicrogridAgent], grid.agents_by_type[MicrogridAgent], strict=True):
        assert a.wallet_micro >= b.wallet_micro - nash.steps  # one micro-token of rounding per hour at most


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
        for t in model.trades:
            buy, sell = orders[t.buy_order], orders[t.sell_order]
            assert buy.owner == t.buyer and sell.owner == t.seller
            assert t.price <= buy.limit_price and t.price >= sell.limit_price


def test_battery_stays_within_its_bounds() -> None:
    model = run("grid", steps=24)
    for g in model.agents_by_type[MicrogridAgent]:
        assert 0 <= g.soc_wh <= g.battery_wh


def test_the_grid_is_a_participant() -> None:
    model = MicrogridModel(seed=1)
    assert len(model.agents_by_type[Grid]) == 1 and len(model.agents_by_type[MicrogridAgent]) == 6


def test_unknown_mechanism() -> None:
    with pytest.raises(ValueError, match="unknown mechanism 'barter'"):
        MicrogridModel(mechanism="barter")


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
        book.add(1, 2, Resource.ENERGY, 0, 5)
    with pytest.raises(ValueError, match="negative leg"):
        book.add(1, 2, Resource.ENERGY, -1, 5)
