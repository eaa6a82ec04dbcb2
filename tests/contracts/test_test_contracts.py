"""The committed artifacts of the test-only Solidity match its sources."""

from __future__ import annotations

from pathlib import Path

from ledger.compiler import check_artifacts

HERE = Path(__file__).resolve().parent


def test_test_contracts_are_compiled() -> None:
    """Fails after an edit to tests/contracts/*.sol until compile_test_contracts.py is rerun."""
    check_artifacts(HERE, HERE / "build")
