"""The hash-chained trade log writer."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from ledger import tradelog
from ledger.tradelog import FORMAT_VERSION, GENESIS, TradeLogWriter, canonical, entry_hash


def test_lines_chain_by_hash(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"scenario": "x", "seed": 1}) as log:
        log.append("trade", 0, price=5, quantity=2)
        log.append("batch", 0, batch_id=0)
        head = log.head
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["seq"] for e in lines] == [0, 1, 2]
    assert lines[0]["kind"] == "header" and lines[0]["prev"] == GENESIS and lines[0]["format"] == FORMAT_VERSION == 2
    for before, after in zip(lines, lines[1:], strict=False):
        assert after["prev"] == before["hash"]
    for entry in lines:
        assert entry_hash(entry) == entry["hash"]
    assert lines[-1]["hash"] == head


def test_lines_are_canonical_json(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"b": 1, "a": "ü"}) as log:
        log.append("trade", 3, z=1, y=[1, 2])
    for raw in path.read_bytes().splitlines():
        assert raw == canonical(json.loads(raw))


def test_editing_a_field_changes_the_hash(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {}) as log:
        entry = log.append("trade", 0, price=5)
    assert entry_hash({**entry, "price": 6}) != entry["hash"]


import pytest  # noqa: E402

from ledger.tradelog import LogTampered, LogUnreadable, read_log  # noqa: E402


@pytest.fixture()
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "trades.jsonl"
    with TradeLogWriter(path, {"scenario": "s", "seed": 1, "params": {"hash": "nested"}}) as log:
        for i in range(6):
            log.append("trade", i // 2, buyer=1, seller=2, resource="compute", price=10 + i, quantity=3)
    return path


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_read_log_yields_every_entry(log_file: Path) -> None:
    entries = list(read_log(log_file))
    assert [e["seq"] for e in entries] == list(range(7))
    assert entries[0]["params"] == {"hash": "nested"}  # a nested "hash" key does not confuse the check


def test_edited_price_is_caught_at_its_line(log_file: Path) -> None:
    lines = lines_of(log_file)
    lines[3] = lines[3].replace('"price":12', '"price":99')
    log_file.write_text("".join(lines))
    with pytest.raises(LogTampered, match=r"trades\.jsonl:4: field 'hash'") as info:
        list(read_log(log_file))
    assert (info.value.line, info.value.field) == (4, "hash")


def test_deleted_line_is_caught(log_file: Path) -> None:
    lines = lines_of(log_file)
    del lines[2]
    log_file.write_text("".join(lines))
    with pytest.raises(LogTampered, match=r":3: field 'seq'"):
        list(read_log(log_file))


def test_reordered_pair_is_caught(log_file: Path) -> None:
    lines = lines_of(log_file)
    lines[2], lines[3] = lines[3], lines[2]
    log_file.write_text("".join(lines))
    with pytest.raises(LogTampered, match=r":3: field 'seq'"):
        list(read_log(log_file))


def test_rehashed_edit_still_breaks_the_chain(log_file: Path) -> None:
    lines = lines_of(log_file)
    entry = json.loads(lines[3])
    entry["price"] = 99
    entry["hash"] = entry_hash(entry)
    lines[3] = canonical(entry).decode() + "\n"
    log_file.write_text("".join(lines))
    with pytest.raises(LogTampered, match=r":5: field 'prev'"):
        list(read_log(log_file))


def test_garbage_line(log_file: Path) -> None:
    with open(log_file, "a") as fh:
        fh.write("not json\n")
    with pytest.raises(LogTampered, match=r":8: field 'json'"):
        list(read_log(log_file))


def test_missing_header(tmp_path: Path, log_file: Path) -> None:
    path = tmp_path / "no-header.jsonl"
    path.write_text("".join(lines_of(log_file)[1:]))
    with pytest.raises(LogTampered, match=r":1: field 'kind'"):
        list(read_log(path))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(LogUnreadable, match="cannot read"):
        list(read_log(tmp_path / "absent.jsonl"))
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(LogUnreadable, match="empty"):
        list(read_log(tmp_path / "empty.jsonl"))


def reference_json(obj: Any) -> bytes:
    """What defines the canonical bytes: the standard library's encoder."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def json_calls(obj: Any) -> tuple[bytes, int]:
    """``canonical(obj)`` and how often it fell back to the standard library's encoder."""
    with mock.patch.object(tradelog, "_json_encode", wraps=tradelog._json_encode) as encode:
        return canonical(obj), encode.call_count


#: What a log line holds and orjson takes: integers within 64 bits (signed or not), any text.
FLAT_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text())


@given(st.dictionaries(st.text(), FLAT_VALUES))
def test_flat_entries_take_orjson_and_give_the_json_bytes(entry: dict[str, Any]) -> None:
    assert json_calls(entry) == (reference_json(entry), 0)


class Colour(enum.IntEnum):
    RED = 1


@given(
    st.dictionaries(
        st.text(),
        st.one_of(
            st.floats(),
            st.integers().filter(lambda i: not -(2**63) <= i < 2**64),
            st.lists(FLAT_VALUES),
            st.dictionaries(st.text(), FLAT_VALUES),
            st.just(Colour.RED),
        ),
        min_size=1,
    )
)
def test_floats_nested_values_huge_ints_and_subclasses_take_json(entry: dict[str, Any]) -> None:
    assert json_calls(entry) == (reference_json(entry), 1)


def test_what_orjson_refuses_falls_back_to_json() -> None:
    assert json_calls({1: "a"}) == (b'{"1":"a"}', 1)  # not a str key
    assert json_calls([1, "a"]) == (b'[1,"a"]', 1)  # not a dict
    assert json_calls({"f": 1e-05, "g": 1.5e-07}) == (b'{"f":1e-05,"g":1.5e-07}', 1)  # orjson: 1e-5, 1.5e-7
    with pytest.raises(UnicodeEncodeError):
        canonical({"a": "\ud800"})  # a lone surrogate fails as it always did


def test_extend_writes_what_one_append_per_row_writes(tmp_path: Path) -> None:
    rows = [{"price": i, "who": "ü", "note": None} for i in range(5)]
    with TradeLogWriter(tmp_path / "a.jsonl", {"seed": 1, "p": 0.5}) as log:
        for row in rows:
            log.append("trade", 2, **row)
    with TradeLogWriter(tmp_path / "b.jsonl", {"seed": 1, "p": 0.5}) as log:
        log.extend("trade", 2, (dict(row) for row in rows))
        assert (log.seq, log.entries) == (6, 6)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_an_error_mid_extend_keeps_the_entries_before_it(tmp_path: Path) -> None:
    def rows() -> Iterator[dict[str, int]]:
        yield {"price": 1}
        yield {"price": 2}
        raise RuntimeError("the third row cannot be made")

    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {}) as log:
        with pytest.raises(RuntimeError, match="third row"):
            log.extend("trade", 0, rows())
        assert log.seq == 3
        log.append("batch", 0, trades=2)
    assert [(e["kind"], e.get("price")) for e in read_log(path)] == [("header", None), ("trade", 1), ("trade", 2), ("batch", None)]
