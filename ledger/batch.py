"""One market round as ``Settlement.settleBatch`` takes it: participants, signed orders, trades.

:func:`sign_orders` turns the buy orders a round's trades fill into EIP-712 orders signed by their
owners' keys (expiry derived from the round they were placed in). :func:`build_batch` lays the
round out for the contract: participants strictly ascending by address (the contract refuses
duplicates that way), each signed order pointing at its owner's place in that list, each trade at
its order and seller. The same :class:`SettlementBatch` goes to every back end, so the memory back
end checks exactly what the contract checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import coincurve
from eth_typing import ChecksumAddress

from ledger.errors import LedgerError
from ledger.keys import address_number
from ledger.signing import (
    DEFAULT_TTL_ROUNDS,
    RESOURCE_CODES,
    OrderDomain,
    SettlementOrder,
    Signature,
    SignedOrder,
    order_expiry,
    sign_order,
)
from market.orders import AgentId, Order, OrderId, Side, Trade

__all__ = [
    "MAX_BATCH_TRADES",
    "MAX_BATCH_PARTICIPANTS",
    "BATCHES_PER_ROUND",
    "batch_id",
    "batch_round",
    "UNSIGNED",
    "BatchOrder",
    "BatchTrade",
    "SettlementBatch",
    "Fill",
    "assemble_batch",
    "settlement_order",
    "sign_orders",
    "build_batch",
    "batch_gas",
]

MAX_BATCH_TRADES = 256
MAX_BATCH_PARTICIPANTS = 512
#: A round too large for one batch settles as several: ids ``step * BATCHES_PER_ROUND + k``.
BATCHES_PER_ROUND = 1000
#: The placeholder signature of an order settled without signing (memory back end only).
UNSIGNED = Signature(0, 0, 0)

# Gas of settleBatch, fitted on eth-tester with margin: fixed part, per trade, per signed order,
# per participant (a first-time escrow or fill write costs the most).
_GAS_BASE = 90_000
_GAS_PER_TRADE = 14_000
_GAS_PER_ORDER = 36_000
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
    """``Settlement.Trade``: fills ``quantity`` of batch order ``order`` at ``price``, paid to participant ``seller``."""

    order: int
    seller: int
    price: int
    quantity: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.order, self.seller, self.price, self.quantity)


@dataclass(frozen=True, slots=True)
class SettlementBatch:
    """One batch, laid out as ``settleBatch(batchId, participants, orders, trades)`` takes it."""

    batch_id: int
    participants: tuple[ChecksumAddress, ...]
    orders: tuple[BatchOrder, ...]
    trades: tuple[BatchTrade, ...]

    @property
    def volume(self) -> int:
        """Micro-tokens paid in the batch."""
        return sum(t.price * t.quantity for t in self.trades)

    def deltas(self) -> tuple[int, ...]:
        """Each participant's net balance change (assumes the indices are in range)."""
        delta = [0] * len(self.participants)
        for t in self.trades:
            amount = t.price * t.quantity
            delta[self.orders[t.order].party] -= amount
            delta[t.seller] += amount
        return tuple(delta)

    def call_args(self) -> tuple[Any, ...]:
        """The arguments of ``settleBatch``."""
        return (
            self.batch_id,
            list(self.participants),
            [o.as_tuple() for o in self.orders],
            [t.as_tuple() for t in self.trades],
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
        + _GAS_PER_PARTICIPANT * len(batch.participants)
    )
    return min(_GAS_CAP, gas)


def settlement_order(order: Order, owner: ChecksumAddress, ttl_rounds: int = DEFAULT_TTL_ROUNDS) -> SettlementOrder:
    """The EIP-712 order for market buy order ``order`` owned by address ``owner``."""
    # Positional, in field order (owner, order id, resource, limit price, quantity, expiry):
    # keywords would cost a dict per order.
    return SettlementOrder(
        owner,
        int(order.order_id),
        RESOURCE_CODES[order.resource],
        order.limit_price,
        order.quantity,
        order_expiry(order.step, ttl_rounds),
    )


def sign_orders(
    trades: Sequence[Trade],
    orders: Mapping[OrderId, Order],
    domain: OrderDomain,
    address_of: Callable[[AgentId], ChecksumAddress],
    key_of: Callable[[AgentId], coincurve.PrivateKey] | None,
    ttl_rounds: int = DEFAULT_TTL_ROUNDS,
) -> dict[OrderId, SignedOrder]:
    """Signs, with its owner's key, every buy order that ``trades`` fill.

    Args:
        trades: The round's trades.
        orders: Orders by id (at least every buy order the trades name).
        domain: The Settlement contract's EIP-712 domain.
        address_of: An agent's address.
        key_of: An agent's signing key; ``None`` leaves the orders unsigned (:data:`UNSIGNED`).
        ttl_rounds: Rounds an order stays valid after the round it was placed in.

    Returns:
        The signed orders by order id.

    Raises:
        LedgerError: a trade names an unknown buy order, or one of another buyer, resource or side.
    """
    signed: dict[OrderId, SignedOrder] = {}
    buy = Side.BUY
    for n, trade in enumerate(trades):
        order_id = trade.buy_order
        if order_id in signed:
            continue
        order = orders.get(order_id)
        if order is None:
            raise LedgerError(f"trade {n} of round {trade.step} fills buy order {order_id}, which was never placed")
        if order.side is not buy or order.owner != trade.buyer or order.resource != trade.resource:
            raise LedgerError(
                f"trade {n} of round {trade.step}: order {order.order_id} is not a {trade.resource} buy order of agent {trade.buyer}"
            )
        message = settlement_order(order, address_of(order.owner), ttl_rounds)
        signed[order_id] = SignedOrder(message, UNSIGNED) if key_of is None else sign_order(key_of(order.owner), domain, message)
    return signed


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade by addresses: ``quantity`` of ``order`` bought from ``seller`` at ``price``."""

    order: SignedOrder
    seller: ChecksumAddress
    price: int
    quantity: int


def assemble_batch(batch_id: int, fills: Sequence[Fill]) -> SettlementBatch:
    """Lays ``fills`` out as one batch: participants strictly ascending by address, each distinct
    signed order once (in order of first use), each trade pointing at its order and seller.

    Raises:
        LedgerError: a price or quantity does not fit the contract's 64 bits.
    """
    return _lay_out(
        batch_id,
        [f.order for f in fills],
        [f.seller for f in fills],
        [f.price for f in fills],
        [f.quantity for f in fills],
    )


def _lay_out(
    batch_id: int,
    orders: Sequence[SignedOrder],
    sellers: Sequence[ChecksumAddress],
    prices: Sequence[int],
    quantities: Sequence[int],
) -> SettlementBatch:
    """:func:`assemble_batch` on its fills' fields as parallel lists, which :func:`build_batch` makes
    straight from trades (a list entry costs a fraction of a :class:`Fill`)."""
    # Each order object once, in order of first use: a round's trades of one order share its
    # object, so each object is placed once and each trade finds its place by id().
    ids = list(map(id, orders))
    distinct = dict(zip(ids, orders, strict=True))
    signed = list(distinct.values())
    owners = [so.order.owner for so in signed]
    participants = tuple(sorted(set(owners).union(sellers), key=address_number))
    index = {a: i for i, a in enumerate(participants)}
    places, unique = _places(signed, owners)
    place_of = dict(zip(distinct, places, strict=True))
    for n, (price, quantity) in enumerate(zip(prices, quantities, strict=True)):
        if not (0 <= price < 2**64 and 0 <= quantity < 2**64):
            raise LedgerError(f"trade {n} of batch {batch_id}: price {price} or quantity {quantity} is outside 0..2**64-1")
    return SettlementBatch(
        batch_id,
        participants,
        tuple(map(BatchOrder, unique, [index[so.order.owner] for so in unique])),
        tuple(map(BatchTrade, map(place_of.__getitem__, ids), map(index.__getitem__, sellers), prices, quantities)),
    )


def _places(signed: list[SignedOrder], owners: list[ChecksumAddress]) -> tuple[list[int], list[SignedOrder]]:
    """The batch place of each of the distinct order objects ``signed`` (owned by ``owners``), and
    the orders placed, in order: equal orders (distinct objects, as a replay makes) share a place.

    Equal orders share owner and order id, so only objects sharing those are compared (comparing
    costs three dataclass equality checks); a round's orders never share them.
    """
    keys = [(owner, so.order.order_id) for owner, so in zip(owners, signed, strict=True)]
    if len(set(keys)) == len(keys):
        return list(range(len(signed))), signed
    placed: dict[tuple[str, int], list[int]] = {}
    places: list[int] = []
    unique: list[SignedOrder] = []
    for key, so in zip(keys, signed, strict=True):
        twins = placed.setdefault(key, [])
        place = next((twin for twin in twins if unique[twin] == so), None)
        if place is None:
            place = len(unique)
            twins.append(place)
            unique.append(so)
        places.append(place)
    return places, unique


def build_batch(
    batch_id: int,
    trades: Sequence[Trade],
    signed: Mapping[OrderId, SignedOrder],
    address_of: Callable[[AgentId], ChecksumAddress],
) -> SettlementBatch:
    """Lays a round's market trades out as one batch (see :func:`assemble_batch`).

    Args:
        batch_id: The batch id (the round).
        trades: The round's trades, in order.
        signed: The signed buy order of every trade, by order id (see :func:`sign_orders`).
        address_of: An agent's address.

    Raises:
        LedgerError: a trade's buy order is not in ``signed``, is signed for another owner, or an
            amount does not fit 64 bits.
    """
    orders: list[SignedOrder] = []
    sellers: list[ChecksumAddress] = []
    for t in trades:
        so = signed.get(t.buy_order)
        if so is None:
            raise LedgerError(f"trade of round {t.step} fills buy order {t.buy_order}, which is not signed")
        buyer = address_of(t.buyer)
        if so.order.owner != buyer:
            raise LedgerError(f"buy order {t.buy_order} is signed for {so.order.owner}, not the buyer {buyer}")
        orders.append(so)
        sellers.append(address_of(t.seller))
    return _lay_out(batch_id, orders, sellers, [t.price for t in trades], [t.quantity for t in trades])
