"""The memory back end's hot path against plain code: the same errors and books.

``MemoryBackend.settle_batch`` screens participants and orders as whole lists and takes per-item
paths only where it must. It is compared here, on random batches good and bad, with a reference
written the straightforward way, one rule at a time, so the two cannot drift apart. (The batch
layout, ``assemble_batch``/``build_batch``, is itself plain code now: tests/ledger/test_batch.py.)
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable
from functools import partial
from typing import Any

from eth_typing import ChecksumAddress
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.backends import MemoryBackend
from ledger.batch import (
    MAX_BATCH_ORDERS,
    MAX_BATCH_PARTICIPANTS,
    MAX_BATCH_PAYMENTS,
    MAX_BATCH_TRADES,
    UNSIGNED,
    BatchOrder,
    BatchTrade,
    Fill,
    SettlementBatch,
    assemble_batch,
)
from ledger.errors import LedgerError, SettlementRejected
from ledger.keys import address_number, agent_address
from ledger.signing import BUY, SELL, SettlementOrder, SignedOrder, order_expiry, round_time
from market.orders import AgentId

SEED = 5
AGENTS = 6


def addr(agent: int) -> ChecksumAddress:
    return agent_address(SEED, agent)


def outcome(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except (LedgerError, SettlementRejected) as exc:
        return (type(exc).__name__, str(exc))


AMOUNTS = st.integers(0, 1_000)
#: Amounts at and beyond the edges of uint64: one of them, now and then, in place of a good amount.
EDGES = st.sampled_from([-1, 2**64 - 1, 2**64])


def with_an_edge(draw: st.DrawFn, rows: list[tuple[Any, ...]], columns: tuple[int, int]) -> list[tuple[Any, ...]]:
    """``rows`` with, in every other draw, a price or quantity column of one row at an edge."""
    if rows and draw(st.booleans()) is True:
        n, column = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(columns))
        rows[n] = (*rows[n][:column], draw(EDGES), *rows[n][column + 1 :])
    return rows


# -- the memory back end -----------------------------------------------------------------------


class ReferenceBackend(MemoryBackend):
    """``MemoryBackend.settle_batch`` as it was written before: one rule at a time, item by item,
    expired fills forgotten through a heap of (expiry, key) entries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heap: list[tuple[int, tuple[str, int]]] = []

    def settle_batch(self, batch: SettlementBatch) -> Any:
        if batch.batch_id in self._settled:
            raise SettlementRejected("BatchAlreadySettled", batch.batch_id)
        if not batch.trades and not batch.payments:
            raise SettlementRejected("EmptyBatch")
        for size, cap in (
            (len(batch.trades), MAX_BATCH_TRADES),
            (len(batch.orders), MAX_BATCH_ORDERS),
            (len(batch.payments), MAX_BATCH_PAYMENTS),
            (len(batch.participants), MAX_BATCH_PARTICIPANTS),
        ):
            if size > cap:
                raise SettlementRejected("BatchTooLarge", size, cap)
        accounts = []
        previous = -1
        for p, account in enumerate(batch.participants):
            number = address_number(account)
            if number <= previous:
                raise SettlementRejected("ParticipantsNotSorted", p)
            previous = number
            if account.lower() not in self._registered:
                raise SettlementRejected("NotRegistered", account)
            accounts.append(account.lower())
        now = self.clock(batch.batch_id)
        n = len(batch.participants)
        for i, bo in enumerate(batch.orders):
            o = bo.signed.order
            if not all(0 <= v < 2**64 for v in (o.order_id, o.limit_price, o.quantity, o.expiry)) or not (
                0 <= o.resource < 256 and 0 <= o.side < 256
            ):
                raise SettlementRejected("OrderFieldOutOfRange", i)
            if not 0 <= bo.party < n:
                raise SettlementRejected("PartyOutOfRange", i, bo.party)
            if accounts[bo.party] != o.owner.lower():
                raise SettlementRejected("PartyMismatch", i, batch.participants[bo.party], o.owner)
            if now > o.expiry:
                raise SettlementRejected("OrderExpired", o.owner, o.order_id, o.expiry)
        fills = [0] * len(batch.orders)
        delta = [0] * n
        for i, t in enumerate(batch.trades):
            for index in (t.bid, t.ask):
                if not 0 <= index < len(batch.orders):
                    raise SettlementRejected("OrderOutOfRange", i, index)
            bid, ask = batch.orders[t.bid], batch.orders[t.ask]
            if bid.signed.order.side != BUY:
                raise SettlementRejected("WrongSide", i, t.bid)
            if ask.signed.order.side != SELL:
                raise SettlementRejected("WrongSide", i, t.ask)
            if bid.signed.order.resource != ask.signed.order.resource:
                raise SettlementRejected("ResourceMismatch", i, bid.signed.order.resource, ask.signed.order.resource)
            if t.price > bid.signed.order.limit_price:
                raise SettlementRejected("PriceAboveLimit", i, t.price, bid.signed.order.limit_price)
            if t.price < ask.signed.order.limit_price:
                raise SettlementRejected("PriceBelowLimit", i, t.price, ask.signed.order.limit_price)
            if not (0 <= t.price < 2**64 and 0 <= t.quantity < 2**64):
                raise SettlementRejected("AmountOutOfRange", i)
            fills[t.bid] += t.quantity
            fills[t.ask] += t.quantity
            delta[bid.party] -= t.price * t.quantity
            delta[ask.party] += t.price * t.quantity
        staged: dict[tuple[str, int], int] = {}
        for bo, fill in zip(batch.orders, fills, strict=True):
            if fill == 0:
                continue
            o = bo.signed.order
            filled_key = (o.owner.lower(), o.order_id)
            total = staged.get(filled_key, self._filled.get(filled_key, 0)) + fill
            if total > o.quantity:
                raise SettlementRejected("OrderOverfilled", o.owner, o.order_id, total, o.quantity)
            staged[filled_key] = total
        updated = {}
        for account, key, d in zip(batch.participants, accounts, delta, strict=True):
            if d == 0:
                continue
            balance = self._escrow.get(key, 0)
            if balance + d < 0:
                raise SettlementRejected("InsufficientEscrow", account, balance, -d)
            updated[key] = balance + d
        self._filled.update(staged)
        self._escrow.update(updated)
        self._settled.add(batch.batch_id)
        if self.forget_expired:
            expiry_of = {(bo.signed.order.owner.lower(), bo.signed.order.order_id): bo.signed.order.expiry for bo in batch.orders}
            for filled_key in staged:
                heapq.heappush(self._heap, (expiry_of[filled_key], filled_key))
            now = self.clock(batch.batch_id)
            while self._heap and self._heap[0][0] < now:
                _, filled_key = heapq.heappop(self._heap)
                self._filled.pop(filled_key, None)
        return batch.batch_id


FUNDS = [300, 2_000, 0, 800, 10**6]


def backends(forget: bool) -> tuple[MemoryBackend, ReferenceBackend]:
    pair = (
        MemoryBackend(SEED, verify_signatures=False, forget_expired=forget),
        ReferenceBackend(SEED, verify_signatures=False, forget_expired=forget),
    )
    for m in pair:
        m.open_accounts({AgentId(a): FUNDS[a] for a in range(AGENTS - 1)})  # the last agent is a stranger
    return pair


@st.composite
def batches(draw: st.DrawFn) -> SettlementBatch:
    """A batch laid out from random fills, then sometimes broken by hand the ways a caller could."""
    round_ = draw(st.integers(0, 3))
    # mostly registered agents; the last one, a stranger, now and then
    agents = st.integers(0, AGENTS - 2) if draw(st.integers(0, 7)) else st.integers(0, AGENTS - 1)
    fills = []
    expiries = st.sampled_from([order_expiry(0)] * 5 + [round_time(1), round_time(2) - 1, round_time(2)])
    for _ in range(draw(st.integers(1, 6))):
        owner, limit = draw(agents), draw(st.integers(1, 50))
        order = SettlementOrder(addr(owner), draw(st.integers(1, 4)), BUY, 0, limit, draw(st.integers(1, 12)), draw(expiries))
        # asks take ids 11..13: a seller's asks never share a fill record with its bids
        resource = 0 if draw(st.integers(0, 7)) else 1
        ask = SettlementOrder(
            addr(draw(agents)), draw(st.integers(11, 13)), SELL, resource, draw(st.integers(0, 3)), draw(st.integers(1, 20)), draw(expiries)
        )
        price = draw(st.integers(0, limit) if draw(st.integers(0, 7)) else st.integers(0, 60))
        fills.append(Fill(SignedOrder(order, UNSIGNED), SignedOrder(ask, UNSIGNED), price, draw(st.integers(0, 8))))
    batch = assemble_batch(round_ * 1000 + draw(st.integers(0, 1)), fills)
    n, k = len(batch.participants), len(batch.orders)
    damage = draw(st.sampled_from(["none"] * 10 + ["participants", "party", "case", "field", "trade", "empty"]))
    if damage == "participants":
        batch = dataclasses.replace(batch, participants=tuple(draw(st.permutations(batch.participants + batch.participants[:1]))))
    elif damage == "party":
        i = draw(st.integers(0, k - 1))
        orders = list(batch.orders)
        orders[i] = BatchOrder(orders[i].signed, draw(st.integers(-1, n)))
        batch = dataclasses.replace(batch, orders=tuple(orders))
    elif damage == "case":  # an owner spelled in lower case: still its party's address
        i = draw(st.integers(0, k - 1))
        orders = list(batch.orders)
        lower = SignedOrder(orders[i].signed.order._replace(owner=orders[i].signed.order.owner.lower()), UNSIGNED)  # type: ignore[arg-type]  # not checksummed on purpose
        orders[i] = BatchOrder(lower, orders[i].party)
        batch = dataclasses.replace(batch, orders=tuple(orders))
    elif damage == "field":
        i = draw(st.integers(0, k - 1))
        orders = list(batch.orders)
        field = draw(st.sampled_from(["order_id", "limit_price", "quantity", "expiry", "resource", "side"]))
        wide = SignedOrder(orders[i].signed.order._replace(**{field: draw(st.sampled_from([-1, 256, 2**64]))}), UNSIGNED)  # type: ignore[arg-type]
        orders[i] = BatchOrder(wide, orders[i].party)
        batch = dataclasses.replace(batch, orders=tuple(orders))
    elif damage == "trade":
        trades = list(batch.trades)
        i = draw(st.integers(0, len(trades) - 1))
        trades[i] = BatchTrade(draw(st.integers(-1, k)), draw(st.integers(-1, k)), trades[i].price, trades[i].quantity)
        batch = dataclasses.replace(batch, trades=tuple(trades))
    elif damage == "empty":
        batch = dataclasses.replace(batch, trades=())
    return batch


def rejection(action: Callable[[], Any]) -> Any:
    try:
        action()
    except SettlementRejected as exc:
        return (exc.reason, *exc.args_)
    except (IndexError, TypeError) as exc:  # a negative index the contract's decoder would refuse
        return (type(exc).__name__, str(exc))
    return "ok"


@settings(max_examples=200)
@given(rounds=st.lists(batches(), min_size=1, max_size=8), forget=st.booleans())
def test_memory_backend_settles_like_the_reference(rounds: list[SettlementBatch], forget: bool) -> None:
    fast, reference = backends(forget)
    for batch in sorted(rounds, key=lambda b: b.batch_id):  # rounds in order, as a run settles them
        result = rejection(partial(fast.settle_batch, batch))
        event(result if isinstance(result, str) else str(result[0]))
        assert result == rejection(partial(reference.settle_batch, batch))
        assert fast._escrow == reference._escrow
        assert fast._filled == reference._filled
        assert fast._settled == reference._settled


def test_expired_fills_are_forgotten_once_the_clock_passes_their_expiry_like_the_reference() -> None:
    fast, reference = backends(forget=True)
    early = SignedOrder(SettlementOrder(addr(1), 1, 0, 0, 5, 10, round_time(2) - 1), UNSIGNED)
    edge = SignedOrder(SettlementOrder(addr(1), 2, 0, 0, 5, 10, round_time(2)), UNSIGNED)
    later = SignedOrder(SettlementOrder(addr(1), 3, 0, 0, 5, 10, order_expiry(0)), UNSIGNED)
    ask = SignedOrder(SettlementOrder(addr(0), 9, SELL, 0, 1, 100, order_expiry(0)), UNSIGNED)
    script = [
        (0, [Fill(early, ask, 1, 1), Fill(edge, ask, 1, 2)]),
        (1000, [Fill(later, ask, 1, 1)]),
        (2000, [Fill(later, ask, 1, 1)]),  # early has expired: forgotten; edge expires now: kept
        (3000, [Fill(later, ask, 1, 1)]),  # edge has expired too
    ]
    seen = []
    for batch_id, fills in script:
        for m in (fast, reference):
            m.settle_batch(assemble_batch(batch_id, fills))
        assert fast._filled == reference._filled
        seen.append((fast.filled(addr(1), 1), fast.filled(addr(1), 2), fast.filled(addr(1), 3)))
    assert seen == [(1, 2, 0), (1, 2, 1), (0, 2, 2), (0, 0, 3)]
