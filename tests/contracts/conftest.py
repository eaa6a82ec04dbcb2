"""Fixtures of the contract tests (the chain itself comes from the ``ccei_chain`` pytest plugin)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ledger.pytest_plugin import CceiAccounts
from ledger.suite import Suite

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onchain_helpers import Market  # noqa: E402 - after the folder is importable


@pytest.fixture()
def market(ccei_suite: Suite, ccei_accounts: CceiAccounts) -> Market:
    return Market(ccei_suite, ccei_accounts)


@pytest.fixture()
def funded_market(market: Market) -> Market:
    """Every user has ``ESCROW_MICRO`` in escrow."""
    for user in market.accounts.users:
        market.escrow(user)
    return market
