"""Posted-price matching: buyers take the cheapest offer that can serve their whole request.

This is the scheduling platform's simplest rule (whitepaper §3.3): suppliers post a price,
requests arrive in a random order (the caller shuffles them with its seeded generator), and each
is served whole by the cheapest offer with enough remaining capacity at or below its limit price.
Ties go to the offer listed first, so the result is deterministic given the input order.
"""

from __future__ import annotations

from collections.abc import Sequence

from market.errors import MechanismError
from market.orders import Offer, Request, Trade

__all__ = ["match_posted"]


def match_posted(step: int, requests: Sequence[Request], offers: Sequence[Offer]) -> list[Trade]:
    """Matches each request, in the order given, to the cheapest offer that can serve it whole.

    Args:
        step: The market round, recorded on each trade.
        requests: Buyers' requests, already in arrival order.
        offers: Sellers' posted offers.

    Returns:
        One trade per served request, at the seller's posted price.

    Raises:
        MechanismError: a negative quantity, capacity or price.
    """
    for o in offers:
        if o.capacity < 0 or o.price < 0:
            raise MechanismError(f"offer from {o.seller} has negative capacity or price")
    order = sorted(range(len(offers)), key=lambda i: offers[i].price)
    remaining = [o.capacity for o in offers]
    trades: list[Trade] = []
    for r in requests:
        if r.quantity < 0 or r.max_price < 0:
            raise MechanismError(f"request from {r.buyer} has negative quantity or price")
        if r.quantity == 0:
            continue
        for i in order:
            o = offers[i]
            if o.resource != r.resource or o.seller == r.buyer:
                continue
            if o.price > r.max_price:
                break
            if remaining[i] >= r.quantity:
                remaining[i] -= r.quantity
                trades.append(Trade(step, r.buyer, o.seller, r.resource, o.price, r.quantity))
                break
    return trades
