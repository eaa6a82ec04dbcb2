"""The records a session logs (orders, authorizations, trades) become lines through the one
canonical serialiser: each line is the standard library's canonical JSON of the record's fields
plus the chain fields, and reads back as those fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.session import authorization_fields, order_fields
from ledger.signing import SettlementOrder, Signature, SignedOrder
from ledger.tradelog import TradeLogWriter, entry_hash, read_log, trade_fields
from market.orders import AgentId, Order, OrderId, Resource, Side, Trade

U64 = st.integers(0, 2**64 - 1)
IDS = st.integers(0, 2**32)

TRADES = st.builds(Trade, st.integers(0, 10**6), IDS, IDS, st.sampled_from(Resource), U64, U64, IDS, IDS)
ORDERS = st.builds(Order, IDS, IDS, st.sampled_from(Side), st.sampled_from(Resource), U64, U64, st.integers(0, 10**6))
SIGNED = st.builds(
    SignedOrder,
    st.builds(
        SettlementOrder, st.binary(min_size=20, max_size=20).map(to_checksum_address), U64, st.integers(0, 1), st.integers(0, 2), U64, U64, U64
    ),
    st.builds(Signature, st.sampled_from([27, 28]), st.integers(1, 2**256 - 1), st.integers(1, 2**255)),
)


def reference_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_lines(tmp_path: Path, kind: str, rows: list[Any], fields: Callable[[Any], dict[str, Any]], step: int) -> None:
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"seed": 1}) as log:
        log.extend(kind, step, map(fields, rows))
        assert (log.seq, log.entries) == (len(rows) + 1, len(rows) + 1)
    raws = path.read_bytes().splitlines()[1:]
    entries = list(read_log(path))[1:]
    for row, raw, entry in zip(rows, raws, entries, strict=True):
        assert raw == reference_json(entry)
        assert entry_hash(entry) == entry["hash"]
        assert {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")} == {**fields(row), "kind": kind, "step": step}


@settings(max_examples=60)
@given(rows=st.lists(TRADES, max_size=5), step=st.integers(0, 10**6))
def test_trade_lines_are_canonical_json_of_the_trade(tmp_path_factory: pytest.TempPathFactory, rows: list[Trade], step: int) -> None:
    check_lines(tmp_path_factory.mktemp("t"), "trade", rows, trade_fields, step)


@settings(max_examples=60)
@given(rows=st.lists(ORDERS, max_size=5), step=st.integers(0, 10**6))
def test_order_lines_are_canonical_json_of_the_order(tmp_path_factory: pytest.TempPathFactory, rows: list[Order], step: int) -> None:
    check_lines(tmp_path_factory.mktemp("o"), "order", rows, order_fields, step)


@settings(max_examples=60)
@given(rows=st.lists(st.tuples(IDS, SIGNED, st.booleans()), max_size=5), step=st.integers(0, 10**6))
def test_authorization_lines_are_canonical_json_of_the_authorization(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[Any, SignedOrder, bool]], step: int
) -> None:
    check_lines(tmp_path_factory.mktemp("a"), "authorization", rows, lambda row: authorization_fields(*row), step)


def test_a_record_is_written_with_its_enum_values_not_their_names() -> None:
    trade = Trade(3, AgentId(7), AgentId(9), Resource.ENERGY, 11, 5, OrderId(1), OrderId(2))
    assert trade_fields(trade)["resource"] == Resource.ENERGY.value
    order = Order(OrderId(1), AgentId(7), Side.BUY, Resource.COMPUTE, 2, 3, 4)
    assert (order_fields(order)["side"], order_fields(order)["resource"]) == (Side.BUY.value, Resource.COMPUTE.value)
    assert type(order_fields(order)["side"]) is str
