"""``slot_init``: the frozen records' faster constructor builds exactly what the dataclass one builds."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.batch import BatchOrder, BatchTrade
from ledger.signing import SettlementOrder, Signature, SignedOrder
from market import allocation
from market.carbon import CarbonReport
from market.orders import Order, Trade, slot_init

#: Every record built with ``slot_init``.
RECORDS = [
    Order,
    Trade,
    allocation.Task,
    allocation.DataCentre,
    allocation.Assignment,
    CarbonReport,
    SettlementOrder,
    Signature,
    SignedOrder,
    BatchOrder,
    BatchTrade,
]


def plain(cls: type) -> type:
    """``cls`` as ``@dataclass(frozen=True, slots=True)`` alone writes it."""
    fields = [(f.name, f.type, dataclasses.field(default=f.default)) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(f"Plain{cls.__name__}", fields, frozen=True, slots=True)


VALUES = st.one_of(st.integers(), st.text(max_size=3), st.none())


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@given(data=st.data(), by_keyword=st.booleans())
def test_slot_init_sets_the_same_fields_as_the_dataclass_init(cls: type, data: st.DataObject, by_keyword: bool) -> None:
    fields = dataclasses.fields(cls)
    values = data.draw(st.lists(VALUES, min_size=len(fields), max_size=len(fields)))
    kwargs = {f.name: v for f, v in zip(fields, values, strict=True)}
    fast = cls(**kwargs) if by_keyword else cls(*values)
    assert dataclasses.astuple(fast) == dataclasses.astuple(plain(cls)(**kwargs))
    assert fast == cls(*values) and hash(fast) == hash(cls(*values))
    name = fields[-1].name
    assert getattr(dataclasses.replace(fast, **{name: 7}), name) == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(fast, name, 1)


def test_defaults_apply_as_in_the_dataclass_init() -> None:
    assert Order(1, 2, "buy", "compute", 3, 4).step == 0  # type: ignore[arg-type]
    assert Order(1, 2, "buy", "compute", 3, 4, step=9) == Order(1, 2, "buy", "compute", 3, 4, 9)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [SettlementOrder, plain(SettlementOrder)], ids=["slot_init", "dataclass"])
def test_slot_init_refuses_arguments_like_the_dataclass_init(cls: type) -> None:
    with pytest.raises(TypeError, match=r"__init__\(\) missing 1 required positional argument: 'expiry'"):
        cls("0x", 1, 2, 3, 4)
    with pytest.raises(TypeError, match=r"__init__\(\) takes 7 positional arguments but 8 were given"):
        cls("0x", 1, 2, 3, 4, 5, 6)
    with pytest.raises(TypeError, match=r"__init__\(\) got an unexpected keyword argument 'side'"):
        cls("0x", 1, 2, 3, 4, 5, side=1)


def test_slot_init_only_takes_frozen_slotted_dataclasses_of_plain_fields() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int = dataclasses.field(default=1, init=False)

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (WithFactory, NotInInit, PostInit, Mutable, NoSlots):
        with pytest.raises(TypeError, match=f"slot_init needs a frozen slotted dataclass of plain fields, not .*{cls.__name__}"):
            slot_init(cls)


def test_the_constructor_shows_the_dataclass_signature() -> None:
    assert str(inspect.signature(Order)) == str(inspect.signature(plain(Order)))
    assert Order.__init__.__qualname__ == "Order.__init__"
