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
