"""Lines formatted from templates (orders, authorizations, trades) are the lines the dict path writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eth_utils import to_checksum_address
from ledger.session import authorization_body, authorization_fields, order_body, order_fields
from ledger.signing import SettlementOrder, Signature, SignedOrder
from ledger.tradelog import LogDiverged, TradeLogWriter, line_template, read_log, trade_body, trade_fields
from market.orders import AgentId, Order, OrderId, Resource, Side, Trade

U64 = st.integers(0, 2**64 - 1)
IDS = st.integers(0, 2**32)

TRADES = st.builds(Trade, st.integers(0, 10**6), IDS, IDS, st.sampled_from(Resource), U64, U64, IDS, IDS)
ORDERS = st.builds(Order, IDS, IDS, st.sampled_from(Side), st.sampled_from(Resource), U64, U64, st.integers(0, 10**6))
SIGNED = st.builds(
    SignedOrder,
    st.builds(SettlementOrder, st.binary(min_size=20, max_size=20).map(to_checksum_address), U64, st.integers(0, 2), U64, U64, U64),
    st.builds(Signature, st.sampled_from([27, 28]), st.integers(1, 2**256 - 1), st.integers(1, 2**255)),
)


def both_ways(tmp_path: Path, kind: str, rows: list, fields, body, step: int) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    """The log the dict path writes for ``rows`` and the one the template path writes."""
    with TradeLogWriter(tmp_path / "dicts.jsonl", {"seed": 1}) as log:
        log.extend(kind, step, map(fields, rows))
    with TradeLogWriter(tmp_path / "lines.jsonl", {"seed": 1}) as log:
        log.extend_formatted(step, rows, body)
        assert (log.seq, log.entries) == (len(rows) + 1, len(rows) + 1)
    return (tmp_path / "dicts.jsonl").read_bytes(), (tmp_path / "lines.jsonl").read_bytes()


@settings(max_examples=60)
@given(rows=st.lists(TRADES, max_size=5), step=st.integers(0, 10**6))
def test_trade_lines_are_the_dict_lines(tmp_path_factory: pytest.TempPathFactory, rows: list[Trade], step: int) -> None:
    dicts, lines = both_ways(tmp_path_factory.mktemp("t"), "trade", rows, trade_fields, trade_body, step)
    assert lines == dicts


@settings(max_examples=60)
@given(rows=st.lists(ORDERS, max_size=5), step=st.integers(0, 10**6))
def test_order_lines_are_the_dict_lines(tmp_path_factory: pytest.TempPathFactory, rows: list[Order], step: int) -> None:
    dicts, lines = both_ways(tmp_path_factory.mktemp("o"), "order", rows, order_fields, order_body, step)
    assert lines == dicts


@settings(max_examples=60)
@given(rows=st.lists(st.tuples(IDS, SIGNED, st.booleans()), max_size=5), step=st.integers(0, 10**6))
def test_authorization_lines_are_the_dict_lines(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[OrderId, SignedOrder, bool]], step: int
) -> None:
    dicts, lines = both_ways(tmp_path_factory.mktemp("a"), "authorization", rows, lambda row: authorization_fields(*row), authorization_body, step)
    assert lines == dicts


def test_formatted_lines_chain_and_read_back(tmp_path: Path) -> None:
    trade = Trade(3, AgentId(7), AgentId(9), Resource.ENERGY, 11, 5, OrderId(1), OrderId(2))
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"seed": 1}) as log:
        log.append("deposit", 0, agent=7, amount=100)
        log.extend_formatted(3, [trade, trade], trade_body)
        log.append("batch", 3, trades=2)
        head = log.head
    entries = list(read_log(path))
    assert [e["kind"] for e in entries] == ["header", "deposit", "trade", "trade", "batch"]
    assert entries[2] == {**trade_fields(trade), "kind": "trade", "step": 3, "seq": 2, "prev": entries[1]["hash"], "hash": entries[2]["hash"]}
    assert entries[-1]["hash"] == head


def test_resuming_checks_formatted_lines_against_the_log(tmp_path: Path) -> None:
    trades = [Trade(1, AgentId(1), AgentId(2), Resource.COMPUTE, 5, q, OrderId(q), OrderId(0)) for q in (1, 2, 3)]
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"seed": 1}) as log:
        log.extend_formatted(1, trades, trade_body)
    written = path.read_bytes()
    with TradeLogWriter(path, {"seed": 1}, resume=True) as log:
        log.extend_formatted(1, trades, trade_body)  # the same entries: checked, not written again
        assert not log.catching_up
    assert path.read_bytes() == written
    with TradeLogWriter(path, {"seed": 1}, resume=True) as log:
        with pytest.raises(LogDiverged, match=r"t\.jsonl:3: the resumed run produced a different entry"):
            log.extend_formatted(1, [trades[0], trades[2]], trade_body)
        assert log.seq == 2  # stands after the last entry that checked out


def test_an_error_mid_formatted_extend_keeps_the_entries_before_it(tmp_path: Path) -> None:
    trade = Trade(1, AgentId(1), AgentId(2), Resource.COMPUTE, 5, 1, OrderId(1), OrderId(0))

    def rows() -> Iterator[Trade]:
        yield trade
        raise RuntimeError("the second row cannot be made")

    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {}) as log:
        with pytest.raises(RuntimeError, match="second row"):
            log.extend_formatted(0, rows(), trade_body)
        log.append("batch", 0, trades=1)
    assert [e["kind"] for e in read_log(path)] == ["header", "trade", "batch"]


def test_a_template_is_the_canonical_line_with_placeholders() -> None:
    assert line_template("x%y", {"b": "%d", "a": '"%s"'}) == '{"a":"%s","b":%d,"kind":"x%%y","prev":"%s","seq":%d,"step":%d}'


@pytest.mark.parametrize("field", ["seq", "prev", "step", "kind", "hash", "id", "input"])
def test_a_template_refuses_chain_fields_and_fields_between_hash_and_kind(field: str) -> None:
    with pytest.raises(ValueError, match=f"x lines cannot have the fields \\['{field}'\\]"):
        line_template("x", {field: "%d"})
