"""A re-entering receiver (tests/contracts/ReentrantReceiver.sol) tries to call back into the contract
paying it: Settlement and ServiceAgreements via a hooked token (HookToken.sol), GreenCertificates
via its own receive hook. Every attempt ends in ReentrantCall; unarmed, the same paths work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_typing import ChecksumAddress

import pytest
from onchain_helpers import SALT, SECRET, Market, test_only_artifact

from ledger.chain import Chain
from ledger.contracts import AgreementTerms, Capacity, Deployed, Service, ServiceAgreements, Settlement, deploy
from ledger.pytest_plugin import assert_reverts
from ledger.signing import ZERO_ADDRESS

Deploy = Callable[..., Deployed]


@pytest.fixture()
def attacker(ccei_deploy: Deploy, market: Market) -> Deployed:
    contract = ccei_deploy(test_only_artifact("ReentrantReceiver"))
    market.suite.registry.register(contract.address, Capacity.USER | Capacity.COMPUTE_SUPPLIER, sender=market.admin)
    return contract


@pytest.fixture()
def hook_token(ccei_deploy: Deploy, attacker: Deployed, market: Market) -> Deployed:
    token = ccei_deploy(test_only_artifact("HookToken"))
    token.transact("enableHook", attacker.address, sender=market.admin)
    return token


def _as(attacker: Deployed, target: Deployed, fn: str, *args: Any, sender: ChecksumAddress) -> Any:
    """The attacker contract calls ``target.fn(*args)`` as itself."""
    return attacker.transact("execute", target.address, target.contract.encode_abi(fn, args=list(args)), sender=sender)


def test_withdraw_cannot_be_reentered(market: Market, ccei_chain: Chain, attacker: Deployed, hook_token: Deployed) -> None:
    admin = market.admin
    settlement = Settlement(
        ccei_chain, deploy(ccei_chain, "Settlement", hook_token.address, market.suite.registry.address, admin, sender=admin)
    )
    hook_token.transact("mint", attacker.address, 1_000, sender=admin)
    _as(attacker, hook_token, "approve", settlement.address, 1_000, sender=admin)
    _as(attacker, settlement, "depositFor", attacker.address, 1_000, sender=admin)
    attacker.transact("arm", settlement.address, settlement.contract.encode_abi("withdraw", args=[100]), sender=admin)
    assert_reverts(lambda: _as(attacker, settlement, "withdraw", 100, sender=admin), "ReentrancyGuardReentrantCall")
    assert settlement.balance_of(attacker.address) == 1_000
    attacker.transact("arm", settlement.address, b"", sender=admin)
    _as(attacker, settlement, "withdraw", 100, sender=admin)
    assert settlement.balance_of(attacker.address) == 900 and attacker.call("hooksSeen") == 1


def test_agreement_withdraw_cannot_be_reentered(
    market: Market, ccei_chain: Chain, attacker: Deployed, hook_token: Deployed
) -> None:
    admin = market.admin
    agreements = ServiceAgreements(
        ccei_chain,
        deploy(ccei_chain, "ServiceAgreements", hook_token.address, market.suite.registry.address, admin, sender=admin),
    )
    hook_token.transact("mint", attacker.address, 1_000, sender=admin)
    _as(attacker, hook_token, "approve", agreements.address, 1_000, sender=admin)
    terms = AgreementTerms(
        market.accounts.users[0], ZERO_ADDRESS, Service.COMPUTE, ServiceAgreements.commit(SECRET, SALT),
        ccei_chain.next_timestamp() + 100, 1, 60, 10, 5, 1, 500, 3_600,
    )  # fmt: skip
    _as(attacker, agreements, "offer", terms.as_tuple(), sender=admin)
    _as(attacker, agreements, "cancelOffer", 1, sender=admin)  # 500 collateral credited back
    attacker.transact("arm", agreements.address, agreements.contract.encode_abi("withdraw", args=[]), sender=admin)
    assert_reverts(lambda: _as(attacker, agreements, "withdraw", sender=admin), "ReentrancyGuardReentrantCall")
    assert agreements.credit(attacker.address) == 500


def test_certificate_receiver_cannot_reenter_and_must_accept(market: Market, attacker: Deployed) -> None:
    certs = market.suite.certificates
    assert certs is not None
    generator, admin = market.accounts.energy_supplier, market.admin
    cid = certs.attest_generation(generator, 1, 10, sender=admin)
    certs.safe_transfer_from(generator, attacker.address, cid, 3, sender=generator)  # unarmed: accepted
    assert certs.balance_of(cid, attacker.address) == 3
    attacker.transact("arm", certs.address, certs.contract.encode_abi("retire", args=[cid, 1]), sender=admin)
    assert_reverts(lambda: certs.safe_transfer_from(generator, attacker.address, cid, 2, sender=generator), "ReentrancyGuardReentrantCall")
    attacker.transact("arm", certs.address, b"", sender=admin)
    attacker.transact("setAnswerWrongly", True, sender=admin)
    assert_reverts(
        lambda: certs.safe_transfer_from(generator, attacker.address, cid, 2, sender=generator),
        "UnsafeRecipient",
        attacker.address,
    )
    assert certs.balance_of(cid, generator) == 7 and certs.retired_of(cid, attacker.address) == 0


def test_a_token_that_returns_false_fails_the_move(
    market: Market, ccei_chain: Chain, attacker: Deployed, hook_token: Deployed
) -> None:
    admin = market.admin
    settlement = Settlement(
        ccei_chain, deploy(ccei_chain, "Settlement", hook_token.address, market.suite.registry.address, admin, sender=admin)
    )
    hook_token.transact("mint", attacker.address, 1_000, sender=admin)
    _as(attacker, hook_token, "approve", settlement.address, 1_000, sender=admin)
    _as(attacker, settlement, "depositFor", attacker.address, 500, sender=admin)
    hook_token.transact("setFailing", True, sender=admin)
    assert_reverts(lambda: _as(attacker, settlement, "depositFor", attacker.address, 1, sender=admin), "SafeERC20FailedOperation")
    assert_reverts(lambda: _as(attacker, settlement, "withdraw", 1, sender=admin), "SafeERC20FailedOperation")
    assert settlement.balance_of(attacker.address) == 500


def test_agreements_fail_cleanly_when_the_token_returns_false(
    market: Market, ccei_chain: Chain, attacker: Deployed, hook_token: Deployed
) -> None:
    """Offer (collateral in), accept (payment in) and withdraw (credit out) each revert with
    TransferFailed when the token reports failure, and nothing they would have changed changes."""
    admin, buyer = market.admin, market.accounts.users[0]
    agreements = ServiceAgreements(
        ccei_chain,
        deploy(ccei_chain, "ServiceAgreements", hook_token.address, market.suite.registry.address, admin, sender=admin),
    )
    hook_token.transact("mint", attacker.address, 1_000, sender=admin)
    hook_token.transact("mint", buyer, 1_000, sender=admin)
    _as(attacker, hook_token, "approve", agreements.address, 1_000, sender=admin)
    hook_token.transact("approve", agreements.address, 1_000, sender=buyer)
    terms = AgreementTerms(
        buyer, ZERO_ADDRESS, Service.COMPUTE, ServiceAgreements.commit(SECRET, SALT),
        ccei_chain.next_timestamp() + 100, 1, 60, 10, 5, 1, 500, 3_600,
    )  # fmt: skip
    _as(attacker, agreements, "offer", terms.as_tuple(), sender=admin)  # agreement 1, 500 collateral in
    _as(attacker, agreements, "offer", terms.as_tuple(), sender=admin)  # agreement 2
    _as(attacker, agreements, "cancelOffer", 2, sender=admin)  # its 500 credited back
    hook_token.transact("setFailing", True, sender=admin)

    assert_reverts(lambda: _as(attacker, agreements, "offer", terms.as_tuple(), sender=admin), "SafeERC20FailedOperation")
    assert agreements.agreement_count() == 2
    assert_reverts(lambda: agreements.accept(1, sender=buyer), "SafeERC20FailedOperation")
    assert agreements.agreement(1).payment_held == 0
    assert_reverts(lambda: _as(attacker, agreements, "withdraw", sender=admin), "SafeERC20FailedOperation")
    assert agreements.credit(attacker.address) == 500

    hook_token.transact("setFailing", False, sender=admin)  # the same calls go through once it works
    agreements.accept(1, sender=buyer)
    assert agreements.agreement(1).payment_held == 5
    _as(attacker, agreements, "withdraw", sender=admin)
    assert agreements.credit(attacker.address) == 0
