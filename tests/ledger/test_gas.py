"""Gas recording, the report table and the snapshot comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import gas
from ledger.gas import GasRecorder, GasRow, SnapshotDrift, check_snapshot, compare_snapshot, format_report, recording


def test_recording_only_while_active() -> None:
    gas.record("Token", "mint", 1)  # nobody listening: dropped
    with recording() as outer:
        gas.record("Token", "mint", 50)
        with recording() as inner:
            gas.record("Token", "mint", 30)
        gas.record("Settlement", "withdraw", 7)
        gas.record("Token", "mint", 40)
    gas.record("Token", "mint", 1)
    assert outer.rows() == [GasRow("Settlement", "withdraw", 1, 7, 7, 7), GasRow("Token", "mint", 3, 30, 40, 50)]
    assert inner.rows() == [GasRow("Token", "mint", 1, 30, 30, 30)]
    assert outer.last() == {"Settlement.withdraw": 7, "Token.mint": 40}


def test_report_table() -> None:
    recorder = GasRecorder()
    recorder.add("Settlement", "settleBatch", 120_000)
    recorder.add("Settlement", "settleBatch", 80_000)
    lines = format_report(recorder.rows()).splitlines()
    assert lines[0].split() == ["contract", "function", "calls", "min", "median", "max"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["Settlement", "settleBatch", "2", "80000", "80000", "120000"]


def test_compare_snapshot_flags_growth_over_five_percent_and_missing_entries() -> None:
    committed = {"A.f": 1_000, "A.g": 1_000}
    assert compare_snapshot({"A.f": 1_050, "A.g": 900}, committed) == []
    problems = compare_snapshot({"A.f": 1_051, "B.h": 5}, committed)
    assert problems == ["A.f: 1051 gas, 5.1% over the snapshot's 1000", "B.h: 5 gas, not in the snapshot"]


def test_check_snapshot_raises_or_rewrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gas.json"
    path.write_text(json.dumps({"A.f": 100}))
    monkeypatch.delenv(gas.UPDATE_ENV, raising=False)
    check_snapshot({"A.f": 104}, path)
    with pytest.raises(SnapshotDrift, match=r"rerun with CCEI_UPDATE_GAS_SNAPSHOT=1 to accept\): A.f: 200 gas, 100.0% over"):
        check_snapshot({"A.f": 200}, path)
    monkeypatch.setenv(gas.UPDATE_ENV, "1")
    check_snapshot({"B.g": 3, "A.f": 200}, path)
    assert json.loads(path.read_text()) == {"A.f": 200, "B.g": 3}
    assert list(json.loads(path.read_text())) == ["A.f", "B.g"]


def test_suspended_records_nothing_and_restores_the_recorders() -> None:
    with recording() as recorder:
        with gas.suspended():
            gas.record("Token", "mint", 5)
            with recording() as nested:
                gas.record("Token", "mint", 6)
        gas.record("Token", "mint", 7)
    assert recorder.last() == {"Token.mint": 7}
    assert nested.last() == {"Token.mint": 6}
    assert gas._active == []
