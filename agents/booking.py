"""Turning what a mechanism agreed (who pays whom, for how much of what) into orders and trades.

Mechanisms that are not order books (bargaining, SDR sharing, allocation) produce *legs*: a buyer
receives ``quantity`` units from a seller for ``amount`` micro-tokens in total. :class:`RoundBook`
collects a round's legs, splits each payment exactly into integer-priced trades
(:func:`market.orders.exact_price_split`), and gives every agent one buy and one sell order per
resource and round covering its trades, so the ledger can check each trade against the payer's order.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from market.orders import AgentId, Order, OrderId, Resource, Side, Trade, exact_price_split

__all__ = ["Leg", "RoundBook"]


@dataclass(frozen=True, slots=True)
class Leg:
    """``buyer`` receives ``quantity`` units of ``resource`` from ``seller`` for ``amount`` micro-tokens."""

    buyer: AgentId
    seller: AgentId
    resource: Resource
    quantity: int
    amount: int


class RoundBook:
    """One round's legs, turned into orders and exact integer trades.

    Args:
        order_ids: The model's order-id counter (shared so ids stay unique within a run).
        step: The round.
    """

    def __init__(self, order_ids: itertools.count, step: int) -> None:
        self._ids = order_ids
        self.step = step
        self.legs: list[Leg] = []

    def add(self, buyer: AgentId, seller: AgentId, resource: Resource, quantity: int, amount: int) -> None:
        """Adds a leg; empty legs (no units and no money) are dropped.

        Raises:
            ValueError: negative quantity or amount, or money without units.
        """
        if quantity < 0 or amount < 0:
            raise ValueError(f"negative leg {buyer}->{seller}: {quantity} units for {amount}")
        if quantity == 0 and amount == 0:
            return
        if quantity == 0:
            raise ValueError(f"leg {buyer}->{seller} moves {amount} micro-tokens for no units")
        self.legs.append(Leg(buyer, seller, resource, quantity, amount))

    def close(self) -> tuple[list[Order], list[Trade]]:
        """The round's orders (one per agent, side and resource) and trades, in leg order."""
        pieces = [(leg, price, units) for leg in self.legs for price, units in exact_price_split(leg.quantity, leg.amount)]
        quantity: dict[tuple[AgentId, Side, Resource], int] = defaultdict(int)
        limit: dict[tuple[AgentId, Side, Resource], int] = {}
        for leg, price, units in pieces:
            for key in ((leg.buyer, Side.BUY, leg.resource), (leg.seller, Side.SELL, leg.resource)):
                quantity[key] += units
                # the buyer's limit is the most it pays per unit, the seller's the least it takes
                limit[key] = price if key not in limit else (max if key[1] is Side.BUY else min)(limit[key], price)
        orders = {
            key: Order(OrderId(next(self._ids)), key[0], key[1], key[2], qty, limit[key], self.step)
            for key, qty in quantity.items()
        }
        trades = [
            Trade(
                self.step,
                leg.buyer,
                leg.seller,
                leg.resource,
                price,
                units,
                orders[(leg.buyer, Side.BUY, leg.resource)].order_id,
                orders[(leg.seller, Side.SELL, leg.resource)].order_id,
            )
            for leg, price, units in pieces
        ]
        return list(orders.values()), trades
