"""Report figures: each draws what its metric says, and a missing metric skips the figure with a reason."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import StepPatch

from agents import MODELS
from experiments.reporting.plots import (
    FIGURES,
    PlotData,
    PlotSkipped,
    gas_per_trade,
    green_share_against_co2,
    price_convergence,
    qos_violations,
    run_metric,
    supply_and_demand,
    welfare_and_efficiency,
)

PARAMS: dict[str, Any] = {"n_users": 4, "n_suppliers": 2}


@pytest.fixture
def data() -> PlotData:
    rng = np.random.default_rng(3)
    runs, steps = [], []
    for label, shift in (("A", 0.0), ("B", 1.0)):
        for seed in (1, 2, 3):
            run_id = f"{label}-s{seed}"
            runs.append(
                {
                    "run_id": run_id,
                    "treatment": label,
                    "seed": seed,
                    "efficiency_mean": 0.8 + 0.05 * shift + 0.01 * seed,
                    "welfare_micro_sum": 1000.0 * (1 + shift) + seed,
                    "green_share_mean": 0.3 + 0.2 * shift,
                    "kg_co2_sum": 50.0 - 10 * shift + seed,
                    "qos_violations_sum": 4 - 2 * shift + seed,
                    "gas_used": 90_000 * (seed + 1),
                    "trades": 3 * (seed + 1),
                }
            )
            steps += [
                {"run_id": run_id, "treatment": label, "step": s, "mean_price_micro": 100 + shift + rng.normal()}
                for s in range(0, 6)
            ]
    plan = {
        "model": "posted-price",
        "treatments": [{"label": "A", "params": PARAMS}, {"label": "B", "params": {**PARAMS, "n_users": 6}}],
    }
    return PlotData(pd.DataFrame(runs), pd.DataFrame(steps), ("A", "B"), plan)


def heights(fig: Any, axis: int = 0) -> list[float]:
    return [p.get_height() for p in fig.axes[axis].patches]


def test_price_convergence_draws_the_mean_per_round_for_each_treatment(data: PlotData) -> None:
    fig = price_convergence(data)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["A", "B"]
    expected = (
        data.steps[(data.steps["treatment"] == "A") & (data.steps["step"] >= 1)].groupby("step")["mean_price_micro"].mean()
    )
    assert list(np.asarray(lines[0].get_xdata())) == list(expected.index)
    assert lines[0].get_ydata() == pytest.approx(expected.to_numpy())


def test_welfare_and_efficiency_bars_are_treatment_means(data: PlotData) -> None:
    fig = welfare_and_efficiency(data)
    assert len(fig.axes) == 2
    assert heights(fig, 0) == pytest.approx(
        data.runs.groupby("treatment")["welfare_micro_sum"].mean().loc[["A", "B"]].to_numpy()
    )
    assert heights(fig, 1) == pytest.approx(
        data.runs.groupby("treatment")["efficiency_mean"].mean().loc[["A", "B"]].to_numpy()
    )
    only = PlotData(data.runs.drop(columns=["welfare_micro_sum"]), data.steps, data.order, data.plan)
    assert len(welfare_and_efficiency(only).axes) == 1


def test_qos_and_gas_per_trade_bars(data: PlotData) -> None:
    assert heights(qos_violations(data)) == pytest.approx([6.0, 4.0])
    assert heights(gas_per_trade(data)) == pytest.approx([30_000.0, 30_000.0])


def test_green_share_against_co2_has_a_point_per_run(data: PlotData) -> None:
    fig = green_share_against_co2(data)
    collections = fig.axes[0].collections
    assert [len(np.asarray(c.get_offsets())) for c in collections] == [3, 3]
    assert list(np.asarray(collections[1].get_offsets())[:, 0]) == [41.0, 42.0, 43.0]


def test_supply_and_demand_rebuild_round_one_of_each_treatment(data: PlotData) -> None:
    fig = supply_and_demand(data)
    assert [ax.get_title() for ax in fig.axes] == ["A\nseed 1, round 1", "B\nseed 1, round 1"]
    model = MODELS["posted-price"](**PARAMS, seed=1)
    model.step()
    demand = sum(o.quantity for o in model.orders if o.side == "buy")
    stairs = fig.axes[0].patches
    assert cast(StepPatch, stairs[0]).get_data()[1][-1] == demand  # the demand curve ends at the round's total demand


@pytest.mark.parametrize(
    ("draw", "drop", "message"),
    [
        (price_convergence, ["mean_price_micro"], r"no price per round in the results \(looked for clearing_price_micro"),
        (welfare_and_efficiency, ["welfare_micro_sum", "efficiency_mean"], r"no welfare or efficiency metric"),
        (green_share_against_co2, ["green_share_mean"], r"no green share metric"),
        (green_share_against_co2, ["kg_co2_sum"], r"no kg CO2 metric"),
        (qos_violations, ["qos_violations_sum"], r"no QoS violation metric"),
        (gas_per_trade, ["gas_used"], r"no gas_used and trades"),
    ],
)
def test_a_missing_metric_skips_its_figure(data: PlotData, draw: Any, drop: list[str], message: str) -> None:
    runs = data.runs.drop(columns=[c for c in drop if c in data.runs.columns])
    steps = data.steps.drop(columns=[c for c in drop if c in data.steps.columns])
    with pytest.raises(PlotSkipped, match=message):
        draw(PlotData(runs, steps, data.order, data.plan))


def test_gas_per_trade_explains_a_gasless_back_end(data: PlotData) -> None:
    runs = data.runs.assign(gas_used=0)
    with pytest.raises(PlotSkipped, match=r"gas_used is 0 in every run \(the memory back end uses no gas\)"):
        gas_per_trade(PlotData(runs, data.steps, data.order, data.plan))


class _EmptyBook:
    orders: list[Any] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def step(self) -> None:
        pass


class _Broken(_EmptyBook):
    def step(self) -> None:
        raise ValueError("needs a ledger")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_EmptyBook, r"round 1 has no orders"),
        (_Broken, r"cannot rebuild model 'fake' to draw its order book: ValueError: needs a ledger"),
    ],
)
def test_supply_and_demand_needs_a_rebuildable_model_with_orders(
    data: PlotData, monkeypatch: pytest.MonkeyPatch, model: type, message: str
) -> None:
    monkeypatch.setitem(MODELS, "fake", model)
    with pytest.raises(PlotSkipped, match=message):
        supply_and_demand(PlotData(data.runs, data.steps, data.order, {**data.plan, "model": "fake"}))


def test_run_metric_prefers_the_models_own_run_figure() -> None:
    runs = pd.DataFrame(
        {"efficiency": [0.9, 0.8], "efficiency_mean": [0.5, 0.4], "kg_co2_sum": [np.nan, np.nan], "co2_kg": [1.0, 2.0]}
    )
    assert run_metric(runs, ("efficiency",), "mean") == "efficiency"
    assert run_metric(runs.drop(columns=["efficiency"]), ("efficiency",), "mean") == "efficiency_mean"
    assert run_metric(runs, ("kg_co2", "co2_kg"), "sum") == "co2_kg"  # an all-empty column does not count
    assert run_metric(runs, ("green_share",), "mean") is None


def test_every_figure_is_listed_once() -> None:
    assert [stem for stem, _, _ in FIGURES] == [
        "price_convergence",
        "supply_demand",
        "welfare_efficiency",
        "green_share_co2",
        "qos_violations",
        "gas_per_trade",
    ]
