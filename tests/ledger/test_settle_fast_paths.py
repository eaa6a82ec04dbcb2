"""The settlement hot path against the plain code it replaced: the same objects, batches and errors.

``slot_init`` constructors and ``assemble_batch``/``build_batch`` work on whole lists at once and
take per-item paths only where they must. Each is compared here, on random inputs good and bad, with
a reference written the straightforward way (the code before the rewrite), so the two cannot drift
apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.batch import (
    UNSIGNED,
    BatchOrder,
    BatchTrade,
    Fill,
    SettlementBatch,
    assemble_batch,
    build_batch,
)
from ledger.errors import LedgerError, SettlementRejected
from ledger.keys import agent_address
from ledger.signing import SettlementOrder, SignedOrder, order_expiry, slot_init
from market.orders import AgentId, OrderId, Resource, Trade

SEED = 5
AGENTS = 6


def addr(agent: int) -> str:
    return agent_address(SEED, agent)


# -- slot_init ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _PlainOrder:
    """``SettlementOrder`` with the ``__init__`` dataclasses writes."""

    owner: str
    order_id: int
    resource: int
    limit_price: int
    quantity: int
    expiry: int


VALUES = st.one_of(st.integers(), st.text(max_size=3), st.none())


@given(st.lists(VALUES, min_size=6, max_size=6), st.booleans())
def test_slot_init_sets_the_same_fields_as_the_dataclass_init(values: list[Any], by_keyword: bool) -> None:
    names = [f.name for f in dataclasses.fields(SettlementOrder)]
    kwargs = dict(zip(names, values, strict=True))
    fast = SettlementOrder(**kwargs) if by_keyword else SettlementOrder(*values)
    plain = _PlainOrder(**kwargs)
    assert dataclasses.astuple(fast) == dataclasses.astuple(plain)
    assert fast == SettlementOrder(*values) and hash(fast) == hash(SettlementOrder(*values))
    assert dataclasses.replace(fast, quantity=7).quantity == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.quantity = 1  # type: ignore[misc]


def test_slot_init_refuses_arguments_like_the_dataclass_init() -> None:
    for cls in (SettlementOrder, _PlainOrder):
        with pytest.raises(TypeError, match=r"__init__\(\) missing 1 required positional argument: 'expiry'"):
            cls("0x", 1, 2, 3, 4)
        with pytest.raises(TypeError, match=r"__init__\(\) takes 7 positional arguments but 8 were given"):
            cls("0x", 1, 2, 3, 4, 5, 6)
        with pytest.raises(TypeError, match=r"__init__\(\) got an unexpected keyword argument 'side'"):
            cls("0x", 1, 2, 3, 4, 5, side=1)


def test_slot_init_only_takes_frozen_slotted_dataclasses_without_defaults() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithDefault:
        a: int = 1

    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (WithDefault, Mutable, NoSlots):
        with pytest.raises(TypeError, match="slot_init needs a frozen slotted dataclass without defaults"):
            slot_init(cls)


# -- batch layout ------------------------------------------------------------------------------


def reference_lay_out(batch_id: int, fills: Sequence[tuple[SignedOrder, str, int, int]]) -> SettlementBatch:
    """The layout as it was written before: one pass over the fills."""
    participants = tuple(sorted({o.order.owner for o, _, _, _ in fills} | {s for _, s, _, _ in fills}, key=lambda a: int(a, 16)))
    index = {a: i for i, a in enumerate(participants)}
    seen: dict[int, int] = {}
    placed: dict[tuple[str, int], list[int]] = {}
    orders: list[BatchOrder] = []
    trades: list[BatchTrade] = []
    for n, (order, seller, price, quantity) in enumerate(fills):
        if not (0 <= price < 2**64 and 0 <= quantity < 2**64):
            raise LedgerError(f"trade {n} of batch {batch_id}: price {price} or quantity {quantity} is outside 0..2**64-1")
        slot = seen.get(id(order))
        if slot is None:
            owner = order.order.owner
            twins = placed.setdefault((owner, order.order.order_id), [])
            for twin in twins:
                if orders[twin].signed == order:
                    slot = twin
                    break
            else:
                slot = len(orders)
                twins.append(slot)
                orders.append(BatchOrder(order, index[owner]))
            seen[id(order)] = slot
        trades.append(BatchTrade(slot, index[seller], price, quantity))
    return SettlementBatch(batch_id, participants, tuple(orders), tuple(trades))


def reference_build_batch(
    batch_id: int, trades: Sequence[Trade], signed: Mapping[OrderId, SignedOrder], address_of: Callable[[AgentId], str]
) -> SettlementBatch:
    fills = []
    for t in trades:
        so = signed.get(t.buy_order)
        if so is None:
            raise LedgerError(f"trade of round {t.step} fills buy order {t.buy_order}, which is not signed")
        buyer = address_of(t.buyer)
        if so.order.owner != buyer:
            raise LedgerError(f"buy order {t.buy_order} is signed for {so.order.owner}, not the buyer {buyer}")
        fills.append((so, address_of(t.seller), t.price, t.quantity))
    return reference_lay_out(batch_id, fills)


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
    if rows and draw(st.booleans()):
        n, column = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(columns))
        rows[n] = (*rows[n][:column], draw(EDGES), *rows[n][column + 1 :])
    return rows


@st.composite
def signed_pool(draw: st.DrawFn) -> list[SignedOrder]:
    """Signed orders, some sharing owner and order id (equal or not), some equal copies."""
    pool: list[SignedOrder] = []
    for _ in range(draw(st.integers(1, 6))):
        owner, order_id, limit = draw(st.integers(0, AGENTS - 1)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        so = SignedOrder(SettlementOrder(addr(owner), order_id, 0, limit, 10, order_expiry(0)), UNSIGNED)
        pool.append(so)
        if draw(st.booleans()):
            pool.append(SignedOrder(so.order, so.signature))  # equal, another object
    return pool


@given(pool=signed_pool(), data=st.data())
def test_assemble_batch_lays_out_like_the_reference(pool: list[SignedOrder], data: st.DataObject) -> None:
    fills = data.draw(st.lists(st.tuples(st.sampled_from(pool), st.integers(0, AGENTS - 1).map(addr), AMOUNTS, AMOUNTS), max_size=12))
    fills = with_an_edge(data.draw, fills, (2, 3))
    expected = outcome(lambda: reference_lay_out(3, fills))
    assert outcome(lambda: assemble_batch(3, [Fill(*f) for f in fills])) == expected


@given(pool=signed_pool(), data=st.data())
def test_build_batch_lays_out_like_the_reference(pool: list[SignedOrder], data: st.DataObject) -> None:
    signed = {OrderId(n): so for n, so in enumerate(pool)}
    owner_of = {so.order.owner: AgentId(a) for a in range(AGENTS) for so in pool if so.order.owner == addr(a)}
    rows = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, len(pool) - 1).map(OrderId),
                st.integers(0, AGENTS - 1),
                AMOUNTS,
                AMOUNTS,
            ),
            max_size=12,
        )
    )
    rows = with_an_edge(data.draw, rows, (2, 3))
    trades = [
        Trade(1, owner_of[signed[key].order.owner], AgentId(seller), Resource.ENERGY, price, quantity, key, OrderId(99))
        for key, seller, price, quantity in rows
    ]
    if trades and data.draw(st.integers(0, 3)) == 0:  # now and then a trade of an unsigned order or an impostor
        n = data.draw(st.integers(0, len(trades) - 1))
        wrong = data.draw(st.sampled_from([{"buy_order": OrderId(len(pool))}, {"buyer": AgentId(data.draw(st.integers(0, AGENTS - 1)))}]))
        trades[n] = dataclasses.replace(trades[n], **wrong)
    address_of: Callable[[AgentId], str] = lambda agent: addr(int(agent))
    expected = outcome(lambda: reference_build_batch(8, trades, signed, address_of))
    assert outcome(lambda: build_batch(8, trades, signed, address_of)) == expected
