"""One batch as ``Settlement.settleBatch`` takes it: participants, signed orders, trades, payments.

Both sides of every trade sign. :func:`sign_orders` turns the buy and the sell orders a round's
trades fill into EIP-712 orders signed by their owners' keys (expiry derived from the round they
were placed in); :func:`sign_payments` does the same for a round's payments, signed by their
payers. :func:`build_batch` lays the round out for the contract: participants strictly ascending
by address (the contract refuses duplicates that way), each signed order and payment pointing at
its parties' places in that list, each trade at its bid and its ask. The same
:class:`SettlementBatch` goes to every back end, so the memory back end checks exactly what the
contract checks, and :meth:`SettlementBatch.leaf_data` gives the leaves of the batch's Merkle root
(:mod:`ledger.merkle`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import coincurve
from eth_typing import ChecksumAddress

from ledger.errors import LedgerError
from ledger.keys import address_number
from ledger.merkle import memo_hash, payment_leaf, trade_leaf
from ledger.signing import (
    DEFAULT_TTL_ROUNDS,
    RESOURCE_CODES,
    SIDE_CODES,
    OrderDomain,
    SettlementOrder,
    SettlementPayment,
    Signature,
    SignedOrder,
    SignedPayment,
    order_expiry,
    sign_order,
    sign_payment,
)
from market.orders import AgentId, Order, OrderId, Payment, Side, Trade

__all__ = [
    "MAX_BATCH_TRADES",
    "MAX_BATCH_ORDERS",
    "MAX_BATCH_PAYMENTS",
    "MAX_BATCH_PARTICIPANTS",
    "BATCHES_PER_ROUND",
    "batch_id",
    "batch_round",
    "UNSIGNED",
    "BatchOrder",
    "BatchTrade",
    "BatchPayment",
    "SettlementBatch",
    "Fill",
    "assemble_batch",
    "settlement_order",
    "settlement_payment",
    "sign_orders",
    "sign_payments",
    "build_batch",
    "batch_gas",
]

MAX_BATCH_TRADES = 256
MAX_BATCH_ORDERS = 512
MAX_BATCH_PAYMENTS = 256
MAX_BATCH_PARTICIPANTS = 512
#: A round too large for one batch settles as several: ids ``step * BATCHES_PER_ROUND + k``.
BATCHES_PER_ROUND = 1000
#: The placeholder signature of an order settled without signing (memory back end only).
UNSIGNED = Signature(0, 0, 0)

# Gas of settleBatch, fitted on eth-tester with margin: fixed part, per trade, per signed order
# or payment, per participant (a first-time escrow or fill write costs the most).
_GAS_BASE = 100_000
_GAS_PER_TRADE = 16_000
_GAS_PER_ORDER = 36_000
_GAS_PER_PAYMENT = 60_000
_GAS_PER_PARTICIPANT = 30_000
_GAS_CAP = 29_000_000


class BatchOrder(NamedTuple):
    """A signed order in a batch and the index of its owner in the batch's participants."""

    signed: SignedOrder
    party: int

    def as_tuple(self) -> tuple[Any, ...]:
        """``Settlement.SignedOrder`` as the ABI takes it."""
        sig = self.signed.signature
        return (self.signed.order.as_tuple(), self.party, sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big"))


class BatchTrade(NamedTuple):
    """``Settlement.Trade``: ``quantity`` units from batch order ``ask`` to batch order ``bid`` at ``price``."""

    bid: int
    ask: int
    price: int
    quantity: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.bid, self.ask, self.price, self.quantity)


class BatchPayment(NamedTuple):
    """A signed payment in a batch and the indices of its payer and payee in the batch's participants."""

    signed: SignedPayment
    payer_party: int
    payee_party: int

    def as_tuple(self) -> tuple[Any, ...]:
        """``Settlement.SignedPayment`` as the ABI takes it."""
        sig = self.signed.signature
        return (
            self.signed.payment.as_tuple(),
            self.payer_party,
            self.payee_party,
            sig.v,
            sig.r.to_bytes(32, "big"),
            sig.s.to_bytes(32, "big"),
        )


@dataclass(frozen=True, slots=True)
class SettlementBatch:
    """One batch, laid out as ``settleBatch(batchId, participants, orders, trades, payments)`` takes it."""

    batch_id: int
    participants: tuple[ChecksumAddress, ...]
    orders: tuple[BatchOrder, ...]
    trades: tuple[BatchTrade, ...]
    payments: tuple[BatchPayment, ...] = ()

    @property
    def volume(self) -> int:
        """Micro-tokens paid for the batch's trades."""
        return sum(t.price * t.quantity for t in self.trades)

    @property
    def paid(self) -> int:
        """Micro-tokens moved by the batch's payments."""
        return sum(p.signed.payment.amount for p in self.payments)

    def deltas(self) -> tuple[int, ...]:
        """Each participant's net balance change (assumes the indices are in range)."""
        delta = [0] * len(self.participants)
        for t in self.trades:
            amount = t.price * t.quantity
            delta[self.orders[t.bid].party] -= amount
            delta[self.orders[t.ask].party] += amount
        for p in self.payments:
            delta[p.payer_party] -= p.signed.payment.amount
            delta[p.payee_party] += p.signed.payment.amount
        return tuple(delta)

    def leaf_data(self) -> list[bytes]:
        """The leaves of the batch's Merkle root: each trade's, then each payment's (see :mod:`ledger.merkle`)."""
        leaves = []
        for t in self.trades:
            bid, ask = self.orders[t.bid].signed.order, self.orders[t.ask].signed.order
            leaves.append(trade_leaf(bid.owner, bid.order_id, ask.owner, ask.order_id, bid.resource, t.price, t.quantity))
        for p in self.payments:
            pay = p.signed.payment
            leaves.append(payment_leaf(pay.payer, pay.payment_id, pay.payee, pay.amount, pay.memo))
        return leaves

    def call_args(self) -> tuple[Any, ...]:
        """The arguments of ``settleBatch``."""
        return (
            self.batch_id,
            list(self.participants),
            [o.as_tuple() for o in self.orders],
            [t.as_tuple() for t in self.trades],
            [p.as_tuple() for p in self.payments],
        )


def batch_id(step: int, index: int = 0) -> int:
    """The id of the ``index``-th batch of round ``step``.

    Raises:
        LedgerError: a round needing more than ``BATCHES_PER_ROUND`` batches.
    """
    if not 0 <= index < BATCHES_PER_ROUND:
        raise LedgerError(f"round {step} needs more than {BATCHES_PER_ROUND} batches")
    return step * BATCHES_PER_ROUND + index


def batch_round(batch_id_: int) -> int:
    """The round a batch id belongs to."""
    return batch_id_ // BATCHES_PER_ROUND


def batch_gas(batch: SettlementBatch) -> int:
    """A gas limit that covers ``settleBatch`` for ``batch`` (capped below the block gas limit)."""
    gas = (
        _GAS_BASE
        + _GAS_PER_TRADE * len(batch.trades)
        + _GAS_PER_ORDER * len(batch.orders)
        + _GAS_PER_PAYMENT * len(batch.payments)
        + _GAS_PER_PARTICIPANT * len(batch.participants)
    )
    return min(_GAS_CAP, gas)


def settlement_order(order: Order, owner: ChecksumAddress, ttl_rounds: int = DEFAULT_TTL_ROUNDS) -> SettlementOrder:
    """The EIP-712 order for market order ``order`` (a bid or an ask) owned by address ``owner``."""
    # Positional, in field order (owner, order id, side, resource, limit price, quantity, expiry):
    # keywords would cost a dict per order.
    return SettlementOrder(
        owner,
        int(order.order_id),
        SIDE_CODES[order.side],
        RESOURCE_CODES[order.resource],
        order.limit_price,
        order.quantity,
        order_expiry(order.step, ttl_rounds),
    )


def settlement_payment(
    payment: Payment, payer: ChecksumAddress, payee: ChecksumAddress, ttl_rounds: int = DEFAULT_TTL_ROUNDS
) -> SettlementPayment:
    """The EIP-712 payment for market payment ``payment`` (expiry from its round, memo hashed)."""
    return SettlementPayment(payer, payee, payment.payment_id, payment.amount, order_expiry(payment.step, ttl_rounds), memo_hash(payment.memo))


def _checked_order(n: int, trade: Trade, orders: Mapping[OrderId, Order], order_id: OrderId, side: Side, owner: AgentId) -> Order:
    order = orders.get(order_id)
    if order is None:
        raise LedgerError(f"trade {n} of round {trade.step} fills {side} order {order_id}, which was never placed")
    if order.side is not side or order.owner != owner or order.resource != trade.resource:
        raise LedgerError(f"trade {n} of round {trade.step}: order {order.order_id} is not a {trade.resource} {side} order of agent {owner}")
    return order


def sign_orders(
    trades: Sequence[Trade],
    orders: Mapping[OrderId, Order],
    domain: OrderDomain,
    address_of: Callable[[AgentId], ChecksumAddress],
    key_of: Callable[[AgentId], coincurve.PrivateKey] | None,
    ttl_rounds: int = DEFAULT_TTL_ROUNDS,
) -> dict[OrderId, SignedOrder]:
    """Signs, with its owner's key, every buy and every sell order that ``trades`` fill.

    Args:
        trades: The round's trades.
        orders: Orders by id (at least every order the trades name).
        domain: The Settlement contract's EIP-712 domain.
        address_of: An agent's address.
        key_of: An agent's signing key; ``None`` leaves the orders unsigned (:data:`UNSIGNED`).
        ttl_rounds: Rounds an order stays valid after the round it was placed in.

    Returns:
        The signed orders by order id.

    Raises:
        LedgerError: a trade names an unknown order, or one of another agent, resource or side.
    """
    signed: dict[OrderId, SignedOrder] = {}
    for n, trade in enumerate(trades):
        for order_id, side, owner in ((trade.buy_order, Side.BUY, trade.buyer), (trade.sell_order, Side.SELL, trade.seller)):
            if order_id in signed:
                continue
            order = _checked_order(n, trade, orders, order_id, side, owner)
            message = settlement_order(order, address_of(order.owner), ttl_rounds)
            signed[order_id] = SignedOrder(message, UNSIGNED) if key_of is None else sign_order(key_of(order.owner), domain, message)
    return signed


def sign_payments(
    payments: Sequence[Payment],
    domain: OrderDomain,
    address_of: Callable[[AgentId], ChecksumAddress],
    key_of: Callable[[AgentId], coincurve.PrivateKey] | None,
    ttl_rounds: int = DEFAULT_TTL_ROUNDS,
) -> list[SignedPayment]:
    """Signs each payment with its payer's key (``key_of`` ``None``: unsigned placeholders)."""
    signed = []
    for p in payments:
        message = settlement_payment(p, address_of(p.payer), address_of(p.payee), ttl_rounds)
        signed.append(SignedPayment(message, UNSIGNED) if key_of is None else sign_payment(key_of(p.payer), domain, message))
    return signed


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade by signed orders: ``quantity`` units from ``ask`` to ``bid`` at ``price``."""

    bid: SignedOrder
    ask: SignedOrder
    price: int
    quantity: int


def assemble_batch(batch_id: int, fills: Sequence[Fill], payments: Sequence[SignedPayment] = ()) -> SettlementBatch:
    """Lays ``fills`` and ``payments`` out as one batch: participants strictly ascending by address,
    each distinct signed order once (in order of first use, a trade's bid before its ask), each
    trade pointing at its bid and ask, each payment at its payer and payee.

    Raises:
        LedgerError: a price or quantity does not fit the contract's 64 bits.
    """
    return _lay_out(
        batch_id,
        [f.bid for f in fills],
        [f.ask for f in fills],
        [f.price for f in fills],
        [f.quantity for f in fills],
        payments,
    )


def _lay_out(
    batch_id: int,
    bids: Sequence[SignedOrder],
    asks: Sequence[SignedOrder],
    prices: Sequence[int],
    quantities: Sequence[int],
    payments: Sequence[SignedPayment],
) -> SettlementBatch:
    """:func:`assemble_batch` on its fills' fields as parallel lists."""
    for n, (price, quantity) in enumerate(zip(prices, quantities, strict=True)):
        if not (0 <= price < 2**64 and 0 <= quantity < 2**64):
            raise LedgerError(f"trade {n} of batch {batch_id}: price {price} or quantity {quantity} is outside 0..2**64-1")
    # Each distinct order once: a round's trades of one order share its object, so objects are
    # placed by id(); equal orders in distinct objects (as a replay makes) share a place too.
    place_of: dict[int, int] = {}
    by_key: dict[tuple[str, int, int], list[int]] = {}
    unique: list[SignedOrder] = []

    def place(so: SignedOrder) -> int:
        found = place_of.get(id(so))
        if found is not None:
            return found
        o = so.order
        twins = by_key.setdefault((o.owner, o.order_id, o.side), [])
        found = next((t for t in twins if unique[t] == so), None)
        if found is None:
            found = len(unique)
            twins.append(found)
            unique.append(so)
        place_of[id(so)] = found
        return found

    pairs = [(place(b), place(a)) for b, a in zip(bids, asks, strict=True)]
    owners = {so.order.owner for so in unique}
    for sp in payments:
        owners.add(sp.payment.payer)
        owners.add(sp.payment.payee)
    participants = tuple(sorted(owners, key=address_number))
    index = {a: i for i, a in enumerate(participants)}
    return SettlementBatch(
        batch_id,
        participants,
        tuple(BatchOrder(so, index[so.order.owner]) for so in unique),
        tuple(map(BatchTrade, [b for b, _ in pairs], [a for _, a in pairs], prices, quantities)),
        tuple(BatchPayment(sp, index[sp.payment.payer], index[sp.payment.payee]) for sp in payments),
    )


def build_batch(
    batch_id: int,
    trades: Sequence[Trade],
    signed: Mapping[OrderId, SignedOrder],
    address_of: Callable[[AgentId], ChecksumAddress],
    payments: Sequence[SignedPayment] = (),
) -> SettlementBatch:
    """Lays a round's market trades (and payments) out as one batch (see :func:`assemble_batch`).

    Args:
        batch_id: The batch id.
        trades: The round's trades, in order.
        signed: The signed buy and sell order of every trade, by order id (see :func:`sign_orders`).
        address_of: An agent's address.
        payments: The batch's signed payments (see :func:`sign_payments`).

    Raises:
        LedgerError: a trade's order is not in ``signed``, is signed for another owner, or an
            amount does not fit 64 bits.
    """
    bids: list[SignedOrder] = []
    asks: list[SignedOrder] = []
    for t in trades:
        for order_id, agent, out in ((t.buy_order, t.buyer, bids), (t.sell_order, t.seller, asks)):
            so = signed.get(order_id)
            if so is None:
                raise LedgerError(f"trade of round {t.step} fills order {order_id}, which is not signed")
            owner = address_of(agent)
            if so.order.owner != owner:
                raise LedgerError(f"order {order_id} is signed for {so.order.owner}, not the trade's party {owner}")
            out.append(so)
    return _lay_out(batch_id, bids, asks, [t.price for t in trades], [t.quantity for t in trades], payments)
