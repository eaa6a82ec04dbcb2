"""Posted-price matching: each buy order takes the cheapest sell order that can fill it whole.

This is the scheduling platform's simplest rule (whitepaper §3.3): suppliers post a price (a sell
order for their capacity), buy orders arrive in a random order (the caller shuffles them with its
seeded generator), and each is filled whole by the cheapest sell order with enough remaining
quantity at or below its limit, at the posted price. Ties go to the sell order listed first, so the
result is deterministic given the input order.
"""

from __future__ import annotations

from collections.abc import Sequence

from market.errors import MechanismError
from market.orders import Order, Side, Trade

__all__ = ["match_posted"]


def match_posted(step: int, buys: Sequence[Order], sells: Sequence[Order]) -> list[Trade]:
    """Fills each buy order, in the order given, from the cheapest sell order that can fill it whole.

    Args:
        step: The market round, recorded on each trade.
        buys: Buy orders in arrival order.
        sells: Posted sell orders.

    Returns:
        One trade per filled buy order, at the sell order's posted price.

    Raises:
        MechanismError: a negative quantity or price, or an order on the wrong side.
    """
    for o in (*buys, *sells):
        if o.quantity < 0 or o.limit_price < 0:
            raise MechanismError(f"order {o.order_id} has a negative quantity or price")
    if any(o.side is not Side.BUY for o in buys) or any(o.side is not Side.SELL for o in sells):
        raise MechanismError("match_posted takes buy orders and sell orders, in that order")
    ranked = sorted(range(len(sells)), key=lambda i: sells[i].limit_price)
    remaining = [o.quantity for o in sells]
    trades: list[Trade] = []
    for b in buys:
        if b.quantity == 0:
            continue
        for i in ranked:
            s = sells[i]
            if s.resource != b.resource or s.owner == b.owner:
                continue
            if s.limit_price > b.limit_price:
                break
            if remaining[i] >= b.quantity:
                remaining[i] -= b.quantity
                trades.append(Trade(step, b.owner, s.owner, b.resource, s.limit_price, b.quantity, b.order_id, s.order_id))
                break
    return trades
