"""The dashboard's drawings as matplotlib figures: the East-Data-West-Compute map and the live charts.

Pure functions of a model, so they are tested without a browser. They build
:class:`matplotlib.figure.Figure` objects directly (no pyplot state), which is safe from the
server's threads.

The map puts the ten hub clusters at their real longitude and latitude and draws the backbone
links with networkx: a link is as wide as the traffic it carried this hour, a data centre's
square as large as its capacity and coloured by its utilisation (a cross when an outage took it
down), and each cluster's energy suppliers sit around it, sized by the energy they offer this hour.
The dashed line is the Hu Huanyong line (Heihe–Tengchong), China's classic east–west divide.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from agents.geography import CLUSTERS, is_east

if TYPE_CHECKING:
    import pandas as pd

    from agents import EastWestModel, MarketModel

__all__ = ["map_figure", "charts_figure", "SERIES"]

_KIND_STYLE = {  # colour and offset (degrees) of each energy supplier kind around its cluster
    "solar": ("#f2b705", (-0.55, 0.45)),
    "wind": ("#3aa6dd", (0.55, 0.45)),
    "thermal": ("#6b6b6b", (-0.55, -0.45)),
    "microgrid": ("#2e9e5b", (0.55, -0.45)),
}
_HU_LINE = ((127.5, 50.2), (98.5, 25.0))  # Heihe to Tengchong

#: Charts per model key: (DataCollector column, title, divisor to display units).
SERIES: dict[str, list[tuple[str, str, float]]] = {
    "east-west": [
        ("compute_price_micro", "compute price, µtoken/mcore·h", 1.0),
        ("energy_price_micro", "energy price, µtoken/Wh", 1.0),
        ("compute_mcore_h", "compute sold, core·h", 1_000.0),
        ("energy_wh", "energy traded, kWh", 1_000.0),
        ("green_share", "green share of energy", 1.0),
        ("kg_co2", "emissions, kg CO2", 1.0),
        ("welfare_micro", "welfare, tokens", 1_000_000.0),
        ("trades", "trades per hour", 1.0),
    ],
}


def map_figure(model: EastWestModel) -> Figure:
    """The East-Data-West-Compute map of an ``EastWestModel`` in its current hour."""
    fig = Figure(figsize=(6.4, 4.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    pos = {c.name: (c.lon, c.lat) for c in CLUSTERS}
    graph = nx.Graph()
    graph.add_nodes_from(pos)
    for link in model.links:
        graph.add_edge(link.a, link.b, carried=link.carried_mb, latency=link.latency_ms)
    carried = np.array([d["carried"] for _, _, d in graph.edges(data=True)], dtype=float)
    widths = 0.8 + 5.0 * carried / carried.max() if carried.size and carried.max() > 0 else 0.8
    nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, edge_color="#8a8fa3", alpha=0.8)
    ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True, labelsize=7)  # networkx hides them
    (x0, y0), (x1, y1) = _HU_LINE
    ax.plot([x0, x1], [y0, y1], ls="--", lw=1, color="#c44", alpha=0.6, label="Hu line")

    for supplier in model.suppliers:
        colour, (dx, dy) = _KIND_STYLE.get(str(supplier.kind), ("#999", (0.0, 0.0)))
        share = supplier.available_wh / supplier.capacity_w if supplier.capacity_w else 0.0
        ax.scatter(
            supplier.site.lon + dx, supplier.site.lat + dy, s=12 + 90 * min(share, 1.0), color=colour, edgecolor="white", lw=0.4, zorder=3,
            gid=f"supplier:{supplier.kind}:{supplier.site.name}",
        )  # fmt: skip
    for kind, (colour, _) in _KIND_STYLE.items():
        ax.scatter([], [], s=30, color=colour, label=kind)

    capacity = max((dc.capacity_mcore_h for dc in model.centres), default=1)
    for dc in model.centres:
        size = 80 + 260 * dc.capacity_mcore_h / capacity
        fill = _utilisation_colour(dc.utilization)
        ax.scatter(dc.site.lon, dc.site.lat, s=size, marker="s", color=fill, edgecolor="black", lw=0.8, zorder=4, gid=f"dc:{dc.site.name}")
        if not dc.online:
            ax.scatter(dc.site.lon, dc.site.lat, s=size, marker="x", color="#d00", lw=2.5, zorder=5, gid=f"outage:{dc.site.name}")
        side = "E" if is_east(dc.site) else "W"
        ax.annotate(
            f"{dc.site.name} ({side}) {dc.utilization:.0%}",
            (dc.site.lon, dc.site.lat),
            xytext=(6, 7),
            textcoords="offset points",
            fontsize=7,
            zorder=6,
        )
    ax.set_xlim(99.5, 125.0)
    ax.set_ylim(21.5, 44.0)
    ax.set_aspect(1 / math.cos(math.radians(33)))
    ax.set_xlabel("longitude °E")
    ax.set_ylabel("latitude °N")
    ax.grid(alpha=0.25)
    ax.legend(loc="lower right", fontsize=7, ncol=5, frameon=False, handletextpad=0.2, columnspacing=0.8)
    ax.set_title(f"hour {model.steps}: data centres (□ size = capacity, colour = load), energy suppliers, links", fontsize=8)
    return fig


def _utilisation_colour(u: float) -> tuple[float, float, float]:
    """Green when idle through yellow to red when full."""
    u = min(max(u, 0.0), 1.0)
    return (min(1.0, 2 * u), min(1.0, 2 * (1 - u)) * 0.8, 0.2)


def charts_figure(model: MarketModel, model_key: str, previous: pd.DataFrame | None = None) -> Figure:
    """The live charts of a model: one small panel per series of its DataCollector.

    Auction models get their own panels (prices of the latest period against the equilibrium,
    mean price, volume and efficiency per period); a model without a series list here gets a
    panel per numeric column (at most eight).

    Args:
        model: The market.
        model_key: Its key in :data:`agents.MODELS`.
        previous: The DataCollector frame of the run before the last reset, drawn grey and dashed
            under each series so a changed setting (e.g. the carbon price) shows against it.
    """
    frame = model.datacollector.get_model_vars_dataframe().iloc[1:]  # row 0 is the state before the first step
    before = previous.iloc[1:] if previous is not None and len(previous) > 1 else None
    if model_key == "double-auction":
        return _auction_charts(model, frame)
    series = SERIES.get(model_key) or [(c, c, 1.0) for c in frame.columns if np.issubdtype(frame[c].dtype, np.number)][:8]
    cols = 4 if len(series) > 6 else 3
    rows = max(1, math.ceil(len(series) / cols))
    fig = Figure(figsize=(7.2, 2.0 * rows + 0.4), dpi=100, layout="constrained")
    steps = np.arange(1, len(frame) + 1)
    for i, (column, title, divisor) in enumerate(series):
        ax = fig.add_subplot(rows, cols, i + 1)
        if before is not None and column in before:
            ax.plot(
                np.arange(1, len(before) + 1), before[column].to_numpy(dtype=float) / divisor, lw=1.0, ls="--", color="grey", label="previous run"
            )
        values = frame[column].to_numpy(dtype=float) / divisor if column in frame else np.full(len(frame), np.nan)
        ax.plot(steps, values, lw=1.4, color=f"C{i % 10}")
        ax.set_title(title, fontsize=8)
        _style(ax)
    fig.suptitle(f"step {model.steps}" + ("  (grey, dashed: the run before the last reset)" if before is not None else ""), fontsize=8)
    return fig


def _auction_charts(model: Any, frame: Any) -> Figure:
    unit = model.price_unit
    fig = Figure(figsize=(7.2, 4.4), dpi=100, layout="constrained")
    axes = fig.subplots(2, 2)
    eq = model.equilibrium_price / unit.scale if model.equilibrium_price is not None else None

    ax = axes[0, 0]
    prices = [t.price / unit.scale for t in model.trades]
    people = {h.unique_id for h in model.humans}
    ax.plot(range(1, len(prices) + 1), prices, marker="o", ms=3, lw=1, color="C0", label="trade")
    mine = [(i + 1, t.price / unit.scale) for i, t in enumerate(model.trades) if t.buyer in people or t.seller in people]
    if mine:
        ax.scatter(*zip(*mine, strict=True), s=40, color="C3", zorder=3, label="a person's trade")
    if eq is not None:
        ax.axhline(eq, ls="--", color="grey", lw=1, label="equilibrium")
    ax.set_title(f"period {model.steps}: prices in trade order, {unit.label}", fontsize=8)
    ax.legend(fontsize=6, frameon=False)

    periods = np.arange(1, len(frame) + 1)
    ax = axes[0, 1]
    ax.plot(periods, frame["mean_price_micro"].to_numpy(dtype=float) / unit.scale, marker=".", color="C1")
    if eq is not None:
        ax.axhline(eq, ls="--", color="grey", lw=1)
    ax.set_title(f"mean price per period, {unit.label}", fontsize=8)

    ax = axes[1, 0]
    ax.bar(periods, frame["volume"].to_numpy(dtype=float), color="C2")
    ax.axhline(model.equilibrium_volume, ls="--", color="grey", lw=1)
    ax.set_title("units traded per period (dashed: equilibrium)", fontsize=8)

    ax = axes[1, 1]
    ax.plot(periods, frame["efficiency"].to_numpy(dtype=float), marker=".", color="C4")
    ax.set_ylim(0, 1.05)
    overall = model.efficiency()
    ax.set_title(f"efficiency per period (overall {overall:.0%})" if not math.isnan(overall) else "efficiency per period", fontsize=8)
    for ax in (axes[0, 1], axes[1, 0], axes[1, 1]):
        ax.set_xlim(0.5, max(len(frame), 1) + 0.5)
        ax.set_xlabel("period", fontsize=7)
    for ax in axes.flat:
        _style(ax)
    return fig


def _style(ax: Any) -> None:
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.25)
