"""Double auctions: a call market with three pricing rules and a continuous order book.

:func:`clear_double_auction` clears one sealed batch of bids and asks. All three rules rank bids
from the highest price and asks from the lowest (earlier entries first on equal prices) and walk
the two lists together while the bid still covers the ask; they differ in how many units trade
and at what prices:

* ``"uniform"`` (pay-as-clear): every efficient unit trades at one price inside the Walrasian
  interval ``[max(s_k, b_{k+1}), min(b_k, s_{k+1})]`` (its midpoint), where ``b_k``/``s_k`` are the
  marginal traded units and ``b_{k+1}``/``s_{k+1}`` the first untraded ones (Smith, 1962).
* ``"pay-as-bid"`` (discriminatory): the same units trade; each buyer pays its own bid and each
  seller receives its own ask; the spread is the operator's revenue.
* ``"mcafee"`` (trade reduction, McAfee 1992): with ``p0`` the midpoint of ``b_{k+1}`` and
  ``s_{k+1}``, all ``k`` units trade at ``p0`` if ``s_k <= p0 <= b_k``; otherwise the marginal unit
  is dropped, buyers pay ``b_k`` and sellers receive ``s_k``. It is dominant-strategy truthful
  for traders of single units and never runs a deficit, at the cost of at most one unit of trade.
  A missing ``b_{k+1}`` counts as 0 and a missing ``s_{k+1}`` as infinite (McAfee's dummy traders).

Quantities are divisible into integer units and the rules are applied unit by unit, so an order
for ``q`` units behaves like ``q`` single-unit traders with the same price. When every price is an
integer (as in :class:`~market.orders.Order`), midpoints are rounded down so prices stay integers.

:class:`OrderBook` is a continuous double auction with price–time priority: each submitted limit
order trades at once against the best resting orders of the other side, at their prices, and any
remainder rests in the book (Gode and Sunder, 1993, run their zero-intelligence traders in such a
market).

References:
    V. L. Smith, "An experimental study of competitive market behavior", Journal of Political
    Economy 70(2), pp. 111–137, 1962.
    R. P. McAfee, "A dominant strategy double auction", Journal of Economic Theory 56(2),
    pp. 434–450, 1992.
    D. K. Gode and S. Sunder, "Allocative efficiency of markets with zero-intelligence traders:
    market as a partial substitute for individual rationality", Journal of Political Economy
    101(1), pp. 119–137, 1993.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from market.errors import MechanismError
from market.orders import Order, OrderId, Resource, Side, Trade

__all__ = ["Rule", "Match", "AuctionResult", "clear_double_auction", "OrderBook"]

#: A book entry: ``(price, quantity)`` or an :class:`~market.orders.Order`.
Entry = tuple[float, int] | Order


class Rule(enum.StrEnum):
    """Pricing rule of a call double auction."""

    UNIFORM = "uniform"
    PAY_AS_BID = "pay-as-bid"
    MCAFEE = "mcafee"


@dataclass(frozen=True, slots=True)
class Match:
    """Units of bid ``bid`` matched with ask ``ask`` (indices into the sequences given).

    Attributes:
        bid: Index of the bid in the ``bids`` sequence.
        ask: Index of the ask in the ``asks`` sequence.
        quantity: Units traded.
        buyer_price: Price per unit the buyer pays.
        seller_price: Price per unit the seller receives (at most ``buyer_price``).
    """

    bid: int
    ask: int
    quantity: int
    buyer_price: float
    seller_price: float

    @property
    def buyer_amount(self) -> float:
        """What the buyer pays in total."""
        return self.buyer_price * self.quantity

    @property
    def seller_amount(self) -> float:
        """What the seller receives in total."""
        return self.seller_price * self.quantity


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """The outcome of clearing one batch.

    Attributes:
        rule: The pricing rule used.
        trades: :class:`~market.orders.Trade` objects when orders were given, otherwise the
            :class:`Match` records. A trade carries one price: where the buyer pays more than the
            seller receives (pay-as-bid, or McAfee's reduced case) it is the seller's price, and
            the buyer owes the difference to the operator (see ``fills`` and ``operator_revenue``).
        fills: Every match with both sides' prices, in matching order.
        clearing_price: The single price every unit traded at, or ``None`` (no trade, pay-as-bid,
            or McAfee's reduced case, where buyers and sellers face different prices).
        volume: Units traded.
        surplus: Gains from trade at the submitted (true) values: the sum over units of bid minus ask.
        operator_revenue: What buyers pay minus what sellers receive (never negative).
    """

    rule: Rule
    trades: tuple[Trade, ...] | tuple[Match, ...]
    fills: tuple[Match, ...]
    clearing_price: float | None
    volume: int
    surplus: float
    operator_revenue: float


@dataclass(frozen=True, slots=True)
class _Line:
    """One normalised book entry."""

    index: int
    price: float
    quantity: int


def _normalise(entries: Sequence[Entry], side: Side, name: str) -> tuple[list[_Line], list[Order] | None]:
    """Checks a side of the book and returns its lines (and the orders, when orders were given)."""
    lines: list[_Line] = []
    orders = [e for e in entries if isinstance(e, Order)]
    if orders and len(orders) != len(entries):
        raise MechanismError(f"{name}: mix of orders and (price, quantity) pairs; give one kind")
    for i, e in enumerate(entries):
        price: float
        qty: int
        if isinstance(e, Order):
            if e.side is not side:
                raise MechanismError(f"{name}[{i}]: order {e.order_id} is a {e.side} order, expected {side}")
            price, qty = e.limit_price, e.quantity
        else:
            try:
                price, qty = e
            except (TypeError, ValueError):
                raise MechanismError(f"{name}[{i}]: expected a (price, quantity) pair, got {e!r}") from None
        if isinstance(price, bool) or not isinstance(price, numbers.Real) or not math.isfinite(price) or price < 0:
            raise MechanismError(f"{name}[{i}]: price {price!r} must be a finite non-negative number")
        if isinstance(qty, bool) or not isinstance(qty, numbers.Integral) or qty < 0:
            raise MechanismError(f"{name}[{i}]: quantity {qty!r} must be a non-negative integer")
        if qty:
            lines.append(_Line(i, int(price) if isinstance(price, numbers.Integral) else float(price), int(qty)))
    return lines, (orders if orders else None)


def _midpoint(a: float, b: float, integral: bool) -> float:
    """Midpoint of ``a`` and ``b``, rounded down when all prices are integers."""
    if math.isinf(a) or math.isinf(b):
        return math.inf
    return (int(a) + int(b)) // 2 if integral else (a + b) / 2


def clear_double_auction(
    bids: Sequence[Entry],
    asks: Sequence[Entry],
    rule: str = "uniform",
    *,
    step: int = 0,
) -> AuctionResult:
    """Clears one batch of bids and asks as a call double auction.

    Args:
        bids: Buy side: ``(price, quantity)`` pairs or buy :class:`~market.orders.Order` objects;
            the price is the most the buyer pays per unit (its value).
        asks: Sell side, likewise; the price is the least the seller takes per unit (its cost).
        rule: ``"uniform"``, ``"pay-as-bid"`` or ``"mcafee"`` (see the module docstring).
        step: Market round recorded on the trades when orders are given.

    Returns:
        The trades, clearing price, volume, surplus and operator revenue. An empty or non-crossing
        book yields no trades and ``clearing_price=None``.

    Raises:
        MechanismError: an unknown rule, a negative or non-finite price, a non-integer or negative
            quantity, orders on the wrong side, orders for different resources, or a side that
            mixes orders with pairs.
    """
    try:
        how = Rule(rule)
    except ValueError:
        raise MechanismError(f"unknown auction rule {rule!r}; use one of {', '.join(r.value for r in Rule)}") from None
    bid_lines, bid_orders = _normalise(bids, Side.BUY, "bids")
    ask_lines, ask_orders = _normalise(asks, Side.SELL, "asks")
    as_orders = bid_orders is not None or ask_orders is not None
    if as_orders and ((bids and bid_orders is None) or (asks and ask_orders is None)):
        raise MechanismError("bids and asks must both be orders or both be (price, quantity) pairs")
    resources = {o.resource for o in (*(bid_orders or ()), *(ask_orders or ()))}
    if len(resources) > 1:
        raise MechanismError(f"one auction clears one resource, got {sorted(resources)}")
    integral = all(isinstance(x.price, int) for x in (*bid_lines, *ask_lines))

    bid_lines.sort(key=lambda x: (-x.price, x.index))
    ask_lines.sort(key=lambda x: (x.price, x.index))
    segments: list[tuple[_Line, _Line, int]] = []
    i = j = 0
    left_b = bid_lines[0].quantity if bid_lines else 0
    left_a = ask_lines[0].quantity if ask_lines else 0
    while i < len(bid_lines) and j < len(ask_lines) and bid_lines[i].price >= ask_lines[j].price:
        q = min(left_b, left_a)
        segments.append((bid_lines[i], ask_lines[j], q))
        left_b -= q
        left_a -= q
        if left_b == 0:
            i += 1
            left_b = bid_lines[i].quantity if i < len(bid_lines) else 0
        if left_a == 0:
            j += 1
            left_a = ask_lines[j].quantity if j < len(ask_lines) else 0

    fills: list[Match] = []
    price: float | None = None
    if segments:
        b_k, s_k = segments[-1][0].price, segments[-1][1].price
        b_next = bid_lines[i].price if i < len(bid_lines) else None
        s_next = ask_lines[j].price if j < len(ask_lines) else None
        if how is Rule.UNIFORM:
            lo = s_k if b_next is None else max(s_k, b_next)
            hi = b_k if s_next is None else min(b_k, s_next)
            price = _midpoint(lo, hi, integral)
            fills = [Match(b.index, a.index, q, price, price) for b, a, q in segments]
        elif how is Rule.PAY_AS_BID:
            fills = [Match(b.index, a.index, q, b.price, a.price) for b, a, q in segments]
        else:
            p0 = _midpoint(0 if b_next is None else b_next, math.inf if s_next is None else s_next, integral)
            if s_k <= p0 <= b_k:
                price = p0
                fills = [Match(b.index, a.index, q, p0, p0) for b, a, q in segments]
            else:
                last_b, last_a, last_q = segments[-1]
                kept = [*segments[:-1], (last_b, last_a, last_q - 1)]
                fills = [Match(b.index, a.index, q, b_k, s_k) for b, a, q in kept if q > 0]

    volume = sum(f.quantity for f in fills)
    value = {x.index: x.price for x in bid_lines}
    cost = {x.index: x.price for x in ask_lines}
    surplus = sum((value[f.bid] - cost[f.ask]) * f.quantity for f in fills)
    revenue = sum((f.buyer_price - f.seller_price) * f.quantity for f in fills)
    trades: tuple[Trade, ...] | tuple[Match, ...]
    if as_orders and bid_orders is not None and ask_orders is not None:
        trades = tuple(
            Trade(
                step,
                bid_orders[f.bid].owner,
                ask_orders[f.ask].owner,
                bid_orders[f.bid].resource,
                int(f.seller_price),
                f.quantity,
                bid_orders[f.bid].order_id,
                ask_orders[f.ask].order_id,
            )
            for f in fills
        )
    else:
        trades = tuple(fills)
    return AuctionResult(how, trades, tuple(fills), price, volume, surplus, revenue)


class OrderBook:
    """A continuous double auction for one resource with price–time priority.

    Each submitted limit order first trades against the best-priced resting orders of the other
    side (earliest first among equal prices) at *their* prices, while its limit allows; whatever
    is left rests in the book. An order never trades with a resting order of the same owner: those
    are passed over and keep their place.

    Args:
        resource: The resource this book trades; orders for another resource are refused.
    """

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self._seq = itertools.count()
        self._bids: list[tuple[int, int, OrderId]] = []  # (-price, seq, id): a max-heap on price
        self._asks: list[tuple[int, int, OrderId]] = []  # (price, seq, id)
        # id -> (order, remaining quantity, seq of its heap entry); heap entries not matching are stale
        self._live: dict[OrderId, tuple[Order, int, int]] = {}

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._live)

    def _stale(self, entry: tuple[int, int, OrderId]) -> bool:
        """Whether a heap entry belongs to an order that was filled or cancelled."""
        live = self._live.get(entry[2])
        return live is None or live[2] != entry[1]

    def _top(self, heap: list[tuple[int, int, OrderId]]) -> tuple[int, int, OrderId] | None:
        """The best live entry of ``heap``, dropping cancelled or filled ones on the way."""
        while heap and self._stale(heap[0]):
            heapq.heappop(heap)
        return heap[0] if heap else None

    @property
    def best_bid(self) -> int | None:
        """Highest resting bid price, or ``None``."""
        top = self._top(self._bids)
        return None if top is None else -top[0]

    @property
    def best_ask(self) -> int | None:
        """Lowest resting ask price, or ``None``."""
        top = self._top(self._asks)
        return None if top is None else top[0]

    def resting(self, side: Side) -> list[Order]:
        """The resting orders of one side in priority order, with their remaining quantities."""
        heap = self._bids if side is Side.BUY else self._asks
        entries = sorted(e for e in heap if not self._stale(e))
        out = []
        for _, _, oid in entries:
            order, left, _ = self._live[oid]
            out.append(Order(order.order_id, order.owner, order.side, order.resource, left, order.limit_price, order.step))
        return out

    def submit(self, order: Order, step: int | None = None) -> list[Trade]:
        """Matches ``order`` against the book and rests any remainder.

        Args:
            order: A limit order for this book's resource.
            step: Market round recorded on the trades; the order's own step when omitted.

        Returns:
            The trades it made, best prices first (possibly none).

        Raises:
            MechanismError: a negative quantity or price, another resource, or an order id that
                is already resting.
        """
        if order.quantity < 0 or order.limit_price < 0:
            raise MechanismError(f"order {order.order_id} has a negative quantity or price")
        if order.resource != self.resource:
            raise MechanismError(f"order {order.order_id} is for {order.resource}, this book trades {self.resource}")
        if order.order_id in self._live:
            raise MechanismError(f"order {order.order_id} is already in the book")
        when = order.step if step is None else step
        buying = order.side is Side.BUY
        other = self._asks if buying else self._bids
        left = order.quantity
        trades: list[Trade] = []
        passed: list[tuple[int, int, OrderId]] = []
        while left > 0:
            top = self._top(other)
            if top is None:
                break
            resting, resting_left, _ = self._live[top[2]]
            price = resting.limit_price
            if (buying and price > order.limit_price) or (not buying and price < order.limit_price):
                break
            heapq.heappop(other)
            if resting.owner == order.owner:
                passed.append(top)
                continue
            q = min(left, resting_left)
            left -= q
            if resting_left > q:
                self._live[resting.order_id] = (resting, resting_left - q, top[1])
                heapq.heappush(other, top)
            else:
                del self._live[resting.order_id]
            buy, sell = (order, resting) if buying else (resting, order)
            trades.append(Trade(when, buy.owner, sell.owner, self.resource, price, q, buy.order_id, sell.order_id))
        for entry in passed:
            heapq.heappush(other, entry)
        if left > 0:
            seq = next(self._seq)
            self._live[order.order_id] = (order, left, seq)
            own = self._bids if buying else self._asks
            key = -order.limit_price if buying else order.limit_price
            heapq.heappush(own, (key, seq, order.order_id))
        return trades

    def cancel(self, order_id: OrderId) -> bool:
        """Removes a resting order; returns whether it was resting."""
        return self._live.pop(order_id, None) is not None

    def clear(self) -> None:
        """Removes every resting order (e.g. at the end of a trading period)."""
        self._live.clear()
        self._bids.clear()
        self._asks.clear()
