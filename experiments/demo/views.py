"""The dashboard's Solara components around Mesa's SolaraViz: map, charts, ticker, ledger, classroom.

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
from market.orders import Side

__all__ = ["Dashboard", "MapView", "ChartsView", "TickerView", "LedgerView", "ClassroomView", "model_params", "components_for"]

#: How often a session looks whether another one changed the market, seconds.
FOLLOW_S = 0.5
_FILL = {"height": "100%", "overflow": "auto", "padding": "4px 8px"}
_TABLE = "width:100%;border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums"
_CELLS = "<style>.ccei-table td, .ccei-table th {padding: 1px 6px; white-space: nowrap}</style>"


def model_params(scenario: Scenario, config: DemoConfig, room: Room) -> dict[str, Any]:
    """SolaraViz's parameters: controls for the scenario's key parameters, the rest fixed.

    The East-Data-West-Compute market gets users, green preference, energy mechanism, carbon
    price and outage rate; the double auctions get strategy, mechanism and shouts per period.
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
    """The panels of a model, two to a row: the map (or the classroom), the charts, the ticker, the ledger."""
    first = {"east-west": [MapView], "double-auction": [ClassroomView]}.get(model_key, [])
    return [(c, 0) for c in (*first, ChartsView, TickerView, LedgerView)]


@solara.component
def Dashboard(room: Room, scenario: Scenario, config: DemoConfig) -> None:
    """The whole page: SolaraViz on the room's market, following the room."""
    try:
        current = room.model
    except CceiError as exc:
        solara.Error(f"ccei demo: {exc}")
        return
    model = solara.use_reactive(current)

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
    fig = _figure(model, lambda: charts_figure(model, model.model_key))
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


@solara.component
def ClassroomView(model: DemoMarket) -> None:
    """A person's seat in a double auction: join, quote, and see one's own surplus and the market's efficiency."""
    update_counter.get()
    seat_id = solara.use_reactive(0)
    name = solara.use_reactive("")
    side = solara.use_reactive("buy")
    price = solara.use_reactive("")
    note = solara.use_reactive(("", "", -1))  # (kind, text, the step it belongs to)
    me = model.seat(seat_id.value or None)
    unit = model.price_unit

    def join() -> None:
        try:
            trader = model.join(name.value, side.value)
        except CceiError as exc:
            note.set(("error", str(exc), model.steps))
            return
        seat_id.set(trader.unique_id)
        word = "value" if trader.side is Side.BUY else "cost"
        note.set(("ok", f"Welcome, {trader.name}: your {word} is private; trade from the next period on", model.steps))

    def submit() -> None:
        if me is None:
            return
        try:
            micro = model.quote(me, price.value)
        except CceiError as exc:
            note.set(("error", str(exc), model.steps))
            return
        price.set("")
        note.set(("ok", f"Your {'bid' if me.side is Side.BUY else 'ask'} of {unit.show(micro)} {unit.label} stands in period {model.steps + 1}", model.steps))

    with solara.Column(classes=["ccei-classroom"], style=_FILL):
        solara.Text("Classroom: trade against the agents", style={"font-weight": "bold", "font-size": "16px"})
        if me is None:
            solara.Text("Take a seat as a buyer or a seller. You get a private value (cost) per unit; buy below it (sell above it) to earn surplus.")
            solara.InputText("your name", value=name, continuous_update=True, classes=["ccei-name"])
            solara.ToggleButtonsSingle(value=side, values=["buy", "sell"], classes=["ccei-side"])
            solara.Button("Take a seat", on_click=join, color="primary", classes=["ccei-join"])
        else:
            buying = me.side is Side.BUY
            word = "bid" if buying else "ask"
            limits = ", ".join(unit.show(v) for v in me.limits)
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"<b>{html.escape(me.name)}</b>, you {'buy' if buying else 'sell'}: your {'value' if buying else 'cost'} "
                f"per unit is <b class='ccei-limit'>{limits} {unit.label}</b>. "
                f"Prices run from {unit.show(model.price_floor)} to {unit.show(model.price_ceiling)}.",
            )
            with solara.Row():
                solara.InputText(f"your {word}, {unit.label}", value=price, continuous_update=True, classes=["ccei-price"])
                solara.Button(f"Submit {word}", on_click=submit, color="primary", classes=["ccei-submit"])
            mine = [t for t in model.trades if me.agent_id in (t.buyer, t.seller)]
            last = ", ".join(unit.show(t.price) for t in mine) or "nothing"
            queued = ", ".join(unit.show(q) for q in me.quotes) or "none"
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"Queued for period {model.steps + 1}: <b>{queued}</b>. Period {model.steps}: you traded at <b>{last}</b>.<br>"
                f"Your surplus: period <b>{unit.show(me.period_surplus_micro)}</b>, "
                f"total <b class='ccei-surplus'>{unit.show(me.surplus_micro)}</b> {unit.label}.",
                classes=["ccei-you"],
            )
        kind, text, step = note.value
        if text and step == model.steps:
            (solara.Success if kind == "ok" else solara.Error)(text, dense=True, classes=["ccei-note"])
        _market_line(model)
        _people_table(model, me.unique_id if me else None)


def _market_line(model: Any) -> None:
    unit = model.price_unit
    frame = model.datacollector.get_model_vars_dataframe()
    period = frame["efficiency"].iloc[-1] if len(frame) > 1 else float("nan")
    overall = model.efficiency()
    eq = "none" if model.equilibrium_price is None else unit.show(model.equilibrium_price)
    shown = [f"{v:.0%}" if v == v else "n/a" for v in (period, overall)]
    solara.Text(
        f"Market efficiency: last period {shown[0]}, overall {shown[1]}; equilibrium {model.equilibrium_volume} units at {eq} {unit.label}",
        classes=["ccei-efficiency"],
    )


def _people_table(model: Any, mine: int | None) -> None:
    unit = model.price_unit
    bold = ' style="font-weight:bold"'
    rows = "".join(
        f"<tr{bold if h.unique_id == mine else ''}><td>{html.escape(h.name)}</td><td>{h.side}</td>"
        f"<td>{h.traded}/{len(h.limits)}</td><td style='text-align:right'>{unit.show(h.surplus_micro)}</td></tr>"
        for h in model.humans
    )
    if rows:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f'{_CELLS}<table class="ccei-table" style="{_TABLE}"><thead><tr style="text-align:left"><th>person</th><th>side</th>'
            f"<th>traded last period</th><th style='text-align:right'>surplus, {unit.label}</th></tr></thead><tbody>{rows}</tbody></table>",
            classes=["ccei-people"],
        )
