"""The hash-chained trade log writer."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.tradelog import GENESIS, TradeLogWriter, canonical, entry_hash


def test_lines_chain_by_hash(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"scenario": "x", "seed": 1}) as log:
        log.append("trade", 0, price=5, quantity=2)
        log.append("batch", 0, batch_id=0)
        head = log.head
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["seq"] for e in lines] == [0, 1, 2]
    assert lines[0]["kind"] == "header" and lines[0]["prev"] == GENESIS and lines[0]["format"] == 1
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
