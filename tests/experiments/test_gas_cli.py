"""``ccei gas snapshot [--check]``: a project's tests run with gas recorded, the snapshot written,
then checked; a change beyond the tolerance either way, a new and a vanished function each named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.cli import main

PROJECT_TESTS = """
def test_transfers(ccei_suite, ccei_accounts):
    a, b, _ = ccei_accounts.users
    ccei_suite.token.transfer(b, 5, sender=a)
    ccei_suite.token.approve(b, 5, sender=a)
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_token.py").write_text(PROJECT_TESTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_snapshot_is_written_then_checked_and_changes_are_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gas", "snapshot", "tests"]) == 0
    snapshot = json.loads((project / ".gas-snapshot.json").read_text())
    assert sorted(snapshot) == ["SettlementToken.approve", "SettlementToken.transfer"]
    assert all(isinstance(v, int) and v > 21_000 for v in snapshot.values())
    assert "2 functions' gas written to .gas-snapshot.json" in capsys.readouterr().out
    assert main(["gas", "snapshot", "tests", "--check"]) == 0
    assert "match" in capsys.readouterr().out
    # a check names every change beyond the tolerance, either way, and writes nothing
    path = project / ".gas-snapshot.json"
    snapshot = json.loads(path.read_text())
    snapshot["SettlementToken.transfer"] = int(snapshot["SettlementToken.transfer"] * 1.2)  # it now costs less
    snapshot["SettlementToken.approve"] = int(snapshot["SettlementToken.approve"] * 0.97)  # within 5 %
    snapshot["SettlementToken.mint"] = 50_000  # no test calls it any more
    path.write_text(json.dumps(snapshot))
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["gas", "snapshot", "tests", "--check"]) == 1
    err = capsys.readouterr().err
    assert "ccei: error: gas changed beyond 5% in .gas-snapshot.json" in err
    assert "SettlementToken.transfer:" in err and "% against the snapshot's" in err
    assert "SettlementToken.mint: in the snapshot (50000 gas), no longer called by the tests" in err
    assert "SettlementToken.approve" not in err
    assert path.read_bytes() == before
    assert main(["gas", "snapshot", "tests", "--check", "--tolerance", "0.5"]) == 1  # mint still vanished


def test_failing_tests_missing_snapshots_and_bad_tolerances_are_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gas", "snapshot", "tests", "--check"]) == 1
    assert capsys.readouterr().err.strip() == (
        "ccei: error: .gas-snapshot.json: no snapshot to check against; run `ccei gas snapshot` first"
    )
    assert main(["gas", "snapshot", "tests", "--tolerance", "-1"]) == 1
    assert "must not be negative" in capsys.readouterr().err
    (project / "tests" / "test_broken.py").write_text("def test_no():\n    assert False\n")
    assert main(["gas", "snapshot", "tests"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "the tests failed (pytest exit 1" in err
    assert not (project / ".gas-snapshot.json").exists()
