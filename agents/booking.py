"""Turning what a mechanism agreed (who pays whom, for how much of what) into orders and trades.

Mechanisms that are not order books (bargaining, SDR sharing, allocation) produce *legs*: a buyer
receives ``quantity`` units from a seller for ``amount`` micro-tokens in total. :class:`RoundBook`
collects a round's legs, splits each payment exactly into integer-priced trades
(:func:`market.orders.exact_price_split`), and gives every agent one buy and one sell order per
resource and round covering its trades, so the ledger can check each trade against the payer's order.
Where a mechanism does take orders (a call auction's bids and offers, each step of a demand curve
one order), they are *submitted* to the book as they were placed and the legs that fill them name
them, so the log records what was bid, not only what was paid.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

from market.orders import AgentId, Order, OrderId, Resource, Side, Trade, exact_price_split

__all__ = ["Leg", "RoundBook"]


class Leg(NamedTuple):
    """``buyer`` receives ``quantity`` units of ``resource`` from ``seller`` for ``amount`` micro-tokens,
    filling the submitted orders ``buy_order`` and ``sell_order`` where given (indices from
    :meth:`RoundBook.submit`)."""

    buyer: AgentId
    seller: AgentId
    resource: Resource
    quantity: int
    amount: int
    buy_order: int | None = None
    sell_order: int | None = None


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
        self.submitted: list[tuple[AgentId, Side, Resource, int, int]] = []

    def submit(self, owner: AgentId, side: Side, resource: Resource, quantity: int, limit_price: int) -> int:
        """Records an order as placed (its quantity and limit), whether or not it is filled; returns
        its index for the legs that fill it.

        Raises:
            ValueError: no units, or a negative limit.
        """
        if quantity <= 0 or limit_price < 0:
            raise ValueError(f"order of {owner}: {quantity} units at {limit_price} (needs units and a non-negative limit)")
        self.submitted.append((owner, side, resource, int(quantity), int(limit_price)))
        return len(self.submitted) - 1

    def add(
        self,
        buyer: AgentId,
        seller: AgentId,
        resource: Resource,
        quantity: int,
        amount: int,
        buy_order: int | None = None,
        sell_order: int | None = None,
    ) -> None:
        """Adds a leg; empty legs (no units and no money) are dropped. ``buy_order`` and
        ``sell_order`` name the submitted orders it fills; without them the leg is covered by the
        agent's order made up for the round.

        Raises:
            ValueError: negative quantity or amount, or money without units.
        """
        if quantity < 0 or amount < 0:
            raise ValueError(f"negative leg {buyer}->{seller}: {quantity} units for {amount}")
        if quantity == 0 and amount == 0:
            return
        if quantity == 0:
            raise ValueError(f"leg {buyer}->{seller} moves {amount} micro-tokens for no units")
        self.legs.append(Leg(buyer, seller, resource, quantity, amount, buy_order, sell_order))

    def close(self) -> tuple[list[Order], list[Trade]]:
        """The round's orders (the submitted ones in submission order, then one per agent, side and
        resource for the legs without a submitted order) and trades, in leg order.

        Raises:
            ValueError: a leg fills a submitted order at a price beyond its limit.
        """
        subs: list[list[int]] = [[q, limit] for _, _, _, q, limit in self.submitted]
        buy, sell = Side.BUY, Side.SELL
        # per (agent, side, resource): [units, limit]; the buyer's limit is the most it pays per
        # unit, the seller's the least it takes. Keys in order of first appearance fix the order ids.
        books: dict[tuple[AgentId, Side, Resource], list[int]] = {}
        pieces: list[tuple[Leg, int, int, list[int], list[int]]] = []  # leg, price, units, both books
        for leg in self.legs:
            bbook: list[int] | None
            sbook: list[int] | None
            buyer, seller, resource, quantity, amount, buy_order, sell_order = leg
            split = exact_price_split(quantity, amount)  # cheapest leg first
            low, high = split[0][0], split[-1][0]
            if buy_order is not None:
                bbook = subs[buy_order]
                if high > bbook[1]:
                    raise ValueError(f"leg {buyer}->{seller} pays {high} a unit, above its order's limit {bbook[1]}")
            else:
                bbook = books.get((buyer, buy, resource))
                if bbook is None:
                    bbook = books[buyer, buy, resource] = [0, high]
                elif high > bbook[1]:
                    bbook[1] = high
                bbook[0] += quantity
            if sell_order is not None:
                sbook = subs[sell_order]
                if low < sbook[1]:
                    raise ValueError(f"leg {buyer}->{seller} pays {low} a unit, below its order's limit {sbook[1]}")
            else:
                sbook = books.get((seller, sell, resource))
                if sbook is None:
                    sbook = books[seller, sell, resource] = [0, low]
                elif low < sbook[1]:
                    sbook[1] = low
                sbook[0] += quantity
            for price, units in split:
                pieces.append((leg, price, units, bbook, sbook))
        step, ids = self.step, self._ids
        orders = []
        for (agent, side, resource, quantity, limit), book in zip(self.submitted, subs, strict=True):
            order = Order(OrderId(next(ids)), agent, side, resource, quantity, limit, step)
            orders.append(order)
            book.append(order.order_id)
        for (agent, side, resource), book in books.items():
            order = Order(OrderId(next(ids)), agent, side, resource, book[0], book[1], step)
            orders.append(order)
            book.append(order.order_id)
        trades = [
            Trade(step, leg.buyer, leg.seller, leg.resource, price, units, OrderId(bbook[2]), OrderId(sbook[2]))
            for leg, price, units, bbook, sbook in pieces
        ]
        return orders, trades
