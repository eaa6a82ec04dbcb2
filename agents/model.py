"""The posted-price compute market: the walking skeleton's Mesa 3 model.

Each round follows the whitepaper's loop (§3.3) in its simplest form: suppliers post prices from
their last load, users submit tasks, the scheduling platform matches each task to the cheapest
supplier that can run it (:func:`market.posted.match_posted`), the round's trades are handed to
the settler (the ledger, injected by the caller; the model never touches a chain), and the data
collector records the round.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Protocol

import mesa
import numpy as np

from agents.agents import ComputeSupplier, Participant, User
from market.orders import Order, OrderId, Payment, SettlementOutcome, Side, Trade
from market.posted import match_posted

__all__ = ["Settler", "MarketModel", "PostedPriceModel"]


class Settler(Protocol):
    """Settles one round: the orders placed, the trades that fill them and the payments that buy
    nothing (a model passes ``payments`` only in rounds that have some). The ledger implements it."""

    def settle(self, step: int, orders: list[Order], trades: list[Trade], *, payments: Sequence[Payment] = ()) -> SettlementOutcome: ...


class MarketModel(mesa.Model):
    """A Mesa model whose rounds settle through a settler.

    It holds what every market model shares: the round's ``orders`` and ``trades``, the settler
    (the ledger, or ``None`` to keep the trades in the model), the last settlement's outcome and
    the gas used so far.

    Args:
        seed: Seed of the model's random generators.
        settler: Where each round's trades settle.
    """

    def __init__(self, seed: int | None = None, settler: Settler | None = None) -> None:
        super().__init__(seed=seed)
        self.settler = settler
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.payments: list[Payment] = []
        self.last_outcome = SettlementOutcome(batch_id=0, trades=0)
        self.gas_used_total = 0

    def settle_round(self) -> None:
        """Hands this round's orders, trades and payments to the settler and books the gas it reports."""
        if self.settler is not None:
            if self.payments:
                self.last_outcome = self.settler.settle(self.steps, self.orders, self.trades, payments=self.payments)
            else:
                self.last_outcome = self.settler.settle(self.steps, self.orders, self.trades)
            self.gas_used_total += self.last_outcome.gas_used

    def pay_trades(self, by_id: dict[int, Any]) -> None:
        """Moves each trade's amount from the buyer's wallet to the seller's, and each payment's."""
        for trade in self.trades:
            by_id[trade.buyer].wallet_micro -= trade.amount
            by_id[trade.seller].wallet_micro += trade.amount
        for payment in self.payments:
            by_id[payment.payer].wallet_micro -= payment.amount
            by_id[payment.payee].wallet_micro += payment.amount


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
        User.create_agents(
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

    @property
    def participants(self) -> list[Participant]:
        """Every agent with a wallet, in creation order (the ledger opens accounts in this order)."""
        return [a for a in self.agents if isinstance(a, Participant)]

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
        self.agents_by_type[User].shuffle_do("submit")
        buys = [o for o in self.orders if o.side is Side.BUY]
        sells = [o for o in self.orders if o.side is Side.SELL]
        self.trades = match_posted(self.steps, buys, sells)
        self.settle_round()
        for trade in self.trades:
            self._by_id[trade.buyer].record_purchase(trade)
            self._by_id[trade.seller].record_sale(trade)
        self.agents_by_type[ComputeSupplier].do("close_round")
        self.datacollector.collect(self)
