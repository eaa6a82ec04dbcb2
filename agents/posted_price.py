"""The posted-price compute market, the walking skeleton: compute suppliers post load-dependent
prices, compute buyers submit tasks at those prices.

Each round follows the whitepaper's loop (§3.3) in its simplest form: suppliers post prices from
their last load, buyers submit tasks, the scheduling platform matches each task to the cheapest
supplier that can run it (:func:`market.posted.match_posted`), the round's trades are handed to
the settler (the ledger, injected by the caller; the model never touches a chain), and the data
collector records the round.
"""

from __future__ import annotations

import itertools

import mesa
import numpy as np

from agents.model import MarketModel, Participant, Settler
from market.orders import Order, OrderId, Resource, Side, Trade
from market.posted import match_posted
from market.pricing import load_price

__all__ = ["ComputeSupplier", "ComputeBuyer", "PostedPriceModel"]


class ComputeSupplier(Participant):
    """A data centre selling compute at a posted price that rises with its last round's load.

    Args:
        capacity_mcore_h: Compute it can sell per round, in milli-core-hours.
        base_price_micro: Price per milli-core-hour at zero load, in micro-tokens.
        surge: Relative surcharge at full load.
        region: Where it stands (used by later scenarios for latency and carbon).
    """

    model: PostedPriceModel

    def __init__(
        self,
        model: PostedPriceModel,
        capacity_mcore_h: int = 8_000,
        base_price_micro: int = 300,
        surge: float = 0.5,
        region: str = "east",
    ) -> None:
        super().__init__(model)
        self.capacity_mcore_h = int(capacity_mcore_h)
        self.base_price_micro = int(base_price_micro)
        self.surge = float(surge)
        self.region = region
        self.sold_mcore_h = 0
        self.utilization = 0.0
        self.price_micro = self.base_price_micro

    def post_offer(self) -> None:
        """Sets this round's price from last round's utilisation and offers the full capacity."""
        self.price_micro = round(load_price(self.base_price_micro, self.utilization, self.surge))
        self.sold_mcore_h = 0
        self.model.place(
            Order(self.model.next_order_id(), self.agent_id, Side.SELL, Resource.COMPUTE, self.capacity_mcore_h, self.price_micro, self.model.steps)
        )

    def record_sale(self, trade: Trade) -> None:
        self.sold_mcore_h += trade.quantity
        self.wallet_micro += trade.amount

    def close_round(self) -> None:
        self.utilization = self.sold_mcore_h / self.capacity_mcore_h if self.capacity_mcore_h else 0.0


class ComputeBuyer(Participant):
    """A buyer who, with some probability each round, needs a compute task run.

    Args:
        task_probability: Chance of a task in a round.
        task_mean_mcore_h: Mean task size (exponentially distributed), in milli-core-hours.
        max_price_micro: Highest price per milli-core-hour the user pays.
        initial_funds_micro: Escrow deposit at the start, in micro-tokens.
    """

    model: PostedPriceModel

    def __init__(
        self,
        model: PostedPriceModel,
        task_probability: float = 0.6,
        task_mean_mcore_h: int = 1_500,
        max_price_micro: int = 420,
        initial_funds_micro: int = 250_000_000,
    ) -> None:
        super().__init__(model, initial_funds_micro)
        self.task_probability = float(task_probability)
        self.task_mean_mcore_h = int(task_mean_mcore_h)
        self.max_price_micro = int(max_price_micro)
        self.tasks_served = 0
        self.tasks_unserved = 0

    def submit(self) -> None:
        """Draws whether a task arrives and its size; requests it if the wallet can pay the limit."""
        rng = self.model.rng
        if rng.random() >= self.task_probability:
            return
        size = max(1, int(rng.exponential(self.task_mean_mcore_h)))
        if size * self.max_price_micro > self.wallet_micro:
            self.tasks_unserved += 1
            return
        self.model.place(Order(self.model.next_order_id(), self.agent_id, Side.BUY, Resource.COMPUTE, size, self.max_price_micro, self.model.steps))

    def record_purchase(self, trade: Trade) -> None:
        self.tasks_served += 1
        self.wallet_micro -= trade.amount


class PostedPriceModel(MarketModel):
    """Compute suppliers post load-dependent prices; users' tasks are matched at those prices.

    Every argument has a keyword default so ``mesa.batch_run`` and SolaraViz can rebuild the model.

    Args:
        n_suppliers: Number of compute suppliers.
        n_users: Number of users.
        capacity_mcore_h: Each supplier's capacity per round.
        base_price_micro: Each supplier's price per milli-core-hour at zero load.
        surge: Relative price surcharge at full load.
        task_probability: Each user's chance of a task per round.
        task_mean_mcore_h: Mean task size.
        max_price_micro: Users' limit price per milli-core-hour.
        initial_funds_micro: Each user's starting escrow deposit.
        seed: Seed of the model's random generators.
        settler: Where each round's trades settle; ``None`` keeps them in the model only.
    """

    def __init__(
        self,
        n_suppliers: int = 3,
        n_users: int = 12,
        capacity_mcore_h: int = 8_000,
        base_price_micro: int = 300,
        surge: float = 0.5,
        task_probability: float = 0.6,
        task_mean_mcore_h: int = 1_500,
        max_price_micro: int = 420,
        initial_funds_micro: int = 250_000_000,
        seed: int | None = None,
        settler: Settler | None = None,
    ) -> None:
        super().__init__(seed=seed, settler=settler)
        self._order_ids = itertools.count(1)
        ComputeSupplier.create_agents(
            self,
            n_suppliers,
            capacity_mcore_h=capacity_mcore_h,
            base_price_micro=base_price_micro,
            surge=surge,
        )
        ComputeBuyer.create_agents(
            self,
            n_users,
            task_probability=task_probability,
            task_mean_mcore_h=task_mean_mcore_h,
            max_price_micro=max_price_micro,
            initial_funds_micro=initial_funds_micro,
        )
        self._by_id = {a.unique_id: a for a in self.agents}
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "trades": lambda m: len(m.trades),
                "volume_mcore_h": lambda m: sum(t.quantity for t in m.trades),
                "turnover_micro": lambda m: sum(t.amount for t in m.trades),
                "mean_price_micro": lambda m: float(np.mean([t.price for t in m.trades])) if m.trades else np.nan,
                "unserved": lambda m: sum(o.side is Side.BUY for o in m.orders) - len(m.trades),
                "gas_used": lambda m: m.last_outcome.gas_used,
            }
        )
        self.datacollector.collect(self)

    def next_order_id(self) -> OrderId:
        """A fresh order id, unique within this model."""
        return OrderId(next(self._order_ids))

    def place(self, order: Order) -> None:
        """Adds an order to this round's book."""
        self.orders.append(order)

    def step(self) -> None:
        """One market round: post, submit, match, settle, collect."""
        self.orders = []
        self.agents_by_type[ComputeSupplier].do("post_offer")
        self.agents_by_type[ComputeBuyer].shuffle_do("submit")
        buys = [o for o in self.orders if o.side is Side.BUY]
        sells = [o for o in self.orders if o.side is Side.SELL]
        self.trades = match_posted(self.steps, buys, sells)
        self.settle_round()
        for trade in self.trades:
            self._by_id[trade.buyer].record_purchase(trade)
            self._by_id[trade.seller].record_sale(trade)
        self.agents_by_type[ComputeSupplier].do("close_round")
        self.datacollector.collect(self)
