"""Fixtures of the contract tests (the chain itself comes from the ``ccei_chain`` pytest plugin).

Every contract test runs on eth-tester (py-evm) and on revm: the same contracts, the same
wrappers, two EVMs. A test that needs one of them skips on the other and says why.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ledger.pytest_plugin import CceiAccounts, CceiSession, session_of
from ledger.suite import Suite

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onchain_helpers import Market  # noqa: E402 - after the folder is importable


#: The chains every contract test runs on.
CHAINS = ("eth-tester", "revm")


@pytest.fixture(scope="session", params=CHAINS)
def ccei_chain_spec(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def ccei_session(request: pytest.FixtureRequest, ccei_chain_spec: str) -> CceiSession:
    """The plugin's fixture, declared here again so that its cached session (the last chain of
    ``CHAINS``) stays with these tests and is not handed to the other packages' tests, which
    run on ``--ccei-chain``."""
    return session_of(request.config, ccei_chain_spec)


@pytest.fixture()
def market(ccei_suite: Suite, ccei_accounts: CceiAccounts) -> Market:
    return Market(ccei_suite, ccei_accounts)


@pytest.fixture()
def funded_market(market: Market) -> Market:
    """Every user has ``ESCROW_MICRO`` in escrow."""
    for user in market.accounts.users:
        market.escrow(user)
    return market
