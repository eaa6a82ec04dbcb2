"""The dashboard's Solara components around Mesa's SolaraViz: map, charts, ticker, ledger.

:func:`Dashboard` follows its :class:`~experiments.demo.live.Room`: it hands SolaraViz the room's
market (SolaraViz brings the reset, step and play controls and the parameter controls of
:func:`model_params`), and a watcher thread per browser session re-renders when another session
steps the market, seats a person or resets it, so a whole class sees one market.

Every panel carries a ``ccei-*`` CSS class, which the browser test finds it by.
"""

from __future__ import annotations

import html
import inspect
import threading
from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from agents.auction import MECHANISMS as AUCTION_MECHANISMS
from agents.eastwest import ENERGY_MECHANISMS
from agents.strategies import StrategyName
from experiments.demo.figures import charts_figure, map_figure
from experiments.demo.live import DemoMarket, Room
from experiments.demo.server import DemoConfig
from experiments.scenarios import Scenario
from market.errors import CceiError

__all__ = ["Dashboard", "MapView", "ChartsView", "TickerView", "LedgerView", "model_params", "components_for"]

#: How often a session looks whether another one changed the market, seconds.
FOLLOW_S = 0.5
_FILL = {"height": "100%", "overflow": "auto", "padding": "4px 8px"}
_TABLE = "width:100%;border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums"
_CELLS = "<style>.ccei-table td, .ccei-table th {padding: 1px 6px; white-space: nowrap}</style>"


def model_params(scenario: Scenario, config: DemoConfig, room: Room) -> dict[str, Any]:
    """SolaraViz's parameters: controls for the scenario's key parameters, the rest fixed.

    The East-Data-West-Compute market gets users, green preference, energy mechanism, carbon
    price, carbon-aware shifting (with the carbon price, the setting whose effect shows within a
    day) and outage rate; the double auctions get strategy, mechanism and shouts per period.
    """
    p = scenario.params
    defaults = _defaults(scenario)
    controls: dict[str, Any] = {}
    if scenario.model == "east-west":
        controls = {
            "n_users": {"type": "SliderInt", "label": "users", "value": p.get("n_users", defaults["n_users"]), "min": 10, "max": 400, "step": 10},
            "green_preference": {"type": "SliderFloat", "label": "green preference", "value": p.get("green_preference", defaults["green_preference"]), "min": 0.0, "max": 1.0, "step": 0.05},
            "mechanism": {"type": "Select", "label": "energy market", "value": p.get("mechanism", defaults["mechanism"]), "values": list(ENERGY_MECHANISMS)},
            "carbon_price_micro_per_kg": {"type": "SliderFloat", "label": "carbon price, µtoken/kg", "value": p.get("carbon_price_micro_per_kg", defaults["carbon_price_micro_per_kg"]), "min": 0.0, "max": 5_000_000.0, "step": 100_000.0},
            "carbon_aware": {"type": "Checkbox", "label": "carbon-aware shifting", "value": p.get("carbon_aware", defaults["carbon_aware"])},
            "outage_per_year": {"type": "SliderFloat", "label": "outages a year", "value": p.get("outage_per_year", defaults["outage_per_year"]), "min": 0.0, "max": 50.0, "step": 0.1},
        }  # fmt: skip
    elif scenario.model == "double-auction":
        controls = {
            "strategy": {"type": "Select", "label": "agents' strategy", "value": p.get("strategy", defaults["strategy"]), "values": [s.value for s in StrategyName]},
            "mechanism": {"type": "Select", "label": "market rule", "value": p.get("mechanism", defaults["mechanism"]), "values": list(AUCTION_MECHANISMS)},
            "shouts_per_period": {"type": "SliderInt", "label": "shouts per period", "value": p.get("shouts_per_period", defaults["shouts_per_period"]), "min": 20, "max": 1000, "step": 20},
        }  # fmt: skip
    fixed = {k: v for k, v in p.items() if k not in controls}
    return {**fixed, **controls, "chain": config.chain, "log_dir": config.out, "scenario": scenario.name, "room": room, "seed": config.seed}


def _defaults(scenario: Scenario) -> dict[str, Any]:
    sig = inspect.signature(scenario.model_class.__init__)
    return {n: q.default for n, q in sig.parameters.items() if q.default is not inspect.Parameter.empty}


def components_for(model_key: str) -> list[tuple[Callable[..., Any], int]]:
    """The panels of a model, two to a row: the map (East-Data-West-Compute), the charts, the ticker, the ledger.

    A class trading in a double auction uses the classroom server instead (:mod:`experiments.demo.web`).
    """
    first = {"east-west": [MapView]}.get(model_key, [])
    return [(c, 0) for c in (*first, ChartsView, TickerView, LedgerView)]


@solara.component
def Dashboard(room: Room, scenario: Scenario, config: DemoConfig) -> None:
    """The whole page: SolaraViz on the room's market, following the room."""
    try:
        current = room.model
    except CceiError as exc:
        solara.Error(f"ccei demo: {exc}")
        return
    model: solara.Reactive[DemoMarket] = solara.use_reactive(current)

    def follow(cancel: threading.Event) -> None:
        seen = model.value.version
        while not cancel.wait(FOLLOW_S):
            latest = room.model
            if latest is not model.value:
                model.value = latest
                seen = latest.version
            elif latest.version != seen:
                seen = latest.version
                force_update()

    solara.use_thread(follow, dependencies=[], intrusive_cancel=False)
    chain = {"memory": "memory ledger", "eth-tester": "embedded chain"}.get(config.chain, config.chain)
    SolaraViz(
        model,
        components=components_for(scenario.model),
        model_params=model_params(scenario, config, room),
        name=f"CCEI Market Lab · {scenario.name} · {chain}",
        play_interval=200,
    )


def _figure(model: DemoMarket, build: Callable[[], Any]) -> Any:
    """Builds a figure once per market state, holding the market's lock while it reads."""

    def make() -> Any:
        with model.lock:
            return build()

    return solara.use_memo(make, [id(model), model.version])


@solara.component
def MapView(model: DemoMarket) -> None:
    """The East-Data-West-Compute map (see :func:`experiments.demo.figures.map_figure`)."""
    update_counter.get()
    fig = _figure(model, lambda: map_figure(model))
    with solara.Column(classes=["ccei-map"], style=_FILL):
        solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.version])


@solara.component
def ChartsView(model: DemoMarket) -> None:
    """Live charts of prices, volumes, green share, emissions and welfare (or the auction's)."""
    update_counter.get()
    fig = _figure(model, lambda: charts_figure(model, model.model_key, model.previous_frame))
    with solara.Column(classes=["ccei-charts"], style=_FILL):
        solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.version])


@solara.component
def TickerView(model: DemoMarket) -> None:
    """The latest trades, newest first, read from the hash-checked trade log."""
    update_counter.get()
    rows = model.ticker()
    unit = model.price_unit
    body = "".join(
        f'<tr class="ccei-trade"><td>{r.step}</td><td>{html.escape(r.buyer)}</td><td>{html.escape(r.seller)}</td>'
        f"<td>{r.quantity:,} {r.unit} {r.resource}</td><td style='text-align:right'>{unit.show(r.price_micro)}</td></tr>"
        for r in rows
    )
    if not body:
        body = '<tr><td colspan="5"><i>no trades yet: press Step</i></td></tr>'
    table = _CELLS + (
        f'<table class="ccei-table" style="{_TABLE}"><thead><tr style="text-align:left"><th>step</th><th>buyer</th><th>seller</th>'
        f"<th>what</th><th style='text-align:right'>price, {unit.label}</th></tr></thead><tbody>{body}</tbody></table>"
    )
    with solara.Column(classes=["ccei-ticker"], style=_FILL):
        solara.Text(f"Trade ticker: {model.tail.lines:,} log lines, head {model.tail.head[:12]}…", style={"font-weight": "bold"})
        solara.HTML(tag="div", unsafe_innerHTML=table)


@solara.component
def LedgerView(model: DemoMarket) -> None:
    """What the ledger has settled; gas and transactions on the embedded chain."""
    update_counter.get()
    s = model.ledger_stats()
    items = [f"trades settled: <b class='ccei-trades'>{s.trades:,}</b>, money moved: <b>{s.volume_micro / 1e6:,.2f} tokens</b>"]
    if s.backend == "chain":
        per_trade = s.gas_used / s.trades if s.trades else 0
        items += [
            f"gas used: <b class='ccei-gas'>{s.gas_used:,}</b> ({per_trade:,.0f} per trade)",
            f"transactions: <b class='ccei-transactions'>{s.transactions:,}</b> ({s.settlement_transactions:,} settled the rounds' batches;"
            " the others deployed the contracts and opened the accounts)",
        ]
    else:
        items.append("no gas on the memory back end: <code>ccei demo --chain eth-tester</code> settles on the embedded chain")
    items.append(f"trade log <code>{html.escape(str(model.log_path))}</code>: {s.log_entries:,} lines, head <code>{s.log_head[:16]}…</code>")
    where = f"embedded chain ({html.escape(model.chain)})" if s.backend == "chain" else "memory back end"
    with solara.Column(classes=["ccei-ledger"], style=_FILL):
        solara.HTML(tag="div", unsafe_innerHTML=f"<b>Ledger</b>: {where}<ul>{''.join(f'<li>{i}</li>' for i in items)}</ul>")
