"""The report's figures (PNG), drawn with matplotlib's object API on the Agg canvas (no pyplot state).

Each figure looks for its metric under the names below, first match wins; a figure whose metric no
run has is skipped with a note instead of failing the report. A run-level figure prefers the model's
own run-level value in ``summary.json`` (a column named like the metric), then the aggregate of
the per-round DataCollector column (``<metric>_mean`` for rates and shares, ``<metric>_sum`` for
totals; see :mod:`experiments.results`).

* price convergence: every one of ``clearing_price_micro``, ``mean_price_micro``, ``price_micro``,
  ``compute_price_micro`` and ``energy_price_micro`` per round (steps table), a panel each, mean
  across seeds with its 95 % CI band;
* supply and demand: the bids and asks the model holds in ``model.orders`` after round 1, from the
  model rebuilt with a run's parameters and seed (runs are deterministic, so these are its orders);
* welfare and efficiency: ``welfare_micro``, ``realised_surplus_micro`` or ``surplus_micro`` (run
  total) and ``efficiency`` (run figure or mean per round);
* green share against CO2: ``green_share`` (mean) against ``kg_co2`` or ``co2_kg`` (run total);
* QoS violations: ``qos_violations`` or ``sla_violations`` (run total);
* gas per trade: the summary's ``gas_used`` over its ``trades``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from agents import MODELS
from experiments.reporting.stats import mean_ci
from market.errors import CceiError
from market.orders import UNIT, Side

__all__ = ["PlotSkipped", "PlotData", "FIGURES", "PRICE", "WELFARE", "EFFICIENCY", "GREEN_SHARE", "CO2", "QOS", "run_metric"]

PRICE = ("clearing_price_micro", "mean_price_micro", "price_micro", "compute_price_micro", "energy_price_micro")
WELFARE = ("welfare_micro", "realised_surplus_micro", "surplus_micro")
EFFICIENCY = ("efficiency",)
GREEN_SHARE = ("green_share",)
CO2 = ("kg_co2", "co2_kg")
QOS = ("qos_violations", "sla_violations")
_MAX_LINES = 10
_MAX_PANELS = 6


class PlotSkipped(CceiError):
    """A figure cannot be drawn from these results; the message says why (it becomes a note)."""


@dataclass(frozen=True, slots=True)
class PlotData:
    """What every figure draws from.

    Attributes:
        runs: Successful runs.
        steps: Their run × step rows.
        order: Treatment labels in plan order.
        plan: The sweep plan (``sweep.json``).
    """

    runs: pd.DataFrame
    steps: pd.DataFrame
    order: tuple[str, ...]
    plan: Mapping[str, Any]


def run_metric(runs: pd.DataFrame, names: Sequence[str], aggregate: str) -> str | None:
    """The first column holding a run-level value of one of ``names``, or ``None``.

    ``name`` itself (the model's own run figure) is preferred over ``name_<aggregate>``.
    """
    for name in names:
        for column in (name, f"{name}_{aggregate}"):
            if column in runs.columns and runs[column].astype("float64").notna().any():
                return column
    return None


def _need(runs: pd.DataFrame, names: Sequence[str], aggregate: str, what: str) -> str:
    column = run_metric(runs, names, aggregate)
    if column is None:
        raise PlotSkipped(f"no {what} metric in the results (looked for {', '.join(names)})")
    return column


def _figure(width: float = 7.0, height: float = 4.2, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _bars(ax: Axes, data: PlotData, column: str, ylabel: str) -> None:
    estimates = [mean_ci(data.runs.loc[data.runs["treatment"] == t, column].astype("float64")) for t in data.order]
    means = np.array([e.mean for e in estimates])
    below = np.array([e.mean - e.low if e.n > 1 else 0.0 for e in estimates])
    above = np.array([e.high - e.mean if e.n > 1 else 0.0 for e in estimates])
    ax.bar(range(len(data.order)), means, yerr=np.vstack([below, above]), capsize=4, color="tab:blue", alpha=0.8)
    ax.set_xticks(range(len(data.order)), list(data.order), rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def price_convergence(data: PlotData) -> Figure:
    """Mean price per round across seeds, one line per treatment with its 95 % CI band; a panel per price."""
    prices = [c for c in PRICE if c in data.steps.columns and data.steps[c].astype("float64").notna().any()]
    if not prices:
        raise PlotSkipped(f"no price per round in the results (looked for {', '.join(PRICE)})")
    fig, axes = _figure(width=7.0 * len(prices) ** 0.5 + 2.0 * (len(prices) - 1), ncols=len(prices))
    for ax, price in zip(axes, prices, strict=True):
        for label in data.order[:_MAX_LINES]:
            frame = data.steps[(data.steps["treatment"] == label) & (data.steps["step"] >= 1)]
            by_step = frame.groupby("step")[price]
            estimates = [mean_ci(v.astype("float64")) for _, v in by_step]
            x = np.array(list(by_step.groups))
            ax.plot(x, [e.mean for e in estimates], label=label, linewidth=1.2)
            ax.fill_between(x, [e.low for e in estimates], [e.high for e in estimates], alpha=0.2)
        ax.set_xlabel("round")
        ax.set_ylabel(f"{price} (mean across seeds, 95 % CI)")
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    return fig


def _round_orders(plan: Mapping[str, Any], params: Mapping[str, Any], seed: int) -> list[Any]:
    """The orders of round 1, from the model rebuilt with the run's parameters and seed (no ledger)."""
    try:
        model = MODELS[plan["model"]](**params, seed=seed)
        model.step()
    except Exception as exc:  # an optional figure must not sink the report: say why it is missing
        raise PlotSkipped(
            f"cannot rebuild model {plan['model']!r} to draw its order book: {type(exc).__name__}: {exc}"
        ) from None
    return list(model.orders)  # every MarketModel keeps its last round's orders


def supply_and_demand(data: PlotData) -> Figure:
    """Supply and demand schedules of round 1 in the first seed of each treatment (up to six)."""
    treatments = {t["label"]: t for t in data.plan["treatments"]}
    labels = [label for label in data.order if label in treatments][:_MAX_PANELS]
    fig, axes = _figure(width=min(3.2 * len(labels), 13.0), height=3.6, ncols=len(labels))
    for ax, label in zip(axes, labels, strict=True):
        seed = int(data.runs.loc[data.runs["treatment"] == label, "seed"].min())
        orders = _round_orders(data.plan, treatments[label]["params"], seed)
        if not orders:
            raise PlotSkipped("round 1 has no orders")
        resource = pd.Series([o.resource for o in orders]).mode()[0]
        for side, colour, descending in ((Side.BUY, "tab:blue", True), (Side.SELL, "tab:orange", False)):
            book = sorted(
                (o for o in orders if o.side is side and o.resource == resource),
                key=lambda o: o.limit_price,
                reverse=descending,
            )
            if book:
                edges = np.concatenate([[0], np.cumsum([o.quantity for o in book])])
                ax.stairs(
                    [o.limit_price for o in book],
                    edges,
                    color=colour,
                    label="demand" if side is Side.BUY else "supply",
                    linewidth=1.5,
                    baseline=None,
                )
        ax.set_title(f"{label}\nseed {seed}, round 1", fontsize=8)
        ax.set_xlabel(f"{resource} ({UNIT[resource]})", fontsize=8)
        ax.set_ylabel("limit price (micro-tokens per unit)", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def welfare_and_efficiency(data: PlotData) -> Figure:
    """Mean welfare and allocative efficiency per treatment with 95 % CIs (whichever are recorded)."""
    panels = [
        (c, ylabel)
        for c, ylabel in (
            (run_metric(data.runs, WELFARE, "sum"), "welfare (micro-tokens per run)"),
            (run_metric(data.runs, EFFICIENCY, "mean"), "allocative efficiency"),
        )
        if c is not None
    ]
    if not panels:
        raise PlotSkipped(
            f"no welfare or efficiency metric in the results (looked for {', '.join((*WELFARE, *EFFICIENCY))})"
        )
    fig, axes = _figure(width=5.0 * len(panels), ncols=len(panels))
    for ax, (column, ylabel) in zip(axes, panels, strict=True):
        _bars(ax, data, column, ylabel)
        ax.set_title(column, fontsize=9)
    return fig


def green_share_against_co2(data: PlotData) -> Figure:
    """Each run's green energy share against its kg CO2, coloured by treatment."""
    green = _need(data.runs, GREEN_SHARE, "mean", "green share")
    co2 = _need(data.runs, CO2, "sum", "kg CO2")
    fig, (ax,) = _figure()
    for label in data.order[:_MAX_LINES]:
        frame = data.runs[data.runs["treatment"] == label]
        ax.scatter(frame[co2].astype("float64"), frame[green].astype("float64"), label=label, s=18, alpha=0.8)
    ax.set_xlabel(f"{co2} (kg CO2 per run)")
    ax.set_ylabel(f"{green} (share of energy)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def qos_violations(data: PlotData) -> Figure:
    """Mean QoS violations per run and treatment with 95 % CIs."""
    column = _need(data.runs, QOS, "sum", "QoS violation")
    fig, (ax,) = _figure()
    _bars(ax, data, column, f"{column} (per run)")
    return fig


def gas_per_trade(data: PlotData) -> Figure:
    """Mean gas per settled trade per treatment with 95 % CIs."""
    if not {"gas_used", "trades"} <= set(data.runs.columns):
        raise PlotSkipped("no gas_used and trades in the results")
    gas = data.runs["gas_used"].astype("float64")
    if not (gas > 0).any():
        raise PlotSkipped(
            'gas_used is 0 in every run (the memory back end uses no gas); set chain = "eth-tester" in the sweep'
        )
    trades = data.runs["trades"].astype("float64")
    runs = data.runs.assign(gas_per_trade=(gas / trades.where(trades > 0)).to_numpy())
    fig, (ax,) = _figure()
    _bars(ax, PlotData(runs, data.steps, data.order, data.plan), "gas_per_trade", "gas per trade")
    return fig


#: Every figure of the report: (file stem, title, drawing function), in report order.
FIGURES: tuple[tuple[str, str, Callable[[PlotData], Figure]], ...] = (
    ("price_convergence", "Price convergence", price_convergence),
    ("supply_demand", "Supply and demand (round 1)", supply_and_demand),
    ("welfare_efficiency", "Welfare and efficiency by treatment", welfare_and_efficiency),
    ("green_share_co2", "Green share against kg CO2", green_share_against_co2),
    ("qos_violations", "QoS violations", qos_violations),
    ("gas_per_trade", "Gas per trade", gas_per_trade),
)
