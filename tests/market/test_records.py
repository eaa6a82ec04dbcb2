"""The small records a round builds by the thousand (orders, trades, their signed and batched forms,
allocation tasks and assignments, carbon reports): immutable values, equal when their fields are."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.batch import BatchOrder, BatchTrade
from ledger.signing import SettlementOrder, Signature, SignedOrder
from market.allocation import Assignment, CentreOffer, TaskDemand
from market.carbon import CarbonReport
from market.orders import Order, Trade

RECORDS = [Order, Trade, TaskDemand, CentreOffer, Assignment, CarbonReport, SettlementOrder, Signature, SignedOrder, BatchOrder, BatchTrade]

VALUES = st.one_of(st.integers(), st.text(max_size=3), st.none())


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@given(data=st.data(), by_keyword=st.booleans())
def test_a_record_holds_its_fields_compares_by_value_and_cannot_change(cls: Any, data: st.DataObject, by_keyword: bool) -> None:
    names = cls._fields
    values = data.draw(st.lists(VALUES, min_size=len(names), max_size=len(names)))
    kwargs = dict(zip(names, values, strict=True))
    record = cls(**kwargs) if by_keyword else cls(*values)
    assert [getattr(record, name) for name in names] == values
    twin = cls(*values)
    assert record == twin and hash(record) == hash(twin)
    last = names[-1]
    changed = record._replace(**{last: 7})
    assert getattr(changed, last) == 7 and getattr(record, last) == values[-1]
    with pytest.raises(AttributeError):
        setattr(record, last, 1)
    with pytest.raises(AttributeError):
        record.extra = 1  # no instance dict to grow


def test_defaults_apply() -> None:
    assert Order(1, 2, "buy", "compute", 3, 4).step == 0  # type: ignore[arg-type]
    assert Order(1, 2, "buy", "compute", 3, 4, step=9) == Order(1, 2, "buy", "compute", 3, 4, 9)  # type: ignore[arg-type]
    task = TaskDemand(1, "east", 10, 5, 100)
    assert (task.max_latency_ms, task.release, task.deadline, task.last_slot) == (float("inf"), 0, None, 0)
    assert CarbonReport() == CarbonReport(0.0, 0.0, 0.0)


def test_a_record_refuses_missing_extra_and_unknown_arguments() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'expiry'"):
        SettlementOrder("0x", 1, 0, 2, 3, 4)  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError, match="takes 8 positional arguments but 9 were given"):
        SettlementOrder("0x", 1, 0, 2, 3, 4, 5, 6)  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError, match="unexpected keyword argument 'vintage'"):
        SettlementOrder("0x", 1, 0, 2, 3, 4, 5, vintage=1)  # type: ignore[call-arg, arg-type]
    with pytest.raises(ValueError, match="Got unexpected field names: \\['vintage'\\]"):
        SettlementOrder("0x", 1, 0, 2, 3, 4, 5)._replace(vintage=1)  # type: ignore[call-arg, arg-type]


def test_carbon_reports_add_field_by_field() -> None:
    both = CarbonReport(1.0, 0.5, 0.25) + CarbonReport(2.0, 1.0, 0.5)
    assert both == CarbonReport(3.0, 1.5, 0.75) and isinstance(both, CarbonReport)
