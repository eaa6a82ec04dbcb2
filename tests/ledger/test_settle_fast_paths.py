"""The settlement hot path against the plain code it replaced: the same objects, batches and errors.

``slot_init`` constructors are compared here, on random inputs, with the ``__init__`` dataclasses
writes, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.signing import SettlementOrder, slot_init


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
