"""Market participants as Mesa 3 agents. They decide and emit orders; they never touch a chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from market.orders import AgentId, Order, Resource, Side, Trade
from market.pricing import load_price

if TYPE_CHECKING:
    from agents.model import PostedPriceModel

__all__ = ["Participant", "ComputeSupplier", "User"]


class Participant(mesa.Agent):
    """An agent with an escrow wallet in integer micro-tokens, kept in step with the ledger."""

    model: PostedPriceModel

    def __init__(self, model: PostedPriceModel, initial_funds_micro: int = 0) -> None:
        super().__init__(model)
        self.initial_funds_micro = int(initial_funds_micro)
        self.wallet_micro = int(initial_funds_micro)

    @property
    def agent_id(self) -> AgentId:
        return AgentId(self.unique_id)


class ComputeSupplier(Participant):
    """A data centre selling compute at a posted price that rises with its last round's load.

    Args:
        capacity_mcore_h: Compute it can sell per round, in milli-core-hours.
        base_price_micro: Price per milli-core-hour at zero load, in micro-tokens.
        surge: Relative surcharge at full load.
        region: Where it stands (used by later scenarios for latency and carbon).
    """

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
        self.model.place(Order(self.model.next_order_id(), self.agent_id, Side.SELL, Resource.COMPUTE, self.capacity_mcore_h, self.price_micro, self.model.steps))

    def record_sale(self, trade: Trade) -> None:
        self.sold_mcore_h += trade.quantity
        self.wallet_micro += trade.amount

    def close_round(self) -> None:
        self.utilization = self.sold_mcore_h / self.capacity_mcore_h if self.capacity_mcore_h else 0.0


class User(Participant):
    """A user who, with some probability each round, needs a compute task run.

    Args:
        task_probability: Chance of a task in a round.
        task_mean_mcore_h: Mean task size (exponentially distributed), in milli-core-hours.
        max_price_micro: Highest price per milli-core-hour the user pays.
        initial_funds_micro: Escrow deposit at the start, in micro-tokens.
    """

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
