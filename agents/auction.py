"""Double-auction markets with induced values: Smith's classroom market and Gode & Sunder's ZI traders.

Each buyer holds private values for its units and each seller private costs (induced values, Smith
1962); a step is one trading period. Under ``mechanism = "cda"`` traders chosen at random shout
one-unit bids and asks into a continuous double auction with price-time priority, a shout that
crosses the best standing quote trades at the standing quote's price, and (as in Gode & Sunder's
markets) every transaction clears the book. Under a call rule (``uniform``, ``pay-as-bid``,
``mcafee``) every trader quotes each remaining unit once and the book clears once per period.

Allocative efficiency is realised surplus over the maximum possible surplus (Gode & Sunder 1993).

People can trade against the agents (classroom mode, as in Smith's own sessions): :meth:`AuctionModel.add_human`
gives a person a trader with induced values or costs, and :meth:`AuctionModel.submit_quote` queues
that person's bid or ask for the next period. In a continuous double auction a person's quote
stands in the book for the whole period (it is re-entered whenever a transaction clears the book)
until it trades or the period ends; under a call rule it joins the call. The person's surplus is
booked like any trader's.

References:
    Smith, V. L. (1962), "An experimental study of competitive market behavior", J. Political
    Economy 70(2). Gode, D. K. & Sunder, S. (1993), "Allocative efficiency of markets with
    zero-intelligence traders", J. Political Economy 101(1). Cliff, D. (1997), HPL-97-91 (ZIP).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import mesa
import numpy as np

from agents.model import MarketModel, Participant, Problems
from agents.strategies import Strategy, StrategyName, make_strategy
from market.auctions import OrderBook, clear_double_auction
from market.errors import CceiError
from market.orders import Order, OrderId, Resource, Side, Trade

__all__ = ["Trader", "AuctionModel", "QuoteRejected", "max_surplus", "convergence"]

MECHANISMS = ("cda", "uniform", "pay-as-bid", "mcafee")


def max_surplus(values: list[int], costs: list[int]) -> int:
    """The largest total gain from trade: pair the highest values with the lowest costs while value > cost."""
    total = 0
    for v, c in zip(sorted(values, reverse=True), sorted(costs), strict=False):
        if v <= c:
            break
        total += v - c
    return total


def convergence(prices: Sequence[int], equilibrium: float | None) -> tuple[float, float]:
    """Smith's coefficient of convergence and the mean absolute deviation of ``prices`` from ``equilibrium``.

    Smith (1962) measures how close a period's transaction prices lie to the competitive
    equilibrium price P0 by alpha = 100 * sigma0 / P0, where sigma0 is the root-mean-square
    deviation of the period's prices from P0 (not from their own mean): alpha is 0 when every
    price is P0. The mean absolute deviation ``mean |p - P0|`` is in the prices' own unit.

    Args:
        prices: The period's transaction prices.
        equilibrium: P0; ``None`` when supply and demand do not cross.

    Returns:
        ``(alpha in percent, mean absolute deviation)``; both NaN without trades, P0 or with P0 = 0.
    """
    if not prices or equilibrium is None or equilibrium <= 0:
        return math.nan, math.nan
    deviations = [p - equilibrium for p in prices]
    sigma0 = math.sqrt(math.fsum(d * d for d in deviations) / len(deviations))
    return 100.0 * sigma0 / equilibrium, math.fsum(abs(d) for d in deviations) / len(deviations)


class QuoteRejected(CceiError, ValueError):
    """A person's quote cannot enter the market; the message says why."""

    exit_code = 2


class Trader(Participant):
    """A buyer or seller with one private limit per unit, trading its units in limit order.

    Buyers trade their highest-valued units first, sellers their cheapest. A person's trader
    (``human``) never shouts by itself: it trades the quotes its person queued for the period.
    """

    model: AuctionModel

    def __init__(
        self,
        model: AuctionModel,
        side: Side,
        limits: list[int],
        strategy: Strategy,
        initial_funds_micro: int,
        *,
        human: bool = False,
        name: str = "",
    ) -> None:
        super().__init__(model, initial_funds_micro)
        self.side = side
        self.limits = sorted(limits, reverse=side is Side.BUY)
        self.strategy = strategy
        self.human = human
        self.name = name
        self.quotes: list[int] = []  # a person's prices queued for the next period
        self.traded = 0
        self.surplus_micro = 0
        self.period_surplus_micro = 0

    @property
    def active(self) -> bool:
        return self.traded < len(self.limits)

    @property
    def limit(self) -> int:
        return self.limits[self.traded]

    def start_period(self) -> None:
        self.traded = 0
        self.period_surplus_micro = 0

    def shout(self) -> Order:
        """A one-unit quote for the next unit, priced by the strategy."""
        return self.model.new_order(self, self.limit)

    def fill(self, trade: Trade, limit: int) -> None:
        """Books a filled unit whose private value (or cost) was ``limit``."""
        gain = (limit - trade.price) if self.side is Side.BUY else (trade.price - limit)
        self.surplus_micro += gain
        self.period_surplus_micro += gain
        self.wallet_micro += -trade.amount if self.side is Side.BUY else trade.amount
        self.traded += 1


class AuctionModel(MarketModel):
    """Buyers and sellers with induced values trade in a double auction, one period per step.

    Values and costs are either given (``buyer_values`` / ``seller_costs``: one list entry per trader,
    each trader one unit, as in Smith 1962) or drawn once per run, uniformly in
    [``value_min``, ``value_max``] and [``cost_min``, ``cost_max``], ``units_per_trader`` each (as in
    Gode & Sunder 1993). Prices are integer micro-tokens per unit.

    Args:
        n_buyers: Buyers when values are drawn.
        n_sellers: Sellers when costs are drawn.
        units_per_trader: Units each trader holds when drawn.
        buyer_values: Explicit one-unit values (overrides the draw when non-empty).
        seller_costs: Explicit one-unit costs (overrides the draw when non-empty).
        value_min, value_max, cost_min, cost_max: Ranges for drawn values and costs.
        price_floor, price_ceiling: The range ZI traders quote over.
        strategy: Strategy of every trader (truthful, zi-u, zi-c, zip, markup).
        mechanism: ``cda`` or a call rule (``uniform``, ``pay-as-bid``, ``mcafee``).
        shouts_per_period: Shouts in one CDA period.
        resource: What is traded.
        seed: Seed of the model's generators.
        settler: Where each period's trades settle.
    """

    def __init__(
        self,
        n_buyers: int = 6,
        n_sellers: int = 6,
        units_per_trader: int = 4,
        buyer_values: list[int] | None = None,
        seller_costs: list[int] | None = None,
        value_min: int = 60,
        value_max: int = 200,
        cost_min: int = 1,
        cost_max: int = 140,
        price_floor: int = 1,
        price_ceiling: int = 200,
        strategy: str = "zi-c",
        mechanism: str = "cda",
        shouts_per_period: int = 400,
        resource: str = "energy",
        seed: int | None = None,
        settler: Any = None,
    ) -> None:
        super().__init__(seed=seed, settler=settler)
        if mechanism not in MECHANISMS:
            raise ValueError(f"unknown mechanism {mechanism!r} (one of: {', '.join(MECHANISMS)})")
        self.mechanism = mechanism
        self.shouts_per_period = shouts_per_period
        self.price_floor = price_floor
        self.price_ceiling = price_ceiling
        self.resource = Resource(resource)
        self.strategy_name = StrategyName(strategy)
        self._next_order = 1
        self.realised_surplus_micro = 0
        self.possible_surplus_micro = 0
        self.period_surplus_micro = 0
        self.period_alpha: list[float] = []  # Smith's alpha of every period so far
        self.period_mad_micro: list[float] = []  # mean |price - P0| of every period so far
        self._unit_limit: dict[OrderId, int] = {}

        buyers = [[v] for v in buyer_values] if buyer_values else self._draw(n_buyers, units_per_trader, value_min, value_max)
        sellers = [[c] for c in seller_costs] if seller_costs else self._draw(n_sellers, units_per_trader, cost_min, cost_max)
        funds = max(price_ceiling, max((max(v) for v in buyers), default=0)) * max((len(v) for v in buyers), default=0)
        self.buyer_funds_micro = funds * 100_000
        for limits in buyers:
            strat = make_strategy(strategy, self.rng, floor=price_floor, ceiling=price_ceiling)
            Trader(self, Side.BUY, limits, strat, initial_funds_micro=self.buyer_funds_micro)
        for limits in sellers:
            strat = make_strategy(strategy, self.rng, floor=price_floor, ceiling=price_ceiling)
            Trader(self, Side.SELL, limits, strat, initial_funds_micro=0)
        self._benchmarks()

        self.datacollector = mesa.DataCollector(
            model_reporters={
                "trades": lambda m: len(m.trades),
                "volume": lambda m: sum(t.quantity for t in m.trades),
                "mean_price_micro": lambda m: float(np.mean([t.price for t in m.trades])) if m.trades else np.nan,
                "price_sd_micro": lambda m: float(np.std([t.price for t in m.trades])) if m.trades else np.nan,
                "surplus_micro": lambda m: m.period_surplus_micro,
                "efficiency": lambda m: m.period_surplus_micro / m.max_period_surplus_micro if m.max_period_surplus_micro else np.nan,
                "smith_alpha": lambda m: m.period_alpha[-1] if m.period_alpha else np.nan,
                "mad_from_equilibrium_micro": lambda m: m.period_mad_micro[-1] if m.period_mad_micro else np.nan,
                "gas_used": lambda m: m.last_outcome.gas_used,
            }
        )
        self.datacollector.collect(self)

    def _benchmarks(self) -> None:
        """The maximum surplus per period and the competitive equilibrium of every trader's limits."""
        traders = self._traders()
        values = [v for t in traders if t.side is Side.BUY for v in t.limits]
        costs = [c for t in traders if t.side is Side.SELL for c in t.limits]
        self.max_period_surplus_micro = max_surplus(values, costs)
        equilibrium = clear_double_auction([(v, 1) for v in values], [(c, 1) for c in costs], rule="uniform")
        self.equilibrium_price = equilibrium.clearing_price
        self.equilibrium_volume = equilibrium.volume

    def _draw(self, n: int, units: int, low: int, high: int) -> list[list[int]]:
        return [[int(x) for x in self.rng.integers(low, high + 1, size=units)] for _ in range(n)]

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> Problems:
        """Scenario checks beyond types: known strategy and mechanism, ordered ranges."""
        problems: Problems = []
        if params["strategy"] not in {s.value for s in StrategyName}:
            problems.append(("strategy", f"unknown strategy {params['strategy']!r} (one of: {', '.join(s.value for s in StrategyName)})"))
        if params["mechanism"] not in MECHANISMS:
            problems.append(("mechanism", f"unknown mechanism {params['mechanism']!r} (one of: {', '.join(MECHANISMS)})"))
        for low, high in (("value_min", "value_max"), ("cost_min", "cost_max"), ("price_floor", "price_ceiling")):
            if params[low] > params[high]:
                problems.append(((low, high), f"{low} must not exceed {high} ({params[low]} > {params[high]})"))
        if params["resource"] not in {r.value for r in Resource}:
            problems.append(("resource", f"unknown resource {params['resource']!r}"))
        return problems

    @property
    def participants(self) -> list[Participant]:
        return list(self.agents)

    def new_order(self, trader: Trader, limit: int) -> Order:
        """A one-unit order for ``trader``'s unit with private ``limit``, priced by its strategy."""
        price = trader.strategy.quote(trader.side, limit, self.rng)
        order = Order(OrderId(self._next_order), trader.agent_id, trader.side, self.resource, 1, price, self.steps)
        self._next_order += 1
        self.orders.append(order)
        self._unit_limit[order.order_id] = limit
        return order

    def _book(self, trade: Trade, by_id: dict[int, Trader]) -> None:
        by_id[trade.buyer].fill(trade, self._unit_limit[trade.buy_order])
        by_id[trade.seller].fill(trade, self._unit_limit[trade.sell_order])
        self.trades.append(trade)

    def efficiency(self) -> float:
        """Realised surplus over the maximum possible surplus, over all periods so far."""
        possible = self.possible_surplus_micro
        return self.realised_surplus_micro / possible if possible else float("nan")

    def summary_metrics(self) -> dict[str, Any]:
        return {
            "efficiency": round(self.efficiency(), 6),
            "realised_surplus_micro": self.realised_surplus_micro,
            "max_surplus_micro": self.possible_surplus_micro,
            "equilibrium_price_micro": self.equilibrium_price,
            "equilibrium_volume": self.equilibrium_volume,
            # per period, in order; null where a period had no trade (JSON has no NaN)
            "smith_alpha_by_period": [None if math.isnan(a) else round(a, 6) for a in self.period_alpha],
            "mad_from_equilibrium_micro_by_period": [None if math.isnan(d) else round(d, 6) for d in self.period_mad_micro],
        }

    def _traders(self) -> list[Trader]:
        return list(self.agents_by_type.get(Trader, ()))

    @property
    def humans(self) -> list[Trader]:
        """The people's traders, in the order they joined."""
        return [t for t in self._traders() if t.human]

    def add_human(self, side: Side, limits: list[int], name: str = "") -> Trader:
        """Adds a person's trader, who trades from the next period on.

        A buyer is funded like the agent buyers; the benchmarks (maximum surplus, equilibrium)
        are recomputed with the person's limits from the next period on. Whoever settles the
        market must open the new trader's account (``agent_id``, ``initial_funds_micro``).

        Args:
            side: Buy or sell.
            limits: The person's induced value (buyer) or cost (seller) of each unit, in micro-tokens.
            name: How the person is shown.

        Returns:
            The new trader.

        Raises:
            QuoteRejected: no units, or a limit is negative.
        """
        if not limits:
            raise QuoteRejected(f"{name or 'a person'}: needs at least one unit to trade")
        if any(v < 0 for v in limits):
            raise QuoteRejected(f"{name or 'a person'}: limits must not be negative, got {limits}")
        funds = self.buyer_funds_micro if side is Side.BUY else 0
        trader = Trader(self, Side(side), [int(v) for v in limits], Strategy(), funds, human=True, name=name)
        self._benchmarks()
        return trader

    def submit_quote(self, trader: Trader, price: int) -> None:
        """Queues a person's one-unit bid (buyer) or ask (seller) for the next period.

        A person may queue one quote per unit; the most aggressive quote trades their first unit
        (a buyer's highest value, a seller's lowest cost). Quotes last one period.

        Raises:
            QuoteRejected: the trader is not a person's, the price lies outside
                [``price_floor``, ``price_ceiling``], every unit already has a quote, or a buyer
                cannot pay the quotes from the funds it holds.
        """
        who = trader.name or f"trader {trader.unique_id}"
        if not trader.human:
            raise QuoteRejected(f"{who}: only a person's trader takes quotes; agents quote by their strategy")
        if not self.price_floor <= price <= self.price_ceiling:
            raise QuoteRejected(f"{who}: price {price} is outside [{self.price_floor}, {self.price_ceiling}]")
        if len(trader.quotes) >= len(trader.limits):
            raise QuoteRejected(f"{who}: every one of your {len(trader.limits)} units already has a quote this period")
        if trader.side is Side.BUY and sum(trader.quotes) + price > trader.wallet_micro:
            raise QuoteRejected(f"{who}: cannot pay {sum(trader.quotes) + price} with {trader.wallet_micro} in the wallet")
        trader.quotes.append(int(price))

    def _human_orders(self, traders: list[Trader]) -> list[Order]:
        """Turns the people's queued quotes into this period's orders, most aggressive first per person."""
        orders = []
        for t in traders:
            if not t.human:
                continue
            for price, limit in zip(sorted(t.quotes, reverse=t.side is Side.BUY), t.limits, strict=False):
                order = Order(OrderId(self._next_order), t.agent_id, t.side, self.resource, 1, price, self.steps)
                self._next_order += 1
                self.orders.append(order)
                self._unit_limit[order.order_id] = limit
                orders.append(order)
            t.quotes = []
        return orders

    def step(self) -> None:
        """One trading period, then settlement and data collection."""
        self.orders, self.trades = [], []
        self._unit_limit = {}
        traders = self._traders()
        for t in traders:
            t.start_period()
        by_id = {t.unique_id: t for t in traders}
        people = self._human_orders(traders)
        if self.mechanism == "cda":
            self._continuous(traders, by_id, people)
        else:
            self._call(traders, by_id, people)
        self.settle_round()
        self.period_surplus_micro = sum(t.period_surplus_micro for t in traders)
        self.realised_surplus_micro += self.period_surplus_micro
        self.possible_surplus_micro += self.max_period_surplus_micro
        alpha, mad = convergence([t.price for t in self.trades], self.equilibrium_price)
        self.period_alpha.append(alpha)
        self.period_mad_micro.append(mad)
        self.datacollector.collect(self)

    def _continuous(self, traders: list[Trader], by_id: dict[int, Trader], people: list[Order]) -> None:
        book = OrderBook(self.resource)
        resting: dict[int, OrderId] = {}  # a trader's new shout replaces its old one
        waiting = list(people)  # people's quotes stand all period, until they trade
        self._enter_people(book, waiting, traders, by_id)
        agents = [t for t in traders if not t.human]
        for _ in range(self.shouts_per_period):
            active = [t for t in agents if t.active]
            if not active or len({t.side for t in active} | {o.side for o in waiting}) < 2:
                break
            trader = active[int(self.rng.integers(len(active)))]
            if trader.unique_id in resting:
                book.cancel(resting.pop(trader.unique_id))
            order = trader.shout()
            opposite_quoted = (book.best_ask if order.side is Side.BUY else book.best_bid) is not None
            trades = book.submit(order, self.steps)
            for trade in trades:
                self._book(trade, by_id)
            if trades:  # Gode & Sunder: a transaction cancels every unaccepted bid and ask
                book.clear()
                resting.clear()
            else:
                resting[trader.unique_id] = order.order_id
            self._observe(traders, order, trades, opposite_quoted)
            if trades and waiting:
                self._enter_people(book, waiting, traders, by_id, trades)

    def _observe(self, traders: list[Trader], order: Order, trades: list[Trade], opposite_quoted: bool) -> None:
        """Shows every trader the shout ``order`` and whether it traded (ZIP learns from it).

        A crossing shout accepts the standing quote: the accepted shout is the resting one, on the
        other side, at its price. A shout is rejected when a standing quote on the other side
        refused it; one shouted into an empty book has been refused by nobody (Cliff 1997).
        """
        if trades:
            price, shout_side = trades[0].price, Side.SELL if order.side is Side.BUY else Side.BUY
        elif opposite_quoted:
            price, shout_side = order.limit_price, order.side
        else:
            return
        for t in traders:
            limit = t.limit if t.active else t.limits[-1]
            t.strategy.observe_shout(t.side, limit, price, shout_side, bool(trades), t.active)

    def _enter_people(
        self, book: OrderBook, waiting: list[Order], traders: list[Trader], by_id: dict[int, Trader], traded: Sequence[Trade] = ()
    ) -> None:
        """(Re-)enters the people's standing quotes into a cleared book; they may cross each other."""
        done = {o for t in traded for o in (t.buy_order, t.sell_order)}
        waiting[:] = [o for o in waiting if o.order_id not in done]
        entered = 0
        while entered < len(waiting):
            order = waiting[entered]
            opposite_quoted = (book.best_ask if order.side is Side.BUY else book.best_bid) is not None
            trades = book.submit(order, self.steps)
            if not trades:
                entered += 1
                continue
            for trade in trades:
                self._book(trade, by_id)
            book.clear()
            self._observe(traders, order, trades, opposite_quoted)
            done = {o for t in trades for o in (t.buy_order, t.sell_order)}
            waiting[:] = [o for o in waiting if o.order_id not in done]
            entered = 0

    def _call(self, traders: list[Trader], by_id: dict[int, Trader], people: list[Order]) -> None:
        orders = [self.new_order(t, limit) for t in traders if not t.human for limit in t.limits] + people
        bids = [o for o in orders if o.side is Side.BUY]
        asks = [o for o in orders if o.side is Side.SELL]
        result = clear_double_auction(bids, asks, rule=self.mechanism, step=self.steps)
        filled: set[int] = set()
        for trade in cast("tuple[Trade, ...]", result.trades):  # orders in, Trade records out
            self._book(trade, by_id)
            filled.update((trade.buyer, trade.seller))
        for t in traders:
            t.strategy.observe_round(t.side, t.unique_id in filled)
